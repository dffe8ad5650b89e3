package dev.adit.servlet;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Collections;

import dev.adit.config.ClusterConfig;
import dev.adit.config.ProxyProtocol;
import dev.adit.config.RouteConfig;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.handler.Router;
import dev.adit.policy.Authority;
import dev.adit.policy.MalformedAuthorityException;
import dev.adit.upstream.Cluster;
import dev.adit.upstream.ProxyProtocolHeader;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves POST tunnels (Envoy's {@code allow_post}) through the standard Servlet API alone, so
 * that this mode works in any Servlet 6 container: the request body is the stream towards the
 * target, the response body the stream back, full duplex over HTTP/1.1 (chunked) and HTTP/2.
 *
 * <p>The same routes, identity check, clusters, tunnel core and access log as Jetty's
 * {@code TunnelHandler}, and the same answers: the first matching {@code allow-post} route
 * decides (none: the servlet serves the request otherwise); {@code deny} answers its status;
 * 400 for a malformed Host the cluster needs, 401/403 for identities; then the cluster
 * connects and, once connected, the response is 200 with
 * {@code Content-Type: application/octet-stream} and no length, and the tunnel runs on a
 * {@link ServletTunnelEndPoint}; a failed connect answers 502 or 504 with a one-line reason.
 * Answers decided before connecting use the blocking API on the request's own thread; the
 * rest is asynchronous ({@code startAsync}, no timeout).</p>
 */
final class ServletPostTunnels
{
    private static final Logger LOG = LoggerFactory.getLogger(ServletPostTunnels.class);
    private static final String CERTIFICATES = "jakarta.servlet.request.X509Certificate";

    private final TunnelService service;
    private final JettyCore core;

    /** @param core the escape hatch to fail exchanges abortively; null outside Jetty */
    ServletPostTunnels(TunnelService service, JettyCore core)
    {
        this.service = service;
        this.core = core;
    }

    /** @return whether some route takes POST tunnels */
    boolean takesPost()
    {
        return service.router().takesPost();
    }

    /**
     * @return false when no route takes the request, which is then untouched; true when it was
     *         answered or became a tunnel
     */
    boolean serve(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        String rawTarget = rawTarget(request);
        Authority target = null;
        MalformedAuthorityException malformed = null;
        try
        {
            target = Authority.parse(rawTarget);
        }
        catch (MalformedAuthorityException x)
        {
            malformed = x;
        }
        RouteConfig route = service.router().route(Router.Kind.POST, null, target, headers(request), request.getRequestURI());
        if (route == null)
            return false;

        String version = httpVersion(request);
        SocketAddress remote = address(request.getRemoteAddr(), request.getRemotePort());
        SocketAddress local = address(request.getLocalAddr(), request.getLocalPort());
        Tunnel tunnel = service.newTunnel(target == null ? rawTarget : target.toString(), "POST " + version, remote, local);
        if (route.action() == RouteConfig.Action.DENY)
        {
            reject(request, response, tunnel, TunnelFailure.ROUTE_DENIED, route.denyStatus(), "denied by route " + route.name(), null);
            return true;
        }
        Cluster cluster = service.cluster(route.cluster());
        tunnel.setUpstreamCluster(cluster.config().name());
        if (target == null && cluster.config().type() == ClusterConfig.Type.ORIGINAL_DST)
        {
            reject(request, response, tunnel, TunnelFailure.MALFORMED_TARGET, TunnelFailure.MALFORMED_TARGET.status(), malformed.getMessage(), malformed);
            return true;
        }
        TunnelException unauthorized = service.identities().check((X509Certificate[])request.getAttribute(CERTIFICATES), route);
        if (unauthorized != null)
        {
            reject(request, response, tunnel, unauthorized.failure(), unauthorized.failure().status(), unauthorized.getMessage(), unauthorized);
            return true;
        }

        AsyncContext async = request.startAsync();
        async.setTimeout(0);
        ServletTunnelEndPoint endPoint = new ServletTunnelEndPoint(async, local, remote, service.connector().getScheduler(),
            service.config().tunnel().bufferSize().toIntBytes(), failure -> fail(request, async, failure));
        ProxyProtocol proxyProtocol = route.proxyProtocol().orElse(cluster.config().proxyProtocol());
        ByteBuffer preamble = ProxyProtocolHeader.encode(proxyProtocol, remote, local);
        cluster.terminate(target, preamble, tunnel, new Promise<>()
        {
            @Override
            public void succeeded(InetSocketAddress upstream)
            {
                establish(response, tunnel, endPoint);
            }

            @Override
            public void failed(Throwable x)
            {
                refuse(request, response, tunnel, endPoint, x);
            }
        });
        return true;
    }

    /** Answers 200 once the target is connected, then starts the tunnel on the exchange. */
    private void establish(HttpServletResponse response, Tunnel tunnel, ServletTunnelEndPoint endPoint)
    {
        Connection connection = tunnel.newDownstreamConnection(endPoint, service.connector().getExecutor(), ServletTunnelEndPoint.ABORTER);
        tunnel.setResponseCode(HttpServletResponse.SC_OK);
        response.setStatus(HttpServletResponse.SC_OK);
        response.setContentType("application/octet-stream");
        endPoint.commit(Callback.from(() ->
        {
            if (LOG.isDebugEnabled())
                LOG.debug("POST tunnel {} established on {}", tunnel.id(), endPoint);
            endPoint.onOpen();
            endPoint.upgrade(connection);
        }, x ->
        {
            // The client went away while the target was connecting, or before the 200 reached it.
            if (LOG.isDebugEnabled())
                LOG.debug("POST tunnel {}: the 200 could not be sent", tunnel.id(), x);
            tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, 0, x);
            endPoint.close(x);
        }));
    }

    /** The connect failed: the status of its failure, asynchronously. */
    private void refuse(HttpServletRequest request, HttpServletResponse response, Tunnel tunnel, ServletTunnelEndPoint endPoint, Throwable x)
    {
        TunnelFailure failure = x instanceof TunnelException te ? te.failure() : TunnelFailure.CONNECT_FAILED;
        String reason = x.getMessage() == null ? x.toString() : x.getMessage();
        log(request, tunnel, failure, failure.status(), reason);
        tunnel.refuse(failure, failure.status(), x);
        prepare(request, response, failure.status());
        endPoint.answer(body(failure, reason));
    }

    /** Answers a tunnel refused before connecting, on the request's thread. */
    private void reject(HttpServletRequest request, HttpServletResponse response, Tunnel tunnel, TunnelFailure failure, int status,
                        String reason, Throwable cause) throws IOException
    {
        log(request, tunnel, failure, status, reason);
        tunnel.refuse(failure, status, cause);
        prepare(request, response, status);
        byte[] body = body(failure, reason);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private static void log(HttpServletRequest request, Tunnel tunnel, TunnelFailure failure, int status, String reason)
    {
        // The same line as TunnelHandler's, so that one search finds every refusal.
        LOG.info("CONNECT {} from {} over {} refused {} {} (tunnel {}): {}", tunnel.authority(), request.getRemoteAddr(),
            httpVersion(request), status, failure.code(), tunnel.id(), reason);
    }

    private static void prepare(HttpServletRequest request, HttpServletResponse response, int status)
    {
        response.setStatus(status);
        response.setContentType("text/plain;charset=utf-8");
        // As for CONNECT: whatever the client still sends must not be read as a next request.
        if (isHttp1(request))
            response.setHeader("Connection", "close");
    }

    private static byte[] body(TunnelFailure failure, String reason)
    {
        return (failure.code() + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Fails the exchange abortively where the container allows it (Jetty), else completes it. */
    private void fail(HttpServletRequest request, AsyncContext async, Throwable failure)
    {
        if (core != null)
        {
            core.abort(request, failure);
            return;
        }
        try
        {
            async.complete();
        }
        catch (IllegalStateException alreadyCompleted)
        {
            // The container completed it after the failure.
        }
    }

    /**
     * The Host (or {@code :authority}) as {@code host:port}, the scheme's default port when it
     * has none (RFC 9110 §4.2), IPv6 literals in brackets, so that {@link Authority#parse}
     * judges the whole.
     */
    static String rawTarget(HttpServletRequest request)
    {
        String host = request.getServerName();
        if (host == null || host.isEmpty())
            return "";
        if (host.indexOf(':') >= 0 && !host.startsWith("["))
            host = "[" + host + "]";
        int port = request.getServerPort();
        if (port <= 0)
            port = "https".equalsIgnoreCase(request.getScheme()) ? 443 : 80;
        return host + ":" + port;
    }

    private static HttpFields headers(HttpServletRequest request)
    {
        HttpFields.Mutable fields = HttpFields.build();
        for (String name : Collections.list(request.getHeaderNames()))
        {
            for (String value : Collections.list(request.getHeaders(name)))
                fields.add(name, value);
        }
        return fields;
    }

    /** @return {@code HTTP/1.1}, or {@code HTTP/2} as RFC 9113 and Envoy's access log name it (containers say {@code HTTP/2.0}) */
    private static String httpVersion(HttpServletRequest request)
    {
        String protocol = request.getProtocol();
        return "HTTP/2.0".equals(protocol) ? "HTTP/2" : protocol;
    }

    private static boolean isHttp1(HttpServletRequest request)
    {
        return request.getProtocol() != null && request.getProtocol().startsWith("HTTP/1");
    }

    /** An address from the Servlet API's literal IP (no name lookup), or null. */
    private static SocketAddress address(String ip, int port)
    {
        if (ip == null || ip.isEmpty())
            return null;
        try
        {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        }
        catch (UnknownHostException x)
        {
            return InetSocketAddress.createUnresolved(ip, port);
        }
    }
}
