package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;

/**
 * What {@link HttpParser} found in an upstream proxy's answer to CONNECT: status, headers, and
 * the body of a refusal, kept up to a bound. It stops the parser right after the header block,
 * so that the connection can treat what follows a 2xx as tunnel bytes rather than a body.
 *
 * <p>Not thread-safe: only the thread reading the answer ({@code onFillable}) touches it.</p>
 */
final class ConnectAnswer implements HttpParser.ResponseHandler
{
    private final int maxBody;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private HttpFields.Mutable headers = HttpFields.build();
    private int status;
    private String reason;
    private boolean headerComplete;
    private boolean messageComplete;
    private boolean bodyTruncated;
    private boolean earlyEof;
    private String error;

    ConnectAnswer(int maxBody)
    {
        this.maxBody = maxBody;
    }

    /** Forgets an interim (1xx) answer, to parse the next one. */
    void reset()
    {
        status = 0;
        reason = null;
        headers = HttpFields.build();
        body.reset();
        headerComplete = false;
        messageComplete = false;
    }

    int status()
    {
        return status;
    }

    /** @return the reason phrase, or null */
    String reason()
    {
        return reason;
    }

    /** @return every header as received, hop-by-hop ones included */
    HttpFields headers()
    {
        return headers;
    }

    byte[] body()
    {
        return body.toByteArray();
    }

    boolean isHeaderComplete()
    {
        return headerComplete;
    }

    boolean isMessageComplete()
    {
        return messageComplete;
    }

    /** @return whether the body went beyond the bound; then parsing stopped there */
    boolean isBodyTruncated()
    {
        return bodyTruncated;
    }

    /** @return whether the connection ended inside the body */
    boolean isEarlyEof()
    {
        return earlyEof;
    }

    /** @return why the answer is malformed, or null */
    String error()
    {
        return error;
    }

    @Override
    public void startResponse(HttpVersion version, int status, String reason)
    {
        this.status = status;
        this.reason = reason;
    }

    @Override
    public void parsedHeader(HttpField field)
    {
        headers.add(field);
    }

    @Override
    public boolean headerComplete()
    {
        headerComplete = true;
        // Stop here: after a 2xx the rest of the buffer is tunnel bytes, never a body.
        return true;
    }

    @Override
    public boolean content(ByteBuffer item)
    {
        int length = Math.min(maxBody - body.size(), item.remaining());
        byte[] bytes = new byte[length];
        item.get(bytes);
        body.writeBytes(bytes);
        if (item.hasRemaining())
        {
            bodyTruncated = true;
            return true;
        }
        return false;
    }

    @Override
    public boolean contentComplete()
    {
        return false;
    }

    @Override
    public boolean messageComplete()
    {
        messageComplete = true;
        return true;
    }

    @Override
    public void earlyEOF()
    {
        earlyEof = true;
    }

    @Override
    public void badMessage(HttpException failure)
    {
        error = failure.getReason() == null ? "status " + failure.getCode() : failure.getReason();
    }
}
