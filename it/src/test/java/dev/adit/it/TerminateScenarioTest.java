package dev.adit.it;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;

import dev.adit.testing.Payloads;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 1 of Envoy Gateway's HTTP CONNECT tunnels task, "terminate", with the standalone jar
 * and {@code config/terminate.properties}: Adit answers every CONNECT itself and sends the
 * tunnel to one fixed backend, whatever the target.
 *
 * <pre>
 *   curl --CONNECT origin--&gt; Adit (terminate.properties) --TCP--&gt; backend
 * </pre>
 *
 * Two local HTTPS servers in this JVM: "backend" (the cluster {@code backend}, set with
 * {@code -Dadit.cluster.backend.endpoints}) and "origin" (the CONNECT target curl names). The
 * body says which one answered, and each counts its requests.
 */
@Timeout(300)
class TerminateScenarioTest
{
    private static TlsWebServer backend;
    private static TlsWebServer origin;
    private static AditProcess gateway;

    @BeforeAll
    static void start() throws Exception
    {
        backend = TlsWebServer.start("backend");
        origin = TlsWebServer.start("origin");
        gateway = AditProcess.startHttpListening(
            List.of("-Dadit.cluster.backend.endpoints=" + backend.authority()),
            List.of("--config", AditProcess.configFile("terminate.properties").toString()));
    }

    @AfterAll
    static void stop() throws Exception
    {
        if (gateway != null)
            gateway.close();
        if (origin != null)
            origin.close();
        if (backend != null)
            backend.close();
    }

    @ParameterizedTest(name = "with ''foo: bar'' on the CONNECT: {0}")
    @ValueSource(booleans = {false, true})
    void theGatewaySendsTheTunnelToTheFixedBackendWhateverTheTarget(boolean fooBar) throws Exception
    {
        int backendBefore = backend.requests();
        int originBefore = origin.requests();

        ProxyCurl.Fetch fetch = ProxyCurl.fetch(gateway.httpPort(), origin.url("/"), fooBar);

        assertThat(fetch.exitCode()).as(() -> report(fetch)).isZero();
        assertThat(fetch.connectStatus()).as(() -> report(fetch)).isEqualTo(200);
        assertThat(fetch.bodyText()).as(() -> report(fetch)).isEqualTo("backend\n");
        assertThat(backend.requests()).as(() -> report(fetch)).isEqualTo(backendBefore + 1);
        assertThat(origin.requests()).as(() -> report(fetch)).isEqualTo(originBefore);
    }

    @Test
    void aTargetWhereNothingListensStillReachesTheBackend() throws Exception
    {
        int closed;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            closed = probe.getLocalPort();
        }
        int backendBefore = backend.requests();

        ProxyCurl.Fetch fetch = ProxyCurl.fetch(gateway.httpPort(), "https://127.0.0.1:" + closed + "/", false);

        assertThat(fetch.exitCode()).as(() -> report(fetch)).isZero();
        assertThat(fetch.bodyText()).as(() -> report(fetch)).isEqualTo("backend\n");
        assertThat(backend.requests()).as(() -> report(fetch)).isEqualTo(backendBefore + 1);
    }

    @Test
    void aLargeBodyComesFromTheBackendByteExact() throws Exception
    {
        ProxyCurl.Fetch fetch = ProxyCurl.fetch(gateway.httpPort(), origin.url(TlsWebServer.BULK_PATH), false);

        assertThat(fetch.exitCode()).as(() -> report(fetch)).isZero();
        assertThat(fetch.body().length).as(() -> report(fetch)).isEqualTo(TlsWebServer.BULK_SIZE);
        assertThat(fetch.bodySha256()).as(() -> report(fetch) + "\n" + Payloads.seedNote()).isEqualTo(backend.bulkSha256());
    }

    private static String report(ProxyCurl.Fetch fetch)
    {
        return fetch.describe()
            + "\nservers: " + backend + ", " + origin
            + "\n--- Adit (terminate.properties) output:\n" + gateway.output();
    }
}
