package dev.adit.handler;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.util.Callback;

/**
 * Writes the HTTP/1.x 2xx response to a CONNECT as a bare status line.
 *
 * <p>Why: RFC 9110 §9.3.6 forbids Content-Length and Transfer-Encoding on a 2xx response to
 * CONNECT, but Jetty 12.1.12's HTTP/1.1 generator always frames it with {@code Content-Length: 0}
 * (fixed upstream by jetty/jetty.project PR #15075). This stream wrapper sends the head itself;
 * Jetty then upgrades the connection as usual because the response completed. Every other
 * response passes through untouched. Remove when the Jetty pin moves past the fix.</p>
 */
final class RawTunnelResponse extends HttpStream.Wrapper
{
    private final EndPoint endPoint;

    RawTunnelResponse(HttpStream wrapped, EndPoint endPoint)
    {
        super(wrapped);
        this.endPoint = endPoint;
    }

    @Override
    public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback)
    {
        if (response != null && HttpStatus.isSuccess(response.getStatus()) && last && (content == null || !content.hasRemaining()))
        {
            HttpVersion version = response.getHttpVersion() == HttpVersion.HTTP_1_0 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
            String head = version.asString() + " " + response.getStatus() + " Connection established\r\n\r\n";
            endPoint.write(callback, ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            return;
        }
        super.send(request, response, last, content, callback);
    }
}
