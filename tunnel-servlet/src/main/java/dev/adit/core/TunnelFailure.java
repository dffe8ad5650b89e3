package dev.adit.core;

/**
 * Every way a tunnel can fail or end, classified once. Failures before the tunnel exists carry
 * the HTTP status the client gets (RFC 9110 §9.3.6 leaves the choice to the proxy; these follow
 * Envoy and squid); after it exists there is no status, only a reset or a close.
 *
 * <p>Each also carries the Envoy response flag an operator would see for the same event in
 * Envoy's access log ({@code %RESPONSE_FLAGS%}), so that dashboards and alerts written for
 * Envoy read Adit's log too. Where Envoy sets no flag for the event (a policy or route denial,
 * an upstream's own refusal relayed as is, a clean end) the flag is {@code -}, as in Envoy;
 * {@link #code()} then tells the cases apart (Envoy's {@code %RESPONSE_CODE_DETAILS%}).</p>
 */
public enum TunnelFailure
{
    /** The CONNECT target is not a valid {@code host:port}. */
    MALFORMED_TARGET(400, "malformed_target", "DPE"),
    /**
     * An HTTP/1.1 CONNECT announced request content ({@code Content-Length} above 0, or
     * {@code Transfer-Encoding}). A CONNECT's content has no defined meaning (RFC 9110 §9.3.6)
     * and a tunnel's bytes follow its head: Jetty would read them as content, and they would
     * reach no one. (Over HTTP/2 a CONNECT stream's DATA are tunnel bytes whatever its
     * {@code content-length} says.)
     */
    CONNECT_WITH_CONTENT(400, "connect_with_content", "DPE"),
    /**
     * Jetty refused the request before Adit saw it: a malformed request line or header field,
     * or a compliance rule such as {@code Authority!=Host}. Logged by the standalone server's
     * error handler; its {@linkplain TunnelInfo#responseCode() response code} is Jetty's status
     * (400, 417, 431, 505...), and there is no tunnel.
     */
    DOWNSTREAM_PROTOCOL_ERROR(400, "downstream_protocol_error", "DPE"),
    /** Bytes arrived before the 200 and the configuration rejects early data. */
    EARLY_DATA_REJECTED(400, "early_data_rejected", "DPE"),
    /** The destination policy refused the target's name or address. */
    DENIED(403, "denied", "-"),
    /** The CONNECT came over a listener (or route) where that upgrade is not enabled. */
    UPGRADE_DISABLED(403, "upgrade_disabled", "-"),
    /** No route matches the request. */
    NO_ROUTE(404, "no_route", "NR"),
    /** The matching route denies the request (its configured status is sent). */
    ROUTE_DENIED(403, "route_denied", "-"),
    /** CONNECT came over a protocol whose tunnels Jetty does not support (HTTP/3). */
    NOT_IMPLEMENTED(501, "not_implemented", "-"),
    /** An upstream proxy answered the forwarded CONNECT with a non-2xx status, relayed as is. */
    UPSTREAM_REFUSED(502, "upstream_refused", "-"),
    /** The TLS handshake with an upstream endpoint failed (trust, pin, name, protocol). */
    TLS_FAILED(502, "tls_failed", "UF"),
    /** An upstream proxy's answer could not be understood, or its connection broke before it answered. */
    UPSTREAM_PROTOCOL_ERROR(502, "upstream_protocol_error", "UPE"),
    /** The target's name did not resolve. */
    DNS_FAILURE(502, "dns_failure", "DF"),
    /** The target refused the connection or was unreachable. */
    CONNECT_FAILED(502, "connect_failed", "UF"),
    /**
     * The target did not answer the connect within the connect timeout. Flagged UF, not UT:
     * Envoy's router reports a connect timeout as a connection failure (UT is its request
     * timeout).
     */
    CONNECT_TIMEOUT(504, "connect_timeout", "UF"),
    /** The server is stopping or cannot take more tunnels. */
    UNAVAILABLE(503, "unavailable", "UO"),
    /** The route serves only certain SPIFFE identities and the client presented none (no certificate, or no SPIFFE ID in it). */
    UNAUTHENTICATED(401, "unauthenticated", "-"),
    /** The client's SPIFFE identity is not on the route's allow list. */
    IDENTITY_DENIED(403, "identity_denied", "-"),

    /** Both directions finished cleanly (FIN or END_STREAM each way). */
    COMPLETED(0, "completed", "-"),
    /** No byte moved in either direction for the idle timeout. */
    IDLE_TIMEOUT(0, "idle_timeout", "SI"),
    /** The tunnel lived for its maximum duration. */
    MAX_DURATION(0, "max_duration", "DT"),
    /** The client reset its side (TCP reset, RST_STREAM) or its connection failed. */
    DOWNSTREAM_RESET(0, "downstream_reset", "DC"),
    /** The target reset its side or its connection failed. */
    UPSTREAM_RESET(0, "upstream_reset", "UR"),
    /** The server stopped while the tunnel was open. */
    SHUTDOWN(0, "shutdown", "LR");

    private final int status;
    private final String code;
    private final String responseFlag;

    TunnelFailure(int status, String code, String responseFlag)
    {
        this.status = status;
        this.code = code;
        this.responseFlag = responseFlag;
    }

    /** @return the HTTP status sent to the client, or 0 for outcomes of an established tunnel */
    public int status()
    {
        return status;
    }

    /** @return a short stable name for logs and metrics, in the style of Envoy's response flags */
    public String code()
    {
        return code;
    }

    /**
     * @return Envoy's short response flag for this outcome: {@code UF} upstream connection
     *         failure (refused, unreachable, TLS, connect timeout), {@code DF} DNS failure,
     *         {@code UPE} upstream protocol error, {@code UO} upstream overflow, {@code NR} no
     *         route, {@code DPE} downstream protocol error, {@code SI} idle timeout, {@code DT}
     *         maximum duration, {@code DC} downstream termination, {@code UR} upstream reset,
     *         {@code LR} local reset; {@code -} when Envoy would set none
     */
    public String responseFlag()
    {
        return responseFlag;
    }
}
