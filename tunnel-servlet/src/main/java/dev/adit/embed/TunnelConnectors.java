package dev.adit.embed;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import dev.adit.handler.Http2TunnelResets;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.annotation.Name;
import org.eclipse.jetty.util.component.AbstractLifeCycle;

/**
 * Adapts for tunnels the connectors of a server that Adit did not build (jetty-home's), as a
 * bean of that {@link Server}: when the server starts, after every module's XML ran and before
 * any connector starts, each connector not yet running is changed so that its tunnels lose
 * nothing. Both Jetty modules add one: {@code adit} (through {@link AditJettyModule}) and
 * {@code adit-connect-path} (for a WAR whose {@code AditServlet} serves the tunnels on Jetty's
 * connectors), so the standalone jar's fixes hold in every form.
 * <ul>
 *   <li>a stock {@link HttpConnectionFactory} becomes a {@link TunnelHttpConnectionFactory} with
 *       the same {@link HttpConfiguration} and settings, so that HTTP/1.1 early data starting with
 *       CR or LF reaches the tunnel whole;</li>
 *   <li>a stock {@link SslConnectionFactory} becomes a {@link DrainFirstSslConnectionFactory}
 *       with the same TLS context and settings, so that a client's last TLS records are not
 *       dropped when its FIN follows them after a half-close;</li>
 *   <li>a stock {@link SecureRequestCustomizer} becomes a {@link ConnectSecureRequestCustomizer}:
 *       a CONNECT's host is its target, not a name of this server's certificate;</li>
 *   <li>HTTP/2 factories with no stream idle timeout get the one given: Jetty has no property
 *       for it, and 0 would give streams the connector's idle timeout;</li>
 *   <li>HTTP/2 factories keep their rate control (jetty-home's
 *       {@code jetty.http2.rateControl.maxEventsPerSecond}) but stop counting the resets Adit
 *       sends when a tunnel fails, nor the frames the client still had in flight to the
 *       streams they reset ({@link Http2TunnelResets}), so that a client does not lose its
 *       connection because its targets reset.</li>
 * </ul>
 * <p>Only Jetty's own classes are replaced (by exact class), so a connector is adapted once
 * however many of these a server has, and subclasses someone chose are left alone. The
 * connectors themselves stay Jetty's: a client's TCP reset still reads as its FIN there
 * ({@link AditServerConnector} tells them apart for Adit's own listeners).</p>
 */
public class TunnelConnectors extends AbstractLifeCycle
{
    private final Server server;
    private final long h2StreamIdleTimeout;

    /**
     * @param h2StreamIdleTimeout milliseconds, for HTTP/2 factories whose stream idle timeout is
     *                            0 ({@code adit.h2.stream-idle-timeout}); 0 leaves them alone
     */
    public TunnelConnectors(@Name("server") Server server, @Name("h2StreamIdleTimeout") long h2StreamIdleTimeout)
    {
        this.server = server;
        this.h2StreamIdleTimeout = h2StreamIdleTimeout;
    }

    @Override
    protected void doStart() throws Exception
    {
        for (Connector connector : server.getConnectors())
        {
            if (connector instanceof AbstractConnector c && !c.isRunning())
                adapt(c);
        }
        super.doStart();
    }

    private void adapt(AbstractConnector connector)
    {
        List<ConnectionFactory> factories = new ArrayList<>(connector.getConnectionFactories());
        boolean replaced = false;
        Set<HttpConfiguration> configurations = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < factories.size(); i++)
        {
            ConnectionFactory factory = factories.get(i);
            if (factory instanceof HttpConfiguration.ConnectionFactory http)
                configurations.add(http.getHttpConfiguration());
            if (factory.getClass() == HttpConnectionFactory.class)
            {
                factories.set(i, tunnelHttp((HttpConnectionFactory)factory));
                replaced = true;
            }
            else if (factory.getClass() == SslConnectionFactory.class)
            {
                factories.set(i, DrainFirstSslConnectionFactory.copyOf((SslConnectionFactory)factory));
                replaced = true;
            }
            else if (factory.getProtocol().equalsIgnoreCase("h2") || factory.getProtocol().equalsIgnoreCase("h2c"))
            {
                Http2.adapt(factory, h2StreamIdleTimeout);
            }
        }
        if (replaced)
        {
            // Same factories in the same order (ALPN and the h2c upgrade look them up by
            // protocol), only the HTTP/1.1 and TLS ones swapped; setting them anew resets the default.
            String defaultProtocol = connector.getDefaultProtocol();
            connector.setConnectionFactories(factories);
            connector.setDefaultProtocol(defaultProtocol);
        }
        for (HttpConfiguration configuration : configurations)
        {
            List<HttpConfiguration.Customizer> customizers = new ArrayList<>(configuration.getCustomizers());
            customizers.replaceAll(c -> c.getClass() == SecureRequestCustomizer.class ? new ConnectSecureRequestCustomizer((SecureRequestCustomizer)c) : c);
            configuration.setCustomizers(customizers);
        }
    }

    private static TunnelHttpConnectionFactory tunnelHttp(HttpConnectionFactory stock)
    {
        TunnelHttpConnectionFactory factory = new TunnelHttpConnectionFactory(stock.getHttpConfiguration());
        factory.setTransferEncodingChunkMaxLength(stock.getTransferEncodingChunkMaxLength());
        factory.setInputBufferSize(stock.getInputBufferSize());
        stock.getEventListeners().forEach(factory::addEventListener);
        return factory;
    }

    @Override
    public String toString()
    {
        return "%s@%x{h2StreamIdleTimeout=%d}".formatted(getClass().getSimpleName(), hashCode(), h2StreamIdleTimeout);
    }

    /**
     * HTTP/2 server classes, apart: jetty-home puts them on the class path only with the
     * {@code http2} or {@code http2c} module, and only then is there an h2 factory to touch.
     */
    private static final class Http2
    {
        private static void adapt(ConnectionFactory factory, long streamIdleTimeout)
        {
            if (!(factory instanceof AbstractHTTP2ServerConnectionFactory h2))
                return;
            if (streamIdleTimeout > 0 && h2.getStreamIdleTimeout() == 0)
                h2.setStreamIdleTimeout(streamIdleTimeout);
            Http2TunnelResets.install(h2);
        }
    }
}
