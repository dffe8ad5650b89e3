package dev.adit.policy;

import java.net.InetAddress;
import java.util.Arrays;

/**
 * A block of IPv4 or IPv6 addresses: a network address and a prefix length. IPv4 blocks only
 * contain IPv4 addresses and IPv6 blocks only IPv6 ones; callers pass addresses through
 * {@link IpLiterals#normalize} so that IPv4-mapped IPv6 addresses count as IPv4.
 */
final class Cidr {
  private final byte[] network;
  private final int prefix;

  private Cidr(byte[] network, int prefix) {
    this.network = network;
    this.prefix = prefix;
  }

  /**
   * @param network 4 or 16 bytes with every bit past {@code prefix} clear
   * @return the block, or {@code null} if the prefix is out of range or host bits are set
   */
  static Cidr of(byte[] network, int prefix) {
    if (prefix < 0 || prefix > network.length * 8) {
      return null;
    }
    for (int bit = prefix; bit < network.length * 8; bit++) {
      if ((network[bit / 8] & (0x80 >>> (bit % 8))) != 0) {
        return null;
      }
    }
    return new Cidr(network.clone(), prefix);
  }

  /** The same block expressed in IPv4 when this is a block inside {@code ::ffff:0:0/96}. */
  Cidr unmapped() {
    if (network.length == 16 && prefix >= 96 && IpLiterals.isIpv4Mapped(network)) {
      return new Cidr(Arrays.copyOfRange(network, 12, 16), prefix - 96);
    }
    return this;
  }

  boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    if (a.length != network.length) {
      return false;
    }
    int fullBytes = prefix / 8;
    for (int i = 0; i < fullBytes; i++) {
      if (a[i] != network[i]) {
        return false;
      }
    }
    int restBits = prefix % 8;
    if (restBits == 0) {
      return true;
    }
    int mask = (0xff << (8 - restBits)) & 0xff;
    return (a[fullBytes] & mask) == (network[fullBytes] & mask);
  }
}
