package dev.adit.log;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

class AccessLogTest
{
    private static final Instant START = Instant.parse("2024-12-03T11:37:59.042Z");
    private static final Instant END = Instant.parse("2024-12-03T11:38:04.054Z");
    private static final DateTimeFormatter START_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final AccessLog log = new AccessLog(lines::add, () -> true, Clock.fixed(END, ZoneOffset.UTC));

    record Info(String id, String authority, String protocol, SocketAddress downstreamRemoteAddress, SocketAddress downstreamLocalAddress,
                SocketAddress upstreamAddress, Instant startTime, long bytesFromDownstream, long bytesFromUpstream, String upstreamCluster,
                int responseCode) implements TunnelInfo
    {
    }

    @Test
    void anEstablishedTunnelIsOneLineWithEnvoysFieldsAndTypes() throws Exception
    {
        Info tunnel = new Info("1z", "example.com:443", "HTTP/2",
            new InetSocketAddress(InetAddress.getByName("::1"), 50123), new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8443),
            new InetSocketAddress(InetAddress.getByName("93.184.215.14"), 443), START, 88, 160, "original-dst", 200);

        log.onClosed(tunnel, TunnelFailure.COMPLETED, null);

        assertThat(lines).hasSize(1);
        Map<String, Object> json = JsonLine.parse(lines.get(0));
        assertThat(json).containsExactly(
            entry("start_time", "2024-12-03T11:37:59.042Z"),
            entry("duration", 5012L),
            entry("protocol", "HTTP/2"),
            entry("authority", "example.com:443"),
            entry("response_code", 200L),
            entry("response_flags", "-"),
            entry("response_code_details", "completed"),
            entry("bytes_received", 88L),
            entry("bytes_sent", 160L),
            entry("upstream_host", "93.184.215.14:443"),
            entry("upstream_cluster", "original-dst"),
            entry("downstream_remote_address", "[::1]:50123"),
            entry("downstream_local_address", "127.0.0.1:8443"),
            entry("tunnel_id", "1z"));
    }

    @Test
    void aRefusedTunnelHasItsStatusAndFlagAndNullsForWhatIsUnknown() throws Exception
    {
        Info tunnel = new Info("2a", "nowhere.test:80", "HTTP/1.1", new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 40000),
            new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080), null, START.plusMillis(958), 0, 0, null, 404);

        log.onRefused(tunnel, TunnelFailure.NO_ROUTE, null);

        Map<String, Object> json = JsonLine.parse(lines.get(0));
        assertThat(json).contains(
            entry("start_time", "2024-12-03T11:38:00.000Z"),
            entry("duration", 4054L),
            entry("response_code", 404L),
            entry("response_flags", "NR"),
            entry("response_code_details", "no_route"),
            entry("bytes_received", 0L),
            entry("bytes_sent", 0L),
            entry("upstream_host", null),
            entry("upstream_cluster", null));
    }

    @Test
    void aTargetMadeUpByTheClientCannotBreakTheLineOrTheObject() throws Exception
    {
        String hostile = "a\"b\\c\n\u0001{}\u00e9\u2028\",\"response_code\":200:80";
        Info tunnel = new Info("3b", hostile, "HTTP/1.1", null, null, null, START, 0, 0, null, 400);

        log.onRefused(tunnel, TunnelFailure.MALFORMED_TARGET, null);

        String line = lines.get(0);
        assertThat(line.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).as("printable ASCII: %s", line).isTrue();
        Map<String, Object> json = JsonLine.parse(line);
        assertThat(json).contains(entry("authority", hostile), entry("response_code", 400L), entry("response_flags", "DPE"),
            entry("downstream_remote_address", null));
    }

    @Test
    void nothingIsFormattedWhenTheLoggerIsOff()
    {
        AccessLog off = new AccessLog(lines::add, () -> false, Clock.systemUTC());
        Info tunnel = new Info("4c", "example.com:443", "HTTP/1.1", null, null, null, START, 0, 0, null, 200);

        off.onClosed(tunnel, TunnelFailure.COMPLETED, null);
        off.onRefused(tunnel, TunnelFailure.DENIED, null);

        assertThat(lines).isEmpty();
    }

    @Test
    void addressesAreIpColonPortWithIpv6InBrackets() throws Exception
    {
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 1))).isEqualTo("10.1.2.3:1");
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("2001:db8::5"), 443))).isEqualTo("[2001:db8::5]:443");
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("fe80::1%1"), 80))).as("no scope id").isEqualTo("[fe80::1]:80");
        assertThat(AccessLog.address(InetSocketAddress.createUnresolved("backend.internal", 8443))).isEqualTo("backend.internal:8443");
        assertThat(AccessLog.address(null)).isNull();
    }

    @Test
    void manyThreadsLoggingAtOnceEachGetWholeLinesWithTheirOwnValues() throws Exception
    {
        int threads = 8;
        int perThread = 2_000;
        ConcurrentLinkedQueue<String> out = new ConcurrentLinkedQueue<>();
        AccessLog shared = new AccessLog(out::add, () -> true, Clock.fixed(END, ZoneOffset.UTC));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                int thread = t;
                done.add(pool.submit(() ->
                {
                    go.await(10, TimeUnit.SECONDS);
                    for (int i = 0; i < perThread; i++)
                    {
                        // Every value derives from (thread, i): a line that mixed two tunnels would not add up.
                        long n = thread * 1_000_000L + i;
                        InetAddress v6 = InetAddress.getByName("2001:db8::" + Integer.toHexString(thread + 1) + ":" + Integer.toHexString(i + 1));
                        shared.onClosed(new Info("t" + n, "host-" + n + ".test:443", "HTTP/2", new InetSocketAddress(v6, 1 + i),
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), 1 + thread), null, START.plusMillis(i), n, 2 * n,
                            "c" + n, 200), TunnelFailure.COMPLETED, null);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done)
                f.get(60, TimeUnit.SECONDS);
        }
        finally
        {
            pool.shutdownNow();
        }

        assertThat(out).hasSize(threads * perThread);
        List<String> ids = new ArrayList<>();
        for (String line : out)
        {
            Map<String, Object> json = JsonLine.parse(line);
            String id = (String)json.get("tunnel_id");
            long n = Long.parseLong(id.substring(1));
            int thread = (int)(n / 1_000_000);
            int i = (int)(n % 1_000_000);
            assertThat(json).as(line).containsExactly(
                entry("start_time", AccessLogTest.START_TIME.format(START.plusMillis(i))),
                entry("duration", 5012L - i),
                entry("protocol", "HTTP/2"),
                entry("authority", "host-" + n + ".test:443"),
                entry("response_code", 200L),
                entry("response_flags", "-"),
                entry("response_code_details", "completed"),
                entry("bytes_received", n),
                entry("bytes_sent", 2 * n),
                entry("upstream_host", null),
                entry("upstream_cluster", "c" + n),
                entry("downstream_remote_address", "[2001:db8::" + Integer.toHexString(thread + 1) + ":" + Integer.toHexString(i + 1) + "]:" + (1 + i)),
                entry("downstream_local_address", "127.0.0.1:" + (1 + thread)),
                entry("tunnel_id", id));
            ids.add(id);
        }
        assertThat(ids).doesNotHaveDuplicates();
    }

    @Test
    void aLineThatFailsHalfWayLeavesNoTraceInTheNextLine()
    {
        // No start time: formatting fails after the object and its first field name were written.
        Info broken = new Info("5d", "example.com:443", "HTTP/1.1", null, null, null, null, 0, 0, null, 200);
        Info fine = new Info("5e", "example.com:443", "HTTP/1.1", null, null, null, START, 0, 0, null, 200);

        assertThatThrownBy(() -> log.onClosed(broken, TunnelFailure.COMPLETED, null)).isInstanceOf(NullPointerException.class);
        log.onClosed(fine, TunnelFailure.COMPLETED, null);

        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).startsWith("{\"start_time\"").endsWith("\"tunnel_id\":\"5e\"}");
    }

    @Test
    void aStartedLogWritesFromItsThreadInOrderAndStoppingWritesEveryLine() throws Exception
    {
        List<String[]> written = new CopyOnWriteArrayList<>();
        AsyncLines writer = new AsyncLines(line -> written.add(new String[]{line, Thread.currentThread().getName()}), 16, AccessLog.THREAD_NAME);
        AccessLog async = new AccessLog(writer, () -> true, Clock.fixed(END, ZoneOffset.UTC));
        assertThat(async.getBean(AsyncLines.class)).isSameAs(writer);
        async.start();
        assertThat(writer.isRunning()).isTrue();
        async.onClosed(new Info("first", "example.com:443", "HTTP/1.1", null, null, null, START, 0, 0, null, 200), TunnelFailure.COMPLETED, null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (written.isEmpty())
        {
            assertThat(System.nanoTime() - deadline).as("the first line is written").isNegative();
            Thread.onSpinWait();
        }
        assertThat(written.get(0)[1]).as("an I/O thread only queues").isEqualTo(AccessLog.THREAD_NAME);
        List<String> ids = new ArrayList<>(List.of("first"));
        for (int i = 0; i < 500; i++)
        {
            ids.add("a" + i);
            async.onClosed(new Info("a" + i, "example.com:443", "HTTP/1.1", null, null, null, START, i, 0, null, 200), TunnelFailure.COMPLETED, null);
        }
        async.stop();
        assertThat(writer.isStopped()).isTrue();
        List<String> loggedIds = new ArrayList<>();
        for (String[] line : written)
            loggedIds.add((String)JsonLine.parse(line[0]).get("tunnel_id"));
        assertThat(loggedIds).containsExactlyElementsOf(ids);

        async.onRefused(new Info("late", "example.com:443", "HTTP/1.1", null, null, null, START, 0, 0, null, 503), TunnelFailure.UNAVAILABLE, null);
        assertThat(written.get(written.size() - 1)[0]).contains("\"tunnel_id\":\"late\"");
        assertThat(written.get(written.size() - 1)[1]).as("after stop, the caller writes").isEqualTo(Thread.currentThread().getName());
    }

    @Test
    void theLoggersLogHasAWriterThreadAndASinkOfTheCallersHasNone()
    {
        AsyncLines writer = new AccessLog().getBean(AsyncLines.class);
        assertThat(writer).isNotNull();
        assertThat(writer.getCapacity()).isEqualTo(AccessLog.QUEUE_CAPACITY);
        assertThat(new AccessLog(lines::add).getBeans()).isEmpty();
    }
}
