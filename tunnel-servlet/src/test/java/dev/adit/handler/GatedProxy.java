package dev.adit.handler;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 proxy on loopback that reads each CONNECT head, answers 200 once a permit is
 * there ({@link #open}), then discards what comes until the connection ends; or, not
 * {@code http}, a plain TCP target that waits for a permit, then discards. It counts what it
 * accepted, read and saw end, so that a test can tell every upstream connection ended.
 */
final class GatedProxy implements AutoCloseable
{
    private static final Duration PERMIT_WAIT = Duration.ofSeconds(20);

    private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Semaphore permits = new Semaphore(0);
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger ended = new AtomicInteger();
    private final List<Socket> sockets = new ArrayList<>();
    private final boolean http;

    GatedProxy(boolean http) throws IOException
    {
        this.http = http;
        threads.execute(this::accept);
    }

    int port()
    {
        return server.getLocalPort();
    }

    /** Lets {@code n} more CONNECTs be answered. */
    void open(int n)
    {
        permits.release(n);
    }

    int accepted()
    {
        return accepted.get();
    }

    /** Requests read (every connection, when not {@code http}). */
    int requests()
    {
        return requests.get();
    }

    /** Connections that ended, by FIN or reset, at whatever point. */
    int ended()
    {
        return ended.get();
    }

    private void accept()
    {
        try
        {
            while (true)
            {
                Socket socket = server.accept();
                accepted.incrementAndGet();
                synchronized (sockets)
                {
                    sockets.add(socket);
                }
                threads.execute(() -> serve(socket));
            }
        }
        catch (IOException closed)
        {
            // the proxy is closing
        }
    }

    private void serve(Socket socket)
    {
        try (socket)
        {
            InputStream in = socket.getInputStream();
            if (http)
                readHead(in);
            requests.incrementAndGet();
            if (!permits.tryAcquire(PERMIT_WAIT.toMillis(), TimeUnit.MILLISECONDS))
                return;
            if (http)
            {
                OutputStream out = socket.getOutputStream();
                out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            in.transferTo(OutputStream.nullOutputStream());
        }
        catch (IOException x)
        {
            // Adit reset the connection, or the proxy is closing: it ended all the same.
        }
        catch (InterruptedException x)
        {
            Thread.currentThread().interrupt();
        }
        finally
        {
            ended.incrementAndGet();
        }
    }

    @Override
    public void close() throws IOException
    {
        server.close();
        synchronized (sockets)
        {
            for (Socket socket : sockets)
                socket.close();
        }
        threads.shutdownNow();
    }

    /** Reads up to and including the blank line that ends a head. */
    static String readHead(InputStream in) throws IOException
    {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n"))
        {
            int b = in.read();
            if (b < 0)
                throw new IOException("end of input in the head: " + head.toString(StandardCharsets.US_ASCII));
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }
}
