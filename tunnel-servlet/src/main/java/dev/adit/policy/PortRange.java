package dev.adit.policy;

/** An inclusive range of TCP ports within 1..65535, {@code first <= last}. */
record PortRange(int first, int last) {
  static final PortRange ANY = new PortRange(1, Authority.MAX_PORT);

  PortRange {
    if (first < 1 || last > Authority.MAX_PORT || first > last) {
      throw new IllegalArgumentException(
          "ports: " + first + "-" + last + " (expected: 1 <= first <= last <= 65535)");
    }
  }

  boolean contains(int port) {
    return port >= first && port <= last;
  }

  boolean isAny() {
    return first == 1 && last == Authority.MAX_PORT;
  }
}
