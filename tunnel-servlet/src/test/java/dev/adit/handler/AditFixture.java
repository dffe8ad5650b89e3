package dev.adit.handler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import dev.adit.config.AditConfig;
import dev.adit.config.Http2Config;
import dev.adit.config.ListenerConfig;
import dev.adit.config.PolicyConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.config.mp.ConfigBinder;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.core.TunnelListener;
import dev.adit.embed.AditServer;
import dev.adit.log.JsonLine;
import dev.adit.testing.Quiescence;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.jetty.http2.HTTP2Connection;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.microprofile.config.Config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Adit in this JVM on loopback port 0, both listeners, with a leak-tracking buffer pool, a
 * listener that records every tunnel's events, and the access log's lines captured (not
 * logged) in {@link #accessLog}.
 */
final class AditFixture implements AutoCloseable
{
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);

    final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
    final Events events = new Events();
    final AccessLines accessLog = new AccessLines();
    final AditConfig config;
    final Server server;

    private AditFixture(AditConfig config) throws Exception
    {
        this(config, UnaryOperator.identity());
    }

    /** @param around wraps Adit's handler, for tests that interfere with its requests */
    private AditFixture(AditConfig config, UnaryOperator<Handler> around) throws Exception
    {
        this.config = config;
        server = AditServer.builder(config).listener(events).accessLog(accessLog::add).byteBufferPool(pool).build();
        server.setHandler(around.apply(server.getHandler()));
        server.start();
    }

    /** The test defaults: 1 s connect timeout, deny 127.0.0.66 and *.denied.test. */
    static AditFixture start() throws Exception
    {
        return start(UnaryOperator.identity());
    }

    static AditFixture start(UnaryOperator<TunnelConfig> tunnel) throws Exception
    {
        return start(tunnel, Duration.ofSeconds(30));
    }

    /** @param connectionIdleTimeout the listeners' idle timeout for connections without tunnels */
    static AditFixture start(UnaryOperator<TunnelConfig> tunnel, Duration connectionIdleTimeout) throws Exception
    {
        List<ListenerConfig> listeners = List.of(
            new ListenerConfig("http", true, "127.0.0.1", 0, Optional.empty(), Optional.empty()),
            new ListenerConfig("https", true, "127.0.0.1", 0, Optional.of(TestCertificates.serverChain()), Optional.of(TestCertificates.serverKey())));
        PolicyConfig policy = new PolicyConfig(List.of("*"), List.of("127.0.0.66", "*.denied.test"), false);
        AditConfig config = new AditConfig(listeners, connectionIdleTimeout,
            tunnel.apply(TunnelConfig.DEFAULTS.withConnectTimeout(CONNECT_TIMEOUT)), Http2Config.DEFAULTS, policy);
        return new AditFixture(config);
    }

    /**
     * Adit configured from MicroProfile properties through the real binder, on top of the test
     * defaults: both listeners on loopback port 0, the test certificate, 1 s connect timeout.
     */
    static AditFixture start(Map<String, String> properties) throws Exception
    {
        return start(properties, UnaryOperator.identity());
    }

    /** As {@link #start(Map)}, with Adit's handler wrapped by {@code around}. */
    static AditFixture start(Map<String, String> properties, UnaryOperator<Handler> around) throws Exception
    {
        Map<String, String> all = new HashMap<>();
        all.put("adit.http.port", "0");
        all.put("adit.https.port", "0");
        all.put("adit.tls.cert-chain", TestCertificates.serverChain().toString());
        all.put("adit.tls.private-key", TestCertificates.serverKey().toString());
        all.put("adit.tunnel.connect-timeout", CONNECT_TIMEOUT.toMillis() + "ms");
        all.putAll(properties);
        Config config = new SmallRyeConfigBuilder()
            .withSources(new PropertiesConfigSource(all, "test", 500))
            .build();
        return new AditFixture(ConfigBinder.bind(config), around);
    }

    InetSocketAddress address(Transport transport)
    {
        String listener = transport == Transport.HTTP1_TLS || transport == Transport.H2 ? "https" : "http";
        return new InetSocketAddress("127.0.0.1", AditServer.port(server, listener));
    }

    /**
     * Every tunnel has closed and every pooled buffer is back: called after each test, once
     * the clients are closed. Waits (bounded) for the asynchronous close to finish. Then the
     * access log: a well-formed line for every tunnel that ended, no tunnel in two lines, and
     * no line without a tunnel but those of requests Jetty refused.
     * (A line with no event yet is allowed: a tunnel whose setup outlived its test may be
     * reported between the two.) Tunnels still ending as the check runs (refused late) are
     * checked against the lines read after them.
     */
    void assertQuiescentWithoutLeaks() throws InterruptedException
    {
        Quiescence.assertNoOpenTunnelsNorLeaks(pool, events::open, events::awaitChange, Duration.ofSeconds(10));
        // The ended tunnels first, then the lines: a tunnel's line is written before its event,
        // so every tunnel in this snapshot has its line in the next, even one that was still
        // being refused as the check began (a stream of a flood refused late).
        List<String> ended = events.ended();
        List<String> ids = new ArrayList<>();
        for (String line : accessLog.all())
        {
            try
            {
                Map<String, Object> fields = JsonLine.parse(line);
                String id = (String)fields.get("tunnel_id");
                // No tunnel: a request Jetty refused before Adit saw it.
                if (id == null)
                    assertThat(fields.get("response_code_details")).as(line).isEqualTo("downstream_protocol_error");
                else
                    ids.add(id);
            }
            catch (IOException x)
            {
                fail("not a JSON access-log line: " + line, x);
            }
        }
        assertThat(ids).as("tunnels in the access log").doesNotHaveDuplicates().containsAll(ended);
    }

    /**
     * The HTTP/2 streams Adit's sessions still hold, waiting at most {@code timeout} for them to
     * go (closing is asynchronous): none once every tunnel and request on them has ended.
     */
    List<String> awaitNoHttp2Streams(Duration timeout) throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true)
        {
            List<String> held = new ArrayList<>();
            for (Connector connector : server.getConnectors())
            {
                for (EndPoint endPoint : connector.getConnectedEndPoints())
                {
                    if (endPoint.getConnection() instanceof HTTP2Connection h2)
                        h2.getSession().getStreams().forEach(stream -> held.add(stream.toString()));
                }
            }
            if (held.isEmpty() || System.nanoTime() > deadline)
                return held;
            events.awaitChange(50);
        }
    }

    /**
     * Waits at most {@code timeout} until the listeners hold at most {@code n} connections (closing
     * is asynchronous).
     *
     * @return how many they hold
     */
    int awaitConnections(int n, Duration timeout) throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true)
        {
            int held = 0;
            for (Connector connector : server.getConnectors())
                held += connector.getConnectedEndPoints().size();
            if (held <= n || System.nanoTime() > deadline)
                return held;
            events.awaitChange(50);
        }
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }

    /**
     * Records the listener SPI's events and checks that they are paired, and that each tunnel
     * ends once: closed after it opened, or refused without opening.
     */
    static final class Events implements TunnelListener
    {
        record Closed(TunnelInfo tunnel, TunnelFailure outcome, long fromDownstream, long fromUpstream)
        {
        }

        record Refused(TunnelInfo tunnel, TunnelFailure failure, int status)
        {
        }

        private final AtomicInteger opened = new AtomicInteger();
        private final ConcurrentLinkedQueue<Closed> closed = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<Refused> refused = new ConcurrentLinkedQueue<>();
        private final java.util.Set<String> endedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final ConcurrentLinkedQueue<String> unpaired = new ConcurrentLinkedQueue<>();
        private final java.util.Set<String> openIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile CountDownLatch change = new CountDownLatch(1);

        @Override
        public void onOpened(TunnelInfo tunnel)
        {
            opened.incrementAndGet();
            if (!openIds.add(tunnel.id()))
                unpaired.add("opened twice: " + tunnel.id());
            signal();
        }

        @Override
        public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
        {
            if (!openIds.remove(tunnel.id()))
                unpaired.add("closed without open, or twice: " + tunnel.id());
            if (!endedIds.add(tunnel.id()))
                unpaired.add("ended twice: " + tunnel.id());
            closed.add(new Closed(tunnel, outcome, tunnel.bytesFromDownstream(), tunnel.bytesFromUpstream()));
            signal();
        }

        @Override
        public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
        {
            if (openIds.contains(tunnel.id()))
                unpaired.add("refused after it opened: " + tunnel.id());
            if (!endedIds.add(tunnel.id()))
                unpaired.add("ended twice: " + tunnel.id());
            refused.add(new Refused(tunnel, failure, tunnel.responseCode()));
            signal();
        }

        private void signal()
        {
            CountDownLatch latch = change;
            change = new CountDownLatch(1);
            latch.countDown();
        }

        void awaitChange(long millis) throws InterruptedException
        {
            change.await(millis, TimeUnit.MILLISECONDS);
        }

        int open()
        {
            return openIds.size();
        }

        int opened()
        {
            return opened.get();
        }

        List<Closed> closed()
        {
            return new ArrayList<>(closed);
        }

        List<Refused> refused()
        {
            return new ArrayList<>(refused);
        }

        /** @return the ids of the tunnels that closed or were refused */
        List<String> ended()
        {
            return new ArrayList<>(endedIds);
        }

        List<String> unpaired()
        {
            return new ArrayList<>(unpaired);
        }

        /** Waits at most {@code timeout} until no tunnel is open; returns either way. */
        void awaitQuiet(Duration timeout) throws InterruptedException
        {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (open() > 0 && System.nanoTime() < deadline)
                awaitChange(100);
        }

        /** Waits (bounded) until {@code n} tunnels have closed in total. */
        List<Closed> awaitClosed(int n, Duration timeout) throws InterruptedException
        {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (closed.size() < n && System.nanoTime() < deadline)
                awaitChange(100);
            assertThat(closed).as("closed tunnels").hasSizeGreaterThanOrEqualTo(n);
            return closed();
        }
    }

    /** The access log's lines, as the server wrote them, for tests to read back (bounded waits). */
    static final class AccessLines
    {
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final ConcurrentLinkedQueue<String> all = new ConcurrentLinkedQueue<>();

        void add(String line)
        {
            all.add(line);
            lines.add(line);
        }

        /** Takes the next line not taken yet, waiting at most {@code timeout}; fails if none came. */
        String next(Duration timeout) throws InterruptedException
        {
            String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(line).as("an access-log line within %s", timeout).isNotNull();
            return line;
        }

        /** @return every line written so far, taken or not */
        List<String> all()
        {
            return new ArrayList<>(all);
        }
    }
}
