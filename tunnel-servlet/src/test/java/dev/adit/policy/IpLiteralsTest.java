package dev.adit.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.SplittableRandom;
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

  @Test
  void randomIpv6AddressesPrintAsTheJdksFullTextWithTheFirstLongestZeroRunShortened()
      throws Exception {
    SplittableRandom random = new SplittableRandom(5952);
    for (int n = 0; n < 20_000; n++) {
      byte[] a = new byte[16];
      for (int g = 0; g < 8; g++) {
        if (random.nextInt(3) != 0) {
          int value = random.nextInt(2) == 0 ? random.nextInt(0x20) : random.nextInt(0x10000);
          a[2 * g] = (byte) (value >>> 8);
          a[2 * g + 1] = (byte) value;
        }
      }
      if (IpLiterals.isIpv4Mapped(a)) {
        continue;
      }
      assertThat(IpLiterals.formatIpv6(a)).as("%s", java.util.Arrays.toString(a)).isEqualTo(rfc5952(a));
      StringBuilder out = new StringBuilder("x");
      assertThat(IpLiterals.appendIpv6(out, a)).hasToString("x" + rfc5952(a));
    }
  }

  /** RFC 5952 from the JDK's uncompressed text (lowercase hex, no leading zeros). */
  private static String rfc5952(byte[] a) throws Exception {
    String[] groups = Inet6Address.getByAddress(null, a, -1).getHostAddress().split(":");
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; i++) {
      int j = i;
      while (j < 8 && groups[j].equals("0")) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
    }
    if (bestStart < 0) {
      return String.join(":", groups);
    }
    return String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart)) + "::"
        + String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLength, 8));
  }
}
