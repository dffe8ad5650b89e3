package dev.adit.embed;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone server's error handler: answers as Jetty's does, and logs at INFO, with its
 * reason, every request Jetty refused before any handler saw it (a malformed request line or
 * header field, a compliance rule: {@code Authority!=Host}, an absolute-form CONNECT target, a
 * lower-case method). Adit logs its own refusals the same way; without this line the operator
 * would see such a 400 only at the client, Jetty logging it at DEBUG.
 */
final class AditErrorHandler extends ErrorHandler
{
    private static final Logger LOG = LoggerFactory.getLogger(AditErrorHandler.class);

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        if (request.getAttribute(ERROR_EXCEPTION) instanceof HttpException refused)
            LOG.info("request from {}:{} over {} refused by Jetty before Adit saw it: {} {}", Request.getRemoteAddr(request),
                Request.getRemotePort(request), request.getConnectionMetaData().getProtocol(), refused.getCode(), refused.getReason());
        return super.handle(request, response, callback);
    }
}
