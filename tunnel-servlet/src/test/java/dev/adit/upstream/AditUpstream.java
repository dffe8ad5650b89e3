package dev.adit.upstream;

import java.nio.channels.SelectableChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import dev.adit.config.AditConfig;
import dev.adit.config.HostPort;
import dev.adit.config.Http2Config;
import dev.adit.config.ListenerConfig;
import dev.adit.config.PolicyConfig;
import dev.adit.config.Size;
import dev.adit.config.TunnelConfig;
import dev.adit.embed.AditServer;
import dev.adit.testing.TestCertificates;
import org.eclipse.jetty.http2.HTTP2Connection;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A real Adit in this JVM as the upstream proxy that terminates the pool's CONNECTs: an h2c
 * listener and an h2 (TLS, ALPN) listener on loopback port 0, a leak-tracking buffer pool, a
 * count of the TCP connections each listener accepted, and of the PINGs (not ACKs) received.
 */
final class AditUpstream implements AutoCloseable
{
    final ArrayByteBufferPool.Tracking buffers = new ArrayByteBufferPool.Tracking();
    private final Server server;
    private final AtomicInteger acceptedPlain = new AtomicInteger();
    private final AtomicInteger acceptedTls = new AtomicInteger();
    private final AtomicInteger pingsReceived = new AtomicInteger();

    private AditUpstream(int maxConcurrentStreams) throws Exception
    {
        List<ListenerConfig> listeners = List.of(
            new ListenerConfig("http", true, "127.0.0.1", 0, Optional.empty(), Optional.empty()),
            new ListenerConfig("https", true, "127.0.0.1", 0, Optional.of(TestCertificates.serverChain()), Optional.of(TestCertificates.serverKey())));
        Http2Config http2 = new Http2Config(maxConcurrentStreams, Size.ofMebibytes(8), Size.ofMebibytes(32), Duration.ofMinutes(5), Http2Config.DEFAULTS.maxFrameSize());
        PolicyConfig policy = new PolicyConfig(List.of("*"), List.of("127.0.0.66"), false);
        AditConfig config = new AditConfig(listeners, Duration.ofSeconds(30), TunnelConfig.DEFAULTS.withConnectTimeout(Duration.ofSeconds(5)), http2, policy);
        server = AditServer.builder(config).byteBufferPool(buffers).build();
        server.start();
        count("http", acceptedPlain);
        count("https", acceptedTls);
        // Jetty adds the factories' event listeners to each new session; it answers PINGs itself.
        HTTP2Session.FrameListener pings = new HTTP2Session.FrameListener()
        {
            @Override
            public void onIncomingFrame(Session session, Frame frame)
            {
                if (frame instanceof PingFrame ping && !ping.isReply())
                    pingsReceived.incrementAndGet();
            }
        };
        Stream.of("http", "https").forEach(name -> connector(name).getConnectionFactory(AbstractHTTP2ServerConnectionFactory.class).addEventListener(pings));
    }

    /** Starts an Adit whose listeners allow {@code maxConcurrentStreams} streams per connection. */
    static AditUpstream start(int maxConcurrentStreams) throws Exception
    {
        return new AditUpstream(maxConcurrentStreams);
    }

    private void count(String listener, AtomicInteger counter)
    {
        connector(listener).getSelectorManager().addEventListener(new SelectorManager.AcceptListener()
        {
            @Override
            public void onAccepted(SelectableChannel channel)
            {
                counter.incrementAndGet();
            }
        });
    }

    private ServerConnector connector(String listener)
    {
        return Arrays.stream(server.getConnectors())
            .filter(c -> listener.equals(c.getName()))
            .map(ServerConnector.class::cast)
            .findFirst().orElseThrow();
    }

    private Stream<EndPoint> endPoints()
    {
        return Stream.of("http", "https").flatMap(name -> connector(name).getConnectedEndPoints().stream());
    }

    /** The h2c listener, by IP literal. */
    HostPort plain()
    {
        return new HostPort("127.0.0.1", AditServer.port(server, "http"));
    }

    /** The TLS listener, by name: its certificate is for {@code localhost}. */
    HostPort tls()
    {
        return new HostPort("localhost", AditServer.port(server, "https"));
    }

    /** TCP connections accepted by the h2c listener since the last {@link #resetCounts()}. */
    int acceptedPlain()
    {
        return acceptedPlain.get();
    }

    /** TCP connections accepted by the TLS listener since the last {@link #resetCounts()}. */
    int acceptedTls()
    {
        return acceptedTls.get();
    }

    /**
     * Connections whose client has not closed its side. A connection the client closed may
     * stay open here for a while: Jetty's server session waits for tunnel streams that its
     * endpoints closed but never deregistered (jetty/jetty.project#15657), and only gives up at
     * the connection idle timeout.
     */
    int openFromClients()
    {
        return (int)endPoints().filter(endPoint -> endPoint.isOpen() && !endPoint.isInputShutdown()).count();
    }

    /** Closes every connection the listeners accepted, abruptly: the pool loses them. */
    void dropConnections()
    {
        endPoints().forEach(EndPoint::close);
    }

    /** PINGs received from clients (Jetty answered each) since the last {@link #resetCounts()}. */
    int pingsReceived()
    {
        return pingsReceived.get();
    }

    void resetCounts()
    {
        acceptedPlain.set(0);
        acceptedTls.set(0);
        pingsReceived.set(0);
    }

    /** Waits (bounded) until every client closed its connections and every pooled buffer is back. */
    void assertQuiescentWithoutLeaks(Duration timeout)
    {
        Await.until("upstream without client connections nor leaks", timeout,
            () -> openFromClients() == 0 && buffers.getLeaks().isEmpty(),
            () -> openFromClients() + " open " + describeConnections() + ", leaked: " + buffers.getLeaks().stream().map(b -> b.dump()).toList());
    }

    private List<String> describeConnections()
    {
        return endPoints()
            .map(endPoint -> endPoint + " -> " + (endPoint.getConnection() instanceof HTTP2Connection h2 ? h2.getSession() : endPoint.getConnection()))
            .toList();
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }
}
