package dev.adit.upstream;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

import dev.adit.config.ProxyProtocol;

/**
 * Encodes the PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a
 * tunnel writes to its target before the first payload byte, so that the target learns the
 * client's address instead of the proxy's.
 *
 * <p><b>Version 1</b> (§2.1): {@code PROXY TCP4 <src> <dst> <sport> <dport>\r\n}, or
 * {@code TCP6} with addresses in RFC 5952 form (lowercase, longest zero run as {@code ::}, no
 * scope id). When the two addresses are not both resolved {@link InetSocketAddress}es of the same
 * family the header is {@code PROXY UNKNOWN\r\n}, which tells the receiver to use the real
 * connection's addresses.</p>
 *
 * <p><b>Version 2</b> (§2.2): the 12-byte signature, version/command {@code 0x21} (PROXY),
 * family/transport {@code 0x11} (TCP over IPv4, 12 address bytes) or {@code 0x21} (TCP over
 * IPv6, 36 address bytes), the big-endian address length, then source address, destination
 * address, source port, destination port. Mixed families are sent as TCP over IPv6 with the
 * IPv4 address mapped ({@code ::ffff:a.b.c.d}, RFC 4291 §2.5.5.2). When an address is missing,
 * unresolved or not an IP socket address the header is a {@code LOCAL} command ({@code 0x20},
 * family {@code 0x00}, length 0): the receiver uses the real connection's addresses. No TLVs.</p>
 *
 * <p>{@link ProxyProtocol#NONE} yields an empty buffer, so that callers can write the result
 * unconditionally (a write of nothing is a no-op).</p>
 *
 * <p>Ownership and threading: each call returns a new heap buffer in flush mode (position 0,
 * limit = header length) that the caller owns; the class is stateless and thread-safe.</p>
 */
public final class ProxyProtocolHeader
{
    /** §2.2: the v2 signature, {@code \r\n\r\n\0\r\nQUIT\n}. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int V2_PROXY = 0x21;
    private static final int V2_LOCAL = 0x20;
    private static final int V2_TCP4 = 0x11;
    private static final int V2_TCP6 = 0x21;
    private static final int V2_UNSPEC = 0x00;
    private static final byte[] V1_UNKNOWN = "PROXY UNKNOWN\r\n".getBytes(StandardCharsets.US_ASCII);

    private ProxyProtocolHeader()
    {
    }

    /**
     * @param version     the header version; {@link ProxyProtocol#NONE} gives an empty buffer
     * @param source      the client's address as the proxy saw it (the tunnel's downstream remote address)
     * @param destination the address the client connected to (the proxy's local address)
     * @return the header bytes, a new buffer in flush mode owned by the caller, never null
     */
    public static ByteBuffer encode(ProxyProtocol version, SocketAddress source, SocketAddress destination)
    {
        Objects.requireNonNull(version, "version");
        return switch (version)
        {
            case NONE -> ByteBuffer.allocate(0);
            case V1 -> v1(ip(source), ip(destination));
            case V2 -> v2(ip(source), ip(destination));
        };
    }

    private static ByteBuffer v1(InetSocketAddress source, InetSocketAddress destination)
    {
        if (source == null || destination == null)
            return ByteBuffer.wrap(V1_UNKNOWN.clone());
        InetAddress src = source.getAddress();
        InetAddress dst = destination.getAddress();
        String family;
        if (src instanceof Inet4Address && dst instanceof Inet4Address)
            family = "TCP4";
        else if (src instanceof Inet6Address && dst instanceof Inet6Address)
            family = "TCP6";
        else
            return ByteBuffer.wrap(V1_UNKNOWN.clone());
        String line = "PROXY " + family + " " + text(src) + " " + text(dst) + " " + source.getPort() + " " + destination.getPort() + "\r\n";
        return ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
    }

    private static ByteBuffer v2(InetSocketAddress source, InetSocketAddress destination)
    {
        if (source == null || destination == null)
        {
            ByteBuffer local = ByteBuffer.allocate(V2_SIGNATURE.length + 4);
            local.put(V2_SIGNATURE).put((byte)V2_LOCAL).put((byte)V2_UNSPEC).putShort((short)0);
            return local.flip();
        }
        byte[] src = source.getAddress().getAddress();
        byte[] dst = destination.getAddress().getAddress();
        boolean ipv4 = src.length == 4 && dst.length == 4;
        if (!ipv4)
        {
            src = toIpv6(src);
            dst = toIpv6(dst);
        }
        int length = 2 * src.length + 4;
        ByteBuffer header = ByteBuffer.allocate(V2_SIGNATURE.length + 4 + length);
        header.put(V2_SIGNATURE)
            .put((byte)V2_PROXY)
            .put((byte)(ipv4 ? V2_TCP4 : V2_TCP6))
            .putShort((short)length)
            .put(src)
            .put(dst)
            .putShort((short)source.getPort())
            .putShort((short)destination.getPort());
        return header.flip();
    }

    /** @return the address if it is a resolved IP socket address, else null (meaning: unknown) */
    private static InetSocketAddress ip(SocketAddress address)
    {
        if (address instanceof InetSocketAddress inet && !inet.isUnresolved())
            return inet;
        return null;
    }

    /** RFC 4291 §2.5.5.2: {@code ::ffff:a.b.c.d}; IPv6 addresses are returned as they are. */
    private static byte[] toIpv6(byte[] address)
    {
        if (address.length == 16)
            return address;
        byte[] mapped = new byte[16];
        mapped[10] = (byte)0xFF;
        mapped[11] = (byte)0xFF;
        System.arraycopy(address, 0, mapped, 12, 4);
        return mapped;
    }

    private static String text(InetAddress address)
    {
        byte[] raw = address.getAddress();
        if (raw.length == 4)
            return (raw[0] & 0xFF) + "." + (raw[1] & 0xFF) + "." + (raw[2] & 0xFF) + "." + (raw[3] & 0xFF);
        return ipv6Text(raw);
    }

    /**
     * RFC 5952 §4: lowercase hex without leading zeros, the longest run of two or more zero
     * groups (the first one on a tie) replaced by {@code ::}. No scope id: it means nothing to
     * the receiver.
     */
    static String ipv6Text(byte[] raw)
    {
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++)
            groups[i] = ((raw[2 * i] & 0xFF) << 8) | (raw[2 * i + 1] & 0xFF);
        int bestStart = -1;
        int bestLength = 0;
        for (int i = 0; i < 8; )
        {
            if (groups[i] != 0)
            {
                i++;
                continue;
            }
            int start = i;
            while (i < 8 && groups[i] == 0)
                i++;
            if (i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }
        if (bestLength < 2)
            bestStart = -1;
        StringBuilder text = new StringBuilder(39);
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':')
                text.append(':');
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }
}
