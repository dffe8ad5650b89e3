package dev.adit.upstream;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import dev.adit.config.HostPort;
import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.core.TunnelListener;
import dev.adit.embed.AditServerConnector;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A test-only TCP to HTTP/2 CONNECT forwarder: every TCP connection accepted on its loopback
 * port becomes a {@link Tunnel} whose downstream side is that socket and whose upstream side is
 * a CONNECT stream opened through the {@link Http2ConnectPool} to one endpoint, for one target.
 * It records failed opens and tunnel events.
 */
final class TcpToHttp2Forwarder implements AutoCloseable, TunnelListener
{
    static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(5);

    final ConcurrentLinkedQueue<Throwable> openFailures = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<TunnelFailure> outcomes = new ConcurrentLinkedQueue<>();
    private final Set<String> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger opened = new AtomicInteger();
    private final Server server;
    private final ServerConnector connector;

    /**
     * @param request the CONNECT sent for every accepted connection
     */
    TcpToHttp2Forwarder(Http2ConnectPool pool, HostPort endpoint, MetaData.ConnectRequest request, ByteBufferPool buffers) throws Exception
    {
        this(pool, endpoint, request, buffers, Duration.ofSeconds(30));
    }

    /**
     * @param request           the CONNECT sent for every accepted connection
     * @param tunnelIdleTimeout the idle timeout of every tunnel
     */
    TcpToHttp2Forwarder(Http2ConnectPool pool, HostPort endpoint, MetaData.ConnectRequest request, ByteBufferPool buffers,
                        Duration tunnelIdleTimeout) throws Exception
    {
        String authority = request.getHttpURI().getAuthority();
        TunnelConfig config = TunnelConfig.DEFAULTS.withIdleTimeout(tunnelIdleTimeout);
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("forwarder");
        server = new Server(threads, null, buffers);
        connector = new AditServerConnector(server, new AbstractConnectionFactory("tcp-to-h2")
        {
            @Override
            public Connection newConnection(Connector connector, EndPoint endPoint)
            {
                Tunnel tunnel = new Tunnel(authority, "tcp", config, connector.getByteBufferPool(), connector.getScheduler(), TcpToHttp2Forwarder.this);
                Connection downstream = tunnel.newDownstreamConnection(endPoint, connector.getExecutor(), EndPointAborter.TCP_RESET);
                // Forward once the socket's side is open, as a proxy route would after the accept.
                downstream.addEventListener(new Connection.Listener()
                {
                    @Override
                    public void onOpened(Connection connection)
                    {
                        pool.open(endpoint, request, tunnel, RESPONSE_TIMEOUT, new Promise<>()
                        {
                            @Override
                            public void succeeded(InetSocketAddress upstream)
                            {
                            }

                            @Override
                            public void failed(Throwable x)
                            {
                                openFailures.add(x);
                                tunnel.dispose(x);
                            }
                        });
                    }
                });
                return downstream;
            }
        });
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setStopTimeout(0);
        server.start();
    }

    InetSocketAddress address()
    {
        return new InetSocketAddress("127.0.0.1", connector.getLocalPort());
    }

    @Override
    public void onOpened(TunnelInfo tunnel)
    {
        opened.incrementAndGet();
        open.add(tunnel.id());
    }

    @Override
    public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
    {
        open.remove(tunnel.id());
        outcomes.add(outcome);
    }

    /** Tunnels that started. */
    int opened()
    {
        return opened.get();
    }

    /** Tunnels started and not yet closed. */
    int openTunnels()
    {
        return open.size();
    }

    List<TunnelFailure> outcomes()
    {
        return List.copyOf(outcomes);
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }
}
