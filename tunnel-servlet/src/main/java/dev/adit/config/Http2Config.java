package dev.adit.config;

import java.time.Duration;
import java.util.Objects;

/**
 * HTTP/2 settings of the listeners, sized for tunnels rather than for request/response traffic:
 * many long-lived streams per connection and windows large enough that one stream can fill a
 * fast link (Envoy uses 16 MiB / 24 MiB).
 *
 * @param maxConcurrentStreams SETTINGS_MAX_CONCURRENT_STREAMS: tunnels one client connection may hold
 * @param initialStreamWindow  SETTINGS_INITIAL_WINDOW_SIZE: bytes a client may send on one stream unread
 * @param initialSessionWindow the connection-level receive window, at least the stream window
 * @param streamIdleTimeout    Jetty's stream idle timeout; set explicitly because Jetty otherwise
 *                             copies the connector's idle timeout (30 s) onto every stream
 * @param maxFrameSize         SETTINGS_MAX_FRAME_SIZE: the largest DATA frame a peer may send Adit;
 *                             above the RFC's 16 KiB a bulk upload costs fewer frames (lookups,
 *                             buffers, wake-ups) per byte
 */
public record Http2Config(int maxConcurrentStreams, Size initialStreamWindow, Size initialSessionWindow, Duration streamIdleTimeout,
                          Size maxFrameSize)
{
    /** RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE lies between 2^14 and 2^24 - 1. */
    public static final int MIN_FRAME_SIZE = 1 << 14;
    public static final int MAX_FRAME_SIZE = (1 << 24) - 1;
    public static final Http2Config DEFAULTS = new Http2Config(1024, Size.ofMebibytes(8), Size.ofMebibytes(32), Duration.ofHours(1),
        Size.ofKibibytes(64));

    public Http2Config
    {
        Objects.requireNonNull(initialStreamWindow, "initialStreamWindow");
        Objects.requireNonNull(initialSessionWindow, "initialSessionWindow");
        Objects.requireNonNull(streamIdleTimeout, "streamIdleTimeout");
        Objects.requireNonNull(maxFrameSize, "maxFrameSize");
        if (maxFrameSize.bytes() < MIN_FRAME_SIZE || maxFrameSize.bytes() > MAX_FRAME_SIZE)
            throw new IllegalArgumentException("maxFrameSize: " + maxFrameSize);
    }
}
