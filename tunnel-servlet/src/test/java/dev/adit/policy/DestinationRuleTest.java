package dev.adit.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DestinationRuleTest {

  @ParameterizedTest(name = "\"{0}\" is a valid rule")
  @ValueSource(strings = {"*", "*:*", "*:443", "example.com", "Example.COM:443", "example.com.",
      "*.example.com:8000-9000", "10.0.0.0/8", "10.1.2.3:22", "0.0.0.0/0", "[::1]", "[::/0]",
      "[2001:db8::/32]:443", "[fe80::/10]:*", "[::ffff:10.0.0.0/104]", "localhost:1-65535"})
  void validRuleParsesAndPrintsAsWritten(String text) {
    assertThat(DestinationRule.parse(text)).hasToString(text);
  }

  @Test
  void surroundingWhitespaceIsIgnored() {
    assertThat(DestinationRule.parse("  example.com:443\t")).hasToString("example.com:443");
  }

  @ParameterizedTest(name = "\"{0}\" is rejected: {1}")
  @CsvSource(delimiter = '|', textBlock = """
      10.0.0.0/33             | prefix length '33' out of range 0..32
      10.0.0.0/-1             | prefix length '-1' out of range 0..32
      10.0.0.0/               | prefix length '' out of range 0..32
      [2001:db8::/129]        | prefix length '129' out of range 0..128
      10.0.0.1/8              | address has bits set past the /8 prefix
      [2001:db8::1/32]        | address has bits set past the /32 prefix
      10.0.0/8                | '10.0.0' is not an IPv4 address
      [2001:db8::/32          | unbalanced IPv6 brackets
      [2001:db8::/32]443      | expected ':' after ']'
      [fe80::1%eth0]          | IPv6 zone id not allowed
      [example.com]           | 'example.com' is not an IPv6 address
      2001:db8::1             | IPv6 address must be in brackets
      example.com:9-1         | port range 9-1 is reversed
      example.com:70000       | port '70000' out of range 1..65535
      example.com:0           | port '0' out of range 1..65535
      example.com:80-         | port '' out of range 1..65535
      example.com:+80         | port '+80' out of range 1..65535
      example.com:            | port '' out of range 1..65535
      *.                      | missing host
      *.*.example.com         | '*' is only allowed alone or as a leading '*.'
      foo*.example.com        | '*' is only allowed alone or as a leading '*.'
      **                      | '*' is only allowed alone or as a leading '*.'
      a..example.com          | empty label
      exa mple.com            | illegal character ' '
      127.1                   | ambiguous numeric host, not a dotted quad a.b.c.d
      user@example.com        | illegal character '@'
      """)
  void invalidRuleIsRejectedWithReasonAndSyntax(String text, String reason) {
    assertThatThrownBy(() -> DestinationRule.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("destination rule: \"" + text + "\" " + reason + " (expected: HOST[:PORTS] where"
            + " HOST is *, a name, *.suffix, an IPv4 address or CIDR, or [IPv6] / [IPv6/len];"
            + " PORTS is *, N or N-M)");
  }

  @Test
  void emptyRuleIsRejected() {
    assertThatThrownBy(() -> DestinationRule.parse("  ")).hasMessageContaining("empty");
  }

  @ParameterizedTest(name = "rule \"{0}\" {2} name target {1}")
  @CsvSource(delimiter = '|', textBlock = """
      example.com      | example.com:443      | matches
      example.com      | EXAMPLE.COM:443      | matches
      example.com      | example.com.:443     | matches
      example.com.     | example.com:443      | matches
      example.com      | a.example.com:443    | does not match
      example.com      | example.com.evil:443 | does not match
      *.example.com    | a.example.com:443    | matches
      *.example.com    | a.b.c.example.com:443 | matches
      *.Example.com    | A.EXAMPLE.COM.:443   | matches
      *.example.com    | example.com:443      | does not match
      *.example.com    | badexample.com:443   | does not match
      *.example.com    | example.com.evil:443 | does not match
      *                | anything.at.all:1    | matches
      *                | 10.0.0.1:1           | matches
      *                | [::1]:1              | matches
      example.com      | 93.184.216.34:443    | does not match
      10.0.0.0/8       | example.com:443      | does not match
      """)
  void nameRulesMatchNamesCaseInsensitively(String rule, String target, String outcome) {
    assertThat(DestinationRule.parse(rule).matches(Authority.parse(target), null))
        .isEqualTo(outcome.equals("matches"));
  }

  @ParameterizedTest(name = "rule \"{0}\" {2} address {1}")
  @CsvSource(delimiter = '|', textBlock = """
      10.0.0.0/8          | 10.0.0.0           | matches
      10.0.0.0/8          | 10.255.255.255     | matches
      10.0.0.0/8          | 11.0.0.0           | does not match
      10.0.0.0/8          | 9.255.255.255      | does not match
      172.16.0.0/12       | 172.31.255.255     | matches
      172.16.0.0/12       | 172.32.0.0         | does not match
      10.1.2.3            | 10.1.2.3           | matches
      10.1.2.3            | 10.1.2.4           | does not match
      0.0.0.0/0           | 203.0.113.9        | matches
      0.0.0.0/0           | ::1                | does not match
      10.0.0.0/8          | ::a00:1            | does not match
      [::1]               | ::1                | matches
      [::1]               | ::2                | does not match
      [2001:db8::/32]     | 2001:db8:ffff::1   | matches
      [2001:db8::/32]     | 2001:db9::1        | does not match
      [fe80::/10]         | febf::1            | matches
      [fe80::/10]         | fec0::1            | does not match
      [::/0]              | 2001:db8::1        | matches
      [::/0]              | 10.0.0.1           | does not match
      [::ffff:10.0.0.0/104] | 10.9.9.9         | matches
      [::ffff:10.0.0.1]   | 10.0.0.1           | matches
      """)
  void addressRulesMatchAddressesByPrefix(String rule, String address, String outcome)
      throws Exception {
    InetAddress resolved = IpLiterals.normalize(InetAddress.getByName(address)); // a literal: no DNS
    DestinationRule parsed = DestinationRule.parse(rule);
    boolean expected = outcome.equals("matches");
    assertThat(parsed.matches(Authority.parse("name.example:443"), resolved)).isEqualTo(expected);
    String literalTarget = address.indexOf(':') >= 0 ? "[" + address + "]:443" : address + ":443";
    assertThat(parsed.matches(Authority.parse(literalTarget), null))
        .as("the same address written as the CONNECT target")
        .isEqualTo(expected);
  }

  @ParameterizedTest(name = "rule \"{0}\" {2} port {1}")
  @CsvSource(delimiter = '|', textBlock = """
      *                        | 1      | matches
      *                        | 65535  | matches
      *:443                    | 443    | matches
      *:443                    | 444    | does not match
      *.example.com:8000-9000  | 7999   | does not match
      *.example.com:8000-9000  | 8000   | matches
      *.example.com:8000-9000  | 9000   | matches
      *.example.com:8000-9000  | 9001   | does not match
      10.0.0.0/8:22            | 22     | matches
      10.0.0.0/8:22            | 23     | does not match
      [::1]:*                  | 12345  | matches
      """)
  void portsMustMatchInEveryRule(String rule, int port, String outcome) throws Exception {
    Authority target = new Authority("a.example.com", port);
    InetAddress address = InetAddress.getByAddress(new byte[] {10, 0, 0, 1});
    if (rule.startsWith("[")) {
      address = InetAddress.getByAddress(IpLiterals.parseIpv6("::1"));
    }
    assertThat(DestinationRule.parse(rule).matches(target, address))
        .isEqualTo(outcome.equals("matches"));
  }

  @ParameterizedTest(name = "\"{0}\" matches any host and port: {1}")
  @CsvSource({"*, true", "*:*, true", "*:1-65535, true", "*:443, false", "*:1-65534, false",
      "0.0.0.0/0, false", "*.com, false"})
  void onlyStarOnAnyPortMatchesAnyHostAndPort(String rule, boolean expected) {
    assertThat(DestinationRule.parse(rule).matchesAnyHostAndPort()).isEqualTo(expected);
  }

  @Test
  void rulesWrittenAlikeAreEqual() {
    assertThat(DestinationRule.parse("10.0.0.0/8")).isEqualTo(DestinationRule.parse(" 10.0.0.0/8 "))
        .hasSameHashCodeAs(DestinationRule.parse("10.0.0.0/8"))
        .isNotEqualTo(DestinationRule.parse("10.0.0.0/8:*"));
  }
}
