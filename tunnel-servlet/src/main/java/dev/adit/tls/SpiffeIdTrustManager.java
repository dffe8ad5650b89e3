package dev.adit.tls;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Checks that a server's leaf certificate carries an accepted SPIFFE ID, after the normal
 * checks of the wrapped trust manager (chain, validity, and the host name when enabled), which
 * still decide first: like an SPKI pin, the identity adds a condition and never replaces trust.
 * This is how an HBONE client authenticates the peer: by the identity it expects to reach, not
 * by a host name.
 */
final class SpiffeIdTrustManager extends ExtraServerCheckTrustManager
{
    private final List<SpiffeIdPattern> accepted;

    SpiffeIdTrustManager(X509ExtendedTrustManager delegate, List<SpiffeIdPattern> accepted)
    {
        super(delegate);
        this.accepted = List.copyOf(accepted);
    }

    @Override
    void checkServer(X509Certificate[] chain) throws CertificateException
    {
        String expected = accepted.stream().map(SpiffeIdPattern::toString).collect(Collectors.joining(", "));
        if (chain == null || chain.length == 0)
            throw new CertificateException("SPIFFE ID mismatch: the server sent no certificate (expected one of: " + expected + ")");
        Optional<SpiffeId> id = SpiffeId.fromCertificate(chain[0]);
        if (id.isEmpty())
        {
            throw new CertificateException("SPIFFE ID mismatch: certificate " + chain[0].getSubjectX500Principal().getName()
                + " carries no SPIFFE ID (expected one of: " + expected + ")");
        }
        if (!SpiffeIdPattern.anyMatches(accepted, id.get()))
        {
            throw new CertificateException("SPIFFE ID mismatch: certificate " + chain[0].getSubjectX500Principal().getName()
                + " has " + id.get() + " (expected one of: " + expected + ")");
        }
    }
}
