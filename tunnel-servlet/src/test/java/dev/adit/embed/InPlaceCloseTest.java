package dev.adit.embed;

import java.net.InetAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.core.TunnelListener;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The last step of a socket's close (Jetty's {@code DestroyEndPoint}, which calls the
 * connection's {@code onClose}) runs in place, on the closing thread, for a socket carrying a
 * tunnel's side, and in the pool for any other connection: real sockets, a real connector.
 */
class InPlaceCloseTest
{
    private static final String DESTROY = ManagedSelector.class.getName() + "$DestroyEndPoint";

    private final Server server = new Server();
    private final List<String> pooled = new CopyOnWriteArrayList<>();
    private final CompletableFuture<EndPoint> opened = new CompletableFuture<>();
    private final CompletableFuture<Thread> closedOn = new CompletableFuture<>();
    private ServerConnector connector;

    @AfterEach
    void stop() throws Exception
    {
        server.stop();
    }

    @Test
    void aTunnelSidesSocketFinishesItsCloseOnTheClosingThread() throws Exception
    {
        TunnelListener listener = new TunnelListener()
        {
            @Override
            public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
            {
                closedOn.complete(Thread.currentThread());
            }
        };
        start((endPoint, executor) ->
        {
            Tunnel tunnel = new Tunnel("127.0.0.1:9", "HTTP/1.1", TunnelConfig.DEFAULTS, server.getByteBufferPool(), server.getScheduler(), listener);
            return tunnel.newDownstreamConnection(endPoint, executor, EndPointAborter.TCP_RESET);
        });

        closeServerSide();

        // The tunnel, whose other side never opened, heard of the close before close() returned.
        assertThat(closedOn).isCompletedWithValue(Thread.currentThread());
        assertThat(pooled).doesNotContain(DESTROY);
    }

    @Test
    void anyOtherConnectionFinishesItsCloseInThePool() throws Exception
    {
        start((endPoint, executor) -> new AbstractConnection(endPoint, executor)
        {
            @Override
            public void onFillable()
            {
            }

            @Override
            public void onClose(Throwable cause)
            {
                super.onClose(cause);
                closedOn.complete(Thread.currentThread());
            }
        });

        closeServerSide();

        assertThat(closedOn.get(5, TimeUnit.SECONDS)).isNotSameAs(Thread.currentThread());
        assertThat(pooled).contains(DESTROY);
    }

    private void start(BiFunction<EndPoint, Executor, Connection> connections) throws Exception
    {
        Executor pool = server.getThreadPool();
        Executor recording = task ->
        {
            pooled.add(task.getClass().getName());
            pool.execute(task);
        };
        connector = new AditServerConnector(server, new InPlaceExecutor(recording), new AbstractConnectionFactory("test")
        {
            @Override
            public Connection newConnection(Connector connector, EndPoint endPoint)
            {
                Connection connection = connections.apply(endPoint, connector.getExecutor());
                // Handed to the test once open: the selector sets the endpoint's connection and
                // opens both after this method returns.
                connection.addEventListener(new Connection.Listener()
                {
                    @Override
                    public void onOpened(Connection connection)
                    {
                        opened.complete(endPoint);
                    }
                });
                return connection;
            }
        });
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.start();
    }

    /** Connects, then closes the server's side of the socket on this thread. */
    private void closeServerSide() throws Exception
    {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), connector.getLocalPort()))
        {
            EndPoint endPoint = opened.get(5, TimeUnit.SECONDS);
            assertThat(endPoint.isOpen()).isTrue();
            endPoint.close();
            assertThat(endPoint.isOpen()).isFalse();
            // The client sees the close: the socket really was the server's side of this connection.
            client.setSoTimeout(5000);
            assertThat(client.getInputStream().read()).isEqualTo(-1);
        }
    }
}
