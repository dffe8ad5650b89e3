package dev.adit.testing;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ConnectHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tests the harness itself: the {@link TcpTarget} behaviours over plain sockets, the
 * {@link Blackhole}, and the HTTP/1.1 and h2c {@link TunnelClient}s against Jetty's stock
 * {@link ConnectHandler}. TLS transports need a server certificate and are covered by the
 * main suite. Early data ({@code openWithEarlyData}) is checked against Adit only
 * ({@code ConnectTerminationTest}): the stock handler now and then loses HTTP/1.1 bytes sent
 * with the CONNECT head under load, which would make this test a test of Jetty.
 */
@Timeout(value = 60, unit = SECONDS)
class HarnessSelfTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static Server proxy;
    private static InetSocketAddress proxyAddress;
    private static ExecutorService writers;

    @BeforeAll
    static void startStockConnectProxy() throws Exception {
        proxy = new Server();
        HttpConfiguration config = new HttpConfiguration();
        HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(config);
        h2c.setStreamIdleTimeout(60_000);
        ServerConnector connector = new ServerConnector(proxy, new HttpConnectionFactory(config), h2c);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        proxy.addConnector(connector);
        proxy.setHandler(new ConnectHandler());
        proxy.start();
        proxyAddress = new InetSocketAddress("127.0.0.1", connector.getLocalPort());
        writers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "self-test-writer");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stop() throws Exception {
        writers.shutdownNow();
        proxy.stop();
    }

    // ---- TcpTarget over plain sockets ----

    @Test
    void echoTargetEchoesUntilTheClientHalfClosesThenFinishes() throws Exception {
        byte[] payload = Payloads.random(300_000);
        try (TcpTarget target = new TcpTarget(TcpTarget.echo()); Socket s = connect(target.address())) {
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    s.getOutputStream().write(payload);
                    s.shutdownOutput();
                } catch (Exception x) {
                    throw new IllegalStateException(x);
                }
            }, writers);
            assertThat(s.getInputStream().readNBytes(payload.length + 1)).as(Payloads.seedNote()).isEqualTo(payload);
            writing.get(10, SECONDS);
            assertThat(target.received().get(10, SECONDS)).isEqualTo(new TcpTarget.Received(payload.length, Payloads.sha256(payload)));
            assertThat(target.accepted()).isEqualTo(1);
        }
    }

    @Test
    void sendThenEchoTargetFinishesFirstAndStillReceives() throws Exception {
        byte[] first = Payloads.random(10_000);
        byte[] later = Payloads.random(200_000);
        try (TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(first)); Socket s = connect(target.address())) {
            assertThat(s.getInputStream().readNBytes(first.length + 1)).isEqualTo(first); // +1: EOF follows
            s.getOutputStream().write(later);
            s.shutdownOutput();
            assertThat(target.received().get(10, SECONDS)).isEqualTo(new TcpTarget.Received(later.length, Payloads.sha256(later)));
        }
    }

    @Test
    void resetAfterTargetResetsTheConnection() throws Exception {
        try (TcpTarget target = new TcpTarget(TcpTarget.resetAfter(1000)); Socket s = connect(target.address())) {
            s.getOutputStream().write(Payloads.random(1000));
            assertThat(target.closed(0).get(10, SECONDS)).isNull();
            InputStream in = s.getInputStream();
            assertThatThrownBy(() -> in.read()).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            assertThat(target.received().get(10, SECONDS).count()).isEqualTo(1000);
        }
    }

    @Test
    void streamTargetWritesTheSeededBytesThenFin() throws Exception {
        long n = 3 * 64 * 1024 + 123;
        try (TcpTarget target = new TcpTarget(TcpTarget.stream(n, 42)); Socket s = connect(target.address())) {
            byte[] all = s.getInputStream().readNBytes((int) n + 1);
            assertThat(all).isEqualTo(TcpTarget.streamBytes((int) n, 42));
            assertThat(Payloads.sha256(all)).isEqualTo(TcpTarget.sha256OfStream(n, 42));
            assertThat(target.bytesWritten()).isEqualTo(n);
        }
    }

    @Test
    void discardTargetCountsAndDigestsEverything() throws Exception {
        byte[] payload = Payloads.random(123_456);
        try (TcpTarget target = new TcpTarget(TcpTarget.discard()); Socket s = connect(target.address())) {
            s.getOutputStream().write(payload);
            s.shutdownOutput();
            assertThat(target.received().get(10, SECONDS)).isEqualTo(new TcpTarget.Received(payload.length, Payloads.sha256(payload)));
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void blackholeConnectTimesOut() throws Exception {
        try (Blackhole hole = Blackhole.open(); Socket s = new Socket()) {
            assertThatThrownBy(() -> s.connect(hole.address(), 500)).isInstanceOf(SocketTimeoutException.class);
        }
    }

    // ---- tunnel clients against Jetty's ConnectHandler ----

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void oneMebibyteEchoesByteExactThenBothSidesFinish(Transport transport) throws Exception {
        byte[] payload = Payloads.random(1024 * 1024);
        try (TcpTarget target = new TcpTarget(TcpTarget.echo());
             TunnelClient client = TunnelClient.connect(transport, proxyAddress);
             Tunnel tunnel = client.open(target.authority(), WAIT)) {
            assertThat(tunnel.status()).isEqualTo(200);
            CompletableFuture<Void> writing = writeAsync(tunnel, payload, true);
            assertThat(tunnel.readExactly(payload.length, WAIT)).as(Payloads.seedNote()).isEqualTo(payload);
            assertThat(tunnel.read(new byte[1], WAIT)).isEqualTo(-1);
            writing.get(10, SECONDS);
            assertThat(target.received().get(10, SECONDS).sha256()).isEqualTo(Payloads.sha256(payload));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void targetFinishingFirstStillLetsTheClientSend(Transport transport) throws Exception {
        byte[] first = Payloads.random(5000);
        byte[] later = Payloads.random(100_000);
        try (TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(first));
             TunnelClient client = TunnelClient.connect(transport, proxyAddress);
             Tunnel tunnel = client.open(target.authority(), WAIT)) {
            assertThat(tunnel.readToEnd(WAIT)).isEqualTo(new Tunnel.ReadResult(first.length, Payloads.sha256(first)));
            tunnel.write(later);
            tunnel.shutdownOutput();
            assertThat(target.received().get(10, SECONDS)).isEqualTo(new TcpTarget.Received(later.length, Payloads.sha256(later)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void eightMebibytesFromTheTargetArriveByteExact(Transport transport) throws Exception {
        long n = 8L * 1024 * 1024;
        try (TcpTarget target = new TcpTarget(TcpTarget.stream(n, 7));
             TunnelClient client = TunnelClient.connect(transport, proxyAddress);
             Tunnel tunnel = client.open(target.authority(), WAIT)) {
            tunnel.pauseReading();
            tunnel.resumeReading();
            assertThat(tunnel.readToEnd(Duration.ofSeconds(30))).isEqualTo(new Tunnel.ReadResult(n, TcpTarget.sha256OfStream(n, 7)));
            tunnel.shutdownOutput();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void refusedTargetGivesAnErrorStatusWithItsBodyRead(Transport transport) throws Exception {
        int closedPort;
        try (TcpTarget target = new TcpTarget(TcpTarget.discard())) {
            closedPort = target.port();
        }
        try (TunnelClient client = TunnelClient.connect(transport, proxyAddress);
             Tunnel tunnel = client.open("127.0.0.1:" + closedPort, WAIT)) {
            assertThat(tunnel.established()).isFalse();
            assertThat(tunnel.status()).isGreaterThanOrEqualTo(400);
            assertThat(tunnel.responseBody()).hasSize(Integer.parseInt(tunnel.header("Content-Length")));
        }
    }

    @Test
    void fiftyTunnelsShareOneH2cSessionAndAllStreamsClose() throws Exception {
        try (TcpTarget target = new TcpTarget(TcpTarget.echo());
             Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, proxyAddress, 256 * 1024, 4 * 1024 * 1024)) {
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                byte[] payload = Payloads.random(20_000 + i);
                done.add(CompletableFuture.runAsync(() -> {
                    try (Http2Tunnel tunnel = client.open(target.authority(), Map.of(), null, WAIT)) {
                        tunnel.write(payload);
                        tunnel.shutdownOutput();
                        assertThat(tunnel.readToEnd(WAIT).sha256()).isEqualTo(Payloads.sha256(payload));
                        tunnel.closed().get(10, SECONDS);
                    } catch (Exception x) {
                        throw new IllegalStateException(x);
                    }
                }, writers));
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(30, SECONDS);
            assertThat(target.accepted()).isEqualTo(50);
            assertThat(client.openStreamCount()).isZero();
        }
    }

    @Test
    void h2ResetClosesTheUpstreamAndTheClientStopsItsThreads() throws Exception {
        Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, proxyAddress, 64 * 1024, 1024 * 1024);
        try (TcpTarget target = new TcpTarget(TcpTarget.echo())) {
            Http2Tunnel tunnel = client.open(target.authority(), Map.of(), null, WAIT);
            byte[] payload = Payloads.random(1000);
            tunnel.write(payload);
            // Read the echo first: stock ConnectHandler misses an RST_STREAM that arrives while
            // DATA is still unread (the upstream then lingers until its 30 s idle timeout).
            assertThat(tunnel.readExactly(payload.length, WAIT)).isEqualTo(payload);
            tunnel.reset();
            assertThat(target.closed(0).get(10, SECONDS)).isNull();
            assertThat(tunnel.stream().isReset()).isTrue();
            tunnel.closed().get(10, SECONDS);
        } finally {
            client.close();
        }
        assertNoThreadsNamed(client.threadNamePrefix());
    }

    @Test
    void aPausedH2ReaderStillGetsEveryByteAfterResuming() throws Exception {
        long n = 4L * 1024 * 1024;
        try (TcpTarget target = new TcpTarget(TcpTarget.stream(n, 11));
             Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, proxyAddress, 64 * 1024, 256 * 1024);
             Http2Tunnel tunnel = client.open(target.authority(), Map.of(), null, WAIT)) {
            tunnel.pauseReading();
            byte[] first = tunnel.readExactly(1, WAIT); // a paused tunnel still hands out what it queued
            assertThat(tunnel.queuedBytes()).isLessThanOrEqualTo(Http2Tunnel.MAX_QUEUE);
            tunnel.resumeReading();
            Tunnel.ReadResult rest = tunnel.readToEnd(Duration.ofSeconds(30));
            assertThat(rest.count() + first.length).isEqualTo(n);
        }
    }

    // ---- helpers ----

    private static Socket connect(InetSocketAddress address) throws Exception {
        Socket s = new Socket();
        s.connect(address, 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static CompletableFuture<Void> writeAsync(Tunnel tunnel, byte[] payload, boolean thenShutdown) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (int at = 0; at < payload.length; at += 100_000) {
                    tunnel.write(java.util.Arrays.copyOfRange(payload, at, Math.min(payload.length, at + 100_000)));
                }
                if (thenShutdown) {
                    tunnel.shutdownOutput();
                }
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        }, writers);
    }

    private static void assertNoThreadsNamed(String prefix) throws InterruptedException {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(prefix)) {
                t.join(5000);
                assertThat(t.isAlive()).as("thread %s still alive", t.getName()).isFalse();
            }
        }
    }
}
