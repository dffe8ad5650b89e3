package dev.adit.config.mp;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import dev.adit.config.ClusterConfig;
import dev.adit.config.ConfigException;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The HTTP/2 pool keys of a cluster: pre-warmed minimum and PING keepalive, bound or refused with the key named. */
class ClusterPoolConfigTest
{
    private static Config config(Map<String, String> properties)
    {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(properties, "test", 250)).build();
    }

    /** A proxy route to a static h2 cluster {@code back}. */
    private static Map<String, String> h2Cluster()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "up");
        p.put("adit.route.up.action", "proxy");
        p.put("adit.route.up.cluster", "back");
        p.put("adit.cluster.back.endpoints", "127.0.0.1:8081,127.0.0.1:8082");
        p.put("adit.cluster.back.protocol", "h2");
        return p;
    }

    private static ClusterConfig back(Map<String, String> properties)
    {
        return ConfigBinder.bind(config(properties)).clusters().get("back");
    }

    @Test
    void byDefaultNothingIsPrewarmedAndPingsGoEveryTenSecondsWithATwentySecondTimeout()
    {
        ClusterConfig back = back(h2Cluster());
        assertThat(back.minConnections()).isZero();
        assertThat(back.pingInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(back.pingTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void theMinimumAndThePingTimesBind()
    {
        Map<String, String> p = h2Cluster();
        p.put("adit.cluster.back.min-connections", "4");
        p.put("adit.cluster.back.ping-interval", "500ms");
        p.put("adit.cluster.back.ping-timeout", "2s");
        ClusterConfig back = back(p);
        assertThat(back.minConnections()).isEqualTo(4);
        assertThat(back.pingInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(back.pingTimeout()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void pingsCanBeTurnedOffAndThenTheTimeoutDoesNotMatter()
    {
        Map<String, String> p = h2Cluster();
        p.put("adit.cluster.back.ping-interval", "0");
        p.put("adit.cluster.back.ping-timeout", "0");
        ClusterConfig back = back(p);
        assertThat(back.pingInterval()).isZero();
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "adit.cluster.back.min-connections | -1    | an integer from 0 to 100",
        "adit.cluster.back.min-connections | 101   | an integer from 0 to 100",
        "adit.cluster.back.min-connections | some  | an integer from 0 to 100",
        "adit.cluster.back.ping-interval   | -1s   | a duration",
        "adit.cluster.back.ping-interval   | 10    | a duration",
        "adit.cluster.back.ping-timeout    | -20s  | a duration",
        "adit.cluster.back.ping-timeout    | 0     | a duration above zero, since adit.cluster.back.ping-interval is not 0",
    })
    void anInvalidValueFailsTheStartNamingTheKey(String key, String value, String expected)
    {
        Map<String, String> p = h2Cluster();
        p.put(key, value);
        assertThatThrownBy(() -> ConfigBinder.bind(config(p)))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .anySatisfy(problem -> assertThat(problem).startsWith(key + ": " + value + " (expected: ").contains(expected)));
    }

    @ParameterizedTest(name = "min-connections on a {0} {1} cluster")
    @CsvSource({
        "static,       http1",
        "original-dst, h2",
    })
    void aMinimumIsRefusedWhereThereIsNoPool(String type, String protocol)
    {
        Map<String, String> p = h2Cluster();
        p.put("adit.cluster.back.type", type);
        p.put("adit.cluster.back.protocol", protocol);
        if (type.equals("original-dst"))
            p.remove("adit.cluster.back.endpoints");
        p.put("adit.cluster.back.min-connections", "2");
        assertThatThrownBy(() -> ConfigBinder.bind(config(p)))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .anySatisfy(problem -> assertThat(problem)
                    .startsWith("adit.cluster.back.min-connections: 2 (expected: 0; only a static cluster with protocol h2")));
    }
}
