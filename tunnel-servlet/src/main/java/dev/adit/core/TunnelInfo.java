package dev.adit.core;

import java.net.SocketAddress;
import java.time.Instant;

/**
 * What listeners, logs and metrics may know of a tunnel. Byte counts are live while the tunnel
 * is open and final in {@link TunnelListener#onClosed}.
 */
public interface TunnelInfo
{
    /**
     * @return an id unique in this JVM, carried by every log line about the tunnel; null for a
     *         request that never became a tunnel (one Jetty refused before Adit saw it)
     */
    String id();

    /** @return the CONNECT target as the client wrote it, normalised ({@code host:port}) */
    String authority();

    /** @return how the client reached us, e.g. {@code HTTP/1.1} or {@code HTTP/2} */
    String protocol();

    SocketAddress downstreamRemoteAddress();

    SocketAddress downstreamLocalAddress();

    /** @return the address the upstream connection went to, null before it connected */
    SocketAddress upstreamAddress();

    /**
     * @return the name of the cluster the tunnel was sent to, null when none was chosen (the
     *         request was refused before routing, or by a deny route)
     */
    default String upstreamCluster()
    {
        return null;
    }

    /**
     * @return the HTTP status of the answer to the tunnel's request, as the access log reports
     *         it: what Adit answered the client ({@code 200} once established, the refusal's
     *         status otherwise, an upstream's refusal relayed as is); for a tunnel that Adit
     *         itself opens through an upstream (the client side speaks no HTTP), the upstream's
     *         answer. 0 while there is none, or when the client went away before it.
     */
    default int responseCode()
    {
        return 0;
    }

    Instant startTime();

    /** @return bytes read from the client and written towards the target */
    long bytesFromDownstream();

    /** @return bytes read from the target and written towards the client */
    long bytesFromUpstream();
}
