package dev.adit.policy;

import java.util.Locale;

/**
 * Validation and normalisation of a bare host (no brackets, no port): a reg-name, an IPv4
 * dotted quad or an IPv6 address. Shared by {@link Authority} and {@link DestinationRule} so
 * that a rule can name exactly the hosts a CONNECT target can.
 */
final class HostSyntax {
  static final int MAX_NAME_LENGTH = 253;
  static final int MAX_LABEL_LENGTH = 63;

  private HostSyntax() {}

  /**
   * The canonical form of {@code host}: reg-names lowercase, IPv6 in RFC 5952 text.
   *
   * @throws MalformedAuthorityException with {@code host} as input and the precise reason
   */
  static String canonicalHost(String host) {
    if (host.isEmpty()) {
      throw new MalformedAuthorityException(host, "missing host");
    }
    if (host.indexOf(':') >= 0) {
      return canonicalIpv6(host);
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        // checked before lowercasing: U+212A KELVIN SIGN lowercases to an ASCII 'k'
        throw new MalformedAuthorityException(host, illegalCharacter(c));
      }
    }
    String name = host.toLowerCase(Locale.ROOT);
    String problem = regNameProblem(name);
    if (problem != null) {
      throw new MalformedAuthorityException(host, problem);
    }
    return name;
  }

  /** An IPv6 address as written between brackets, in RFC 5952 text. */
  static String canonicalIpv6(String literal) {
    if (literal.isEmpty()) {
      throw new MalformedAuthorityException(literal, "missing host");
    }
    if (literal.indexOf('%') >= 0) {
      // RFC 6874 zone ids name a local interface; a proxy must not let clients pick one.
      throw new MalformedAuthorityException(literal, "IPv6 zone id not allowed");
    }
    if (literal.charAt(0) == 'v' || literal.charAt(0) == 'V') {
      throw new MalformedAuthorityException(literal, "IPvFuture literal not supported");
    }
    byte[] address = IpLiterals.parseIpv6(literal);
    if (address == null) {
      throw new MalformedAuthorityException(literal, "invalid IPv6 address");
    }
    return IpLiterals.formatIpv6(address);
  }

  /**
   * Why a lowercase host without ':' is neither a reg-name nor a dotted quad, or {@code null}.
   *
   * <p>A host whose last label is numeric (or hex, {@code 0x..}) must be a strict dotted quad:
   * forms such as {@code 127.1}, {@code 2130706433} or {@code 010.0.0.1} are read as addresses
   * by some resolvers and as something else by others, and would let a client aim at an
   * address that an address rule never sees. No top-level domain is numeric (RFC 3696 §2).
   */
  static String regNameProblem(String name) {
    String withoutRoot = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (withoutRoot.isEmpty()) {
      return "empty label";
    }
    if (withoutRoot.length() > MAX_NAME_LENGTH) {
      return "host longer than " + MAX_NAME_LENGTH + " characters";
    }
    int labelStart = 0;
    for (int i = 0; i <= withoutRoot.length(); i++) {
      char c = i < withoutRoot.length() ? withoutRoot.charAt(i) : '.';
      if (c == '.') {
        if (i == labelStart) {
          return "empty label";
        }
        if (i - labelStart > MAX_LABEL_LENGTH) {
          return "label longer than " + MAX_LABEL_LENGTH + " characters";
        }
        labelStart = i + 1;
      } else if (!isNameChar(c)) {
        return illegalCharacter(c);
      }
    }
    String lastLabel = withoutRoot.substring(withoutRoot.lastIndexOf('.') + 1);
    boolean absolute = withoutRoot.length() < name.length();
    if (looksNumeric(lastLabel) && (absolute || IpLiterals.parseIpv4(name) == null)) {
      return "ambiguous numeric host, not a dotted quad a.b.c.d";
    }
    return null;
  }

  static String illegalCharacter(char c) {
    return "illegal character '" + MalformedAuthorityException.escape(String.valueOf(c)) + "'";
  }

  private static boolean isNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
        || (c >= 'A' && c <= 'Z');
  }

  private static boolean looksNumeric(String label) {
    if (label.startsWith("0x")) {
      return true;
    }
    for (int i = 0; i < label.length(); i++) {
      char c = label.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }
}
