package dev.adit.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A SPIFFE ID, {@code spiffe://trust-domain/path}, as defined by the SPIFFE-ID standard (§2):
 * the identity Istio ambient (ztunnel, HBONE) puts in workload certificates as
 * {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
 *
 * <p>The syntax is deliberately narrow, so that two strings name the same workload exactly when
 * they are equal: the scheme is {@code spiffe://} in lower case; the trust domain holds only
 * lower-case letters, digits, {@code .}, {@code -} and {@code _} (so no port, user info or
 * upper case); the path is empty or {@code /segment/segment...}, each segment non-empty, not
 * {@code .} or {@code ..}, of letters, digits, {@code .}, {@code -} and {@code _} (so no
 * percent-encoding, query or fragment, and no trailing slash); 2048 characters at most.</p>
 *
 * <p>Immutable and thread-safe; equal when their strings are equal.</p>
 */
public final class SpiffeId
{
    /** The scheme and authority separator every SPIFFE ID starts with. */
    public static final String PREFIX = "spiffe://";
    private static final int MAX_LENGTH = 2048;
    private static final int MAX_TRUST_DOMAIN_LENGTH = 255;
    /** {@link X509Certificate#getSubjectAlternativeNames} type of a uniformResourceIdentifier. */
    private static final int URI_SAN = 6;

    private final String trustDomain;
    private final List<String> segments;
    private final String text;

    private SpiffeId(String trustDomain, List<String> segments, String text)
    {
        this.trustDomain = trustDomain;
        this.segments = List.copyOf(segments);
        this.text = text;
    }

    /**
     * @throws IllegalArgumentException naming what is wrong, e.g. "the trust domain may hold only
     *                                  a-z, 0-9, '.', '-' and '_'"
     */
    public static SpiffeId parse(String text)
    {
        Objects.requireNonNull(text, "text");
        if (text.length() > MAX_LENGTH)
            throw new IllegalArgumentException("longer than " + MAX_LENGTH + " characters");
        String rest = afterPrefix(text);
        int slash = rest.indexOf('/');
        String trustDomain = slash < 0 ? rest : rest.substring(0, slash);
        checkTrustDomain(trustDomain);
        List<String> segments = new ArrayList<>();
        if (slash >= 0)
        {
            for (String segment : rest.substring(slash + 1).split("/", -1))
            {
                checkSegment(segment);
                segments.add(segment);
            }
        }
        return new SpiffeId(trustDomain, segments, text);
    }

    /**
     * The SPIFFE ID of an X.509 SVID: the certificate's one URI subject alternative name. As the
     * X509-SVID standard requires, a certificate with no URI SAN, with more than one (even if
     * only one is a SPIFFE ID), whose URI SAN is not a valid SPIFFE ID with a path, or that is a
     * CA certificate, has no identity: guessing which of several names counts would let an
     * issuer that signs arbitrary URIs mint identities.
     *
     * @return the identity, or empty when the certificate is not a valid SVID
     */
    public static Optional<SpiffeId> fromCertificate(X509Certificate certificate)
    {
        if (certificate == null || certificate.getBasicConstraints() >= 0)
            return Optional.empty();
        Collection<List<?>> names;
        try
        {
            names = certificate.getSubjectAlternativeNames();
        }
        catch (CertificateParsingException x)
        {
            return Optional.empty();
        }
        if (names == null)
            return Optional.empty();
        String uri = null;
        for (List<?> name : names)
        {
            if (name.size() < 2 || !(name.get(0) instanceof Integer type) || type != URI_SAN)
                continue;
            if (uri != null)
                return Optional.empty();
            uri = String.valueOf(name.get(1));
        }
        if (uri == null)
            return Optional.empty();
        try
        {
            SpiffeId id = parse(uri);
            return id.segments.isEmpty() ? Optional.empty() : Optional.of(id);
        }
        catch (IllegalArgumentException x)
        {
            return Optional.empty();
        }
    }

    /** @return the trust domain, e.g. {@code cluster.local} */
    public String trustDomain()
    {
        return trustDomain;
    }

    /** @return the path's segments, e.g. {@code [ns, default, sa, client]}; empty for a trust domain's own ID */
    public List<String> segments()
    {
        return segments;
    }

    @Override
    public boolean equals(Object other)
    {
        return other instanceof SpiffeId id && id.text.equals(text);
    }

    @Override
    public int hashCode()
    {
        return text.hashCode();
    }

    @Override
    public String toString()
    {
        return text;
    }

    /** @return what follows {@code spiffe://} */
    static String afterPrefix(String text)
    {
        if (!text.startsWith(PREFIX))
        {
            if (text.regionMatches(true, 0, PREFIX, 0, PREFIX.length()))
                throw new IllegalArgumentException("the scheme must be spiffe:// in lower case");
            throw new IllegalArgumentException("it must start with spiffe://");
        }
        return text.substring(PREFIX.length());
    }

    static void checkTrustDomain(String trustDomain)
    {
        if (trustDomain.isEmpty())
            throw new IllegalArgumentException("the trust domain is missing");
        if (trustDomain.length() > MAX_TRUST_DOMAIN_LENGTH)
            throw new IllegalArgumentException("the trust domain is longer than " + MAX_TRUST_DOMAIN_LENGTH + " characters");
        for (int i = 0; i < trustDomain.length(); i++)
        {
            char c = trustDomain.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'))
            {
                String what = switch (c)
                {
                    case ':' -> " (no port)";
                    case '@' -> " (no user info)";
                    case '?', '#' -> " (no query or fragment)";
                    default -> c >= 'A' && c <= 'Z' ? " (lower case only)" : "";
                };
                throw new IllegalArgumentException("the trust domain may hold only a-z, 0-9, '.', '-' and '_'" + what);
            }
        }
    }

    static void checkSegment(String segment)
    {
        if (segment.isEmpty())
            throw new IllegalArgumentException("the path has an empty segment (no // and no trailing /)");
        if (segment.equals(".") || segment.equals(".."))
            throw new IllegalArgumentException("the path has a '" + segment + "' segment");
        for (int i = 0; i < segment.length(); i++)
        {
            char c = segment.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'))
            {
                String what = c == '?' || c == '#' ? " (no query or fragment)" : c == '%' ? " (no percent-encoding)" : "";
                throw new IllegalArgumentException("path segments may hold only letters, digits, '.', '-' and '_'" + what);
            }
        }
    }
}
