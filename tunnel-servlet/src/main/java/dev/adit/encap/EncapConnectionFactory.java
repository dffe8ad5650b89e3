package dev.adit.encap;

import java.net.InetSocketAddress;
import java.util.Objects;

import dev.adit.config.EncapConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelListener;
import dev.adit.policy.Authority;
import dev.adit.upstream.Cluster;
import dev.adit.upstream.UpstreamRefusedException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.util.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection factory of an encapsulating listener: every accepted TCP connection becomes the
 * downstream side of a {@link Tunnel} whose upstream side is a CONNECT (or POST) request to the
 * listener's cluster, over pooled HTTP/2 or one HTTP/1.1 connection each (Envoy's
 * {@code tcp_proxy} with {@code tunneling_config}; Istio's HBONE outbound).
 *
 * <p><b>Bytes before the 2xx</b> are not read until the upstream answers: they wait in the
 * socket's receive buffer, bounded by TCP flow control (the client's writes block once it is
 * full), and are delivered first once the tunnel starts. Nothing is buffered in the heap per
 * waiting connection.</p>
 *
 * <p><b>A refused tunnel</b> (non-2xx, reset, connect failure or timeout upstream) closes the
 * client's connection; the reason is logged with the client's address and the target. After the
 * 2xx the tunnel behaves as every other: half-close each way, a reset on either side resets the
 * other.</p>
 */
public final class EncapConnectionFactory extends AbstractConnectionFactory
{
    /** The protocol name of encapsulating connectors, and the tunnels' {@link Tunnel#protocol()}. */
    public static final String PROTOCOL = "tcp";

    private static final Logger LOG = LoggerFactory.getLogger(EncapConnectionFactory.class);

    private final EncapConfig config;
    private final Cluster cluster;
    private final TunnelConfig tunnelConfig;
    private final TunnelListener listener;

    public EncapConnectionFactory(EncapConfig config, Cluster cluster, TunnelConfig tunnelConfig, TunnelListener listener)
    {
        super(PROTOCOL);
        this.config = Objects.requireNonNull(config);
        this.cluster = Objects.requireNonNull(cluster);
        this.tunnelConfig = Objects.requireNonNull(tunnelConfig);
        this.listener = Objects.requireNonNull(listener);
        if (!cluster.config().name().equals(config.cluster()))
            throw new IllegalArgumentException("cluster " + cluster.config().name() + " is not " + config.cluster());
    }

    public EncapConfig config()
    {
        return config;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint)
    {
        InetSocketAddress local = (InetSocketAddress)endPoint.getLocalSocketAddress();
        InetSocketAddress remote = (InetSocketAddress)endPoint.getRemoteSocketAddress();
        String target = config.hostname().render(local, remote);
        Tunnel tunnel = new Tunnel(target, PROTOCOL, tunnelConfig, connector.getByteBufferPool(), connector.getScheduler(), listener);
        tunnel.setUpstreamCluster(config.cluster());
        AbstractConnection downstream = (AbstractConnection)tunnel.newDownstreamConnection(endPoint, connector.getExecutor(), EndPointAborter.TCP_RESET);
        // Asked for once the connection is installed and open, so that a failure can close it.
        downstream.addEventListener(new Connection.Listener()
        {
            @Override
            public void onOpened(Connection connection)
            {
                open(tunnel, target, local, remote);
            }
        });
        return configure(downstream, connector, endPoint);
    }

    private void open(Tunnel tunnel, String target, InetSocketAddress local, InetSocketAddress remote)
    {
        Authority authority;
        try
        {
            authority = Authority.parse(target);
        }
        catch (IllegalArgumentException x)
        {
            refuse(tunnel, remote, target, new TunnelException(TunnelFailure.MALFORMED_TARGET, "the target " + target + " is not host:port: " + x.getMessage(), x));
            return;
        }
        HttpFields.Mutable headers = HttpFields.build();
        if (config.forwarded())
            headers.put("forwarded", "for=\"" + Authority.of(remote) + "\"");
        for (EncapConfig.Header header : config.headersToAdd())
            headers.put(header.name(), header.value().render(local, remote));
        Promise<InetSocketAddress> promise = Promise.from(address ->
        {
            // The upstream's 2xx (the access log's response_code on this side, as Envoy's tcp_proxy has none).
            tunnel.setResponseCode(200);
            if (LOG.isDebugEnabled())
                LOG.debug("{}: tunnel {} from {} to {} via {} established", config.name(), tunnel.id(), remote, target, address);
        }, x -> refuse(tunnel, remote, target, x));
        try
        {
            if (config.mode() == EncapConfig.Mode.POST)
                cluster.post(authority, config.postPath(), headers, tunnel, promise);
            else
                cluster.proxy(authority, null, HttpScheme.HTTP.asString(), null, headers, tunnel, promise);
        }
        catch (Throwable x)
        {
            refuse(tunnel, remote, target, x);
        }
    }

    private void refuse(Tunnel tunnel, InetSocketAddress remote, String target, Throwable failure)
    {
        String reason = failure.getMessage() == null ? failure.toString() : failure.getMessage();
        TunnelFailure kind = failure instanceof UpstreamRefusedException ? TunnelFailure.UPSTREAM_REFUSED
            : failure instanceof TunnelException te ? te.failure() : TunnelFailure.CONNECT_FAILED;
        // The upstream's status when it answered one; 0 when none came (Envoy logs 0 for tcp_proxy).
        int status = failure instanceof UpstreamRefusedException refused ? refused.status() : 0;
        if (tunnel.refuse(kind, status, failure))
            LOG.info("{}: tunnel {} from {} to {} via cluster {} refused ({}{}), closing the client: {}", config.name(), tunnel.id(),
                Authority.of(remote), target, config.cluster(), status == 0 ? "" : status + " ", kind.code(), reason);
    }

    @Override
    public String toString()
    {
        return "%s@%x[%s->%s]".formatted(getClass().getSimpleName(), hashCode(), config.name(), config.cluster());
    }
}
