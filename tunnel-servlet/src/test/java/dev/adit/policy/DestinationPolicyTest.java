package dev.adit.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DestinationPolicyTest {

  private static List<DestinationRule> rules(String commaSeparated) {
    if (commaSeparated == null || commaSeparated.isBlank()) {
      return List.of();
    }
    return Arrays.stream(commaSeparated.split(","))
        .map(DestinationRule::parse)
        .collect(Collectors.toList());
  }

  private static DestinationPolicy policy(String allow, String deny) {
    return DestinationPolicy.of(rules(allow), rules(deny));
  }

  /** A literal, so InetAddress.getByName does not touch DNS. */
  private static InetAddress address(String literal) throws Exception {
    return InetAddress.getByName(literal);
  }

  @ParameterizedTest(name = "{0} resolved to {1} is {2}")
  @CsvSource(delimiter = '|', textBlock = """
      a.example.com:443 | 10.1.2.3        | denied by rule "10.0.0.0/8"
      a.example.com:443 | 93.184.216.34   | allowed by rule "*.example.com"
      a.example.com:443 | ::ffff:10.1.2.3 | denied by rule "10.0.0.0/8"
      other.org:443     | 93.184.216.34   | no allow rule matches
      example.com:443   | 93.184.216.34   | no allow rule matches
      """)
  void permittedNameRebindingIntoDeniedRangeIsRefused(String target, String resolved,
      String reason) throws Exception {
    DestinationPolicy policy = policy("*.example.com", "10.0.0.0/8");
    Authority authority = Authority.parse(target);

    assertThat(policy.checkName(authority))
        .as("the name alone never decides")
        .isEqualTo(Decision.allow("pending address check"));
    Decision decision = policy.check(authority, address(resolved));
    assertThat(decision.reason()).isEqualTo(reason);
    assertThat(decision.allowed()).isEqualTo(reason.startsWith("allowed"));
  }

  @ParameterizedTest(name = "IPv4-mapped target {0} cannot bypass an IPv4 deny")
  @CsvSource({"[::ffff:10.1.2.3]:443", "[::FFFF:a01:203]:443", "[0:0:0:0:0:ffff:10.1.2.3]:443"})
  void ipv4MappedTargetCannotBypassAnIpv4Deny(String target) throws Exception {
    DestinationPolicy policy = policy("*", "10.0.0.0/8");
    Authority authority = Authority.parse(target);

    assertThat(policy.checkName(authority)).isEqualTo(Decision.deny("denied by rule \"10.0.0.0/8\""));
    assertThat(policy.check(authority, address("10.1.2.3")).allowed()).isFalse();
  }

  @Test
  void ipv4MappedResolvedAddressCannotBypassAnIpv4Deny() throws Exception {
    DestinationPolicy policy = policy("*", "127.0.0.0/8");
    InetAddress mapped = Inet6Address.getByAddress(null, IpLiterals.parseIpv6("::ffff:127.0.0.1"), -1);

    Decision decision = policy.check(Authority.parse("evil.example:80"), mapped);

    assertThat(decision).isEqualTo(Decision.deny("denied by rule \"127.0.0.0/8\""));
  }

  @Test
  void deniedNameIsRefusedBeforeDns() {
    DestinationPolicy policy = policy("*", "*.internal,metadata.google.internal:80");

    assertThat(policy.checkName(Authority.parse("db.internal:5432")))
        .isEqualTo(Decision.deny("denied by rule \"*.internal\""));
    assertThat(policy.checkName(Authority.parse("example.com:443")).allowed()).isTrue();
  }

  @Test
  void ipLiteralTargetIsCheckedAgainstAddressRulesBeforeDns() {
    DestinationPolicy policy = policy("*", "10.0.0.0/8,[fe80::/10]");

    assertThat(policy.checkName(Authority.parse("10.9.8.7:22")))
        .isEqualTo(Decision.deny("denied by rule \"10.0.0.0/8\""));
    assertThat(policy.checkName(Authority.parse("[fe80::1]:22")))
        .isEqualTo(Decision.deny("denied by rule \"[fe80::/10]\""));
    assertThat(policy.checkName(Authority.parse("11.0.0.1:22")).allowed()).isTrue();
  }

  @Test
  void ipLiteralAllowRuleAllowsThatLiteralTarget() throws Exception {
    DestinationPolicy policy = policy("10.1.2.3:22,[2001:db8::/32]:443", "");

    assertThat(policy.check(Authority.parse("10.1.2.3:22"), address("10.1.2.3")))
        .isEqualTo(Decision.allow("allowed by rule \"10.1.2.3:22\""));
    assertThat(policy.check(Authority.parse("[2001:db8::7]:443"), address("2001:db8::7")))
        .isEqualTo(Decision.allow("allowed by rule \"[2001:db8::/32]:443\""));
    assertThat(policy.check(Authority.parse("10.1.2.3:23"), address("10.1.2.3")))
        .isEqualTo(Decision.deny("no allow rule matches"));
  }

  @Test
  void addressAllowRuleAllowsANameResolvingIntoIt() throws Exception {
    DestinationPolicy policy = policy("192.0.2.0/24:443", "");

    assertThat(policy.check(Authority.parse("svc.example:443"), address("192.0.2.10")).allowed())
        .isTrue();
    assertThat(policy.check(Authority.parse("svc.example:443"), address("192.0.3.10")).allowed())
        .isFalse();
  }

  @Test
  void denyRuleAppliesOnlyToItsPorts() throws Exception {
    DestinationPolicy policy = policy("*", "*:25,*:6000-6063");

    assertThat(policy.check(Authority.parse("mail.example:25"), address("192.0.2.1")).reason())
        .isEqualTo("denied by rule \"*:25\"");
    assertThat(policy.check(Authority.parse("x.example:6010"), address("192.0.2.1")).reason())
        .isEqualTo("denied by rule \"*:6000-6063\"");
    assertThat(policy.check(Authority.parse("mail.example:587"), address("192.0.2.1")).allowed())
        .isTrue();
  }

  @Test
  void firstMatchingDenyRuleIsNamed() throws Exception {
    DestinationPolicy policy = policy("*", "a.example,10.0.0.0/8");

    assertThat(policy.check(Authority.parse("a.example:1"), address("10.0.0.1")).reason())
        .isEqualTo("denied by rule \"a.example\"");
  }

  @Test
  void emptyAllowListDeniesEverything() throws Exception {
    DestinationPolicy policy = policy("", "");

    assertThat(policy.check(Authority.parse("example.com:443"), address("93.184.216.34")))
        .isEqualTo(Decision.deny("no allow rule matches"));
  }

  @Test
  void resolvedAddressOtherThanTheLiteralTargetIsAContractViolation() {
    DestinationPolicy policy = DestinationPolicy.allowAll();

    assertThatThrownBy(() -> policy.check(Authority.parse("192.0.2.1:80"), address("10.0.0.1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("resolved: 10.0.0.1 (expected: 192.0.2.1, the address the target names)");
  }

  @Test
  void allowAllAllowsEverything() throws Exception {
    DestinationPolicy policy = DestinationPolicy.allowAll();

    assertThat(policy.allowsEverything()).isTrue();
    assertThat(policy.check(Authority.parse("[::1]:1"), address("::1")).allowed()).isTrue();
    assertThat(policy).hasToString("DestinationPolicy{allow=[*], deny=[]}");
  }

  @ParameterizedTest(name = "allow [{0}] deny [{1}] allows everything: {2}")
  @CsvSource(delimiter = '|', textBlock = """
      *                  |             | true
      *:*                |             | true
      example.com,*      |             | true
      *                  | 10.0.0.0/8  | false
      *:443              |             | false
      0.0.0.0/0,[::/0]   |             | false
      *.com              |             | false
                         |             | false
      """)
  void allowsEverythingOnlyWithAStarAllowAndNoDeny(String allow, String deny, boolean expected) {
    assertThat(policy(allow, deny).allowsEverything()).isEqualTo(expected);
  }

  @Test
  void rulesListsAreCopied() {
    List<DestinationRule> allow = new java.util.ArrayList<>(rules("*"));
    DestinationPolicy policy = DestinationPolicy.of(allow, List.of());
    allow.clear();

    assertThat(policy.allowsEverything()).isTrue();
    assertThat(policy).hasToString("DestinationPolicy{allow=[*], deny=[]}");
  }

  @Test
  void decisionNeedsAReason() {
    assertThatThrownBy(() -> Decision.allow(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Decision.deny(null)).isInstanceOf(NullPointerException.class);
  }
}
