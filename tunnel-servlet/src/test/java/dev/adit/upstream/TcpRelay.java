package dev.adit.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import dev.adit.config.HostPort;

/**
 * A test-only TCP relay on a loopback port in front of one endpoint, so that a test can break
 * the path between the pool and its upstream the ways a network does, which closing the
 * upstream's sockets cannot:
 *
 * <ul>
 * <li>{@link #pause()}: nothing is forwarded in either direction while every socket stays open
 * (a hung peer, a black-holed path): only a keepalive notices.</li>
 * <li>{@link #resetAll()}: every relayed connection is reset (TCP RST to both sides) at once,
 * bytes in flight or not.</li>
 * <li>A target that refuses: each accepted connection is closed at once, before a byte; then
 * {@link #retarget} mends the path.</li>
 * </ul>
 *
 * <p>Blocking sockets, two daemon threads per connection; a FIN is relayed as a FIN.
 * {@link #close()} closes everything and releases paused threads.</p>
 */
final class TcpRelay implements AutoCloseable
{
    private static final int CONNECT_TIMEOUT_MILLIS = 5000;

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r ->
    {
        Thread t = new Thread(r, "tcp-relay");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger accepted = new AtomicInteger();
    private final Set<Pair> pairs = ConcurrentHashMap.newKeySet();
    private final Object pauseLock = new Object();
    private volatile HostPort target;
    // Guarded by pauseLock.
    private boolean paused;
    private boolean closed;

    TcpRelay(HostPort target) throws IOException
    {
        this.target = target;
        this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    /** Where the pool connects instead of the endpoint. */
    HostPort address()
    {
        return new HostPort("127.0.0.1", server.getLocalPort());
    }

    /** Where connections accepted from now on are relayed to. */
    void retarget(HostPort target)
    {
        this.target = target;
    }

    /** Connections accepted (and relayed) so far. */
    int accepted()
    {
        return accepted.get();
    }

    /** Relayed connections not yet closed. */
    int open()
    {
        return pairs.size();
    }

    /** Stops forwarding, in both directions; the sockets stay open. */
    void pause()
    {
        synchronized (pauseLock)
        {
            paused = true;
        }
    }

    void resume()
    {
        synchronized (pauseLock)
        {
            paused = false;
            pauseLock.notifyAll();
        }
    }

    /** Resets every relayed connection, both sides: SO_LINGER 0, then close. */
    void resetAll()
    {
        for (Pair pair : pairs)
            pair.close(true);
    }

    /** Resets the oldest relayed connection still open. */
    void resetOne()
    {
        pairs.stream().min(Comparator.comparingInt(pair -> pair.number)).orElseThrow().close(true);
    }

    private void acceptLoop()
    {
        while (!server.isClosed())
        {
            try
            {
                Socket client = server.accept();
                Socket upstream = new Socket();
                Pair pair = new Pair(accepted.incrementAndGet(), client, upstream);
                pairs.add(pair);
                threads.execute(() -> pair.start(target));
            }
            catch (IOException x)
            {
                // Closed: the loop ends.
            }
        }
    }

    /** Blocks while paused; false once the relay closed. */
    private boolean awaitForwarding() throws InterruptedException
    {
        synchronized (pauseLock)
        {
            while (paused && !closed)
                pauseLock.wait(100);
            return !closed;
        }
    }

    @Override
    public void close() throws IOException
    {
        synchronized (pauseLock)
        {
            closed = true;
            pauseLock.notifyAll();
        }
        server.close();
        for (Pair pair : pairs)
            pair.close(false);
        threads.shutdownNow();
    }

    private final class Pair
    {
        private final int number;
        private final Socket client;
        private final Socket upstream;
        private final AtomicInteger directionsDone = new AtomicInteger();

        private Pair(int number, Socket client, Socket upstream)
        {
            this.number = number;
            this.client = client;
            this.upstream = upstream;
        }

        private void start(HostPort target)
        {
            try
            {
                upstream.connect(new InetSocketAddress(target.host(), target.port()), CONNECT_TIMEOUT_MILLIS);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                threads.execute(() -> copy(client, upstream));
                copy(upstream, client);
            }
            catch (IOException x)
            {
                close(false);
            }
        }

        private void copy(Socket from, Socket to)
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true)
                {
                    int n = in.read(buffer);
                    if (!awaitForwarding())
                        break;
                    if (n < 0)
                    {
                        to.shutdownOutput();
                        break;
                    }
                    out.write(buffer, 0, n);
                }
                if (directionsDone.incrementAndGet() == 2)
                    close(false);
            }
            catch (IOException | InterruptedException x)
            {
                close(false);
            }
        }

        private void close(boolean reset)
        {
            pairs.remove(this);
            for (Socket socket : new Socket[]{client, upstream})
            {
                try
                {
                    if (reset && !socket.isClosed())
                        socket.setSoLinger(true, 0);
                    socket.close();
                }
                catch (IOException ignored)
                {
                    // Closing anyway.
                }
            }
        }
    }
}
