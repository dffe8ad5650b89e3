package dev.adit.policy;

import dev.adit.config.PolicyConfig;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * Which CONNECT targets a tunnel may reach: deny rules first, then allow rules, nothing
 * allowed unless some allow rule matches.
 *
 * <p>A target is checked twice. {@link #checkName} runs before DNS and can only refuse, so a
 * denied name costs no lookup. {@link #check} runs once per resolved address, immediately
 * before connecting to it, and is the only final decision: because deny rules are applied to
 * the resolved address as well as to the name, a permitted name that resolves (or is rebound)
 * into a denied range is refused.
 *
 * <p>Immutable and thread-safe; neither method blocks or touches DNS.
 */
public final class DestinationPolicy {
  private static final DestinationPolicy ALLOW_ALL =
      new DestinationPolicy(List.of(DestinationRule.parse("*")), List.of());

  private final List<DestinationRule> allow;
  private final List<DestinationRule> deny;

  private DestinationPolicy(List<DestinationRule> allow, List<DestinationRule> deny) {
    this.allow = allow;
    this.deny = deny;
  }

  /**
   * A policy from its rules, each list in the order reasons should report them. An empty
   * {@code allow} list denies everything.
   *
   * @throws NullPointerException if a list or a rule is {@code null}
   */
  /** The policy a validated configuration describes (its rule texts parse; the binder checked them). */
  public static DestinationPolicy of(PolicyConfig config) {
    return of(
      config.allow().stream().map(DestinationRule::parse).toList(),
      config.deny().stream().map(DestinationRule::parse).toList());
  }

  public static DestinationPolicy of(List<DestinationRule> allow, List<DestinationRule> deny) {
    return new DestinationPolicy(List.copyOf(allow), List.copyOf(deny));
  }

  /** Allow {@code *}, deny nothing: every target on every port. */
  public static DestinationPolicy allowAll() {
    return ALLOW_ALL;
  }

  /**
   * The cheap check before DNS: denied if a deny rule matches the target's name, or for a
   * target written as an address, that address.
   *
   * <p>Never allows on its own: a target that passes gets
   * {@code allow("pending address check")} and must still pass {@link #check} for every
   * address it resolves to before a connection is made.
   */
  public Decision checkName(Authority target) {
    Objects.requireNonNull(target, "target");
    for (DestinationRule rule : deny) {
      if (rule.matches(target, null)) {
        return deniedBy(rule);
      }
    }
    return Decision.allow("pending address check");
  }

  /**
   * The final decision for connecting to one resolved address of {@code target}: denied if a
   * deny rule matches the name or the address; otherwise allowed if an allow rule matches the
   * name or the address; otherwise denied with {@code no allow rule matches}. Every rule must
   * also match the port. An IPv4-mapped IPv6 address is judged as its IPv4 address.
   *
   * @param resolved the address about to be connected to; for a target written as an address,
   *     that same address
   * @throws IllegalArgumentException if {@code target} is an address and {@code resolved} is
   *     another one
   */
  public Decision check(Authority target, InetAddress resolved) {
    Objects.requireNonNull(target, "target");
    InetAddress address = IpLiterals.normalize(Objects.requireNonNull(resolved, "resolved"));
    InetAddress literal = target.literalAddress();
    if (literal != null && !literal.equals(address)) {
      throw new IllegalArgumentException("resolved: " + address.getHostAddress()
          + " (expected: " + literal.getHostAddress() + ", the address the target names)");
    }
    for (DestinationRule rule : deny) {
      if (rule.matches(target, address)) {
        return deniedBy(rule);
      }
    }
    for (DestinationRule rule : allow) {
      if (rule.matches(target, address)) {
        return Decision.allow("allowed by rule \"" + rule + "\"");
      }
    }
    return Decision.deny("no allow rule matches");
  }

  /**
   * Whether every target is allowed: some allow rule is {@code *} or {@code *:*} and there are
   * no deny rules. Startup uses this to refuse an open proxy unless it was asked for.
   */
  public boolean allowsEverything() {
    return deny.isEmpty() && allow.stream().anyMatch(DestinationRule::matchesAnyHostAndPort);
  }

  private static Decision deniedBy(DestinationRule rule) {
    return Decision.deny("denied by rule \"" + rule + "\"");
  }

  @Override
  public String toString() {
    return "DestinationPolicy{allow=" + allow + ", deny=" + deny + "}";
  }
}
