package dev.adit.upstream;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.policy.Authority;
import dev.adit.policy.Decision;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;

/**
 * One {@link TcpUpstream#connect} call: policy on the name, asynchronous DNS, policy on every
 * address, then one {@link DialAttempt} per permitted address, in order, until one connects.
 * An attempt that got its TCP connection ends the dial, whatever happens next on the socket.
 *
 * <p>Threading: attempts run one after the other, each started by the end of the previous one
 * (on a selector, executor or scheduler thread); the promise is completed exactly once.</p>
 */
final class Dial
{
    private final ClientConnector connector;
    private final Authority target;
    private final DialOptions options;
    private final Function<EndPoint, Connection> connectionFactory;
    private final Promise<InetSocketAddress> promise;
    private final String serverName;
    private final AtomicInteger next = new AtomicInteger();
    /** The selector serving the tunnel's client socket, when the caller named it ({@link Affinity}), or null. */
    private final Object home = Affinity.home();
    private volatile List<InetSocketAddress> addresses = List.of();

    Dial(ClientConnector connector, Authority target, DialOptions options, Function<EndPoint, Connection> connectionFactory, Promise<InetSocketAddress> promise)
    {
        this.connector = connector;
        this.target = target;
        this.options = options;
        this.connectionFactory = connectionFactory;
        this.promise = promise;
        this.serverName = serverName(target, options);
    }

    /**
     * The TLS server name: the configured one, else the target's host when it is a name. Without
     * the trailing dot of an absolute name, which SNI does not carry (RFC 6066 §3).
     */
    private static String serverName(Authority target, DialOptions options)
    {
        if (options.tls() == null)
            return null;
        String name = options.sni() != null ? options.sni() : target.isIpLiteral() ? null : target.host();
        if (name != null && name.endsWith("."))
            name = name.substring(0, name.length() - 1);
        return name;
    }

    /** @return the selector serving the tunnel's client side, or null */
    Object home()
    {
        return home;
    }

    ClientConnector connector()
    {
        return connector;
    }

    Authority target()
    {
        return target;
    }

    DialOptions options()
    {
        return options;
    }

    Function<EndPoint, Connection> connectionFactory()
    {
        return connectionFactory;
    }

    Promise<InetSocketAddress> promise()
    {
        return promise;
    }

    /** @return the SNI name and peer host under TLS, null for none */
    String serverName()
    {
        return serverName;
    }

    void start()
    {
        Decision byName = options.policy().checkName(target);
        if (!byName.allowed())
        {
            promise.failed(new TunnelException(TunnelFailure.DENIED, target + " " + byName.reason()));
            return;
        }
        InetAddress literal = target.literalAddress();
        if (literal != null)
        {
            connectAny(List.of(new InetSocketAddress(literal, target.port())));
            return;
        }
        SocketAddressResolver resolver = new SocketAddressResolver.Async(connector.getExecutor(), connector.getScheduler(), options.connectTimeout().toMillis());
        resolver.resolve(target.host(), target.port(), Map.of(), new Promise<>()
        {
            @Override
            public void succeeded(List<InetSocketAddress> resolved)
            {
                connectAny(resolved);
            }

            @Override
            public void failed(Throwable x)
            {
                TunnelFailure failure = x instanceof TimeoutException ? TunnelFailure.CONNECT_TIMEOUT : TunnelFailure.DNS_FAILURE;
                promise.failed(new TunnelException(failure, "cannot resolve " + target.host() + ": " + x.getMessage(), x));
            }
        });
    }

    private void connectAny(List<InetSocketAddress> resolved)
    {
        List<InetSocketAddress> permitted = new ArrayList<>(resolved.size());
        Decision denial = null;
        for (InetSocketAddress address : resolved)
        {
            Decision decision = options.policy().check(target, address.getAddress());
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
        addresses = List.copyOf(permitted);
        tryNext(null);
    }

    /** Starts the attempt on the next address, or fails the dial with the last connect failure. */
    void tryNext(Throwable previous)
    {
        int index = next.getAndIncrement();
        if (index >= addresses.size())
        {
            promise.failed(classifyConnect(previous));
            return;
        }
        new DialAttempt(this, addresses.get(index)).start();
    }

    private TunnelException classifyConnect(Throwable x)
    {
        if (x instanceof SocketTimeoutException || x instanceof TimeoutException)
            return new TunnelException(TunnelFailure.CONNECT_TIMEOUT, "connect to " + target + " timed out after " + options.connectTimeout().toMillis() + " ms", x);
        if (x instanceof UnresolvedAddressException || x instanceof UnknownHostException)
            return new TunnelException(TunnelFailure.DNS_FAILURE, "cannot resolve " + target.host(), x);
        String what = x instanceof ConnectException || x instanceof NoRouteToHostException ? x.getMessage() : String.valueOf(x);
        return new TunnelException(TunnelFailure.CONNECT_FAILED, "connect to " + target + " failed: " + what, x);
    }

    /** The first message in the cause chain: the JDK's TLS messages are on the outer exception. */
    static String messageOf(Throwable failure)
    {
        for (Throwable x = failure; x != null; x = x.getCause())
        {
            if (x.getMessage() != null && !x.getMessage().isBlank())
                return x.getMessage();
        }
        return String.valueOf(failure);
    }
}
