package dev.adit.embed;

import javax.net.ssl.SSLEngine;

import dev.adit.core.DrainFirstSslConnection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty's {@link SslConnectionFactory}, making {@link DrainFirstSslConnection}s: Jetty 12.1.12's
 * own connection can drop a client's last TLS records when the client's FIN comes in the same
 * read as them after the tunnel half-closed towards the client. Adit's TLS listeners use it,
 * and both Jetty modules ({@link TunnelConnectors}) put it in place of the stock factory on
 * jetty-home's TLS connectors.
 */
public class DrainFirstSslConnectionFactory extends SslConnectionFactory
{
    public DrainFirstSslConnectionFactory(SslContextFactory.Server sslContextFactory, String nextProtocol)
    {
        super(sslContextFactory, nextProtocol);
    }

    /** @return a factory with {@code stock}'s TLS context, next protocol and settings */
    public static DrainFirstSslConnectionFactory copyOf(SslConnectionFactory stock)
    {
        DrainFirstSslConnectionFactory factory = new DrainFirstSslConnectionFactory(stock.getSslContextFactory(), stock.getNextProtocol());
        factory.setDirectBuffersForEncryption(stock.isDirectBuffersForEncryption());
        factory.setDirectBuffersForDecryption(stock.isDirectBuffersForDecryption());
        factory.setEnsureSecureRequestCustomizer(stock.isEnsureSecureRequestCustomizer());
        factory.setInputBufferSize(stock.getInputBufferSize());
        return factory;
    }

    @Override
    protected SslConnection newSslConnection(Connector connector, EndPoint endPoint, SSLEngine engine)
    {
        return new DrainFirstSslConnection(connector.getByteBufferPool(), connector.getExecutor(), getSslContextFactory(), endPoint, engine,
            isDirectBuffersForEncryption(), isDirectBuffersForDecryption());
    }
}
