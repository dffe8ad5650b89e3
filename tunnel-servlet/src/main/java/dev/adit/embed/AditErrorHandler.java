package dev.adit.embed;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
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
 * read) logs an INFO line with the client's
 * address and Jetty's reason, as Adit logs its own refusals; Jetty logs those at DEBUG only.
 * Over HTTP/1.x it also closes the connection, as Adit does after its own refusals, so that a
 * client cannot make one line per pipelined request on one connection.
 *
 * <p>Not logged: a client that went away mid-request (Jetty's early EOF), and server errors
 * (5xx), which are not a verdict on the request.</p>
 */
final class AditErrorHandler extends ErrorHandler
{
    private static final Logger LOG = LoggerFactory.getLogger(AditErrorHandler.class);

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        if (request.getAttribute(ERROR_EXCEPTION) instanceof HttpException refused && !(refused instanceof EofException) && refused.getCode() < 500)
        {
            LOG.info("request from {}:{} refused by Jetty before Adit saw it: {} {}", Request.getRemoteAddr(request), Request.getRemotePort(request),
                refused.getCode(), refused.getReason());
            HttpVersion version = request.getConnectionMetaData().getHttpVersion();
            if (version == HttpVersion.HTTP_1_0 || version == HttpVersion.HTTP_1_1)
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        return super.handle(request, response, callback);
    }
}
