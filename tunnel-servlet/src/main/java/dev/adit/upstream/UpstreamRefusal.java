package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * An upstream proxy's non-2xx answer to a forwarded CONNECT, collected for relaying: the status,
 * the end-to-end header fields, and at most {@link #MAX_BODY} bytes of body (the rest is
 * counted and dropped). Not thread-safe: one reader feeds it, in order.
 */
final class UpstreamRefusal
{
    /** The most of a refusal's body kept for the client. */
    static final int MAX_BODY = 64 * 1024;
    /**
     * Connection-specific fields (RFC 9110 §7.6.1), never relayed; Content-Length too, because
     * the body may be cut and the relay frames it anew.
     */
    private static final Set<String> NOT_RELAYED = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length");

    private final int status;
    private final HttpFields headers;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private long dropped;

    UpstreamRefusal(int status, HttpFields headers)
    {
        this.status = status;
        this.headers = endToEnd(headers);
    }

    int status()
    {
        return status;
    }

    /** Keeps what fits of {@code content} (its position is not moved). */
    void append(ByteBuffer content)
    {
        int keep = Math.min(content.remaining(), MAX_BODY - body.size());
        if (keep > 0)
        {
            byte[] bytes = new byte[keep];
            content.slice().get(bytes);
            body.write(bytes, 0, keep);
        }
        dropped += content.remaining() - keep;
    }

    /** @param reason what an operator reads: who refused what */
    UpstreamRefusedException toException(String reason)
    {
        String note = dropped > 0 ? " (" + dropped + " body bytes dropped)" : "";
        return new UpstreamRefusedException(reason + note, status, headers, ByteBuffer.wrap(body.toByteArray()));
    }

    /** The fields without connection-specific ones, nor those the Connection field names. */
    static HttpFields endToEnd(HttpFields fields)
    {
        Set<String> drop = new HashSet<>(NOT_RELAYED);
        for (String value : fields.getValuesList(HttpHeader.CONNECTION))
        {
            for (String token : value.split(","))
                drop.add(token.trim().toLowerCase(Locale.ROOT));
        }
        HttpFields.Mutable kept = HttpFields.build();
        for (HttpField field : fields)
        {
            if (!drop.contains(field.getLowerCaseName()))
                kept.add(field);
        }
        return kept.asImmutable();
    }
}
