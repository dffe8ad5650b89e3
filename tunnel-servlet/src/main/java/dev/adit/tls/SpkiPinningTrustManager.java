package dev.adit.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Checks a server's leaf certificate against SPKI pins after the normal checks of the wrapped
 * trust manager (chain, validity, host name), which still decide first: a pin adds a condition
 * and never replaces trust. Client checks are delegated unchanged. Immutable, thread-safe.
 */
final class SpkiPinningTrustManager extends X509ExtendedTrustManager
{
    private final X509ExtendedTrustManager delegate;
    private final List<String> pins;

    SpkiPinningTrustManager(X509ExtendedTrustManager delegate, List<String> pins)
    {
        this.delegate = delegate;
        this.pins = List.copyOf(pins);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType, engine);
        checkPin(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType, socket);
        checkPin(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType);
        checkPin(chain);
    }

    private void checkPin(X509Certificate[] chain) throws CertificateException
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

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers()
    {
        return delegate.getAcceptedIssuers();
    }
}
