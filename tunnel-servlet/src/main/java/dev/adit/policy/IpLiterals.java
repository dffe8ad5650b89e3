package dev.adit.policy;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Textual IP addresses parsed and printed by hand, so that nothing here ever reaches DNS.
 *
 * <p>Parsing is strict on purpose: only the dotted quad for IPv4 (no octal, hex, or
 * shortened forms such as {@code 127.1}, which some resolvers read differently), and RFC 4291
 * §2.2 text for IPv6 without zone ids.
 */
final class IpLiterals {
  private IpLiterals() {}

  /** Four decimal octets 0..255 without leading zeros, or {@code null}. */
  static byte[] parseIpv4(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int value = 0;
    int digits = 0;
    for (int i = 0; i <= s.length(); i++) {
      char c = i < s.length() ? s.charAt(i) : '.';
      if (c >= '0' && c <= '9') {
        if (digits > 0 && value == 0) {
          return null; // leading zero: octal to some parsers, decimal to others
        }
        value = value * 10 + (c - '0');
        digits++;
        if (value > 255) {
          return null;
        }
      } else if (c == '.') {
        if (digits == 0 || part == 4) {
          return null;
        }
        out[part++] = (byte) value;
        value = 0;
        digits = 0;
      } else {
        return null;
      }
    }
    return part == 4 ? out : null;
  }

  /** RFC 4291 §2.2 text (with "::" and a trailing dotted quad allowed), or {@code null}. */
  static byte[] parseIpv6(String s) {
    int gap = s.indexOf("::");
    if (gap >= 0 && s.indexOf("::", gap + 1) >= 0) {
      return null;
    }
    int[] head = groups(gap >= 0 ? s.substring(0, gap) : s, gap < 0);
    int[] tail = gap >= 0 ? groups(s.substring(gap + 2), true) : new int[0];
    if (head == null || tail == null) {
      return null;
    }
    int n = head.length + tail.length;
    if (gap >= 0 ? n > 7 : n != 8) {
      return null;
    }
    byte[] out = new byte[16];
    for (int i = 0; i < head.length; i++) {
      putGroup(out, i, head[i]);
    }
    for (int i = 0; i < tail.length; i++) {
      putGroup(out, 8 - tail.length + i, tail[i]);
    }
    return out;
  }

  private static int[] groups(String part, boolean dottedQuadAllowedAtEnd) {
    if (part.isEmpty()) {
      return new int[0];
    }
    String[] fields = part.split(":", -1);
    int[] out = new int[fields.length + 1];
    int n = 0;
    for (int i = 0; i < fields.length; i++) {
      String field = fields[i];
      if (dottedQuadAllowedAtEnd && i == fields.length - 1 && field.indexOf('.') >= 0) {
        byte[] v4 = parseIpv4(field);
        if (v4 == null) {
          return null;
        }
        out[n++] = (v4[0] & 0xff) << 8 | (v4[1] & 0xff);
        out[n++] = (v4[2] & 0xff) << 8 | (v4[3] & 0xff);
      } else {
        int value = parseHexGroup(field);
        if (value < 0) {
          return null;
        }
        out[n++] = value;
      }
    }
    return Arrays.copyOf(out, n);
  }

  private static int parseHexGroup(String field) {
    if (field.isEmpty() || field.length() > 4) {
      return -1;
    }
    int value = 0;
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return -1;
      }
      value = value << 4 | digit;
    }
    return value;
  }

  private static void putGroup(byte[] out, int group, int value) {
    out[2 * group] = (byte) (value >>> 8);
    out[2 * group + 1] = (byte) value;
  }

  /** RFC 5952 canonical text: lowercase, longest zero run as "::", mapped IPv4 as a dotted quad. */
  static String formatIpv6(byte[] a) {
    return appendIpv6(new StringBuilder(39), a).toString();
  }

  /** {@link #formatIpv6} appended to {@code out}, for callers that reuse a builder. */
  static StringBuilder appendIpv6(StringBuilder out, byte[] a) {
    if (isIpv4Mapped(a)) {
      return appendIpv4(out.append("::ffff:"), a, 12);
    }
    int bestStart = -1;
    int bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not shortened
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && group(a, j) == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    int start = out.length();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLength - 1;
        continue;
      }
      if (out.length() > start && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      appendHex(out, group(a, i));
    }
    return out;
  }

  private static int group(byte[] a, int i) {
    return (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
  }

  /** Lowercase hex without leading zeros, as {@link Integer#toHexString} but with no string. */
  private static void appendHex(StringBuilder out, int value) {
    int shift = value == 0 ? 0 : (31 - Integer.numberOfLeadingZeros(value)) & ~3;
    for (; shift >= 0; shift -= 4) {
      out.append(Character.forDigit((value >>> shift) & 0xf, 16));
    }
  }

  static String formatIpv4(byte[] a) {
    return appendIpv4(new StringBuilder(15), a, 0).toString();
  }

  /** The dotted quad of {@code a[offset..offset+3]} appended to {@code out}. */
  static StringBuilder appendIpv4(StringBuilder out, byte[] a, int offset) {
    return out.append(a[offset] & 0xff).append('.').append(a[offset + 1] & 0xff).append('.')
        .append(a[offset + 2] & 0xff).append('.').append(a[offset + 3] & 0xff);
  }

  /** {@code ::ffff:a.b.c.d} (RFC 4291 §2.5.5.2). */
  static boolean isIpv4Mapped(byte[] a) {
    if (a.length != 16) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
  }

  /** Raw bytes as an address; never resolves. A mapped IPv6 address becomes its IPv4 address. */
  static InetAddress toAddress(byte[] raw) {
    byte[] bytes = isIpv4Mapped(raw) ? Arrays.copyOfRange(raw, 12, 16) : raw;
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes are always accepted", e);
    }
  }

  /**
   * The address policy rules compare against: an IPv4-mapped IPv6 address is its IPv4 address,
   * so {@code ::ffff:10.0.0.1} cannot slip past a rule written for {@code 10.0.0.0/8}. Scope ids
   * are dropped; they do not change which host is reached.
   */
  static InetAddress normalize(InetAddress address) {
    if (address instanceof Inet6Address) {
      return toAddress(address.getAddress());
    }
    return address;
  }
}
