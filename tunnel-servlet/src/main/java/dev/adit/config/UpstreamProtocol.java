package dev.adit.config;

/**
 * How a {@code proxy} route forwards the CONNECT to its cluster.
 */
public enum UpstreamProtocol
{
    /** HTTP/1.1 CONNECT, one connection per tunnel. */
    HTTP1,
    /** HTTP/2 CONNECT, tunnels multiplexed as streams over pooled connections (h2 over TLS, h2c otherwise). */
    H2
}
