package dev.adit.testing;

/** The four downstream transports a tunnel client can speak to the proxy. */
public enum Transport {
    /** HTTP/1.1 over plain TCP: {@code CONNECT host:port HTTP/1.1}, one socket per tunnel. */
    HTTP1(false, false),
    /** HTTP/1.1 over TLS (ALPN offers {@code http/1.1} only), one socket per tunnel. */
    HTTP1_TLS(true, false),
    /** HTTP/2 with prior knowledge over plain TCP; one session, one stream per tunnel. */
    H2C(false, true),
    /** HTTP/2 over TLS with ALPN {@code h2}; one session, one stream per tunnel. */
    H2(true, true);

    private final boolean tls;
    private final boolean http2;

    Transport(boolean tls, boolean http2) {
        this.tls = tls;
        this.http2 = http2;
    }

    public boolean isTls() {
        return tls;
    }

    public boolean isHttp2() {
        return http2;
    }

    /** The URI scheme of the proxy for this transport: {@code "https"} or {@code "http"}. */
    public String scheme() {
        return tls ? "https" : "http";
    }
}
