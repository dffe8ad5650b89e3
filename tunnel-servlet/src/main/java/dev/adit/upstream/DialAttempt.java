package dev.adit.upstream;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import dev.adit.core.DrainFirstSslConnection;
import dev.adit.core.ResetAwareEndPoint;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.policy.Authority;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.io.ssl.SslClientConnectionFactory;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.util.IO;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of a {@link Dial}: a TCP connect to one address, and once connected the set-up on
 * the socket, each step installing the next connection with {@link EndPoint#upgrade}:
 * {@link PreambleConnection} (if there is a preamble), a {@link DrainFirstSslConnection} with a
 * {@link TlsHandshakeConnection} on top (if there is TLS), and finally the caller's connection.
 *
 * <p>Phases: while the connect is pending ({@code CONNECTING}), a failure or the timeout makes
 * the dial try its next address. Once connected ({@code SETUP}) a failure is final and closes
 * the socket. The connect timeout bounds both phases together. The phase is atomic, so exactly
 * one of success, failure and timeout ends the attempt, whichever thread reports it (selector,
 * executor, scheduler).</p>
 *
 * <p>Serves as the {@link ClientConnectionFactory} of the connect's context: the selector calls
 * {@link #newConnection} once the socket is connected.</p>
 */
final class DialAttempt implements ClientConnectionFactory
{
    private static final Logger LOG = LoggerFactory.getLogger(DialAttempt.class);

    private enum Phase
    {
        /** The TCP connect is pending; failures try the next address. */
        CONNECTING,
        /** Connected: preamble, TLS and the caller's connection; failures are final. */
        SETUP,
        /** Ended, one way or the other. */
        DONE
    }

    /** What the attempt is doing, for the failure messages. */
    private enum Stage
    {
        CONNECT("connect to "),
        PREAMBLE("writing the preamble to "),
        TLS("TLS handshake with "),
        OPEN("opening the connection to ");

        private final String prefix;

        Stage(String prefix)
        {
            this.prefix = prefix;
        }

        String on(String endpoint)
        {
            return prefix + endpoint;
        }
    }

    private final Dial dial;
    private final ClientConnector connector;
    private final Authority target;
    private final DialOptions options;
    private final String serverName;
    private final InetSocketAddress address;
    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.CONNECTING);
    private final Map<String, Object> context = new HashMap<>();
    private volatile SelectableChannel channel;
    private volatile EndPoint endPoint;
    private volatile Stage stage = Stage.CONNECT;
    private volatile Scheduler.Task timeout;

    DialAttempt(Dial dial, InetSocketAddress address)
    {
        this.dial = dial;
        this.connector = dial.connector();
        this.target = dial.target();
        this.options = dial.options();
        this.serverName = dial.serverName();
        this.address = address;
    }

    void start()
    {
        // Still ResetAwareEndPoint sockets; the wrapper only keeps the channel, so that a
        // timeout can close a connect that is still pending.
        context.put(Transport.CONTEXT_KEY, new Transport.Wrapper(ResetAwareEndPoint.TCP)
        {
            @Override
            public SelectableChannel newSelectableChannel() throws IOException
            {
                // A socket of the target's own family: the JDK's default, a dual-stack IPv6
                // socket, costs one more system call per tunnel (IPV6_V6ONLY) for an IPv4 target.
                SelectableChannel selectable = address.getAddress() instanceof Inet4Address && connector.getBindAddress() == null
                    ? SocketChannel.open(StandardProtocolFamily.INET)
                    : super.newSelectableChannel();
                channel = selectable;
                return selectable;
            }
        });
        context.put(ClientConnectionFactory.CONTEXT_KEY, this);
        if (dial.home() != null)
            context.put(TcpUpstream.LOCAL_SELECTOR_CONTEXT_KEY, dial.home());
        context.put(ClientConnector.CONNECTION_PROMISE_CONTEXT_KEY, new Promise<Connection>()
        {
            @Override
            public void succeeded(Connection connection)
            {
                // With neither preamble nor TLS the opened connection is the caller's.
                if (options.preamble() == null && options.tls() == null)
                    established();
            }

            @Override
            public void failed(Throwable x)
            {
                onConnectFailed(x);
            }
        });
        timeout = connector.getScheduler().schedule(this::onTimeout, options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (LOG.isDebugEnabled())
            LOG.debug("dialing {} at {} (tls={}, sni={}, preamble={})", target, address, options.tls() != null, serverName,
                options.preamble() == null ? 0 : options.preamble().remaining());
        connector.connect(connectAddress(), context);
    }

    /**
     * Under TLS, the address carries the server name as its host string: Jetty's
     * {@link SslClientConnectionFactory} creates the engine for
     * {@code REMOTE_SOCKET_ADDRESS.getHostString()}, and the JDK verifies the certificate
     * against the SNI name or that peer host.
     */
    private InetSocketAddress connectAddress()
    {
        if (serverName == null)
            return address;
        InetAddress ip = address.getAddress();
        try
        {
            InetAddress named = ip instanceof Inet6Address ip6 && ip6.getScopeId() != 0
                ? Inet6Address.getByAddress(serverName, ip.getAddress(), ip6.getScopeId())
                : InetAddress.getByAddress(serverName, ip.getAddress());
            return new InetSocketAddress(named, address.getPort());
        }
        catch (UnknownHostException x)
        {
            throw new AssertionError("an address of 4 or 16 bytes is always accepted", x);
        }
    }

    /** Called by the selector once the TCP connect succeeded: the first connection on the socket. */
    @Override
    public Connection newConnection(EndPoint endPoint, Map<String, Object> context) throws IOException
    {
        this.endPoint = endPoint;
        if (!phase.compareAndSet(Phase.CONNECTING, Phase.SETUP))
            throw new IOException("attempt to connect to " + address + " already ended");
        if (options.preamble() != null)
        {
            stage = Stage.PREAMBLE;
            return new PreambleConnection(endPoint, connector.getExecutor(), options.preamble(), this);
        }
        return afterPreamble(endPoint);
    }

    /** @return the connection that follows the preamble: TLS, or else the caller's */
    Connection afterPreamble(EndPoint endPoint) throws IOException
    {
        if (options.tls() == null)
        {
            stage = Stage.OPEN;
            return dial.connectionFactory().apply(endPoint);
        }
        stage = Stage.TLS;
        ClientConnectionFactory handshake = (sslEndPoint, ctx) -> new TlsHandshakeConnection(sslEndPoint, connector.getExecutor(), this);
        SslClientConnectionFactory factory = new SslClientConnectionFactory(options.tls(), connector.getByteBufferPool(), connector.getExecutor(), handshake)
        {
            @Override
            protected SslConnection newSslConnection(EndPoint networkEndPoint, SSLEngine engine)
            {
                sendServerName(engine);
                // Not Jetty's own: it could drop the target's last records after a half-close.
                return new DrainFirstSslConnection(getByteBufferPool(), getExecutor(), getSslContextFactory(), networkEndPoint, engine,
                    isDirectBuffersForEncryption(), isDirectBuffersForDecryption());
            }
        };
        SslConnection connection = (SslConnection)factory.newConnection(endPoint, context);
        connection.addHandshakeListener((TlsHandshakeConnection)connection.getSslEndPoint().getConnection());
        return connection;
    }

    /**
     * The JDK sends SNI on its own only for names with a dot, so {@code localhost} or a
     * single-label cluster name would go without; set it explicitly.
     */
    private void sendServerName(SSLEngine engine)
    {
        if (serverName == null)
            return;
        SNIHostName name;
        try
        {
            name = new SNIHostName(serverName);
        }
        catch (IllegalArgumentException x)
        {
            // DialOptions checked a configured name; the target's own name may not be a valid
            // SNI name (e.g. with an underscore): send none.
            if (LOG.isDebugEnabled())
                LOG.debug("no SNI for {}: {}", serverName, x.getMessage());
            return;
        }
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(name));
        engine.setSSLParameters(parameters);
    }

    /** The preamble is written: install what follows it. */
    void preambleWritten(EndPoint endPoint)
    {
        try
        {
            Connection following = afterPreamble(endPoint);
            endPoint.upgrade(following);
            if (options.tls() == null)
                established();
        }
        catch (Throwable x)
        {
            failed(x);
        }
    }

    /** The TLS handshake succeeded (trust, pins, host name): install the caller's connection. */
    void handshakeSucceeded(EndPoint sslEndPoint)
    {
        try
        {
            stage = Stage.OPEN;
            sslEndPoint.upgrade(dial.connectionFactory().apply(sslEndPoint));
            established();
        }
        catch (Throwable x)
        {
            failed(x);
        }
    }

    private void established()
    {
        if (!phase.compareAndSet(Phase.SETUP, Phase.DONE))
            return;
        cancelTimeout();
        if (LOG.isDebugEnabled())
            LOG.debug("connected to {} at {}", target, address);
        dial.promise().succeeded(address);
    }

    /** A final failure once connected: close the socket, report it classified. */
    void failed(Throwable cause)
    {
        if (!phase.compareAndSet(Phase.SETUP, Phase.DONE))
            return;
        cancelTimeout();
        closeEndPoint(cause);
        dial.promise().failed(classifySetup(cause));
    }

    private void onConnectFailed(Throwable cause)
    {
        if (phase.compareAndSet(Phase.CONNECTING, Phase.DONE))
        {
            cancelTimeout();
            if (LOG.isDebugEnabled())
                LOG.debug("connect to {} at {} failed", target, address, cause);
            dial.tryNext(cause);
        }
        else
        {
            failed(cause);
        }
    }

    private void onTimeout()
    {
        if (phase.compareAndSet(Phase.CONNECTING, Phase.DONE))
        {
            IO.close(channel);
            dial.tryNext(new SocketTimeoutException("connect to " + address + " timed out"));
        }
        else if (phase.compareAndSet(Phase.SETUP, Phase.DONE))
        {
            String reason = stage.on(describe()) + " timed out after " + options.connectTimeout().toMillis() + " ms";
            TimeoutException timeout = new TimeoutException(reason);
            closeEndPoint(timeout);
            dial.promise().failed(new TunnelException(TunnelFailure.CONNECT_TIMEOUT, reason, timeout));
        }
    }

    private TunnelException classifySetup(Throwable cause)
    {
        if (cause instanceof TunnelException tunnelException)
            return tunnelException;
        String message = Dial.messageOf(cause);
        Stage failedStage = stage;
        if (cause instanceof TimeoutException)
            return new TunnelException(TunnelFailure.CONNECT_TIMEOUT, failedStage.on(describe()) + " timed out: " + message, cause);
        TunnelFailure failure = failedStage == Stage.TLS ? TunnelFailure.TLS_FAILED : TunnelFailure.CONNECT_FAILED;
        return new TunnelException(failure, failedStage.on(describe()) + " failed: " + message, cause);
    }

    /** {@code 127.0.0.1:9443}, or {@code name:port (address)} for a name. */
    private String describe()
    {
        if (target.isIpLiteral())
            return target.toString();
        return target + " (" + address.getAddress().getHostAddress() + ")";
    }

    private void closeEndPoint(Throwable cause)
    {
        EndPoint connected = endPoint;
        if (connected != null)
            connected.close(cause);
        else
            IO.close(channel);
    }

    private void cancelTimeout()
    {
        Scheduler.Task task = timeout;
        if (task != null)
            task.cancel();
    }

    @Override
    public String toString()
    {
        return "DialAttempt[%s,%s,%s,%s]".formatted(target, address, phase.get(), stage);
    }
}
