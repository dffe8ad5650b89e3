package dev.adit.policy;

/**
 * A CONNECT target that is not a valid authority-form {@code host:port}
 * (RFC 9110 §9.3.6).
 *
 * <p>{@link #reason()} says precisely what is wrong ("missing port", "userinfo not allowed",
 * ...); the message adds the offending input, with every character outside printable ASCII
 * escaped so that a hostile request line cannot forge log lines.
 */
public final class MalformedAuthorityException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private static final int MAX_ECHOED_CHARS = 300;

  private final String input;
  private final String reason;

  MalformedAuthorityException(String input, String reason) {
    super("authority: \"" + escape(input) + "\" (" + reason + "; expected: host:port as in RFC 9110 §9.3.6)");
    this.input = input;
    this.reason = reason;
  }

  /** The rejected input, unescaped. */
  public String input() {
    return input;
  }

  /** Why the input was rejected, without the input itself, e.g. {@code "missing port"}. */
  public String reason() {
    return reason;
  }

  /** Printable ASCII as is; everything else as a Java {@code \\uXXXX} escape; long input cut. */
  static String escape(String s) {
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_ECHOED_CHARS) + 8);
    for (int i = 0; i < s.length(); i++) {
      if (i == MAX_ECHOED_CHARS) {
        return out.append("...").toString();
      }
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    return out.toString();
  }
}
