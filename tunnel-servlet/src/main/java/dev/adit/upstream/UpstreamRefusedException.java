package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.util.Objects;

import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpFields;

/**
 * An upstream proxy answered a forwarded CONNECT with a non-2xx status. The handler relays the
 * status, the end-to-end headers and the body to the client as they came.
 */
public class UpstreamRefusedException extends TunnelException
{
    private final int status;
    private final HttpFields headers;
    private final ByteBuffer body;

    /**
     * @param status  the upstream's status (not 2xx)
     * @param headers the upstream's response headers, hop-by-hop headers already removed
     * @param body    the upstream's response body, complete (bounded by the reader), read-only
     */
    public UpstreamRefusedException(String reason, int status, HttpFields headers, ByteBuffer body)
    {
        super(TunnelFailure.UPSTREAM_REFUSED, reason);
        this.status = status;
        this.headers = Objects.requireNonNull(headers).asImmutable();
        this.body = body.asReadOnlyBuffer();
    }

    public int status()
    {
        return status;
    }

    public HttpFields headers()
    {
        return headers;
    }

    /** @return a fresh view of the body (position 0) */
    public ByteBuffer body()
    {
        return body.duplicate();
    }
}
