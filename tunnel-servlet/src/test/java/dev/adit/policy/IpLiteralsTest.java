package dev.adit.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpLiteralsTest {

  @ParameterizedTest(name = "\"{0}\" is printed as \"{1}\" (RFC 5952)")
  @CsvSource({
      "1:0:0:1:0:0:0:1, 1:0:0:1::1",
      "1:0:0:0:1:0:0:1, 1::1:0:0:1",
      "1:0:1:0:1:0:1:0, 1:0:1:0:1:0:1:0",
      "0:0:0:0:0:0:0:0, ::",
      "::0:1, ::1",
      "1::, 1::",
      "ABCD:0db8::, abcd:db8::",
      "::ffff:0:0, ::ffff:0.0.0.0",
  })
  void ipv6IsPrintedInCanonicalText(String text, String canonical) {
    assertThat(IpLiterals.formatIpv6(IpLiterals.parseIpv6(text))).isEqualTo(canonical);
  }

  @ParameterizedTest(name = "\"{0}\" is not IPv6 text")
  @ValueSource(strings = {"", ":", ":::", "1:::2", ":1::", "::1:", "1::2::3", "g::1", "::1.2.3",
      "1.2.3.4::", "::١"})
  void invalidIpv6TextIsRejected(String text) {
    assertThat(IpLiterals.parseIpv6(text)).isNull();
  }

  @ParameterizedTest(name = "\"{0}\" is not a dotted quad")
  @ValueSource(strings = {"", "1.2.3", "1.2.3.4.5", "1..2.3", "01.2.3.4", "1.2.3.256", "1.2.3.-4",
      "١.2.3.4", "1.2.3.4 "})
  void invalidDottedQuadIsRejected(String text) {
    assertThat(IpLiterals.parseIpv4(text)).isNull();
  }

  @Test
  void mappedInet6AddressIsNormalisedToIpv4() throws Exception {
    byte[] mapped = IpLiterals.parseIpv6("::ffff:10.1.2.3");
    InetAddress six = Inet6Address.getByAddress(null, mapped, -1);
    assertThat(six).isInstanceOf(Inet6Address.class);
    assertThat(IpLiterals.normalize(six))
        .isInstanceOf(Inet4Address.class)
        .isEqualTo(InetAddress.getByAddress(new byte[] {10, 1, 2, 3}));
  }

  @Test
  void plainAddressesAreLeftAsTheyAre() throws Exception {
    InetAddress v4 = InetAddress.getByAddress(new byte[] {10, 1, 2, 3});
    InetAddress v6 = InetAddress.getByAddress(IpLiterals.parseIpv6("2001:db8::1"));
    assertThat(IpLiterals.normalize(v4)).isEqualTo(v4);
    assertThat(IpLiterals.normalize(v6)).isEqualTo(v6);
  }
}
