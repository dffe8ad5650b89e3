package dev.adit.upstream;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationPolicy;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.component.ContainerLifeCycle;

/**
 * Opens connections from the proxy to upstream endpoints (a CONNECT target, a cluster member,
 * an upstream proxy), without blocking an I/O thread.
 *
 * <p>Steps: the destination policy checks the name (no DNS for a name it denies); the name is
 * resolved on the executor with a bound ({@link SocketAddressResolver.Async}); every resolved
 * address is checked again, so a permitted name that resolves into a denied range (DNS
 * rebinding) is refused; the permitted addresses are tried in order, each attempt bounded by the
 * connect timeout. Once a socket is connected: the optional preamble is written in clear, then
 * the optional TLS handshake runs (SNI, trust, SPKI pins, host name), and only then is the
 * caller's connection installed on the endpoint (the decrypted one under TLS) and opened. A
 * failure after the TCP connect does not try further addresses.</p>
 *
 * <p>The outcome reaches the promise as a {@link TunnelException} classified for the wire:
 * {@code DENIED}, {@code DNS_FAILURE}, {@code CONNECT_FAILED} (also a failed preamble write),
 * {@code CONNECT_TIMEOUT} (DNS, TCP, preamble or handshake too slow) or {@code TLS_FAILED}. On
 * failure the socket is closed and the TLS buffers are released; the caller's connection was
 * either never created or has been closed with the socket.</p>
 *
 * <p>Sockets are {@link dev.adit.core.ResetAwareEndPoint}s, so a reset by the peer is an error
 * and not an end of input.</p>
 *
 * <p>Threading: {@code connect} never blocks. The connection factory, the new connection's
 * {@code onOpen} and the promise run on Jetty's selector, executor or scheduler threads and must
 * not block either.</p>
 */
public class TcpUpstream extends ContainerLifeCycle
{
    /**
     * In the context of a connect this upstream makes for a tunnel whose caller named a home
     * ({@link Affinity}, the selector serving the tunnel's client socket), that home, which may
     * then serve the upstream socket too ({@code dev.adit.embed.AditClientConnector}).
     */
    public static final String LOCAL_SELECTOR_CONTEXT_KEY = TcpUpstream.class.getName() + ".localSelector";

    private final ClientConnector connector;
    private final DestinationPolicy policy;
    private final Duration connectTimeout;

    /**
     * @param connectTimeout the bound of {@link #connect(Authority, Tunnel, Promise)}; also set on
     *                       the client connector, where it caps every TCP connect
     */
    public TcpUpstream(ClientConnector connector, DestinationPolicy policy, Duration connectTimeout)
    {
        this.connector = connector;
        this.policy = policy;
        this.connectTimeout = connectTimeout;
        connector.setConnectTimeout(connectTimeout);
        installBean(connector);
    }

    public ClientConnector getClientConnector()
    {
        return connector;
    }

    public DestinationPolicy getPolicy()
    {
        return policy;
    }

    /**
     * Connects the tunnel's upstream side to the CONNECT target: plain TCP, this upstream's
     * policy and connect timeout. The tunnel's upstream connection is installed on the socket
     * and opened before the promise succeeds.
     *
     * @param promise completed with the connected address, or failed with a {@link TunnelException}
     */
    public void connect(Authority target, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        connect(target, DialOptions.plain(policy, connectTimeout),
            endPoint -> tunnel.newUpstreamConnection(endPoint, connector.getExecutor(), EndPointAborter.TCP_RESET), promise);
    }

    /**
     * Connects to {@code target} as {@code options} say and installs the caller's connection.
     *
     * <p>The promise succeeds only after the TCP connect, the preamble write and the TLS
     * handshake (with its trust, pin and host name checks) have completed, and after
     * {@code connectionFactory.apply(endPoint)} has been installed on the endpoint (the
     * decrypted one under TLS) and opened. The factory is called at most once per call, after
     * the handshake, so the connection it makes never sees handshake bytes; whatever the target
     * sent after the handshake is waiting for its first fill.</p>
     *
     * @param connectionFactory makes the caller's connection for the endpoint; called on an I/O
     *                          thread, must not block
     * @param promise           completed with the address connected to, or failed with a
     *                          {@link TunnelException}
     * @throws IllegalStateException if {@code options.tls()} is not started
     */
    public void connect(Authority target, DialOptions options, Function<EndPoint, Connection> connectionFactory, Promise<InetSocketAddress> promise)
    {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(connectionFactory, "connectionFactory");
        Objects.requireNonNull(promise, "promise");
        if (options.tls() != null && !options.tls().isStarted())
            throw new IllegalStateException("TLS client factory not started: " + options.tls());
        new Dial(connector, target, options, connectionFactory, promise).start();
    }
}
