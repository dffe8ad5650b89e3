package dev.adit.config;

import java.util.List;
import java.util.Objects;

/**
 * An encapsulating listener: it accepts plain TCP and carries each connection through a tunnel
 * opened to a static cluster, as Envoy's {@code tcp_proxy} with {@code tunneling_config} does
 * (and Istio's ztunnel on the outbound side of HBONE).
 *
 * @param name         the listener's name (the Jetty connector's name)
 * @param host         the address it binds
 * @param port         its port, 0 for a free one
 * @param cluster      the static cluster tunnels go to; its {@code protocol} says HTTP/1.1 or
 *                     HTTP/2, its TLS settings how (h2 over TLS with ALPN, or h2c)
 * @param mode         CONNECT, or POST to {@code postPath}
 * @param hostname     the CONNECT target ({@code :authority}), with operators such as
 *                     {@code %DOWNSTREAM_LOCAL_PORT%}
 * @param postPath     the {@code :path} of POST tunnels
 * @param headersToAdd headers sent with each request, values with operators
 * @param forwarded    send {@code forwarded: for="<client ip:port>"} (RFC 7239), as HBONE does
 */
public record EncapConfig(String name, String host, int port, String cluster, Mode mode, Template hostname, String postPath,
                          List<Header> headersToAdd, boolean forwarded)
{
    /** How the tunnel is asked for. */
    public enum Mode
    {
        /** CONNECT (RFC 9110 §9.3.6, RFC 9113 §8.5). */
        CONNECT,
        /** POST with the bytes as request and response bodies (Envoy's {@code use_post}). */
        POST
    }

    /** A header to add; its value may carry operators. */
    public record Header(String name, Template value)
    {
        public Header
        {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
        }
    }

    public EncapConfig
    {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(postPath, "postPath");
        headersToAdd = List.copyOf(headersToAdd);
        if (port < 0 || port > 65535)
            throw new IllegalArgumentException("port " + port);
    }
}
