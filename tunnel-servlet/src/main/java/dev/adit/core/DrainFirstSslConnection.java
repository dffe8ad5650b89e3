package dev.adit.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * An {@link SslConnection} that reads the socket only once no whole TLS record is left in its
 * buffer, so that it never reads the peer's FIN ahead of records it has yet to decrypt.
 *
 * <p>Why: Jetty's {@code SslConnection} reads the socket on every fill, even with records
 * still buffered, and decrypts one record per fill. When that read meets the peer's FIN, the
 * socket's input is shut while records remain buffered; and if its output is shut too (a
 * tunnel passed the client's half-close on: close_notify, then FIN), Jetty closes the socket
 * right there. The close reaches {@link SslConnection#onClose} on another thread, which
 * discards the buffered records; the next fill finds nothing and reports end of input. So
 * the last bytes of a TLS peer that answered after a half-close were lost, and the tunnel still
 * ended as if cleanly. The same happens in the other order: input shut first, then
 * {@code shutdownOutput()} on the decrypted endpoint, which closes the socket when its input
 * is shut. Reading only when no whole record is buffered means the FIN is read only once
 * everything before it was decrypted and delivered; what can be discarded then is at most a
 * partial record, which the FIN truncated anyway.</p>
 *
 * <p>Cost: a look at the 5-byte record header when the buffer is not empty; and fewer reads,
 * since a read is skipped while a record is waiting. In case an engine reports underflow on a
 * record this class counted as whole (the JDK's does not), the next fill reads the socket
 * anyway rather than wait for it.</p>
 *
 * <p>Threading: {@link #networkFill} and {@link #unwrap} are only called by the decrypted
 * endpoint's fill, under the {@code SslConnection}'s lock, which also guards
 * {@link #readAnyway}.</p>
 */
public final class DrainFirstSslConnection extends SslConnection
{
    /** Content type (1), legacy version (2), length (2): RFC 8446 §5.1, the same in TLS 1.2. */
    private static final int RECORD_HEADER_LENGTH = 5;
    /** change_cipher_spec: the lowest content type in use. */
    private static final int FIRST_CONTENT_TYPE = 20;
    /** heartbeat (RFC 6520): the highest content type in use. */
    private static final int LAST_CONTENT_TYPE = 24;

    private boolean readAnyway;

    public DrainFirstSslConnection(ByteBufferPool pool, Executor executor, SslContextFactory sslContextFactory, EndPoint endPoint, SSLEngine engine,
                                   boolean directBuffersForEncryption, boolean directBuffersForDecryption)
    {
        super(pool, executor, sslContextFactory, endPoint, engine, directBuffersForEncryption, directBuffersForDecryption);
    }

    @Override
    protected int networkFill(ByteBuffer input) throws IOException
    {
        // The fill goes on to unwrap what is buffered even when nothing was read.
        if (!readAnyway && holdsWholeRecord(input))
            return 0;
        return super.networkFill(input);
    }

    @Override
    protected SSLEngineResult unwrap(SSLEngine engine, ByteBuffer input, ByteBuffer output) throws SSLException
    {
        SSLEngineResult result = super.unwrap(engine, input, output);
        // SslConnection treats "OK, nothing consumed nor produced" as underflow too.
        readAnyway = result.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW
            || (result.getStatus() == SSLEngineResult.Status.OK && result.bytesConsumed() == 0 && result.bytesProduced() == 0);
        return result;
    }

    /**
     * @param encrypted bytes read from the socket, in flush mode
     * @return whether they begin with a whole TLS record; false for anything that does not look
     * like a TLS record header, which then goes to the engine as it would have without this class
     */
    static boolean holdsWholeRecord(ByteBuffer encrypted)
    {
        int remaining = encrypted.remaining();
        if (remaining < RECORD_HEADER_LENGTH)
            return false;
        int position = encrypted.position();
        int type = encrypted.get(position) & 0xFF;
        if (type < FIRST_CONTENT_TYPE || type > LAST_CONTENT_TYPE)
            return false;
        int length = ((encrypted.get(position + 3) & 0xFF) << 8) | (encrypted.get(position + 4) & 0xFF);
        return remaining >= RECORD_HEADER_LENGTH + length;
    }
}
