package dev.adit.config.mp;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.adit.config.AditConfig;
import dev.adit.config.ClusterConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.HeaderMatch;
import dev.adit.config.HostPort;
import dev.adit.config.ProxyProtocol;
import dev.adit.config.RouteConfig;
import dev.adit.config.RouteMatch;
import dev.adit.config.UpstreamProtocol;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Binding routes and clusters, and refusing every invalid one with the key named. */
class RoutesConfigTest
{
    private static Config config(Map<String, String> properties)
    {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(properties, "test", 250)).build();
    }

    private static Map<String, String> valid()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "foo-bar,fallback");
        p.put("adit.route.foo-bar.match.header.foo.exact", "bar");
        p.put("adit.route.foo-bar.match.authority", "*.example.com:443,[::1]:8080,10.0.0.0/8");
        p.put("adit.route.foo-bar.cluster", "original-dst");
        p.put("adit.route.foo-bar.proxy-protocol", "v2");
        p.put("adit.route.fallback.action", "proxy");
        p.put("adit.route.fallback.cluster", "back");
        p.put("adit.route.fallback.request-headers-to-add", "x-via: adit,x-tier: front");
        p.put("adit.route.fallback.request-headers-to-remove", "proxy-authorization");
        p.put("adit.cluster.back.endpoints", "127.0.0.1:8081,[::1]:8082,back.internal:9000");
        p.put("adit.cluster.back.protocol", "h2");
        p.put("adit.cluster.back.max-streams-per-connection", "50");
        p.put("adit.cluster.back.connect-timeout", "2s");
        return p;
    }

    @Test
    void routesAndClustersBindInOrder()
    {
        AditConfig config = ConfigBinder.bind(config(valid()));
        assertThat(config.routes()).extracting(RouteConfig::name).containsExactly("foo-bar", "fallback");
        RouteConfig first = config.routes().get(0);
        assertThat(first.action()).isEqualTo(RouteConfig.Action.TERMINATE);
        assertThat(first.match().headers()).containsExactly(new HeaderMatch("foo", HeaderMatch.Kind.EXACT, "bar"));
        assertThat(first.match().authorities()).containsExactly("*.example.com:443", "[::1]:8080", "10.0.0.0/8");
        assertThat(first.match().connect()).isEqualTo(RouteMatch.Connect.PLAIN);
        assertThat(first.proxyProtocol()).contains(ProxyProtocol.V2);
        RouteConfig second = config.routes().get(1);
        assertThat(second.action()).isEqualTo(RouteConfig.Action.PROXY);
        assertThat(second.headersToAdd()).containsExactly(new RouteConfig.HeaderValue("x-via", "adit"), new RouteConfig.HeaderValue("x-tier", "front"));
        assertThat(second.headersToRemove()).containsExactly("proxy-authorization");
        ClusterConfig back = config.clusters().get("back");
        assertThat(back.endpoints()).containsExactly(new HostPort("127.0.0.1", 8081), new HostPort("::1", 8082), new HostPort("back.internal", 9000));
        assertThat(back.protocol()).isEqualTo(UpstreamProtocol.H2);
        assertThat(back.maxStreamsPerConnection()).isEqualTo(50);
        assertThat(back.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.clusters()).containsKey(ClusterConfig.ORIGINAL_DST);
    }

    @Test
    void withoutRoutesEveryPlainConnectIsTerminatedToItsTarget()
    {
        AditConfig config = ConfigBinder.bind(config(Map.of()));
        assertThat(config.routes()).containsExactly(RouteConfig.defaultRoute());
        assertThat(config.clusters().get(ClusterConfig.ORIGINAL_DST).type()).isEqualTo(ClusterConfig.Type.ORIGINAL_DST);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        "adit.route.fallback.cluster                      | nope          | original-dst or a cluster configured with adit.cluster.nope.*",
        "adit.route.foo-bar.match.header.foo.regex        | ba(r          | a Java regular expression",
        "adit.route.foo-bar.match.authority               | 10.0.0.0/33   | HOST[:PORTS]",
        "adit.route.foo-bar.match.authority               | 10.0.0.1/8    | HOST[:PORTS]",
        "adit.cluster.back.endpoints                      | 127.0.0.1:70000 | host:port with a port from 1 to 65535",
        "adit.cluster.back.endpoints                      | 127.0.0.1     | host:port",
        "adit.route.fallback.action                       | forward       | terminate, proxy or deny",
        "adit.route.fallback.deny-status                  | 200           | an integer from 400 to 599",
        "adit.cluster.back.protocol                       | h3            | http1 or h2",
        "adit.cluster.back.max-streams-per-connection     | 0             | an integer from 1",
        "adit.route.foo-bar.proxy-protocol                | v3            | none, v1 or v2",
        "adit.route.fallback.request-headers-to-add       | no-colon      | name: value",
        "adit.route.fallback.request-headers-to-add       | host: x       | name: value",
        "adit.route.foo-bar.match.connect                 | sometimes     | plain, extended or any",
        "adit.cluster.back.tls.spki-pins                  | abc           | base64 SHA-256",
        "adit.route.foo-bar.match.header.foo.present      | maybe         | true or false",
        "adit.http.upgrades                               | web socket    | CONNECT, an extended CONNECT",
    })
    void anInvalidRouteOrClusterFailsTheStartNamingTheKey(String key, String value, String expected)
    {
        Map<String, String> p = valid();
        if (key.endsWith(".regex") || key.endsWith(".present"))
            p.remove("adit.route.foo-bar.match.header.foo.exact");
        p.put(key, value);
        assertThatThrownBy(() -> ConfigBinder.bind(config(p)))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .anySatisfy(problem -> assertThat(problem).startsWith(key + ": " + value + " (expected: ").contains(expected)));
    }

    @Test
    void structuralMistakesAreNamed()
    {
        Map<String, String> p = valid();
        p.put("adit.route.typo.cluster", "back");
        p.put("adit.route.foo-bar.match.header.foo.prefix", "b");
        p.put("adit.route.foo-bar.match.header.foo.contains", "b");
        p.put("adit.cluster.empty.type", "static");
        p.put("adit.cluster.odd.type", "original-dst");
        p.put("adit.cluster.odd.endpoints", "127.0.0.1:1");
        p.put("adit.route.fallback.allow-post", "true");
        assertThatThrownBy(() -> ConfigBinder.bind(config(p)))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems())
                .anySatisfy(q -> assertThat(q).startsWith("adit.route.typo.cluster: route typo is not listed"))
                .anySatisfy(q -> assertThat(q).startsWith("adit.route.foo-bar.match.header.foo.*: ").contains("one condition per header"))
                .anySatisfy(q -> assertThat(q).startsWith("adit.route.foo-bar.match.header.foo.contains: unknown key"))
                .anySatisfy(q -> assertThat(q).startsWith("adit.cluster.empty.endpoints: (none) (expected: at least one host:port"))
                .anySatisfy(q -> assertThat(q).startsWith("adit.cluster.odd.endpoints: 127.0.0.1:1 (expected: no endpoints"))
                .anySatisfy(q -> assertThat(q).startsWith("adit.route.fallback.allow-post: true (expected: false, or adit.route.fallback.action=terminate")));
    }

    @Test
    void extendedConnectCanOnlyBeProxiedOverHttp2()
    {
        Map<String, String> p = valid();
        p.put("adit.cluster.back.protocol", "http1");
        p.put("adit.route.fallback.match.connect", "any");
        assertThatThrownBy(() -> ConfigBinder.bind(config(p)))
            .hasMessageContaining("adit.route.fallback.match.connect: any (expected: plain, since extended CONNECT can be forwarded only to an h2 cluster");
    }

    @Test
    void anOpenProxyIsOnlyARouteToTheClientsOwnTarget()
    {
        // Every route goes to a fixed backend: listening on all addresses is not an open proxy.
        Map<String, String> p = new HashMap<>();
        p.put("adit.http.host", "0.0.0.0");
        p.put("adit.https.enabled", "false");
        p.put("adit.routes", "gateway");
        p.put("adit.route.gateway.cluster", "backend");
        p.put("adit.cluster.backend.endpoints", "127.0.0.1:9443");
        assertThat(ConfigBinder.bind(config(p)).routes()).hasSize(1);
        p.put("adit.route.gateway.cluster", "original-dst");
        assertThatThrownBy(() -> ConfigBinder.bind(config(p))).hasMessageContaining("adit.http.host: 0.0.0.0 (expected: a loopback address");
    }

    @Test
    void upgradesAreReadPerListener()
    {
        AditConfig config = ConfigBinder.bind(config(Map.of("adit.http.upgrades", "CONNECT,websocket", "adit.https.upgrades", "none")));
        assertThat(config.listeners().get(0).upgrades()).containsExactlyInAnyOrder("connect", "websocket");
        assertThat(config.listeners().get(1).upgrades()).isEmpty();
        assertThat(List.of(config.listeners().get(0).name(), config.listeners().get(1).name())).containsExactly("http", "https");
    }
}
