package dev.adit.policy;

import java.net.InetAddress;
import java.util.Objects;

/**
 * One allow or deny rule of a {@link DestinationPolicy}, written {@code HOST[:PORTS]}.
 *
 * <p>HOST is one of:
 * <ul>
 *   <li>{@code *}: any host, name or address;
 *   <li>a name such as {@code example.com}: that name only, compared case-insensitively and
 *       ignoring a trailing dot;
 *   <li>{@code *.example.com}: every name below {@code example.com} at any depth, but not
 *       {@code example.com} itself;
 *   <li>an IPv4 address or CIDR block ({@code 10.1.2.3}, {@code 10.0.0.0/8}) or an IPv6 one in
 *       brackets ({@code [::1]}, {@code [2001:db8::/32]}): matched against the address a name
 *       resolved to, and against a CONNECT target written as an address.
 * </ul>
 * PORTS is {@code *}, {@code N} or {@code N-M} (inclusive); left out it means any port. A rule
 * matches only when both its host and its ports match.
 *
 * <p>IPv4-mapped IPv6 addresses ({@code ::ffff:a.b.c.d}), in rules and in addresses checked,
 * are treated as the IPv4 address, so a mapped address cannot bypass an IPv4 rule. CIDR
 * blocks must have their host bits clear ({@code 10.0.0.1/8} is a typo, not a block).
 *
 * <p>Immutable and thread-safe; equal when written the same.
 */
public final class DestinationRule {
  static final String SYNTAX = "HOST[:PORTS] where HOST is *, a name, *.suffix, an IPv4 address"
      + " or CIDR, or [IPv6] / [IPv6/len]; PORTS is *, N or N-M";

  private enum HostKind { ANY, NAME, SUBDOMAINS, ADDRESSES }

  private final String text;
  private final HostKind kind;
  /** The name for NAME; ".suffix" for SUBDOMAINS; null otherwise. */
  private final String name;
  private final Cidr block;
  private final PortRange ports;

  private DestinationRule(String text, HostKind kind, String name, Cidr block, PortRange ports) {
    this.text = text;
    this.kind = kind;
    this.name = name;
    this.block = block;
    this.ports = ports;
  }

  /**
   * Parses one rule; surrounding whitespace is ignored.
   *
   * @throws IllegalArgumentException naming the rule, what is wrong with it and the syntax
   */
  public static DestinationRule parse(String text) {
    Objects.requireNonNull(text, "text");
    String rule = text.strip();
    if (rule.isEmpty()) {
      throw invalid(text, "empty");
    }
    String host;
    String portText;
    if (rule.charAt(0) == '[') {
      int close = rule.indexOf(']');
      if (close < 0) {
        throw invalid(rule, "unbalanced IPv6 brackets");
      }
      host = rule.substring(0, close + 1);
      String rest = rule.substring(close + 1);
      if (!rest.isEmpty() && !rest.startsWith(":")) {
        throw invalid(rule, "expected ':' after ']'");
      }
      portText = rest.isEmpty() ? null : rest.substring(1);
    } else {
      int colon = rule.indexOf(':');
      if (colon >= 0 && rule.indexOf(':', colon + 1) >= 0) {
        throw invalid(rule, "IPv6 address must be in brackets");
      }
      host = colon < 0 ? rule : rule.substring(0, colon);
      portText = colon < 0 ? null : rule.substring(colon + 1);
    }
    PortRange ports = portText == null ? PortRange.ANY : parsePorts(rule, portText);
    return parseHost(rule, host, ports);
  }

  private static DestinationRule parseHost(String rule, String host, PortRange ports) {
    if (host.equals("*")) {
      return new DestinationRule(rule, HostKind.ANY, null, null, ports);
    }
    if (host.startsWith("[")) {
      String inside = host.substring(1, host.length() - 1);
      return new DestinationRule(rule, HostKind.ADDRESSES, null, parseIpv6Block(rule, inside), ports);
    }
    if (host.indexOf('/') >= 0 || IpLiterals.parseIpv4(host) != null) {
      return new DestinationRule(rule, HostKind.ADDRESSES, null, parseIpv4Block(rule, host), ports);
    }
    if (host.startsWith("*.")) {
      String suffix = checkedName(rule, host.substring(2));
      return new DestinationRule(rule, HostKind.SUBDOMAINS, "." + suffix, null, ports);
    }
    return new DestinationRule(rule, HostKind.NAME, checkedName(rule, host), null, ports);
  }

  private static String checkedName(String rule, String name) {
    if (name.isEmpty()) {
      throw invalid(rule, "missing host");
    }
    if (name.indexOf('*') >= 0) {
      throw invalid(rule, "'*' is only allowed alone or as a leading '*.'");
    }
    try {
      String canonical = HostSyntax.canonicalHost(name);
      return canonical.endsWith(".") ? canonical.substring(0, canonical.length() - 1) : canonical;
    } catch (MalformedAuthorityException e) {
      throw invalid(rule, e.reason());
    }
  }

  private static Cidr parseIpv4Block(String rule, String host) {
    int slash = host.indexOf('/');
    String address = slash < 0 ? host : host.substring(0, slash);
    byte[] network = IpLiterals.parseIpv4(address);
    if (network == null) {
      throw invalid(rule, "'" + address + "' is not an IPv4 address");
    }
    return block(rule, network, slash < 0 ? 32 : parsePrefix(rule, host.substring(slash + 1), 32));
  }

  private static Cidr parseIpv6Block(String rule, String inside) {
    int slash = inside.indexOf('/');
    String address = slash < 0 ? inside : inside.substring(0, slash);
    if (address.indexOf('%') >= 0) {
      throw invalid(rule, "IPv6 zone id not allowed");
    }
    byte[] network = IpLiterals.parseIpv6(address);
    if (network == null) {
      throw invalid(rule, "'" + address + "' is not an IPv6 address");
    }
    return block(rule, network, slash < 0 ? 128 : parsePrefix(rule, inside.substring(slash + 1), 128))
        .unmapped();
  }

  private static Cidr block(String rule, byte[] network, int prefix) {
    Cidr block = Cidr.of(network, prefix);
    if (block == null) {
      throw invalid(rule, "address has bits set past the /" + prefix + " prefix");
    }
    return block;
  }

  private static int parsePrefix(String rule, String prefix, int max) {
    int value = parseSmallNumber(prefix);
    if (value < 0 || value > max) {
      throw invalid(rule, "prefix length '" + prefix + "' out of range 0.." + max);
    }
    return value;
  }

  private static PortRange parsePorts(String rule, String text) {
    if (text.equals("*")) {
      return PortRange.ANY;
    }
    int dash = text.indexOf('-');
    int first = parsePort(rule, dash < 0 ? text : text.substring(0, dash));
    int last = dash < 0 ? first : parsePort(rule, text.substring(dash + 1));
    if (first > last) {
      throw invalid(rule, "port range " + text + " is reversed");
    }
    return new PortRange(first, last);
  }

  private static int parsePort(String rule, String text) {
    int port = parseSmallNumber(text);
    if (port < 1 || port > Authority.MAX_PORT) {
      throw invalid(rule, "port '" + text + "' out of range 1.." + Authority.MAX_PORT);
    }
    return port;
  }

  /** 1..5 ASCII decimal digits as an int, or -1. */
  private static int parseSmallNumber(String text) {
    if (text.isEmpty() || text.length() > 5) {
      return -1;
    }
    int value = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static IllegalArgumentException invalid(String rule, String problem) {
    return new IllegalArgumentException("destination rule: \""
        + MalformedAuthorityException.escape(rule) + "\" " + problem + " (expected: " + SYNTAX + ")");
  }

  /**
   * Whether this rule matches {@code target}, by name or, for a target written as an address,
   * by that address; and, when {@code address} is not {@code null}, by that resolved address.
   * The port must match in every case.
   *
   * @param address the resolved address, already {@link IpLiterals#normalize normalized}, or
   *     {@code null} before resolution
   */
  boolean matches(Authority target, InetAddress address) {
    if (!ports.contains(target.port())) {
      return false;
    }
    return switch (kind) {
      case ANY -> true;
      case NAME -> !target.isIpLiteral() && target.nameForMatching().equals(name);
      case SUBDOMAINS -> !target.isIpLiteral() && target.nameForMatching().endsWith(name);
      case ADDRESSES -> {
        InetAddress literal = target.literalAddress();
        yield (literal != null && block.contains(literal))
            || (address != null && block.contains(address));
      }
    };
  }

  /**
   * Whether this rule, used as a route's target pattern, matches {@code target} as the client
   * wrote it: by name, or by address for a target written as an address. No DNS.
   */
  public boolean matchesTarget(Authority target) {
    return matches(target, null);
  }

  /** Whether this is {@code *} or {@code *:*}: every host, every port. */
  public boolean matchesAnyHostAndPort() {
    return kind == HostKind.ANY && ports.isAny();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DestinationRule && ((DestinationRule) o).text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  /** The rule as written. */
  @Override
  public String toString() {
    return text;
  }
}
