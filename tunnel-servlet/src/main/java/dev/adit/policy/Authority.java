package dev.adit.policy;

import java.net.InetAddress;
import java.util.Objects;

/**
 * The target of a CONNECT request: the authority-form {@code host:port} of RFC 9110 §9.3.6.
 *
 * <p>Instances are always valid and canonical: reg-names are lowercase (a single trailing dot
 * is kept, it changes the DNS query), IPv6 addresses are stored without brackets in RFC 5952
 * text, and the port is in 1..65535. Nothing here touches DNS.
 *
 * @param host a reg-name, an IPv4 dotted quad, or an IPv6 address without brackets
 * @param port 1..65535; RFC 9110 §9.3.6 makes the port mandatory
 */
public record Authority(String host, int port) {
  static final int MAX_PORT = 65535;

  /**
   * Validates and canonicalises; {@code new Authority("Example.COM", 443)} equals
   * {@code Authority.parse("example.com:443")}.
   *
   * @throws MalformedAuthorityException if the host or port is invalid
   */
  public Authority {
    Objects.requireNonNull(host, "host");
    host = HostSyntax.canonicalHost(host);
    if (port < 1 || port > MAX_PORT) {
      throw new MalformedAuthorityException(host + ":" + port, portOutOfRange(String.valueOf(port)));
    }
  }

  /**
   * Parses the request target of a CONNECT request.
   *
   * <p>Rejected, each with its own {@link MalformedAuthorityException#reason()}: empty input,
   * whitespace, control or non-ASCII characters, userinfo ({@code @}), a path, query or
   * fragment, a missing host or port, a port that is not 1..5 decimal digits in 1..65535,
   * unbalanced brackets, an IPv6 address without brackets, IPv6 zone ids, and numeric hosts
   * that are not a strict dotted quad (such as {@code 127.1}).
   *
   * @throws MalformedAuthorityException if {@code raw} is not an authority-form target
   */
  public static Authority parse(String raw) {
    Objects.requireNonNull(raw, "raw");
    try {
      return parseOrThrow(raw);
    } catch (MalformedAuthorityException e) {
      if (e.input().equals(raw)) {
        throw e;
      }
      throw new MalformedAuthorityException(raw, e.reason());
    }
  }

  private static Authority parseOrThrow(String raw) {
    if (raw.isEmpty()) {
      throw new MalformedAuthorityException(raw, "empty");
    }
    for (int i = 0; i < raw.length(); i++) {
      String problem = characterProblem(raw.charAt(i));
      if (problem != null) {
        throw new MalformedAuthorityException(raw, problem);
      }
    }
    String host;
    String port;
    if (raw.charAt(0) == '[') {
      int close = raw.indexOf(']');
      if (close < 0 || raw.indexOf('[', 1) >= 0 || raw.indexOf(']', close + 1) >= 0) {
        throw new MalformedAuthorityException(raw, "unbalanced IPv6 brackets");
      }
      host = HostSyntax.canonicalIpv6(raw.substring(1, close));
      if (close == raw.length() - 1) {
        throw new MalformedAuthorityException(raw, "missing port");
      }
      if (raw.charAt(close + 1) != ':') {
        throw new MalformedAuthorityException(raw, "expected ':' after ']'");
      }
      port = raw.substring(close + 2);
    } else {
      if (raw.indexOf('[') >= 0 || raw.indexOf(']') >= 0) {
        throw new MalformedAuthorityException(raw, "unbalanced IPv6 brackets");
      }
      int colon = raw.indexOf(':');
      if (colon < 0) {
        throw new MalformedAuthorityException(raw, "missing port");
      }
      if (raw.indexOf(':', colon + 1) >= 0) {
        throw new MalformedAuthorityException(raw, "IPv6 address must be in brackets");
      }
      host = raw.substring(0, colon);
      port = raw.substring(colon + 1);
    }
    return new Authority(host, parsePort(raw, port));
  }

  private static String characterProblem(char c) {
    if (c == '@') {
      return "userinfo not allowed";
    }
    if (c == '/' || c == '?' || c == '#') {
      return "path, query or fragment not allowed";
    }
    if (c <= 0x20 || c >= 0x7f) {
      return HostSyntax.illegalCharacter(c);
    }
    return null;
  }

  private static int parsePort(String raw, String port) {
    if (port.isEmpty()) {
      throw new MalformedAuthorityException(raw, "missing port");
    }
    for (int i = 0; i < port.length(); i++) {
      char c = port.charAt(i);
      if (c < '0' || c > '9') {
        throw new MalformedAuthorityException(raw, "port '" + port + "' is not a decimal number");
      }
    }
    if (port.length() > 5 || Integer.parseInt(port) < 1 || Integer.parseInt(port) > MAX_PORT) {
      throw new MalformedAuthorityException(raw, portOutOfRange(port));
    }
    return Integer.parseInt(port);
  }

  private static String portOutOfRange(String port) {
    return "port " + port + " out of range 1.." + MAX_PORT;
  }

  /**
   * The authority of an IP address and port, in the text a parsed target of the same address
   * has (RFC 5952 for IPv6, no scope id): how logs print socket addresses. Never resolves.
   *
   * @throws MalformedAuthorityException if the port is not in 1..65535
   */
  public static Authority of(InetAddress address, int port) {
    byte[] raw = address.getAddress();
    return new Authority(raw.length == 4 ? IpLiterals.formatIpv4(raw) : IpLiterals.formatIpv6(raw), port);
  }

  /**
   * Appends what {@code of(address, port).toString()} returns, without building the authority
   * (nor checking the port): {@code 10.0.0.1:443}, {@code [2001:db8::1]:443}. For hot paths
   * that print socket addresses, such as the access log. Never resolves.
   *
   * @return {@code out}
   */
  public static StringBuilder appendTo(StringBuilder out, InetAddress address, int port) {
    byte[] raw = address.getAddress();
    if (raw.length == 4) {
      IpLiterals.appendIpv4(out, raw, 0);
    } else {
      IpLiterals.appendIpv6(out.append('['), raw).append(']');
    }
    return out.append(':').append(port);
  }

  /**
   * The authority of a socket address, by its IP address (never a name: no reverse lookup),
   * e.g. {@code 127.0.0.1:8080} or {@code [::1]:8080}.
   */
  public static Authority of(java.net.InetSocketAddress address) {
    InetAddress ip = address.getAddress();
    return ip == null ? new Authority(address.getHostString(), address.getPort()) : of(ip, address.getPort());
  }

  /** Whether the host is an IPv4 or IPv6 address rather than a name. */
  public boolean isIpLiteral() {
    return host.indexOf(':') >= 0 || IpLiterals.parseIpv4(host) != null;
  }

  /**
   * The address the host spells, without any DNS lookup; {@code null} for a name. An
   * IPv4-mapped IPv6 literal ({@code ::ffff:a.b.c.d}) yields its {@link java.net.Inet4Address}.
   */
  public InetAddress literalAddress() {
    byte[] raw = host.indexOf(':') >= 0 ? IpLiterals.parseIpv6(host) : IpLiterals.parseIpv4(host);
    return raw == null ? null : IpLiterals.toAddress(raw);
  }

  /** The host as rules compare names: without the trailing dot of an absolute name. */
  String nameForMatching() {
    return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
  }

  /** {@code host:port}, with brackets around an IPv6 address: the CONNECT request target. */
  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
