package dev.adit.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that adds one condition on the server's certificate chain after the normal
 * checks of the wrapped trust manager (chain, validity, host name when enabled), which still
 * decide first: the extra check narrows trust and never replaces it. Client checks are
 * delegated unchanged. Subclasses are immutable and thread-safe.
 */
abstract class ExtraServerCheckTrustManager extends X509ExtendedTrustManager
{
    private final X509ExtendedTrustManager delegate;

    ExtraServerCheckTrustManager(X509ExtendedTrustManager delegate)
    {
        this.delegate = delegate;
    }

    /** The extra condition, on a chain the delegate already trusts; throws to refuse it. */
    abstract void checkServer(X509Certificate[] chain) throws CertificateException;

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType, engine);
        checkServer(chain);
    }

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType, socket);
        checkServer(chain);
    }

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException
    {
        delegate.checkServerTrusted(chain, authType);
        checkServer(chain);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException
    {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public final X509Certificate[] getAcceptedIssuers()
    {
        return delegate.getAcceptedIssuers();
    }
}
