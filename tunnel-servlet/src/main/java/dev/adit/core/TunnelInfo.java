package dev.adit.core;

import java.net.SocketAddress;
import java.time.Instant;

/**
 * What listeners, logs and metrics may know of a tunnel. Byte counts are live while the tunnel
 * is open and final in {@link TunnelListener#onClosed}.
 */
public interface TunnelInfo
{
    /** @return an id unique in this JVM, carried by every log line about the tunnel */
    String id();

    /** @return the CONNECT target as the client wrote it, normalised ({@code host:port}) */
    String authority();

    /** @return how the client reached us, e.g. {@code HTTP/1.1} or {@code HTTP/2} */
    String protocol();

    SocketAddress downstreamRemoteAddress();

    SocketAddress downstreamLocalAddress();

    /** @return the address the upstream connection went to, null before it connected */
    SocketAddress upstreamAddress();

    Instant startTime();

    /** @return bytes read from the client and written towards the target */
    long bytesFromDownstream();

    /** @return bytes read from the target and written towards the client */
    long bytesFromUpstream();
}
