package dev.adit.embed;

import java.net.SocketAddress;
import java.time.Instant;

import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.handler.TunnelHandler;
import dev.adit.log.AccessLog;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone server's error handler: answers as Jetty's does, and for a request Jetty
 * refused before any handler saw it (a malformed request line or header field, a compliance
 * rule such as {@code Authority!=Host}, a lower-case {@code connect} whose target Jetty cannot
 * read) logs an INFO line with the client's address and Jetty's reason, as Adit logs its own
 * refusals (Jetty logs those at DEBUG only), and an access log line flagged {@code DPE}
 * ({@link TunnelFailure#DOWNSTREAM_PROTOCOL_ERROR}) with Jetty's status, as Envoy logs a request
 * its codec refused. Over HTTP/1.x it also closes the connection, as Adit does after its own
 * refusals, so that a client cannot make one line per pipelined request on one connection.
 *
 * <p>Not logged: a client that went away mid-request, in its head (Jetty's parser reports a 400
 * {@code Early EOF}, which Jetty nearly always leaves unwritten as the connection closes first;
 * now and then its error page wins that race, and the client reads a 400 that has no line) or
 * in its content (an {@code EofException}), and server errors (5xx but 505), which are not a
 * verdict on the request. Logging once the answer is written would not tell these apart: Jetty
 * reports the unwritten error page as written too.</p>
 */
final class AditErrorHandler extends ErrorHandler
{
    private static final Logger LOG = LoggerFactory.getLogger(AditErrorHandler.class);
    /** The reason of the 400 Jetty's HTTP/1.1 parser reports when the client ends its side mid-head. */
    private static final String EARLY_EOF = "Early EOF";
    /** The method of the request Jetty's HTTP/1.1 connection makes up for a request line it could not parse. */
    private static final String STAND_IN_METHOD = "BAD";

    private final AccessLog accessLog;

    /** @param accessLog where refused requests get their line; null for none */
    AditErrorHandler(AccessLog accessLog)
    {
        this.accessLog = accessLog;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        if (request.getAttribute(ERROR_EXCEPTION) instanceof HttpException refused && refused instanceof Throwable cause
            && !(refused instanceof EofException) && !EARLY_EOF.equals(refused.getReason()) && isAboutTheRequest(refused.getCode()))
        {
            LOG.info("request from {}:{} refused by Jetty before Adit saw it: {} {}", Request.getRemoteAddr(request), Request.getRemotePort(request),
                refused.getCode(), refused.getReason());
            HttpVersion version = request.getConnectionMetaData().getHttpVersion();
            if (version == HttpVersion.HTTP_1_0 || version == HttpVersion.HTTP_1_1)
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
            if (accessLog != null)
                logRefusal(request, refused.getCode(), cause);
        }
        return super.handle(request, response, callback);
    }

    /** @return whether {@code status} is a verdict on the request: 4xx, and 505 for a version Jetty does not speak */
    private static boolean isAboutTheRequest(int status)
    {
        return status < 500 || status == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505;
    }

    /** As a {@link dev.adit.core.TunnelListener} must be: what goes wrong in it is logged, not thrown at Jetty. */
    private void logRefusal(Request request, int status, Throwable cause)
    {
        try
        {
            accessLog.onRefused(new RefusedRequest(request, status), TunnelFailure.DOWNSTREAM_PROTOCOL_ERROR, cause);
        }
        catch (RuntimeException x)
        {
            LOG.warn("access log line for a request refused by Jetty failed", x);
        }
    }

    /**
     * A request Jetty refused, as the access log reads it: no tunnel, so no id, no upstream and
     * no bytes; the target as far as Jetty parsed it. For a request line Jetty could not parse
     * it answers a stand-in request ({@code BAD /badMessage HTTP/1.0}) whose target and version
     * are not the client's: both are then unknown (null).
     */
    private record RefusedRequest(Request request, int responseCode) implements TunnelInfo
    {
        private boolean standIn()
        {
            return STAND_IN_METHOD.equals(request.getMethod());
        }

        @Override
        public String id()
        {
            return null;
        }

        @Override
        public String authority()
        {
            return standIn() ? null : request.getHttpURI().getAuthority();
        }

        @Override
        public String protocol()
        {
            return standIn() ? null : TunnelHandler.httpVersion(request);
        }

        @Override
        public SocketAddress downstreamRemoteAddress()
        {
            return request.getConnectionMetaData().getRemoteSocketAddress();
        }

        @Override
        public SocketAddress downstreamLocalAddress()
        {
            return request.getConnectionMetaData().getLocalSocketAddress();
        }

        @Override
        public SocketAddress upstreamAddress()
        {
            return null;
        }

        @Override
        public Instant startTime()
        {
            // When the request began to arrive (a stand-in's time stamp is when it was made).
            long ago = System.nanoTime() - request.getBeginNanoTime();
            return Instant.now().minusNanos(Math.max(0, ago));
        }

        @Override
        public long bytesFromDownstream()
        {
            return 0;
        }

        @Override
        public long bytesFromUpstream()
        {
            return 0;
        }
    }
}
