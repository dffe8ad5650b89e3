package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A scripted upstream HTTP proxy on {@code 127.0.0.1}, port 0, for one connection: it reads the
 * request head (up to the blank line), records it ({@link #requestHead()}), and then runs its
 * {@link Script} with blocking streams. Closing it closes the sockets and stops the thread.
 */
final class FakeProxy implements AutoCloseable
{
    /** What the proxy does after reading the request head; runs on the proxy's thread. */
    @FunctionalInterface
    interface Script
    {
        void answer(InputStream in, OutputStream out, FakeProxy proxy) throws IOException, InterruptedException;
    }

    private final ServerSocket server;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r ->
    {
        Thread t = new Thread(r, "fake-proxy");
        t.setDaemon(true);
        return t;
    });
    private final CompletableFuture<String> requestHead = new CompletableFuture<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile Socket socket;

    FakeProxy(Script script) throws IOException
    {
        server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        thread.execute(() -> serve(script));
    }

    /** Writes {@code head} then echoes until EOF, then FIN: a proxy that answered and now tunnels. */
    static Script answerThenEcho(byte[] head)
    {
        return (in, out, proxy) ->
        {
            out.write(head);
            out.flush();
            in.transferTo(out);
            proxy.socket.shutdownOutput();
        };
    }

    /** Writes {@code answer}, then closes the connection. */
    static Script answerThenClose(byte[] answer)
    {
        return (in, out, proxy) ->
        {
            out.write(answer);
            out.flush();
        };
    }

    /** Writes {@code answer}, then holds the connection open until the proxy is closed. */
    static Script answerThenWait(byte[] answer)
    {
        return (in, out, proxy) ->
        {
            out.write(answer);
            out.flush();
            proxy.closing.await();
        };
    }

    /** Reads the request and never answers, until the proxy is closed. */
    static Script silent()
    {
        return (in, out, proxy) -> proxy.closing.await();
    }

    String authority()
    {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** The accepted connection, for scripts that half-close or reset it; null before the accept. */
    Socket socket()
    {
        return socket;
    }

    /** The request head as received, blank line included. */
    CompletableFuture<String> requestHead()
    {
        return requestHead;
    }

    /** Completes when the script finished and the connection is closed. */
    CompletableFuture<Void> done()
    {
        return done;
    }

    private void serve(Script script)
    {
        try (Socket accepted = server.accept())
        {
            socket = accepted;
            accepted.setSoTimeout(10_000);
            InputStream in = accepted.getInputStream();
            requestHead.complete(readHead(in));
            script.answer(in, accepted.getOutputStream(), this);
        }
        catch (Throwable x)
        {
            requestHead.completeExceptionally(x);
            done.completeExceptionally(x);
            return;
        }
        done.complete(null);
    }

    private static String readHead(InputStream in) throws IOException
    {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < end.length)
        {
            int b = in.read();
            if (b < 0)
                throw new IOException("EOF in the request head: " + head.toString(StandardCharsets.ISO_8859_1));
            head.write(b);
            matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException
    {
        closing.countDown();
        server.close();
        Socket s = socket;
        if (s != null)
            s.close();
        thread.shutdownNow();
    }
}
