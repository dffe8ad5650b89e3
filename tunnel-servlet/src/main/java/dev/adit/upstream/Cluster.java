package dev.adit.upstream;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import dev.adit.config.ClusterConfig;
import dev.adit.config.HostPort;
import dev.adit.config.UpstreamProtocol;
import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationPolicy;
import dev.adit.tls.ClientTls;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * A cluster at run time: picks the endpoint of each tunnel (round-robin over static endpoints,
 * or the CONNECT target for an original-destination cluster) and opens the tunnel's upstream
 * side there, either as TCP (terminate), as a forwarded CONNECT (proxy), or as a POST tunnel
 * (encapsulating listeners), the last two over HTTP/1.1 or pooled HTTP/2. A static h2
 * cluster's pool keeps {@code min-connections} open to each endpoint from the cluster's start.
 * Thread-safe.
 */
public final class Cluster extends ContainerLifeCycle
{
    private final ClusterConfig config;
    private final TcpUpstream tcp;
    private final DestinationPolicy policy;
    private final SslContextFactory.Client tls;
    private final Http2ConnectPool pool;
    private final AtomicInteger next = new AtomicInteger();

    /**
     * @param policy the destination policy, applied to original-destination clusters only: the
     *               endpoints of a static cluster are the operator's choice, not the client's
     * @param http2  the HTTP/2 client for h2 clusters (shared), or null when there is none
     */
    public Cluster(ClusterConfig config, TcpUpstream tcp, DestinationPolicy policy, HTTP2Client http2)
    {
        this.config = Objects.requireNonNull(config);
        this.tcp = Objects.requireNonNull(tcp);
        this.policy = config.type() == ClusterConfig.Type.ORIGINAL_DST ? policy : DestinationPolicy.allowAll();
        this.tls = config.tls().enabled() ? ClientTls.create(config.tls()) : null;
        if (tls != null)
            addBean(tls);
        if (config.type() == ClusterConfig.Type.STATIC && config.protocol() == UpstreamProtocol.H2 && http2 != null)
        {
            pool = new Http2ConnectPool(http2, config.maxStreamsPerConnection(), config.poolIdleTimeout(), config.connectTimeout(),
                tls, config.tls().sni().orElse(null));
            pool.setPingInterval(config.pingInterval());
            if (!config.pingInterval().isZero())
                pool.setPingTimeout(config.pingTimeout());
            pool.setMinConnections(config.minConnections());
            // Opened when the pool starts, with this cluster.
            pool.prewarm(config.endpoints());
            addBean(pool);
        }
        else
        {
            pool = null;
        }
    }

    public ClusterConfig config()
    {
        return config;
    }

    /** @return the pool of an h2 cluster, or null */
    public Http2ConnectPool pool()
    {
        return pool;
    }

    /** @return the endpoint the next tunnel goes to: round-robin, or the target itself */
    Authority endpointFor(Authority target)
    {
        if (config.type() == ClusterConfig.Type.ORIGINAL_DST)
            return target;
        HostPort endpoint = nextEndpoint();
        return new Authority(endpoint.host(), endpoint.port());
    }

    private HostPort nextEndpoint()
    {
        List<HostPort> endpoints = config.endpoints();
        return endpoints.get(Math.floorMod(next.getAndIncrement(), endpoints.size()));
    }

    /**
     * Terminate: connects the tunnel's upstream side over TCP (and TLS when configured) to the
     * endpoint, writing {@code preamble} (a PROXY protocol header) first.
     */
    public void terminate(Authority target, ByteBuffer preamble, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        Authority endpoint = endpointFor(target);
        DialOptions options = new DialOptions(policy, config.connectTimeout(), tls, config.tls().sni().orElse(null), preamble);
        tcp.connect(endpoint, options, endPoint -> tunnel.newUpstreamConnection(endPoint, tcp.getClientConnector().getExecutor(), EndPointAborter.TCP_RESET), promise);
    }

    /**
     * Proxy: forwards the CONNECT to the next endpoint, which terminates it. The promise
     * succeeds once the endpoint answered 2xx and the tunnel's upstream side is installed; it
     * fails with {@link UpstreamRefusedException} carrying a non-2xx answer to relay.
     *
     * @param protocol the extended CONNECT {@code :protocol}, or null for plain CONNECT
     * @param path     the extended CONNECT {@code :path}, or null
     * @param headers  the end-to-end headers to send
     */
    public void proxy(Authority target, String protocol, String scheme, String path, HttpFields headers, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        Duration timeout = config.connectTimeout();
        if (pool != null)
        {
            MetaData.ConnectRequest request = new MetaData.ConnectRequest(protocol == null ? null : scheme,
                new HostPortHttpField(target.toString()), protocol == null ? null : path, headers, protocol);
            pool.open(nextEndpoint(), request, tunnel, timeout, promise);
            return;
        }
        Authority endpoint = endpointFor(target);
        DialOptions options = new DialOptions(policy, timeout, tls, config.tls().sni().orElse(null), null);
        Http1Outcome outcome = new Http1Outcome(promise);
        ClientConnector connector = tcp.getClientConnector();
        tcp.connect(endpoint, options, Http1ConnectConnection.factory(connector.getExecutor(), connector.getByteBufferPool(),
            connector.getScheduler(), target.toString(), headers, tunnel, timeout, outcome.answer), outcome.dial);
    }

    /**
     * Opens a POST tunnel (Envoy's {@code use_post}): {@code POST path} with the target as
     * {@code :authority} or {@code Host}; a 2xx turns the exchange into the tunnel's upstream
     * side, its request and response bodies carrying the bytes. On a static h2 cluster the
     * request is a stream of the pooled connections, without end of stream; otherwise it goes
     * over HTTP/1.1 on a connection of its own ({@link Http1PostConnection}), the bodies chunked.
     * Completes as {@link #proxy} does.
     */
    public void post(Authority target, String path, HttpFields headers, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        Duration timeout = config.connectTimeout();
        if (pool != null)
        {
            HttpURI uri = HttpURI.build().scheme(tls == null ? HttpScheme.HTTP : HttpScheme.HTTPS)
                .host(target.isIpLiteral() && target.host().indexOf(':') >= 0 ? "[" + target.host() + "]" : target.host()).port(target.port()).path(path);
            MetaData.Request request = new MetaData.Request(HttpMethod.POST.asString(), uri, HttpVersion.HTTP_2, headers);
            pool.open(nextEndpoint(), request, tunnel, timeout, promise);
            return;
        }
        Authority endpoint = endpointFor(target);
        DialOptions options = new DialOptions(policy, timeout, tls, config.tls().sni().orElse(null), null);
        Http1Outcome outcome = new Http1Outcome(promise);
        ClientConnector connector = tcp.getClientConnector();
        tcp.connect(endpoint, options, Http1PostConnection.factory(connector.getExecutor(), connector.getByteBufferPool(),
            connector.getScheduler(), path, target.toString(), headers, tunnel, timeout, outcome.answer), outcome.dial);
    }

    /**
     * Joins the two steps of an HTTP/1.1 CONNECT or POST: the dial (TCP, TLS) and the answer.
     * Both must succeed, in either order (the answer may beat the dial's callback); the first
     * failure wins.
     */
    private static final class Http1Outcome
    {
        private final AtomicReference<Promise<InetSocketAddress>> promise;
        private final AtomicInteger pending = new AtomicInteger(2);
        private volatile InetSocketAddress address;
        private final Promise<InetSocketAddress> dial = Promise.from(a ->
        {
            address = a;
            step();
        }, this::fail);
        private final Promise<Void> answer = Promise.from(v -> step(), this::fail);

        private Http1Outcome(Promise<InetSocketAddress> promise)
        {
            this.promise = new AtomicReference<>(promise);
        }

        private void step()
        {
            Promise<InetSocketAddress> p = pending.decrementAndGet() == 0 ? promise.getAndSet(null) : null;
            if (p != null)
                p.succeeded(address);
        }

        private void fail(Throwable x)
        {
            Promise<InetSocketAddress> p = promise.getAndSet(null);
            if (p != null)
                p.failed(x);
        }
    }
}
