package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.SNIHostName;

import dev.adit.policy.DestinationPolicy;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * How {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions, java.util.function.Function,
 * org.eclipse.jetty.util.Promise)} reaches one endpoint: which destinations it may reach, how long
 * each attempt may take, and what happens on the new socket before the caller's connection gets it.
 *
 * @param policy         checked on the name before DNS and on every resolved address
 * @param connectTimeout bounds the DNS lookup, and then each attempt (one resolved address):
 *                       TCP connect, preamble and TLS handshake together. The TCP connect is also
 *                       bounded by the client connector's own connect timeout
 *                       ({@link TcpUpstream}'s constructor sets it), so keep that one the largest
 * @param tls            TLS to originate on the socket, {@code null} for plain TCP. It must be
 *                       started (the caller owns its life cycle, e.g. as a bean); see
 *                       {@link dev.adit.tls.ClientTls#create}
 * @param sni            the TLS server name to send, and the name the certificate is verified
 *                       against when the factory verifies host names; {@code null} means the
 *                       target's host when it is a name, and no SNI (verification against the
 *                       address) when it is an IP literal. Ignored without {@code tls}
 * @param preamble       bytes written in clear on the TCP connection before TLS and before any
 *                       payload (e.g. a PROXY protocol header), {@code null} for none. Kept as a
 *                       read-only view of the remaining bytes: the caller must not change them
 *                       while dials use them; every attempt writes all of them
 */
public record DialOptions(DestinationPolicy policy, Duration connectTimeout, SslContextFactory.Client tls, String sni, ByteBuffer preamble)
{
    public DialOptions
    {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero())
            throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " (expected: positive)");
        if (sni != null)
            checkServerName(sni);
        if (preamble != null)
            preamble = preamble.asReadOnlyBuffer();
    }

    /** @return a fresh read-only view of the preamble (the bytes that remained when it was given), or null */
    @Override
    public ByteBuffer preamble()
    {
        return preamble == null ? null : preamble.slice();
    }

    private static void checkServerName(String sni)
    {
        try
        {
            new SNIHostName(sni.endsWith(".") ? sni.substring(0, sni.length() - 1) : sni);
        }
        catch (IllegalArgumentException x)
        {
            throw new IllegalArgumentException("sni: '" + sni + "' (expected: a DNS host name, or null)", x);
        }
    }

    /** Plain TCP, no preamble. */
    public static DialOptions plain(DestinationPolicy policy, Duration connectTimeout)
    {
        return new DialOptions(policy, connectTimeout, null, null, null);
    }

    /** @return these options with TLS originated by {@code tls} and the given SNI ({@code null}: from the target) */
    public DialOptions withTls(SslContextFactory.Client tls, String sni)
    {
        return new DialOptions(policy, connectTimeout, tls, sni, preamble);
    }

    /** @return these options with {@code preamble} written first ({@code null}: none) */
    public DialOptions withPreamble(ByteBuffer preamble)
    {
        return new DialOptions(policy, connectTimeout, tls, sni, preamble);
    }
}
