package dev.adit.config.mp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import dev.adit.config.AditConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.Size;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigBinderTest
{
    private static Config config(Map<String, String> properties)
    {
        return new SmallRyeConfigBuilder()
            .withSources(new PropertiesConfigSource(properties, "test", 250))
            .build();
    }

    @Test
    void defaultsAreLoopbackWithTunnelSizedHttp2Settings()
    {
        AditConfig config = ConfigBinder.bind(config(Map.of()));

        assertThat(config.listeners()).extracting(l -> l.host() + ":" + l.port())
            .containsExactly("127.0.0.1:8080", "127.0.0.1:8443");
        assertThat(config.http2().maxConcurrentStreams()).isGreaterThanOrEqualTo(1000);
        assertThat(config.http2().initialStreamWindow().bytes()).isGreaterThanOrEqualTo(4L << 20);
        assertThat(config.http2().initialSessionWindow().bytes())
            .isGreaterThanOrEqualTo(16L << 20)
            .isGreaterThanOrEqualTo(4 * config.http2().initialStreamWindow().bytes());
        assertThat(config.http2().streamIdleTimeout()).isGreaterThan(Duration.ofSeconds(30));
        assertThat(config.http2().maxFrameSize()).isEqualTo(Size.ofKibibytes(64));
        assertThat(config.policy().allow()).containsExactly("*");
        assertThat(config.accessLog().enabled()).isTrue();
    }

    @Test
    void valuesInEveryDocumentedSyntaxAreRead()
    {
        AditConfig config = ConfigBinder.bind(config(Map.of(
            "adit.http.port", "3128",
            "adit.tunnel.connect-timeout", "PT2.5S",
            "adit.tunnel.idle-timeout", "90m",
            "adit.tunnel.buffer-size", "32KiB",
            "adit.h2.initial-stream-window", "1MiB",
            "adit.h2.initial-session-window", "4194304",
            "adit.h2.max-frame-size", "16384",
            "adit.policy.deny", "10.0.0.0/8, [fd00::/8]:*",
            "adit.access-log.enabled", "false")));

        assertThat(config.listeners().get(0).port()).isEqualTo(3128);
        assertThat(config.tunnel().connectTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(config.tunnel().idleTimeout()).isEqualTo(Duration.ofMinutes(90));
        assertThat(config.tunnel().bufferSize()).isEqualTo(Size.ofKibibytes(32));
        assertThat(config.http2().initialSessionWindow()).isEqualTo(Size.ofMebibytes(4));
        assertThat(config.http2().maxFrameSize()).isEqualTo(Size.ofKibibytes(16));
        assertThat(config.policy().deny()).containsExactly("10.0.0.0/8", "[fd00::/8]:*");
        assertThat(config.accessLog().enabled()).isFalse();
    }

    @ParameterizedTest(name = "{0}={1} is refused naming the key, the value and what was expected")
    @CsvSource(delimiter = '|', value = {
        "adit.http.port                | 70000   | an integer from 0 to 65535",
        "adit.https.port               | -1      | an integer from 0 to 65535",
        "adit.http.enabled             | maybe   | true or false",
        "adit.access-log.enabled       | sometimes | true or false",
        "adit.tunnel.connect-timeout   | soon    | a duration",
        "adit.tunnel.connect-timeout   | 0       | a duration above zero",
        "adit.tunnel.buffer-size       | 12 apples | a size from 1KiB to 16MiB",
        "adit.h2.initial-stream-window | 1KiB    | a size from",
        "adit.h2.max-concurrent-streams| 0       | an integer from 1",
        "adit.h2.max-frame-size        | 8KiB    | a size from 16KiB to",
        "adit.h2.max-frame-size        | 16MiB   | a size from 16KiB to",
        "adit.policy.allow             | 10.0.0.0/33 | HOST[:PORTS]",
        "adit.policy.deny              | example.com:99999 | HOST[:PORTS]",
        "adit.tls.cert-chain           | /nonexistent/chain.pem | a readable file",
    })
    void anInvalidValueFailsNamingTheKey(String key, String value, String expected)
    {
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of(key, value))))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .anySatisfy(p -> assertThat(p).startsWith(key + ": " + value + " (expected: ").contains(expected)));
    }

    @Test
    void everyProblemIsReportedAtOnce()
    {
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of(
            "adit.http.port", "x",
            "adit.tunnel.idle-timeout", "y",
            "adit.htp.port", "8080"))))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems()).hasSize(3)
                .anySatisfy(p -> assertThat(p).startsWith("adit.http.port: x"))
                .anySatisfy(p -> assertThat(p).startsWith("adit.tunnel.idle-timeout: y"))
                .anySatisfy(p -> assertThat(p).startsWith("adit.htp.port: unknown key")));
    }

    @Test
    void anUnknownEnvironmentVariableIsRefusedButKnownOnesAreAccepted()
    {
        // Property names as an environment source presents them.
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of("ADIT_HTTP_PROT", "1"))))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .containsExactly("ADIT_HTTP_PROT: unknown environment variable (expected: ADIT_ followed by a documented key, such as ADIT_HTTP_PORT)"));
        ConfigBinder.bind(config(Map.of("ADIT_HTTP_PORT", "1", "ADIT_TUNNEL_IDLE_TIMEOUT", "5s")));
    }

    @Test
    void theSessionWindowMayNotBeSmallerThanTheStreamWindow()
    {
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of(
            "adit.h2.initial-stream-window", "8MiB", "adit.h2.initial-session-window", "4MiB"))))
            .hasMessageContaining("adit.h2.initial-session-window: 4MiB (expected: at least adit.h2.initial-stream-window = 8MiB)");
    }

    @Test
    void onlyOneOfCertificateAndKeyIsAProblem(@TempDir Path dir) throws Exception
    {
        Path chain = Files.writeString(dir.resolve("chain.pem"), "x");
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of("adit.tls.cert-chain", chain.toString()))))
            .hasMessageContaining("only one is set (expected: both or neither)");
    }

    @Test
    void anOpenProxyOnANonLoopbackAddressNeedsExplicitConsent()
    {
        assertThatThrownBy(() -> ConfigBinder.bind(config(Map.of("adit.http.host", "0.0.0.0"))))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .singleElement().asString()
                .startsWith("adit.http.host: 0.0.0.0 (expected: a loopback address")
                .contains("adit.policy.allow-open-proxy=true"));

        ConfigBinder.bind(config(Map.of("adit.http.host", "0.0.0.0", "adit.policy.allow-open-proxy", "true")));
        ConfigBinder.bind(config(Map.of("adit.http.host", "0.0.0.0", "adit.policy.allow", "*.internal.example:443")));
        ConfigBinder.bind(config(Map.of("adit.http.host", "0.0.0.0", "adit.policy.deny", "169.254.0.0/16")));
    }
}
