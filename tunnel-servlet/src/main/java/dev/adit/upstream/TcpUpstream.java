package dev.adit.upstream;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import dev.adit.core.EndPointAborter;
import dev.adit.core.ResetAwareEndPoint;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.policy.Authority;
import dev.adit.policy.Decision;
import dev.adit.policy.DestinationPolicy;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Opens the TCP connection from the proxy to a CONNECT target, without blocking an I/O thread.
 *
 * <p>Steps: the destination policy checks the name (no DNS for a name it denies); the name is
 * resolved on the executor with a bound ({@link SocketAddressResolver.Async}); every resolved
 * address is checked again, so a permitted name that resolves into a denied range (DNS
 * rebinding) is refused; the permitted addresses are tried in order with the connect timeout.
 * The outcome reaches the promise as a {@link TunnelException} classified for the wire:
 * {@code DENIED}, {@code DNS_FAILURE}, {@code CONNECT_FAILED} or {@code CONNECT_TIMEOUT}.</p>
 *
 * <p>On success the upstream connection of the tunnel is installed on the new socket by the
 * selector, before the promise completes.</p>
 */
public class TcpUpstream extends ContainerLifeCycle
{
    private final ClientConnector connector;
    private final DestinationPolicy policy;
    private final Duration connectTimeout;
    private SocketAddressResolver resolver;

    public TcpUpstream(ClientConnector connector, DestinationPolicy policy, Duration connectTimeout)
    {
        this.connector = connector;
        this.policy = policy;
        this.connectTimeout = connectTimeout;
        connector.setConnectTimeout(connectTimeout);
        installBean(connector);
    }

    @Override
    protected void doStart() throws Exception
    {
        super.doStart();
        Scheduler scheduler = connector.getScheduler();
        resolver = new SocketAddressResolver.Async(connector.getExecutor(), scheduler, connectTimeout.toMillis());
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
     * Connects the tunnel's upstream side to the target.
     *
     * @param promise completed with the connected address, or failed with a {@link TunnelException}
     */
    public void connect(Authority target, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        Decision byName = policy.checkName(target);
        if (!byName.allowed())
        {
            promise.failed(new TunnelException(TunnelFailure.DENIED, target + " " + byName.reason()));
            return;
        }
        InetAddress literal = target.literalAddress();
        if (literal != null)
        {
            connectAny(target, List.of(new InetSocketAddress(literal, target.port())), tunnel, promise);
            return;
        }
        resolver.resolve(target.host(), target.port(), Map.of(), new Promise<>()
        {
            @Override
            public void succeeded(List<InetSocketAddress> addresses)
            {
                connectAny(target, addresses, tunnel, promise);
            }

            @Override
            public void failed(Throwable x)
            {
                TunnelFailure failure = x instanceof TimeoutException ? TunnelFailure.CONNECT_TIMEOUT : TunnelFailure.DNS_FAILURE;
                promise.failed(new TunnelException(failure, "cannot resolve " + target.host() + ": " + x.getMessage(), x));
            }
        });
    }

    private void connectAny(Authority target, List<InetSocketAddress> resolved, Tunnel tunnel, Promise<InetSocketAddress> promise)
    {
        List<InetSocketAddress> permitted = new ArrayList<>(resolved.size());
        Decision denial = null;
        for (InetSocketAddress address : resolved)
        {
            Decision decision = policy.check(target, address.getAddress());
            if (decision.allowed())
                permitted.add(address);
            else if (denial == null)
                denial = decision;
        }
        // One denied address refuses the name: a name that resolves partly into a denied range
        // is what DNS rebinding looks like.
        if (denial != null || permitted.isEmpty())
        {
            String reason = denial == null ? "no address" : denial.reason();
            promise.failed(new TunnelException(TunnelFailure.DENIED, target + " " + reason));
            return;
        }
        new Attempt(target, permitted, tunnel, promise).next(null);
    }

    /** Tries the permitted addresses in order until one connects. */
    private final class Attempt
    {
        private final Authority target;
        private final List<InetSocketAddress> addresses;
        private final Tunnel tunnel;
        private final Promise<InetSocketAddress> promise;
        private int index;

        private Attempt(Authority target, List<InetSocketAddress> addresses, Tunnel tunnel, Promise<InetSocketAddress> promise)
        {
            this.target = target;
            this.addresses = addresses;
            this.tunnel = tunnel;
            this.promise = promise;
        }

        private void next(Throwable previous)
        {
            if (index == addresses.size())
            {
                promise.failed(classify(previous));
                return;
            }
            InetSocketAddress address = addresses.get(index++);
            Map<String, Object> context = new HashMap<>();
            context.put(Transport.CONTEXT_KEY, ResetAwareEndPoint.TCP);
            context.put(ClientConnectionFactory.CONTEXT_KEY, (ClientConnectionFactory)(endPoint, ctx) ->
                tunnel.newUpstreamConnection(endPoint, connector.getExecutor(), EndPointAborter.TCP_RESET));
            context.put(ClientConnector.CONNECTION_PROMISE_CONTEXT_KEY, new Promise<Connection>()
            {
                @Override
                public void succeeded(Connection connection)
                {
                    promise.succeeded(address);
                }

                @Override
                public void failed(Throwable x)
                {
                    next(x);
                }
            });
            connector.connect(address, context);
        }

        private TunnelException classify(Throwable x)
        {
            if (x instanceof SocketTimeoutException || x instanceof TimeoutException)
                return new TunnelException(TunnelFailure.CONNECT_TIMEOUT, "connect to " + target + " timed out after " + connectTimeout.toMillis() + " ms", x);
            if (x instanceof UnresolvedAddressException || x instanceof UnknownHostException)
                return new TunnelException(TunnelFailure.DNS_FAILURE, "cannot resolve " + target.host(), x);
            String what = x instanceof ConnectException || x instanceof NoRouteToHostException ? x.getMessage() : String.valueOf(x);
            return new TunnelException(TunnelFailure.CONNECT_FAILED, "connect to " + target + " failed: " + what, x);
        }
    }
}
