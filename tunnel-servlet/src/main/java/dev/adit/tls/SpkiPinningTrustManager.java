package dev.adit.tls;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Checks a server's leaf certificate against SPKI pins after the normal checks of the wrapped
 * trust manager, which still decide first: a pin adds a condition and never replaces trust.
 */
final class SpkiPinningTrustManager extends ExtraServerCheckTrustManager
{
    private final List<String> pins;

    SpkiPinningTrustManager(X509ExtendedTrustManager delegate, List<String> pins)
    {
        super(delegate);
        this.pins = List.copyOf(pins);
    }

    @Override
    void checkServer(X509Certificate[] chain) throws CertificateException
    {
        if (chain == null || chain.length == 0)
            throw new CertificateException("SPKI pin mismatch: the server sent no certificate");
        String actual = ClientTls.spkiPin(chain[0]);
        if (!pins.contains(actual))
        {
            throw new CertificateException("SPKI pin mismatch: certificate " + chain[0].getSubjectX500Principal().getName()
                + " has pin " + actual + " (expected one of: " + String.join(", ", pins) + ")");
        }
    }
}
