package dev.adit.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EofException;

/**
 * Takes the framing off an HTTP/1.1 response body as it arrives, in place: what is left in the
 * buffer is the body's bytes only. Used by {@link Http1PostEndPoint}, where the response body of
 * a POST tunnel is the byte stream back from the target, so its end (the last chunk, the
 * Content-Length reached, or the close) is the target side's end of input.
 *
 * <p>Why in place: the body is decoded into the tunnel's own buffer, the one the socket was read
 * into, so data is never copied to another buffer. Bytes move only when framing sits in front
 * of them in the same read (then the data after it is moved down over the framing); a read that
 * falls within one chunk's data, the usual case with large chunks, is not touched at all.</p>
 *
 * <p>Chunked framing (RFC 9112 §7.1) is checked strictly: hexadecimal sizes (at most 15 digits),
 * lines ending in CRLF, CRLF after each chunk's data. Chunk extensions and trailer fields are
 * skipped unread (each line at most {@value #MAX_LINE} bytes, so that a peer cannot keep a
 * tunnel busy with framing alone). Bytes after the end of the body are dropped: the connection
 * carries one tunnel and nothing after it.</p>
 *
 * <p>Not thread-safe: only the tunnel's reader uses it; {@link #isComplete()} may be read from
 * any thread.</p>
 */
final class Http1BodyDecoder
{
    /** The longest chunk-size line (with extensions) or trailer line accepted. */
    static final int MAX_LINE = 8 * 1024;

    private enum Mode
    {
        CHUNKED, LENGTH, EOF
    }

    private enum State
    {
        SIZE_FIRST, SIZE, SIZE_BWS, EXTENSION, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER_FIRST, TRAILER, TRAILER_LF, LAST_LF
    }

    private final Mode mode;
    private State state = State.SIZE_FIRST;
    /** Bytes of body still to come: of the current chunk (CHUNKED), of the whole body (LENGTH). */
    private long remaining;
    private int lineBytes;
    private volatile boolean complete;

    private Http1BodyDecoder(Mode mode, long length)
    {
        this.mode = mode;
        this.remaining = length;
        this.complete = mode == Mode.LENGTH && length == 0;
    }

    /** A chunked body. */
    static Http1BodyDecoder chunked()
    {
        return new Http1BodyDecoder(Mode.CHUNKED, 0);
    }

    /** A body of {@code length} bytes; empty ones are complete at once. */
    static Http1BodyDecoder length(long length)
    {
        if (length < 0)
            throw new IllegalArgumentException("length " + length);
        return new Http1BodyDecoder(Mode.LENGTH, length);
    }

    /** A body that ends when the connection's input does. */
    static Http1BodyDecoder toEof()
    {
        return new Http1BodyDecoder(Mode.EOF, 0);
    }

    /**
     * The body framing of a 2xx response (RFC 9112 §6.3): none for 204; chunked when the
     * Transfer-Encoding is {@code chunked} (Content-Length is then ignored); the Content-Length;
     * otherwise to the close.
     *
     * @throws IllegalArgumentException for a transfer coding other than {@code chunked} alone
     *                                  (such a body could not be passed on as the bytes sent),
     *                                  or an invalid Content-Length
     */
    static Http1BodyDecoder forResponse(int status, HttpFields headers)
    {
        if (status == 204)
            return length(0);
        List<String> codings = headers.getCSV(HttpHeader.TRANSFER_ENCODING, false);
        if (!codings.isEmpty())
        {
            if (codings.size() == 1 && codings.get(0).toLowerCase(Locale.ROOT).equals("chunked"))
                return chunked();
            throw new IllegalArgumentException("Transfer-Encoding " + String.join(", ", codings) + " (expected: chunked)");
        }
        String contentLength = headers.get(HttpHeader.CONTENT_LENGTH);
        if (contentLength == null)
            return toEof();
        try
        {
            return length(Long.parseLong(contentLength.trim()));
        }
        catch (IllegalArgumentException x)
        {
            throw new IllegalArgumentException("Content-Length " + contentLength, x);
        }
    }

    /** @return whether the whole body was decoded: every later read is the end of input */
    boolean isComplete()
    {
        return complete;
    }

    /**
     * Decodes the bytes just read, in place.
     *
     * @param buffer in flush mode, holding raw response bytes from {@code from} to its limit
     * @param from   where the raw bytes start; what comes before is left alone
     * @return how many body bytes now follow {@code from}; the buffer's limit is set after them
     * @throws IOException if the chunked framing is malformed
     */
    int decode(ByteBuffer buffer, int from) throws IOException
    {
        int end = buffer.limit();
        int produced = switch (mode)
        {
            case EOF -> end - from;
            case LENGTH -> decodeLength(end - from);
            case CHUNKED -> decodeChunked(buffer, from, end);
        };
        buffer.limit(from + produced);
        return produced;
    }

    private int decodeLength(int read)
    {
        int produced = (int)Math.min(read, remaining);
        remaining -= produced;
        if (remaining == 0)
            complete = true;
        return produced;
    }

    private int decodeChunked(ByteBuffer buffer, int from, int end) throws IOException
    {
        int read = from;
        int write = from;
        while (read < end && !complete)
        {
            if (state == State.DATA)
            {
                int n = (int)Math.min(remaining, end - read);
                if (write != read)
                    buffer.put(write, buffer, read, n);
                read += n;
                write += n;
                remaining -= n;
                if (remaining == 0)
                    state = State.DATA_CR;
                continue;
            }
            frame(buffer.get(read++));
        }
        return write - from;
    }

    /** One byte of framing. */
    private void frame(byte b) throws IOException
    {
        switch (state)
        {
            case SIZE_FIRST ->
            {
                int digit = Character.digit(b, 16);
                if (digit < 0)
                    throw malformed("a chunk size starts with " + describe(b));
                remaining = digit;
                lineBytes = 1;
                state = State.SIZE;
            }
            case SIZE ->
            {
                int digit = Character.digit(b, 16);
                if (digit >= 0)
                {
                    if (++lineBytes > 15)
                        throw malformed("a chunk size of more than 15 digits");
                    remaining = remaining << 4 | digit;
                }
                else
                {
                    afterSize(b);
                }
            }
            case SIZE_BWS -> afterSize(b);
            case EXTENSION ->
            {
                if (b == '\r')
                    state = State.SIZE_LF;
                else if (b == '\n')
                    throw malformed("a chunk size line ending in a bare LF");
                else if (++lineBytes > MAX_LINE)
                    throw malformed("a chunk size line longer than " + MAX_LINE + " bytes");
            }
            case SIZE_LF ->
            {
                expect(b, '\n', "a chunk size line");
                state = remaining == 0 ? State.TRAILER_FIRST : State.DATA;
            }
            case DATA_CR ->
            {
                expect(b, '\r', "chunk data");
                state = State.DATA_LF;
            }
            case DATA_LF ->
            {
                expect(b, '\n', "chunk data");
                state = State.SIZE_FIRST;
            }
            case TRAILER_FIRST ->
            {
                if (b == '\r')
                {
                    state = State.LAST_LF;
                }
                else if (b == '\n')
                {
                    throw malformed("a trailer line ending in a bare LF");
                }
                else
                {
                    lineBytes = 1;
                    state = State.TRAILER;
                }
            }
            case TRAILER ->
            {
                if (b == '\r')
                    state = State.TRAILER_LF;
                else if (b == '\n')
                    throw malformed("a trailer line ending in a bare LF");
                else if (++lineBytes > MAX_LINE)
                    throw malformed("a trailer line longer than " + MAX_LINE + " bytes");
            }
            case TRAILER_LF ->
            {
                expect(b, '\n', "a trailer line");
                state = State.TRAILER_FIRST;
            }
            case LAST_LF ->
            {
                expect(b, '\n', "the trailer section");
                complete = true;
            }
            default -> throw new IllegalStateException(state.toString());
        }
    }

    /** After the size's digits: white space (BWS), the extensions' ';', or the line's end. */
    private void afterSize(byte b) throws IOException
    {
        if (b == '\r')
        {
            state = State.SIZE_LF;
        }
        else if (b == ';' || b == ' ' || b == '\t')
        {
            if (++lineBytes > MAX_LINE)
                throw malformed("a chunk size line longer than " + MAX_LINE + " bytes");
            state = b == ';' ? State.EXTENSION : State.SIZE_BWS;
        }
        else
        {
            throw malformed(describe(b) + (state == State.SIZE ? " in a chunk size" : " after a chunk size (expected: ';' or CRLF)"));
        }
    }

    private static void expect(byte b, char expected, String after) throws IOException
    {
        if (b != expected)
            throw malformed(describe(b) + " after " + after + " (expected: " + (expected == '\r' ? "CR" : "LF") + ")");
    }

    /**
     * The connection's input ended.
     *
     * @throws EofException if the body was not complete: the response was cut short, which a
     *                      tunnel must take for a failure and not for the target's end
     */
    void onEof() throws EofException
    {
        if (complete)
            return;
        switch (mode)
        {
            case EOF -> complete = true;
            case LENGTH -> throw new EofException("the connection closed " + remaining + " bytes before the end of the response body (Content-Length)");
            case CHUNKED -> throw new EofException("the connection closed before the last chunk of the response body");
            default -> throw new IllegalStateException(mode.toString());
        }
    }

    private static IOException malformed(String what)
    {
        return new IOException("malformed chunked response body: " + what);
    }

    private static String describe(byte b)
    {
        int c = b & 0xFF;
        return c > 0x20 && c < 0x7F ? "'" + (char)c + "'" : "0x%02X".formatted(c);
    }

    @Override
    public String toString()
    {
        return "%s[%s,%s,remaining=%d,complete=%b]".formatted(getClass().getSimpleName(), mode, mode == Mode.CHUNKED ? state : "-", remaining, complete);
    }
}
