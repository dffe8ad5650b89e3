package dev.adit.it;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.adit.testing.Payloads;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 2 of Envoy Gateway's HTTP CONNECT tunnels task, "proxy", with two standalone jars:
 * the front ({@code config/proxy-front.properties}) forwards every CONNECT to the back as an
 * HTTP/2 CONNECT over pooled h2c connections; the back ({@code config/proxy-back.properties})
 * terminates it, sending a CONNECT with {@code foo: bar} to its own target and any other to
 * the fixed backend.
 *
 * <pre>
 *   curl --CONNECT origin--&gt; front --h2c CONNECT--&gt; back --TCP--&gt; origin   (foo: bar)
 *                                                        --TCP--&gt; backend  (otherwise)
 * </pre>
 *
 * Two local HTTPS servers in this JVM: "backend" (the back's cluster {@code backend}) and
 * "origin" (the CONNECT target curl names). The body says which one answered, and each counts
 * its requests.
 */
@Timeout(300)
class ProxyScenarioTest
{
    private static final int PARALLEL = 8;

    private static TlsWebServer backend;
    private static TlsWebServer origin;
    private static AditProcess back;
    private static AditProcess front;

    @BeforeAll
    static void start() throws Exception
    {
        backend = TlsWebServer.start("backend");
        origin = TlsWebServer.start("origin");
        back = AditProcess.startHttpListening(
            List.of("-Dadit.cluster.backend.endpoints=" + backend.authority()),
            List.of("--config", AditProcess.configFile("proxy-back.properties").toString()));
        front = AditProcess.startHttpListening(
            List.of("-Dadit.cluster.back.endpoints=127.0.0.1:" + back.httpPort()),
            List.of("--config", AditProcess.configFile("proxy-front.properties").toString()));
    }

    @AfterAll
    static void stop() throws Exception
    {
        if (front != null)
            front.close();
        if (back != null)
            back.close();
        if (origin != null)
            origin.close();
        if (backend != null)
            backend.close();
    }

    @ParameterizedTest(name = "with ''foo: bar'' on the CONNECT: {0}")
    @ValueSource(booleans = {false, true})
    void throughTheFrontTheHeaderPicksTheServer(boolean fooBar) throws Exception
    {
        assertRouted(front.httpPort(), fooBar);
    }

    /** The back alone, as a client's proxy: tells a routing fault in the back from a forwarding fault in the front. */
    @ParameterizedTest(name = "with ''foo: bar'' on the CONNECT: {0}")
    @ValueSource(booleans = {false, true})
    void theBackAloneRoutesOnTheHeader(boolean fooBar) throws Exception
    {
        assertRouted(back.httpPort(), fooBar);
    }

    private static void assertRouted(int proxyPort, boolean fooBar) throws Exception
    {
        TlsWebServer expected = fooBar ? origin : backend;
        TlsWebServer other = fooBar ? backend : origin;
        int expectedBefore = expected.requests();
        int otherBefore = other.requests();

        ProxyCurl.Fetch fetch = ProxyCurl.fetch(proxyPort, origin.url("/"), fooBar);

        assertThat(fetch.exitCode()).as(() -> report(fetch)).isZero();
        assertThat(fetch.connectStatus()).as(() -> report(fetch)).isEqualTo(200);
        assertThat(fetch.bodyText()).as(() -> report(fetch)).isEqualTo(expected.name() + "\n");
        assertThat(expected.requests()).as(() -> report(fetch)).isEqualTo(expectedBefore + 1);
        assertThat(other.requests()).as(() -> report(fetch)).isEqualTo(otherBefore);
    }

    @ParameterizedTest(name = "with ''foo: bar'' on the CONNECT: {0}")
    @ValueSource(booleans = {false, true})
    void aLargeBodyCrossesBothProxiesByteExact(boolean fooBar) throws Exception
    {
        TlsWebServer expected = fooBar ? origin : backend;

        ProxyCurl.Fetch fetch = ProxyCurl.fetch(front.httpPort(), origin.url(TlsWebServer.BULK_PATH), fooBar);

        assertThat(fetch.exitCode()).as(() -> report(fetch)).isZero();
        assertThat(fetch.body().length).as(() -> report(fetch)).isEqualTo(TlsWebServer.BULK_SIZE);
        assertThat(fetch.bodySha256()).as(() -> report(fetch) + "\n" + Payloads.seedNote()).isEqualTo(expected.bulkSha256());
    }

    @Test
    void parallelCurlsAllSucceedByteExact() throws Exception
    {
        int backendBefore = backend.requests();
        int originBefore = origin.requests();
        ExecutorService clients = Executors.newFixedThreadPool(PARALLEL);
        try
        {
            List<Future<ProxyCurl.Fetch>> futures = new ArrayList<>();
            for (int i = 0; i < PARALLEL; i++)
            {
                boolean fooBar = i % 2 == 1;
                futures.add(clients.submit(() -> ProxyCurl.fetch(front.httpPort(), origin.url(TlsWebServer.BULK_PATH), fooBar)));
            }
            for (int i = 0; i < PARALLEL; i++)
            {
                // Each fetch is bounded by ProxyCurl's own timeout; this bound only stops a stuck test.
                ProxyCurl.Fetch fetch = futures.get(i).get(180, TimeUnit.SECONDS);
                TlsWebServer expected = i % 2 == 1 ? origin : backend;
                String what = "curl " + (i + 1) + " of " + PARALLEL + ", expected " + expected.name();
                assertThat(fetch.exitCode()).as(() -> what + "\n" + report(fetch)).isZero();
                assertThat(fetch.bodySha256()).as(() -> what + "\n" + report(fetch) + "\n" + Payloads.seedNote()).isEqualTo(expected.bulkSha256());
            }
        }
        finally
        {
            clients.shutdownNow();
            clients.awaitTermination(30, TimeUnit.SECONDS);
        }
        assertThat(backend.requests()).as(ProxyScenarioTest::servers).isEqualTo(backendBefore + PARALLEL / 2);
        assertThat(origin.requests()).as(ProxyScenarioTest::servers).isEqualTo(originBefore + PARALLEL / 2);
    }

    private static String servers()
    {
        return "servers: " + backend + ", " + origin;
    }

    private static String report(ProxyCurl.Fetch fetch)
    {
        return fetch.describe()
            + "\n" + servers()
            + "\n--- front (proxy-front.properties, port " + front.httpPort() + ") output:\n" + front.output()
            + "\n--- back (proxy-back.properties, port " + back.httpPort() + ") output:\n" + back.output();
    }
}
