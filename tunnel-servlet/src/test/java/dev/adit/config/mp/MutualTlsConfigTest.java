package dev.adit.config.mp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.adit.config.AditConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.ListenerConfig;
import dev.adit.config.TlsClientConfig;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The mutual TLS and SPIFFE keys: listener client certificates, TLS versions, route allow lists, cluster SPIFFE IDs. */
class MutualTlsConfigTest
{
    @TempDir
    Path dir;

    private static Config config(Map<String, String> properties)
    {
        return new SmallRyeConfigBuilder()
            .withSources(new PropertiesConfigSource(properties, "test", 250))
            .build();
    }

    private static ListenerConfig https(AditConfig config)
    {
        return config.listeners().stream().filter(ListenerConfig::isTls).findFirst().orElseThrow();
    }

    private static void assertProblems(Map<String, String> properties, String... problems)
    {
        assertThatThrownBy(() -> ConfigBinder.bind(config(properties)))
            .isInstanceOfSatisfying(ConfigException.class, x -> assertThat(x.problems()).containsExactlyInAnyOrder(problems));
    }

    @Test
    void byDefaultTheListenerAsksForNoClientCertificate()
    {
        ListenerConfig https = https(ConfigBinder.bind(config(Map.of())));

        assertThat(https.clientAuth()).isEqualTo(ListenerConfig.ClientAuth.NONE);
        assertThat(https.clientCa()).isEmpty();
        assertThat(https.tlsProtocols()).isEmpty();
    }

    @Test
    void clientAuthClientCaAndProtocolsAreRead() throws Exception
    {
        Path ca1 = Files.writeString(dir.resolve("ca1.pem"), "x");
        Path ca2 = Files.writeString(dir.resolve("ca2.pem"), "x");
        ListenerConfig https = https(ConfigBinder.bind(config(Map.of(
            "adit.tls.client-auth", "NEED",
            "adit.tls.client-ca", ca1 + ", " + ca2,
            "adit.tls.protocols", "tlsv1.3"))));

        assertThat(https.clientAuth()).isEqualTo(ListenerConfig.ClientAuth.NEED);
        assertThat(https.clientCa()).containsExactly(ca1, ca2);
        assertThat(https.tlsProtocols()).containsExactly("TLSv1.3");
    }

    @Test
    void listenerMistakesAreNamed() throws Exception
    {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        assertProblems(Map.of("adit.tls.client-auth", "maybe"),
            "adit.tls.client-auth: maybe (expected: none, want or need)");
        assertProblems(Map.of("adit.tls.client-auth", "want"),
            "adit.tls.client-ca: (none) (expected: PEM files of the CAs that sign client certificates, since adit.tls.client-auth=want)");
        assertProblems(Map.of("adit.tls.client-auth", "need", "adit.tls.client-ca", "/nonexistent/ca.pem"),
            "adit.tls.client-ca: /nonexistent/ca.pem (expected: readable PEM files of CA certificates)");
        assertProblems(Map.of("adit.tls.client-ca", ca.toString()),
            "adit.tls.client-auth: none (expected: want or need, since adit.tls.client-ca is set)");
        assertProblems(Map.of("adit.tls.protocols", "TLSv1.3,SSLv3"),
            "adit.tls.protocols: SSLv3 (expected: TLSv1.2 or TLSv1.3)");
    }

    @Test
    void anEmbedderCannotAskForClientCertificatesWithoutCas()
    {
        assertThatThrownBy(() -> new ListenerConfig("https", true, "127.0.0.1", 0, Optional.empty(), Optional.empty(),
            Set.of(ListenerConfig.CONNECT), ListenerConfig.ClientAuth.WANT, List.of(), List.of()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("clientCa");
    }

    @Test
    void allowedIdentitiesAreReadPerRoute()
    {
        AditConfig config = ConfigBinder.bind(config(Map.of(
            "adit.routes", "mesh,rest",
            "adit.route.mesh.allowed-identities", "spiffe://cluster.local/ns/a/sa/b, spiffe://cluster.local/ns/c/**")));

        assertThat(config.routes().get(0).allowedIdentities()).containsExactly("spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/**");
        assertThat(config.routes().get(1).allowedIdentities()).isEmpty();
    }

    @Test
    void aBadAllowedIdentityIsNamedWithTheReason()
    {
        String key = "adit.route.mesh.allowed-identities";
        String expected = " (expected: a SPIFFE ID such as spiffe://cluster.local/ns/default/sa/client, with * for one segment or a last ** for the rest; ";
        assertProblems(Map.of("adit.routes", "mesh", key, "spiffe://Cluster.local/ns/a, spiffe://td/ns/sa-*, spiffe://td"),
            key + ": spiffe://Cluster.local/ns/a" + expected + "the trust domain may hold only a-z, 0-9, '.', '-' and '_' (lower case only))",
            key + ": spiffe://td/ns/sa-*" + expected + "a wildcard must be a whole segment, * or a last **)",
            key + ": spiffe://td" + expected + "the path is missing; spiffe://td/** would allow every workload of the trust domain)");
        assertProblems(Map.of("adit.routes", "mesh", "adit.route.mesh.action", "deny", key, "spiffe://td/**"),
            key + ": spiffe://td/** (expected: unset, since a deny route serves no client)");
    }

    @Test
    void aRouteServingOnlyAllowedIdentitiesIsNoOpenProxy()
    {
        Map<String, String> p = new HashMap<>(Map.of("adit.https.host", "0.0.0.0", "adit.http.enabled", "false", "adit.routes", "mesh"));
        assertThatThrownBy(() -> ConfigBinder.bind(config(p))).hasMessageContaining("adit.https.host: 0.0.0.0 (expected: a loopback address");

        p.put("adit.route.mesh.allowed-identities", "spiffe://cluster.local/**");
        ConfigBinder.bind(config(p));
    }

    @Test
    void clusterSpiffeIdsTurnHostNameVerificationOffUnlessItIsSet()
    {
        Map<String, String> p = new HashMap<>(Map.of(
            "adit.routes", "out",
            "adit.route.out.cluster", "mesh",
            "adit.cluster.mesh.endpoints", "10.0.0.5:15008",
            "adit.cluster.mesh.tls.enabled", "true",
            "adit.cluster.mesh.tls.spiffe-ids", "spiffe://cluster.local/ns/a/sa/b, spiffe://cluster.local/ns/c/**"));
        TlsClientConfig tls = ConfigBinder.bind(config(p)).clusters().get("mesh").tls();
        assertThat(tls.spiffeIds()).containsExactly("spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/**");
        assertThat(tls.verifyHostname()).isFalse();

        p.put("adit.cluster.mesh.tls.verify-hostname", "true");
        assertThat(ConfigBinder.bind(config(p)).clusters().get("mesh").tls().verifyHostname()).isTrue();

        p.remove("adit.cluster.mesh.tls.verify-hostname");
        p.remove("adit.cluster.mesh.tls.spiffe-ids");
        assertThat(ConfigBinder.bind(config(p)).clusters().get("mesh").tls().verifyHostname()).isTrue();
    }

    @Test
    void clusterSpiffeIdMistakesAreNamed()
    {
        String key = "adit.cluster.mesh.tls.spiffe-ids";
        Map<String, String> p = new HashMap<>(Map.of(
            "adit.routes", "out",
            "adit.route.out.cluster", "mesh",
            "adit.cluster.mesh.endpoints", "10.0.0.5:15008",
            "adit.cluster.mesh.tls.enabled", "true",
            key, "spiffe://td/ns/a?x"));
        assertProblems(p, key + ": spiffe://td/ns/a?x (expected: a SPIFFE ID such as spiffe://cluster.local/ns/default/sa/server,"
            + " with * for one segment or a last ** for the rest; path segments may hold only letters, digits, '.', '-' and '_' (no query or fragment))");

        p.put(key, "spiffe://td/ns/a/sa/b");
        p.put("adit.cluster.mesh.tls.enabled", "false");
        assertProblems(p, "adit.cluster.mesh.tls.enabled: false (expected: true, since other tls keys of cluster mesh are set)");
    }
}
