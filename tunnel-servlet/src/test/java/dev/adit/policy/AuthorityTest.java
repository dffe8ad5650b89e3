package dev.adit.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AuthorityTest {

  @ParameterizedTest(name = "\"{0}\" is rejected: {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
      ""                          | empty
      example.com                 | missing port
      example.com:                | missing port
      :443                        | missing host
      example.com:0               | port 0 out of range 1..65535
      example.com:65536           | port 65536 out of range 1..65535
      example.com:99999999        | port 99999999 out of range 1..65535
      example.com:000443          | port 000443 out of range 1..65535
      example.com:+80             | port '+80' is not a decimal number
      example.com:-1              | port '-1' is not a decimal number
      example.com:8o              | port '8o' is not a decimal number
      [::1:80                     | unbalanced IPv6 brackets
      ::1]:80                     | unbalanced IPv6 brackets
      [[::1]]:80                  | unbalanced IPv6 brackets
      [::1]80                     | expected ':' after ']'
      [::1]                       | missing port
      []:80                       | missing host
      ::1:80                      | IPv6 address must be in brackets
      [::1::2]:80                 | invalid IPv6 address
      [1:2:3:4:5:6:7:8:9]:80      | invalid IPv6 address
      [1:2:3:4:5:6:7]:80          | invalid IPv6 address
      [::12345]:80                | invalid IPv6 address
      [10.0.0.1]:80               | invalid IPv6 address
      [::1.2.3.256]:80            | invalid IPv6 address
      [fe80::1%eth0]:80           | IPv6 zone id not allowed
      [v1.fe]:80                  | IPvFuture literal not supported
      user@host:80                | userinfo not allowed
      user:pw@host:80             | userinfo not allowed
      "exa mple.com:80"           | illegal character ' '
      " example.com:80"           | illegal character ' '
      "example.com:80 "           | illegal character ' '
      example.com:80/path         | path, query or fragment not allowed
      example.com:80?q            | path, query or fragment not allowed
      example.com:80#f            | path, query or fragment not allowed
      /example.com:80             | path, query or fragment not allowed
      exa$mple.com:80             | illegal character '$'
      exa*mple.com:80             | illegal character '*'
      a..b:80                     | empty label
      .example.com:80             | empty label
      example.com..:80            | empty label
      127.1:80                    | ambiguous numeric host, not a dotted quad a.b.c.d
      2130706433:80               | ambiguous numeric host, not a dotted quad a.b.c.d
      010.0.0.1:80                | ambiguous numeric host, not a dotted quad a.b.c.d
      0x7f.0.0.1:80               | ambiguous numeric host, not a dotted quad a.b.c.d
      1.2.3.256:80                | ambiguous numeric host, not a dotted quad a.b.c.d
      1.2.3.4.:80                 | ambiguous numeric host, not a dotted quad a.b.c.d
      """)
  void malformedAuthorityIsRejectedWithAPreciseReason(String raw, String reason) {
    assertThatThrownBy(() -> Authority.parse(raw))
        .isInstanceOf(MalformedAuthorityException.class)
        .hasMessageStartingWith("authority: \"" + raw + "\" (" + reason)
        .satisfies(e -> {
          assertThat(((MalformedAuthorityException) e).reason()).isEqualTo(reason);
          assertThat(((MalformedAuthorityException) e).input()).isEqualTo(raw);
        });
  }

  @ParameterizedTest(name = "control character U+{0} is rejected and escaped in the message")
  @CsvSource({"0000", "0007", "000a", "000d", "0009", "007f", "0085"})
  void controlCharacterIsRejectedAndEscapedInTheMessage(String hex) {
    char c = (char) Integer.parseInt(hex, 16);
    String raw = "exam" + c + "ple.com:80";
    assertThatThrownBy(() -> Authority.parse(raw))
        .isInstanceOf(MalformedAuthorityException.class)
        .hasMessageContaining("illegal character '\\u" + hex + "'")
        .hasMessageContaining("exam\\u" + hex + "ple.com:80")
        .message().doesNotContain(String.valueOf(c));
  }

  @Test
  void nonAsciiNameIsRejectedEvenWhenItLowercasesToAscii() {
    // U+212A KELVIN SIGN lowercases to 'k'
    assertThatThrownBy(() -> Authority.parse("\u212Aeep.example:80"))
        .isInstanceOf(MalformedAuthorityException.class)
        .hasMessageContaining("illegal character '\\u212a'");
    assertThatThrownBy(() -> new Authority("\u212Aeep.example", 80))
        .isInstanceOf(MalformedAuthorityException.class);
  }

  @Test
  void overlongNameAndLabelAreRejected() {
    String label63 = "a".repeat(63);
    String name253 = String.join(".", label63, label63, label63, "a".repeat(61));
    assertThat(Authority.parse(name253 + ":443").host()).hasSize(253);
    assertThat(Authority.parse(name253 + ".:443").host()).hasSize(254);
    assertThatThrownBy(() -> Authority.parse("a" + name253 + ":443"))
        .hasMessageContaining("host longer than 253 characters");
    assertThatThrownBy(() -> Authority.parse("a" + label63 + ".com:443"))
        .hasMessageContaining("label longer than 63 characters");
  }

  @ParameterizedTest(name = "\"{0}\" parses to host {1} port {2} and prints as {3}")
  @CsvSource(delimiter = '|', textBlock = """
      example.com:443               | example.com      | 443   | example.com:443
      EXAMPLE.Com:443               | example.com      | 443   | example.com:443
      a-b_c.Example.ORG:1           | a-b_c.example.org | 1    | a-b_c.example.org:1
      example.com.:65535            | example.com.     | 65535 | example.com.:65535
      localhost:8080                | localhost        | 8080  | localhost:8080
      123.example.com:80            | 123.example.com  | 80    | 123.example.com:80
      93.184.216.34:443             | 93.184.216.34    | 443   | 93.184.216.34:443
      0.0.0.0:80                    | 0.0.0.0          | 80    | 0.0.0.0:80
      [::1]:443                     | ::1              | 443   | [::1]:443
      [2001:DB8:0:0:0:0:0:1]:443    | 2001:db8::1      | 443   | [2001:db8::1]:443
      [2001:db8:0:1:0:0:0:1]:443    | 2001:db8:0:1::1  | 443   | [2001:db8:0:1::1]:443
      [2001:db8::1:0:0:1]:443       | 2001:db8::1:0:0:1 | 443  | [2001:db8::1:0:0:1]:443
      [::]:80                       | ::               | 80    | [::]:80
      [::FFFF:10.0.0.1]:80          | ::ffff:10.0.0.1  | 80    | [::ffff:10.0.0.1]:80
      [::ffff:a00:1]:80             | ::ffff:10.0.0.1  | 80    | [::ffff:10.0.0.1]:80
      [64:ff9b::1.2.3.4]:80         | 64:ff9b::102:304 | 80    | [64:ff9b::102:304]:80
      """)
  void validAuthorityParsesToItsCanonicalForm(String raw, String host, int port, String printed) {
    Authority authority = Authority.parse(raw);
    assertThat(authority.host()).isEqualTo(host);
    assertThat(authority.port()).isEqualTo(port);
    assertThat(authority).hasToString(printed);
    assertThat(Authority.parse(printed)).isEqualTo(authority);
  }

  @Test
  void constructorCanonicalisesLikeParse() {
    assertThat(new Authority("Example.COM", 443)).isEqualTo(Authority.parse("example.com:443"));
    assertThat(new Authority("0:0:0:0:0:0:0:1", 443)).isEqualTo(Authority.parse("[::1]:443"));
  }

  @ParameterizedTest(name = "new Authority(\"{0}\", {1}) is rejected: {2}")
  @CsvSource(delimiter = '|', textBlock = """
      example.com  | 0      | port 0 out of range 1..65535
      example.com  | 65536  | port 65536 out of range 1..65535
      ''           | 80     | missing host
      [::1]        | 80     | invalid IPv6 address
      a b          | 80     | illegal character ' '
      """)
  void constructorRejectsWhatParseRejects(String host, int port, String reason) {
    assertThatThrownBy(() -> new Authority(host, port))
        .isInstanceOf(MalformedAuthorityException.class)
        .hasMessageContaining(reason);
  }

  @Test
  void namesAreNotIpLiteralsAndHaveNoLiteralAddress() {
    Authority name = Authority.parse("example.com:443");
    assertThat(name.isIpLiteral()).isFalse();
    assertThat(name.literalAddress()).isNull();
  }

  @Test
  void ipv4LiteralYieldsItsAddress() throws Exception {
    Authority v4 = Authority.parse("10.1.2.3:22");
    assertThat(v4.isIpLiteral()).isTrue();
    assertThat(v4.literalAddress())
        .isInstanceOf(Inet4Address.class)
        .isEqualTo(InetAddress.getByAddress(new byte[] {10, 1, 2, 3}));
  }

  @Test
  void ipv6LiteralYieldsItsAddress() {
    Authority v6 = Authority.parse("[2001:db8::1]:443");
    assertThat(v6.isIpLiteral()).isTrue();
    assertThat(v6.literalAddress()).isInstanceOf(Inet6Address.class);
    assertThat(v6.literalAddress().getHostAddress()).isEqualTo("2001:db8:0:0:0:0:0:1");
  }

  @Test
  void ipv4MappedLiteralYieldsTheIpv4Address() throws Exception {
    Authority mapped = Authority.parse("[::ffff:127.0.0.1]:80");
    assertThat(mapped.literalAddress())
        .isInstanceOf(Inet4Address.class)
        .isEqualTo(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
  }

  @Test
  void messageOfAHugeInputIsCut() {
    String raw = "a".repeat(10_000);
    assertThatThrownBy(() -> Authority.parse(raw))
        .hasMessageContaining("missing port")
        .message().hasSizeLessThan(500);
  }

  @ParameterizedTest(name = "{0} port {1} is appended as \"{2}\"")
  @CsvSource({
      "10.1.2.3, 443, 10.1.2.3:443",
      "0.0.0.0, 1, 0.0.0.0:1",
      "255.255.255.255, 65535, 255.255.255.255:65535",
      "::1, 8080, [::1]:8080",
      "2001:DB8:0:0:1:0:0:1, 443, [2001:db8::1:0:0:1]:443",
      "fe80::1%1, 80, [fe80::1]:80",
  })
  void appendToWritesWhatTheAuthorityOfTheAddressPrints(String ip, int port, String text)
      throws Exception {
    InetAddress address = InetAddress.getByName(ip);
    assertThat(Authority.appendTo(new StringBuilder(), address, port)).hasToString(text);
    assertThat(Authority.of(address, port)).hasToString(text);
  }

  @Test
  void appendToWritesAMappedInet6AddressAsAuthorityOfDoes() throws Exception {
    byte[] mapped = IpLiterals.parseIpv6("::ffff:10.1.2.3");
    InetAddress six = Inet6Address.getByAddress(null, mapped, -1);
    StringBuilder out = new StringBuilder("at ");
    assertThat(Authority.appendTo(out, six, 80)).isSameAs(out).hasToString("at [::ffff:10.1.2.3]:80");
    assertThat(Authority.of(six, 80)).hasToString("[::ffff:10.1.2.3]:80");
  }
}
