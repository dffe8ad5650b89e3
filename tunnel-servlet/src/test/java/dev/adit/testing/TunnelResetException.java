package dev.adit.testing;

import java.io.IOException;
import java.net.SocketException;
import java.util.Optional;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * A tunnel ended abortively rather than with a clean EOF: a TCP reset (HTTP/1.1), or on
 * HTTP/2 an RST_STREAM, a stream failure (e.g. the session died) or a stream idle timeout.
 * {@link #errorCode()} carries the HTTP/2 error code when there was one.
 */
public final class TunnelResetException extends IOException {
    /** No HTTP/2 error code (a TCP reset, or a failure without one). */
    public static final int NO_CODE = -1;

    private final int errorCode;

    public TunnelResetException(String message, int errorCode, Throwable cause) {
        super(message + (errorCode == NO_CODE ? "" : " (" + ErrorCode.toString(errorCode, "0x" + Integer.toHexString(errorCode)) + ")"), cause);
        this.errorCode = errorCode;
    }

    /**
     * @return whether {@code failure} or one of its causes is a TCP reset as the JDK reports it
     *         ("Connection reset"), or the broken pipe a write meets after one
     */
    public static boolean isTcpReset(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = t.getMessage();
            if (t instanceof SocketException && message != null
                && (message.contains("reset") || message.contains("Broken pipe"))) {
                return true;
            }
        }
        return false;
    }

    /** The HTTP/2 error code, or {@link #NO_CODE}. */
    public int errorCode() {
        return errorCode;
    }

    /** The HTTP/2 error code as Jetty's enum, when it is a known one. */
    public Optional<ErrorCode> h2Error() {
        return errorCode == NO_CODE ? Optional.empty() : Optional.ofNullable(ErrorCode.from(errorCode));
    }
}
