package dev.adit.handler;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

import dev.adit.config.ClusterConfig;
import dev.adit.config.ListenerConfig;
import dev.adit.config.ProxyProtocol;
import dev.adit.config.RouteConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.ResetAwareEndPoint;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelListener;
import dev.adit.policy.Authority;
import dev.adit.policy.MalformedAuthorityException;
import dev.adit.upstream.Affinity;
import dev.adit.upstream.Cluster;
import dev.adit.upstream.ProxyProtocolHeader;
import dev.adit.upstream.UpstreamRefusedException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.TunnelSupport;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes and serves tunnel requests: HTTP/1.1 CONNECT, HTTP/2 CONNECT (RFC 9113 §8.5) and its
 * legacy {@code :protocol=bytestream} form, RFC 8441 extended CONNECT, and POST tunnels.
 *
 * <p>Each request is matched against the routes in order ({@link Router}); the first match
 * decides. Upgrades follow Envoy's truth table: the route's {@code upgrade-enabled} wins when
 * set, otherwise the listener's {@code upgrades} decide; a disabled upgrade gets 403. Actions:
 * <ul>
 *   <li>{@code terminate}: connect to the route's cluster (the CONNECT target itself for
 *       {@code original-dst}) and, once connected, answer 200 (no Content-Length, no
 *       Transfer-Encoding) and join both sides in a {@link Tunnel};</li>
 *   <li>{@code proxy}: forward the CONNECT to the cluster (HTTP/1.1, or HTTP/2 over pooled
 *       connections); on its 2xx answer 200 and join; a non-2xx answer (407, 403, 503...) is
 *       relayed as is, with its headers and body;</li>
 *   <li>{@code deny}: answer the route's status.</li>
 * </ul>
 * A route with {@code allowed-identities} serves only clients whose TLS certificate carries an
 * allowed SPIFFE ID ({@link IdentityCheck}), checked after the target and before any connect.
 * Before the tunnel exists every failure is an HTTP status: 400 malformed target, 401 no client
 * identity, 403 denied (policy, route, disabled upgrade, identity), 404 no route, 502 refused or
 * unresolvable or TLS failure, 504 timeout; each is logged with its reason.</p>
 *
 * <p>Every tunnel request it takes becomes a {@link Tunnel}, refused ones included, so that the
 * listener hears of each exactly once: {@link TunnelListener#onOpened} and
 * {@link TunnelListener#onClosed}, or {@link TunnelListener#onRefused} with the status sent.</p>
 *
 * <p>Requests that are not tunnel requests go to the next handler, and so do extended CONNECT
 * and POST requests that no route takes (a webapp may serve WebSocket over HTTP/2). A plain
 * CONNECT that no route takes gets 404, as in Envoy. The handler must sit in front of every
 * context: an HTTP/2 CONNECT has no path and would not reach one.</p>
 *
 * <p>HTTP/2-only code ({@link Http2Streams}, {@link Http2StreamAborter}) is called for HTTP/2
 * requests only, so that a server without jetty-home's HTTP/2 modules, whose class path has no
 * HTTP/2 classes, still serves HTTP/1.1 tunnels and refusals.</p>
 *
 * <p>Contract: for a request it takes, {@link #handle} returns true and completes the callback
 * exactly once, asynchronously for terminate and proxy.</p>
 */
public class TunnelHandler extends Handler.Wrapper
{
    private static final Logger LOG = LoggerFactory.getLogger(TunnelHandler.class);
    private static final String BYTESTREAM = "bytestream";
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length");

    private final TunnelConfig config;
    private final Router router;
    private final IdentityCheck identities;
    private final Map<String, Cluster> clusters;
    private final Function<Connector, Set<String>> listenerUpgrades;
    private final TunnelListener listener;

    /**
     * @param clusters the clusters routes name, started and stopped by their owner (see
     *                 {@code dev.adit.embed.AditComponents}), not by this handler
     * @param upgrades the upgrades each listener enables, by connector name; connectors not
     *                 listed (a stock Jetty server's) enable plain CONNECT only
     */
    public TunnelHandler(TunnelConfig config, List<RouteConfig> routes, Map<String, Cluster> clusters, Map<String, Set<String>> upgrades, TunnelListener listener)
    {
        this(config, routes, clusters, byName(upgrades), listener);
    }

    /**
     * For servers whose connectors Adit did not name (jetty-home's are unnamed): the upgrades
     * are looked up by connector, once per tunnel request.
     *
     * @param clusters the clusters routes name, started and stopped by their owner, not by this
     *                 handler: a servlet calls {@link #handle} on a handler it never starts
     * @param upgrades the upgrades a connector enables; null enables plain CONNECT only
     */
    public TunnelHandler(TunnelConfig config, List<RouteConfig> routes, Map<String, Cluster> clusters, Function<Connector, Set<String>> upgrades, TunnelListener listener)
    {
        this.config = Objects.requireNonNull(config);
        this.router = new Router(routes);
        this.identities = new IdentityCheck(routes);
        this.clusters = Map.copyOf(clusters);
        this.listenerUpgrades = Objects.requireNonNull(upgrades);
        this.listener = Objects.requireNonNull(listener);
        for (RouteConfig route : routes)
        {
            if (route.action() != RouteConfig.Action.DENY && !clusters.containsKey(route.cluster()))
                throw new IllegalArgumentException("route " + route.name() + " names cluster " + route.cluster() + ", which is not given");
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        String method = request.getMethod();
        Router.Kind kind;
        String protocol = null;
        TunnelSupport tunnelSupport = null;
        if (HttpMethod.CONNECT.is(method))
        {
            tunnelSupport = request.getTunnelSupport();
            if (tunnelSupport == null)
            {
                // HTTP/3 has no tunnel support in Jetty 12.1.
                fail(request, response, callback, newTunnel(request, rawTarget(request), httpVersion(request)),
                    new TunnelException(TunnelFailure.NOT_IMPLEMENTED, "CONNECT is not supported over " + request.getConnectionMetaData().getProtocol()));
                return true;
            }
            protocol = tunnelSupport.getProtocol();
            if (protocol == null || BYTESTREAM.equalsIgnoreCase(protocol))
            {
                kind = Router.Kind.PLAIN;
                protocol = null;
            }
            else
            {
                kind = Router.Kind.EXTENDED;
                protocol = protocol.toLowerCase(Locale.ROOT);
            }
        }
        else if (HttpMethod.POST.is(method) && router.takesPost())
        {
            kind = Router.Kind.POST;
        }
        else
        {
            return super.handle(request, response, callback);
        }

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
        String path = kind == Router.Kind.PLAIN ? null : request.getHttpURI().getPath();
        RouteConfig route = router.route(kind, protocol, target, request.getHeaders(), path);
        if (route == null)
        {
            if (kind != Router.Kind.PLAIN)
                return super.handle(request, response, callback);
            Tunnel tunnel = newTunnel(request, rawTarget, tunnelProtocol(request, kind, protocol));
            if (malformed != null)
                fail(request, response, callback, tunnel, new TunnelException(TunnelFailure.MALFORMED_TARGET, malformed.getMessage()));
            else
                fail(request, response, callback, tunnel, new TunnelException(TunnelFailure.NO_ROUTE, "no route matches"));
            return true;
        }
        String label = target == null ? rawTarget : target.toString();
        Tunnel tunnel = newTunnel(request, label, tunnelProtocol(request, kind, protocol));
        if (kind != Router.Kind.POST && !upgradeEnabled(request, route, kind == Router.Kind.PLAIN ? ListenerConfig.CONNECT : protocol))
        {
            String what = kind == Router.Kind.PLAIN ? "CONNECT" : "extended CONNECT " + protocol;
            fail(request, response, callback, tunnel, new TunnelException(TunnelFailure.UPGRADE_DISABLED,
                what + " is not enabled on this listener or route " + route.name()));
            return true;
        }
        if (route.action() == RouteConfig.Action.DENY)
        {
            reject(request, response, callback, tunnel, TunnelFailure.ROUTE_DENIED, route.denyStatus(), "denied by route " + route.name(), null);
            return true;
        }
        Cluster cluster = clusters.get(route.cluster());
        tunnel.setUpstreamCluster(cluster.config().name());
        if (target == null && (cluster.config().type() == ClusterConfig.Type.ORIGINAL_DST || route.action() == RouteConfig.Action.PROXY))
        {
            fail(request, response, callback, tunnel, new TunnelException(TunnelFailure.MALFORMED_TARGET, malformed.getMessage()));
            return true;
        }
        TunnelException unauthorized = identities.check(request, route);
        if (unauthorized != null)
        {
            fail(request, response, callback, tunnel, unauthorized);
            return true;
        }
        String content = kind == Router.Kind.POST || !isHttp1(request) ? null : announcedContent(request);
        if (content != null)
        {
            fail(request, response, callback, tunnel, new TunnelException(TunnelFailure.CONNECT_WITH_CONTENT,
                "an HTTP/1.1 CONNECT carries no content, this one announced " + content));
            return true;
        }
        open(request, response, callback, kind, protocol, target, tunnel, route, cluster,
            kind == Router.Kind.POST ? null : tunnelSupport.getEndPoint());
        return true;
    }

    /**
     * Over HTTP/1.1, Jetty reads what follows a CONNECT's head as its content when the head
     * announces some, and the tunnel never sees those bytes. (Over HTTP/2 a CONNECT stream's DATA
     * are the tunnel's bytes whatever its {@code content-length} says: Jetty does not count them
     * against it.)
     *
     * @return the header by which an HTTP/1.1 CONNECT announced content ({@code Content-Length}
     *         above 0, or {@code Transfer-Encoding}), as it came, or null when it announced none
     */
    private static String announcedContent(Request request)
    {
        HttpFields headers = request.getHeaders();
        String transferEncoding = headers.get(HttpHeader.TRANSFER_ENCODING);
        if (transferEncoding != null)
            return "Transfer-Encoding: " + transferEncoding;
        // -1 when absent; Jetty's parser has already refused a value that is not a number.
        long contentLength = headers.getLongField(HttpHeader.CONTENT_LENGTH);
        return contentLength > 0 ? "Content-Length: " + contentLength : null;
    }

    /**
     * A tunnel for a request taken, before anything is decided: refused requests are reported
     * through it too. The client's addresses come from the request, since a refused tunnel
     * never gets a downstream connection to carry them.
     *
     * @param label the target as logged
     */
    private Tunnel newTunnel(Request request, String label, String protocol)
    {
        Tunnel tunnel = new Tunnel(label, protocol, config, request.getComponents().getByteBufferPool(),
            request.getComponents().getScheduler(), listener);
        tunnel.setDownstreamAddresses(request.getConnectionMetaData().getRemoteSocketAddress(),
            request.getConnectionMetaData().getLocalSocketAddress());
        return tunnel;
    }

    /** @return how the client asks, as {@link Tunnel#protocol()}: {@code HTTP/2}, {@code HTTP/2 websocket}, {@code POST HTTP/1.1} */
    private static String tunnelProtocol(Request request, Router.Kind kind, String protocol)
    {
        String version = httpVersion(request);
        return kind == Router.Kind.POST ? "POST " + version : protocol == null ? version : version + " " + protocol;
    }

    /**
     * @return {@code HTTP/1.1}, or {@code HTTP/2} as RFC 9113 and Envoy's access log name it
     *         (Jetty says {@code HTTP/2.0}): the access log's {@code protocol} of a request
     */
    public static String httpVersion(Request request)
    {
        HttpVersion version = request.getConnectionMetaData().getHttpVersion();
        return switch (version)
        {
            case HTTP_2 -> "HTTP/2";
            case HTTP_3 -> "HTTP/3";
            default -> version.asString();
        };
    }

    /**
     * @param target the CONNECT target (a POST's Host), or null when it is malformed and the
     *               route's static cluster does not need it
     */
    private void open(Request request, Response response, Callback callback, Router.Kind kind, String protocol, Authority target, Tunnel tunnel,
                      RouteConfig route, Cluster cluster, EndPoint downstream)
    {
        boolean http1 = isHttp1(request);
        // A POST tunnel's endpoint is its own (PostTunnel); a CONNECT's is Jetty's to upgrade.
        UpgradeCheck upgradeCheck = kind == Router.Kind.POST ? null
            : new UpgradeCheck(tunnel, downstream, request.getConnectionMetaData().getHttpVersion() == HttpVersion.HTTP_2);
        if (upgradeCheck != null)
        {
            if (http1)
                request.addHttpStreamWrapper(stream -> new RawTunnelResponse(stream, downstream));
            request.addHttpStreamWrapper(upgradeCheck::wrap);
        }
        Promise<InetSocketAddress> promise = new Promise<>()
        {
            @Override
            public void succeeded(InetSocketAddress address)
            {
                if (kind == Router.Kind.POST)
                    PostTunnel.start(request, response, callback, tunnel);
                else
                    establish(request, response, callback, tunnel, downstream, http1, upgradeCheck);
            }

            @Override
            public void failed(Throwable x)
            {
                if (x instanceof UpstreamRefusedException refused)
                    relay(request, response, callback, tunnel, route, refused);
                else
                    fail(request, response, callback, tunnel, x);
            }
        };
        Runnable dial;
        if (route.action() == RouteConfig.Action.PROXY)
        {
            dial = () -> cluster.proxy(target, protocol, request.getHttpURI().getScheme(), request.getHttpURI().getPathQuery(),
                forwardedHeaders(request.getHeaders(), route), tunnel, promise);
        }
        else
        {
            ProxyProtocol version = route.proxyProtocol().orElse(cluster.config().proxyProtocol());
            ByteBuffer preamble = ProxyProtocolHeader.encode(version, request.getConnectionMetaData().getRemoteSocketAddress(),
                request.getConnectionMetaData().getLocalSocketAddress());
            dial = () -> cluster.terminate(target, preamble, tunnel, promise);
        }
        // The upstream socket is to be served by the selector serving the client's socket
        // (Affinity), whatever thread runs this (Jetty's TLS layer runs some requests on the pool).
        Affinity.within(homeOf(request), dial);
    }

    /** @return the selector serving the socket the request came on, when Adit made that socket's endpoint, or null */
    private static Object homeOf(Request request)
    {
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        return EndPointAborter.network(endPoint) instanceof ResetAwareEndPoint socket ? socket.managedSelector() : null;
    }

    private boolean upgradeEnabled(Request request, RouteConfig route, String upgrade)
    {
        if (route.upgradeEnabled().isPresent())
            return route.upgradeEnabled().get();
        Set<String> upgrades = listenerUpgrades.apply(request.getConnectionMetaData().getConnector());
        return upgrades == null ? ListenerConfig.CONNECT.equals(upgrade) : upgrades.contains(upgrade);
    }

    private static Function<Connector, Set<String>> byName(Map<String, Set<String>> upgrades)
    {
        Map<String, Set<String>> byName = Map.copyOf(upgrades);
        return connector -> connector.getName() == null ? null : byName.get(connector.getName());
    }

    /** The end-to-end headers of the client's CONNECT, edited by the route, for the next hop. */
    static HttpFields forwardedHeaders(HttpFields headers, RouteConfig route)
    {
        Set<String> connectionTokens = new HashSet<>();
        for (String value : headers.getValuesList(HttpHeader.CONNECTION))
        {
            for (String token : value.split(","))
                connectionTokens.add(token.trim().toLowerCase(Locale.ROOT));
        }
        HttpFields.Mutable forwarded = HttpFields.build();
        for (HttpField field : headers)
        {
            String name = field.getLowerCaseName();
            if (HOP_BY_HOP.contains(name) || connectionTokens.contains(name) || route.headersToRemove().contains(name))
                continue;
            forwarded.add(field);
        }
        for (RouteConfig.HeaderValue add : route.headersToAdd())
            forwarded.put(add.name(), add.value());
        return forwarded.asImmutable();
    }

    private void relay(Request request, Response response, Callback callback, Tunnel tunnel, RouteConfig route, UpstreamRefusedException refused)
    {
        LOG.info("CONNECT {} from {} over {} refused {} {} by the upstream of route {} (tunnel {}): {}", tunnel.authority(), Request.getRemoteAddr(request),
            httpVersion(request), refused.status(), TunnelFailure.UPSTREAM_REFUSED.code(), route.name(), tunnel.id(), refused.getMessage());
        tunnel.refuse(TunnelFailure.UPSTREAM_REFUSED, refused.status(), refused);
        response.setStatus(refused.status());
        for (HttpField field : refused.headers())
        {
            if (!HOP_BY_HOP.contains(field.getLowerCaseName()))
                response.getHeaders().add(field);
        }
        if (isHttp1(request))
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        response.write(true, refused.body(), releasingRefusedData(request, callback));
    }

    /**
     * Answers 200 and lets Jetty install the tunnel's downstream connection as it completes the
     * exchange. Whether it does is for {@code upgradeCheck} to see: a client may go away as the
     * 200 leaves, and Jetty then skips the upgrade without a word.
     */
    private void establish(Request request, Response response, Callback callback, Tunnel tunnel, EndPoint downstream, boolean http1,
                           UpgradeCheck upgradeCheck)
    {
        EndPointAborter aborter = http1 ? EndPointAborter.TCP_RESET : Http2StreamAborter.INSTANCE;
        Connection connection = tunnel.newDownstreamConnection(downstream, request.getComponents().getExecutor(), aborter);
        upgradeCheck.expect(connection);
        if (!http1)
            Http2Streams.removeFromSessionOnClose(connection, downstream);
        request.setAttribute(HttpStream.UPGRADE_CONNECTION_ATTRIBUTE, connection);
        tunnel.setResponseCode(HttpStatus.OK_200);
        response.setStatus(HttpStatus.OK_200);
        response.write(true, null, Callback.from(callback::succeeded, x ->
        {
            // The client went away before the 200 reached it (on HTTP/2 its reset fails the
            // write even if the 200 already left).
            tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, 0, x);
            callback.failed(x);
        }));
    }

    private void fail(Request request, Response response, Callback callback, Tunnel tunnel, Throwable x)
    {
        TunnelFailure failure = x instanceof TunnelException te ? te.failure() : TunnelFailure.CONNECT_FAILED;
        String reason = x.getMessage() == null ? x.toString() : x.getMessage();
        reject(request, response, callback, tunnel, failure, failure.status(), reason, x);
    }

    /** Answers {@code status}, after reporting the tunnel refused (which also releases its upstream side, if any). */
    private void reject(Request request, Response response, Callback callback, Tunnel tunnel, TunnelFailure failure, int status, String reason, Throwable cause)
    {
        String code = failure.code();
        LOG.info("CONNECT {} from {} over {} refused {} {} (tunnel {}): {}", tunnel.authority(), Request.getRemoteAddr(request),
            httpVersion(request), status, code, tunnel.id(), reason);
        tunnel.refuse(failure, status, cause);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, MimeTypes.Type.TEXT_PLAIN_UTF_8.asString());
        // After a failed HTTP/1.1 CONNECT the client may already have sent tunnel bytes, which
        // must not be parsed as a request: close the connection.
        if (isHttp1(request))
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        ByteBuffer body = ByteBuffer.wrap((code + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8));
        response.write(true, body, releasingRefusedData(request, callback));
    }

    /**
     * Jetty 12.1.12 drops an HTTP/2 CONNECT stream answered with a non-2xx without releasing
     * the DATA frames the client sent with it (early data): their network buffers would leak.
     * Read and release them once the answer is out ({@link Http2Streams}, for HTTP/2 only: a
     * server without jetty-home's HTTP/2 modules has no HTTP/2 classes to touch).
     */
    private static Callback releasingRefusedData(Request request, Callback callback)
    {
        TunnelSupport tunnelSupport = HttpMethod.CONNECT.is(request.getMethod()) ? request.getTunnelSupport() : null;
        if (tunnelSupport == null || request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_2)
            return callback;
        return Http2Streams.releasingQueuedData(tunnelSupport.getEndPoint(), callback);
    }

    private static boolean isHttp1(Request request)
    {
        HttpVersion version = request.getConnectionMetaData().getHttpVersion();
        return version == HttpVersion.HTTP_1_1 || version == HttpVersion.HTTP_1_0;
    }

    /**
     * The target as the client sent it: the HTTP/1.1 request-target in authority form, or the
     * HTTP/2 {@code :authority}. Jetty has already split it into host and port; the pieces are
     * put back together so that {@link Authority#parse} judges the whole.
     */
    private static String rawTarget(Request request)
    {
        HttpURI uri = request.getHttpURI();
        String host = uri.getHost();
        if (host == null)
            return "";
        String user = uri.getUser();
        String prefix = user == null ? "" : user + "@";
        int port = uri.getPort();
        // A POST's Host may leave the port out; the scheme's default applies (RFC 9110 §4.2).
        if (port <= 0 && !HttpMethod.CONNECT.is(request.getMethod()))
            port = HttpScheme.HTTPS.is(uri.getScheme()) ? 443 : 80;
        return port > 0 ? prefix + host + ":" + port : prefix + host;
    }
}
