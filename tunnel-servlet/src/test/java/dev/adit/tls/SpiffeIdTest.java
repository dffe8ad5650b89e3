package dev.adit.tls;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

import dev.adit.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link SpiffeId}: the SPIFFE-ID syntax, and the identity of X.509 SVIDs made by gen-certs.sh. */
@Timeout(value = 60, unit = SECONDS)
class SpiffeIdTest
{
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"spiffe://cluster.local/ns/default/sa/client", "spiffe://adit.test", "spiffe://a_b-c.9/Upper.Case_ok-1",
        "spiffe://td/..a/a..", "spiffe://td/x"})
    void validIdsParseAndPrintAsWritten(String text)
    {
        assertThat(SpiffeId.parse(text)).hasToString(text).isEqualTo(SpiffeId.parse(text));
    }

    @Test
    void theTrustDomainAndSegmentsAreSplitOut()
    {
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/cart");

        assertThat(id.trustDomain()).isEqualTo("cluster.local");
        assertThat(id.segments()).containsExactly("ns", "shop", "sa", "cart");
        assertThat(SpiffeId.parse("spiffe://cluster.local").segments()).isEmpty();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        https://cluster.local/ns/a                 | it must start with spiffe://
        SPIFFE://cluster.local/ns/a                | the scheme must be spiffe:// in lower case
        spiffe:/cluster.local/ns/a                 | it must start with spiffe://
        spiffe:///ns/a                             | the trust domain is missing
        spiffe://                                  | the trust domain is missing
        spiffe://Cluster.local/ns/a                | the trust domain may hold only a-z, 0-9, '.', '-' and '_' (lower case only)
        spiffe://cluster.local:8443/ns/a           | the trust domain may hold only a-z, 0-9, '.', '-' and '_' (no port)
        spiffe://user@cluster.local/ns/a           | the trust domain may hold only a-z, 0-9, '.', '-' and '_' (no user info)
        spiffe://cluster.local?x=1                 | the trust domain may hold only a-z, 0-9, '.', '-' and '_' (no query or fragment)
        spiffe://cluster.local/ns/a?x=1            | path segments may hold only letters, digits, '.', '-' and '_' (no query or fragment)
        spiffe://cluster.local/ns/a#frag           | path segments may hold only letters, digits, '.', '-' and '_' (no query or fragment)
        spiffe://cluster.local/ns/a%20b            | path segments may hold only letters, digits, '.', '-' and '_' (no percent-encoding)
        spiffe://cluster.local/ns/*                | path segments may hold only letters, digits, '.', '-' and '_'
        spiffe://cluster.local/                    | the path has an empty segment (no // and no trailing /)
        spiffe://cluster.local/ns//a               | the path has an empty segment (no // and no trailing /)
        spiffe://cluster.local/ns/a/               | the path has an empty segment (no // and no trailing /)
        spiffe://cluster.local/ns/./a              | the path has a '.' segment
        spiffe://cluster.local/ns/../a             | the path has a '..' segment
        """)
    void invalidIdsAreRejectedWithTheReason(String text, String reason)
    {
        assertThatThrownBy(() -> SpiffeId.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(reason);
    }

    @Test
    void lengthsAreBounded()
    {
        String domain = "d".repeat(256);
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://" + domain + "/a")).hasMessage("the trust domain is longer than 255 characters");
        assertThat(SpiffeId.parse("spiffe://" + domain.substring(1) + "/a").trustDomain()).hasSize(255);
        String longest = "spiffe://tdx" + "/a".repeat(1018);
        assertThat(longest).hasSize(2048);
        assertThat(SpiffeId.parse(longest)).hasToString(longest);
        assertThatThrownBy(() -> SpiffeId.parse(longest + "/a")).hasMessage("longer than 2048 characters");
    }

    @Test
    void anSvidsIdentityIsItsUriSan()
    {
        Path pki = TestCertificates.spiffeDir();

        assertThat(SpiffeId.fromCertificate(leaf(pki.resolve("client.pem")))).hasValue(SpiffeId.parse(TestCertificates.SPIFFE_CLIENT));
        // DNS and IP SANs next to the one URI SAN do not matter.
        assertThat(SpiffeId.fromCertificate(leaf(pki.resolve("server.pem")))).hasValue(SpiffeId.parse(TestCertificates.SPIFFE_SERVER));
    }

    @Test
    void certificatesWithoutExactlyOneSpiffeUriSanHaveNoIdentity()
    {
        Path pki = TestCertificates.generate(Map.of(
            "ADIT_CLIENT_SANS", "URI:spiffe://adit.test/ns/a/sa/b,URI:https://example.test/other",
            "ADIT_SERVER_SANS", "URI:https://example.test/not-spiffe"));

        assertThat(SpiffeId.fromCertificate(leaf(pki.resolve("client.pem")))).as("two URI SANs").isEmpty();
        assertThat(SpiffeId.fromCertificate(leaf(pki.resolve("server.pem")))).as("a URI SAN that is not spiffe").isEmpty();
        assertThat(SpiffeId.fromCertificate(leaf(TestCertificates.clientChain()))).as("no SAN at all").isEmpty();
        assertThat(SpiffeId.fromCertificate(leaf(TestCertificates.caPem()))).as("a CA").isEmpty();
        assertThat(SpiffeId.fromCertificate(null)).isEmpty();
    }

    private static X509Certificate leaf(Path pem)
    {
        List<X509Certificate> chain = PemCredentials.certificates(pem);
        return chain.get(0);
    }
}
