package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import dev.adit.testing.Payloads;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EofException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Http1BodyDecoder} on its own: chunked bodies (extensions, trailers, upper-case sizes)
 * decoded in place byte-exact whatever the read boundaries, in heap and direct buffers;
 * Content-Length and close-delimited bodies; the framing chosen from a 2xx answer's headers;
 * malformed framing and bodies cut short.
 */
class Http1BodyDecoderTest
{
    @ParameterizedTest(name = "direct buffer: {0}")
    @ValueSource(booleans = {false, true})
    void aChunkedBodyDecodesByteExactWhateverTheReadBoundaries(boolean direct) throws Exception
    {
        SplittableRandom random = new SplittableRandom(Payloads.seed());
        byte[] body = Payloads.random(300_000);
        byte[] encoded = chunked(body, random, true);
        byte[] after = ascii("HTTP/1.1 200 OK\r\n\r\n");
        byte[] wire = ByteBuffer.allocate(encoded.length + after.length).put(encoded).put(after).array();
        for (int capacity : new int[]{1, 7, 4096, 70_000})
        {
            Http1BodyDecoder decoder = Http1BodyDecoder.chunked();
            ByteArrayOutputStream decoded = new ByteArrayOutputStream();
            ByteBuffer buffer = (direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity)).limit(0);
            int offset = 0;
            while (offset < wire.length && !decoder.isComplete())
            {
                // As a fill does: the buffer may still hold body bytes in front of the new ones.
                if (buffer.limit() == buffer.capacity() || random.nextInt(3) == 0)
                    drain(buffer, decoded);
                int from = buffer.limit();
                int n = Math.min(1 + random.nextInt(capacity), Math.min(buffer.capacity() - from, wire.length - offset));
                buffer.limit(from + n).put(from, wire, offset, n);
                offset += n;
                int produced = decoder.decode(buffer, from);
                assertThat(buffer.limit()).isEqualTo(from + produced);
            }
            drain(buffer, decoded);
            assertThat(decoder.isComplete()).as("capacity %d: %s at %d of %d", capacity, decoder, offset, wire.length).isTrue();
            assertThat(Payloads.sha256(decoded.toByteArray())).as("capacity %d, %s", capacity, Payloads.seedNote()).isEqualTo(Payloads.sha256(body));
            // Bytes after the body are dropped.
            assertThat(decoder.decode(ByteBuffer.wrap(after), 0)).isZero();
        }
    }

    @Test
    void aBufferWithinOneChunksDataIsLeftAsItIs() throws Exception
    {
        Http1BodyDecoder decoder = Http1BodyDecoder.chunked();
        ByteBuffer buffer = ByteBuffer.wrap(ascii("10\r\n0123456789"));
        assertThat(decoder.decode(buffer, 0)).isEqualTo(10);
        assertThat(StandardCharsets.US_ASCII.decode(buffer).toString()).isEqualTo("0123456789");
        buffer = ByteBuffer.wrap(ascii("abcdef\r\n0\r\n\r\n"));
        assertThat(decoder.decode(buffer, 0)).isEqualTo(6);
        assertThat(StandardCharsets.US_ASCII.decode(buffer).toString()).isEqualTo("abcdef");
        assertThat(decoder.isComplete()).isTrue();
    }

    @Test
    void aContentLengthBodyEndsAtItsLength() throws Exception
    {
        Http1BodyDecoder decoder = Http1BodyDecoder.length(10);
        ByteBuffer buffer = ByteBuffer.wrap(ascii("0123456"));
        assertThat(decoder.decode(buffer, 0)).isEqualTo(7);
        assertThat(decoder.isComplete()).isFalse();
        buffer = ByteBuffer.wrap(ascii("789 and more"));
        assertThat(decoder.decode(buffer, 0)).isEqualTo(3);
        assertThat(buffer.limit()).isEqualTo(3);
        assertThat(decoder.isComplete()).isTrue();
        decoder.onEof();

        assertThat(Http1BodyDecoder.length(0).isComplete()).isTrue();
        Http1BodyDecoder cut = Http1BodyDecoder.length(10);
        cut.decode(ByteBuffer.wrap(ascii("0123")), 0);
        assertThatThrownBy(cut::onEof).isInstanceOf(EofException.class).hasMessageContaining("6 bytes before the end");
    }

    @Test
    void aCloseDelimitedBodyEndsWithTheConnection() throws Exception
    {
        Http1BodyDecoder decoder = Http1BodyDecoder.toEof();
        ByteBuffer buffer = ByteBuffer.wrap(ascii("0\r\n\r\nnot framing"));
        assertThat(decoder.decode(buffer, 0)).isEqualTo(16);
        assertThat(decoder.isComplete()).isFalse();
        decoder.onEof();
        assertThat(decoder.isComplete()).isTrue();
    }

    @Test
    void theFramingComesFromTheAnswersHeaders() throws Exception
    {
        assertThat(decodes(Http1BodyDecoder.forResponse(200, HttpFields.build().add(HttpHeader.TRANSFER_ENCODING, "Chunked")), "3\r\nabc\r\n0\r\n\r\n"))
            .isEqualTo("abc");
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
        assertThat(decodes(Http1BodyDecoder.forResponse(200, HttpFields.build().add(HttpHeader.TRANSFER_ENCODING, "chunked")
            .add(HttpHeader.CONTENT_LENGTH, "100")), "3\r\nabc\r\n0\r\n\r\n")).isEqualTo("abc");
        assertThat(decodes(Http1BodyDecoder.forResponse(200, HttpFields.build().add(HttpHeader.CONTENT_LENGTH, "2")), "abc")).isEqualTo("ab");
        assertThat(decodes(Http1BodyDecoder.forResponse(200, HttpFields.EMPTY), "3\r\nabc")).isEqualTo("3\r\nabc");
        assertThat(Http1BodyDecoder.forResponse(204, HttpFields.build().add(HttpHeader.TRANSFER_ENCODING, "chunked")).isComplete()).isTrue();

        assertThatThrownBy(() -> Http1BodyDecoder.forResponse(200, HttpFields.build().add(HttpHeader.TRANSFER_ENCODING, "gzip, chunked")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gzip, chunked");
        assertThatThrownBy(() -> Http1BodyDecoder.forResponse(200, HttpFields.build().add(HttpHeader.CONTENT_LENGTH, "-1")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Content-Length -1");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "x\r\n",
        "-1\r\n",
        "5 x\r\n",
        "5\n",
        "5;ext\n",
        "3\r\nabcX\r\n",
        "3\r\nabc\rX",
        "1234567890abcdef\r\n",
        "0\r\nTrailer: x\n",
        "0\r\n\rX",
    })
    void malformedFramingIsAnError(String wire)
    {
        Http1BodyDecoder decoder = Http1BodyDecoder.chunked();
        assertThatThrownBy(() -> decoder.decode(ByteBuffer.wrap(ascii(wire)), 0))
            .isInstanceOf(IOException.class).hasMessageContaining("malformed chunked response body");
    }

    @Test
    void framingLinesAreBounded() throws Exception
    {
        String longExtension = "5;" + "e".repeat(Http1BodyDecoder.MAX_LINE) + "\r\n";
        assertThatThrownBy(() -> Http1BodyDecoder.chunked().decode(ByteBuffer.wrap(ascii(longExtension)), 0))
            .isInstanceOf(IOException.class).hasMessageContaining("longer than");
        String longTrailer = "0\r\nX: " + "t".repeat(Http1BodyDecoder.MAX_LINE) + "\r\n\r\n";
        assertThatThrownBy(() -> Http1BodyDecoder.chunked().decode(ByteBuffer.wrap(ascii(longTrailer)), 0))
            .isInstanceOf(IOException.class).hasMessageContaining("longer than");
        // Just below the bound is fine.
        String extension = "3;" + "e".repeat(Http1BodyDecoder.MAX_LINE - 3) + "\r\nabc\r\n0\r\n\r\n";
        assertThat(decodes(Http1BodyDecoder.chunked(), extension)).isEqualTo("abc");
    }

    @ParameterizedTest(name = "wire: [{0}]")
    @ValueSource(strings = {"", "3\r\nab", "3\r\nabc\r\n", "3\r\nabc\r\n0\r\n", "3\r\nabc\r\n0\r\nX: y\r\n"})
    void aCloseBeforeTheEndOfTheChunkedBodyIsAnError(String wire) throws Exception
    {
        Http1BodyDecoder decoder = Http1BodyDecoder.chunked();
        decoder.decode(ByteBuffer.wrap(ascii(wire)), 0);
        assertThat(decoder.isComplete()).isFalse();
        assertThatThrownBy(decoder::onEof).isInstanceOf(EofException.class).hasMessageContaining("before the last chunk");
    }

    // ---- helpers ----

    /**
     * {@code body} as chunks of random sizes; with {@code decorate}, some chunk-size lines in
     * upper case, with leading zeros or with extensions, and a trailer section.
     */
    static byte[] chunked(byte[] body, SplittableRandom random, boolean decorate)
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int offset = 0;
        while (offset < body.length)
        {
            int n = Math.min(body.length - offset, 1 + random.nextInt(random.nextBoolean() ? 20 : 20_000));
            String size = Integer.toHexString(n);
            if (decorate)
            {
                switch (random.nextInt(5))
                {
                    case 0 -> size = size.toUpperCase();
                    case 1 -> size = "00" + size;
                    case 2 -> size += ";name=value;flag";
                    case 3 -> size += " ; quoted=\"a;b\"";
                    default ->
                    {
                    }
                }
            }
            out.writeBytes(ascii(size + "\r\n"));
            out.write(body, offset, n);
            out.writeBytes(ascii("\r\n"));
            offset += n;
        }
        out.writeBytes(ascii(decorate ? "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n" : "0\r\n\r\n"));
        return out.toByteArray();
    }

    private static void drain(ByteBuffer buffer, ByteArrayOutputStream decoded)
    {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        decoded.writeBytes(bytes);
        buffer.clear().limit(0);
    }

    private static String decodes(Http1BodyDecoder decoder, String wire) throws IOException
    {
        ByteBuffer buffer = ByteBuffer.wrap(ascii(wire));
        decoder.decode(buffer, 0);
        return StandardCharsets.ISO_8859_1.decode(buffer).toString();
    }

    private static byte[] ascii(String s)
    {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
