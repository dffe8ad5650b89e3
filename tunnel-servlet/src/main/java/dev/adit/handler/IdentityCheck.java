package dev.adit.handler;

import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.adit.config.RouteConfig;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.tls.SpiffeId;
import dev.adit.tls.SpiffeIdPattern;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;

/**
 * Authorizes a tunnel request by the SPIFFE identity of the client's TLS certificate, as
 * Istio's ztunnel does for HBONE: a route with {@code allowed-identities} serves a client only
 * when its certificate (already verified by the listener's mutual TLS) carries a SPIFFE ID
 * that one of the patterns matches.
 *
 * <p>ztunnel answers 401 to every authorization failure. Adit tells the two cases apart, as
 * HTTP does: no certificate, or one without a SPIFFE ID, is 401 ({@code unauthenticated}: the
 * client could retry with credentials); a known identity that is not allowed is 403
 * ({@code identity_denied}). No {@code WWW-Authenticate} goes with the 401: no HTTP
 * authentication scheme stands for a TLS client certificate.</p>
 *
 * <p>The certificate comes from the TLS session of the request's connection, so HTTP/1.1 and
 * HTTP/2 (every stream of the connection) are alike. Immutable and thread-safe.</p>
 *
 * <p>Public for the servlet ({@code dev.adit.servlet}), which has the certificate chain from
 * the Servlet API rather than a Jetty request.</p>
 */
public final class IdentityCheck
{
    private final Map<String, List<SpiffeIdPattern>> allowedByRoute = new HashMap<>();

    /** @throws IllegalArgumentException if a route's allowed identity is not a valid pattern */
    public IdentityCheck(List<RouteConfig> routes)
    {
        for (RouteConfig route : routes)
        {
            if (!route.allowedIdentities().isEmpty())
                allowedByRoute.put(route.name(), route.allowedIdentities().stream().map(SpiffeIdPattern::parse).toList());
        }
    }

    /**
     * @return null when {@code route} serves the client of {@code request}, else the failure to
     *         answer, whose message names the route and the identity (or its absence)
     */
    TunnelException check(Request request, RouteConfig route)
    {
        return allowedByRoute.containsKey(route.name()) ? check(peerCertificates(request), route) : null;
    }

    /**
     * @param chain the client's verified certificate chain, leaf first; null or empty when it
     *              presented none
     * @return null when {@code route} serves that client, else the failure to answer
     */
    public TunnelException check(X509Certificate[] chain, RouteConfig route)
    {
        List<SpiffeIdPattern> allowed = allowedByRoute.get(route.name());
        if (allowed == null)
            return null;
        if (chain == null || chain.length == 0)
        {
            return new TunnelException(TunnelFailure.UNAUTHENTICATED, "route " + route.name()
                + " serves only allowed SPIFFE identities and the client presented no TLS certificate");
        }
        Optional<SpiffeId> identity = SpiffeId.fromCertificate(chain[0]);
        if (identity.isEmpty())
        {
            return new TunnelException(TunnelFailure.UNAUTHENTICATED, "route " + route.name()
                + " serves only allowed SPIFFE identities and the client certificate " + chain[0].getSubjectX500Principal().getName()
                + " carries no SPIFFE ID (expected: exactly one spiffe:// URI SAN)");
        }
        if (!SpiffeIdPattern.anyMatches(allowed, identity.get()))
            return new TunnelException(TunnelFailure.IDENTITY_DENIED, "identity " + identity.get() + " is not allowed by route " + route.name());
        return null;
    }

    /**
     * The verified certificate chain of the client, leaf first, or null: from the request
     * attribute {@code SecureRequestCustomizer} sets, else from the connection's TLS endpoint
     * (a server whose connector has no such customizer).
     */
    private static X509Certificate[] peerCertificates(Request request)
    {
        EndPoint.SslSessionData data = request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData d ? d : null;
        if (data == null)
        {
            EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
            data = endPoint == null ? null : endPoint.getSslSessionData();
        }
        return data == null ? null : data.peerCertificates();
    }
}
