package dev.adit.it;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scenario files of {@code config/} as the standalone jar reads them, apart from any
 * traffic: each is a valid configuration, and a route naming a cluster that does not exist
 * stops the start naming the key.
 */
@Timeout(300)
class ScenarioConfigTest
{
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(60);

    @ParameterizedTest(name = "config/{0}")
    @ValueSource(strings = {"terminate.properties", "proxy-front.properties", "proxy-back.properties"})
    void eachScenarioFileStartsAdit(String file) throws Exception
    {
        try (AditProcess adit = AditProcess.startHttpListening(List.of(), List.of("--config", AditProcess.configFile(file).toString())))
        {
            assertThat(adit.output()).as(adit::output)
                .contains("Adit listening on http://127.0.0.1:")
                .doesNotContain("Adit listening on https://");
            assertThat(adit.terminate(Duration.ofSeconds(30))).as(adit::output).isIn(0, 143);
        }
    }

    @Test
    void aRouteToAnUnknownClusterStopsTheStartNamingTheKey() throws Exception
    {
        List<String> properties = List.of("-Dadit.http.port=0", "-Dadit.route.foo-bar.cluster=nope");
        try (AditProcess bad = AditProcess.start(properties, List.of("--config", AditProcess.configFile("proxy-back.properties").toString())))
        {
            int status = bad.awaitExit(EXIT_TIMEOUT);

            assertThat(status).as(bad::output).isEqualTo(2);
            // The binder's convention, "key: value (expected: ...)". The rest of the file is valid:
            // no key of it may be reported unknown.
            assertThat(bad.output()).as(bad::output)
                .contains("adit.route.foo-bar.cluster: nope")
                .doesNotContain("unknown key");
        }
    }
}
