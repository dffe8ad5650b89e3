package dev.adit.handler;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelResetException;

/**
 * A POST tunnel over HTTP/1.1 on a raw socket: {@code POST / HTTP/1.1} with
 * {@code Transfer-Encoding: chunked}, each {@link #write} one or more request chunks,
 * {@link #shutdownOutput} the terminating {@code 0\r\n\r\n} (the socket stays open).
 *
 * <p>A daemon reader thread parses the response head, then decodes the chunked response body
 * into a queue as it arrives, so the client reads while it is still sending (full duplex).
 * The terminating chunk → {@link #read} returns -1; the connection closing before it (FIN or
 * reset) → {@link TunnelResetException}. After a clean end the reader stops at the end of the
 * response, so {@link #next} can send another request on the same connection. Writes run on a
 * writer thread and are awaited with a timeout.</p>
 */
public final class Http1PostTunnel implements Tunnel
{
    public static final String TARGET_HEADER = "X-Adit-Target";
    private static final int MAX_CHUNK = 64 * 1024;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ExecutorService threads;
    private final CompletableFuture<Integer> status = new CompletableFuture<>();
    private final CompletableFuture<Boolean> ended = new CompletableFuture<>();
    private final Map<String, List<String>> headers = new LinkedHashMap<>();

    // Guarded by 'this'.
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private int headOffset;
    private boolean eof;
    private TunnelResetException failure;

    private Http1PostTunnel(Socket socket, InputStream in, ExecutorService threads) throws IOException
    {
        this.socket = socket;
        this.in = in;
        this.out = socket.getOutputStream();
        this.threads = threads;
    }

    /** Connects to the proxy, sends the POST head for {@code target} and waits for the response head. */
    public static Http1PostTunnel open(InetSocketAddress proxy, String target, Duration timeout) throws Exception
    {
        Socket socket = new Socket();
        try
        {
            socket.setTcpNoDelay(true);
            socket.connect(proxy, (int)timeout.toMillis());
            ExecutorService threads = Executors.newFixedThreadPool(2, r ->
            {
                Thread thread = new Thread(r, "h1-post-tunnel");
                thread.setDaemon(true);
                return thread;
            });
            return start(socket, new BufferedInputStream(socket.getInputStream()), threads, target, timeout);
        }
        catch (Exception | Error x)
        {
            socket.close();
            throw x;
        }
    }

    /** Another POST tunnel on the same connection, after this one ended cleanly. */
    Http1PostTunnel next(String target, Duration timeout) throws Exception
    {
        if (!ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS))
            throw new IllegalStateException("the previous response did not end cleanly");
        return start(socket, in, threads, target, timeout);
    }

    private static Http1PostTunnel start(Socket socket, InputStream in, ExecutorService threads, String target, Duration timeout) throws Exception
    {
        Http1PostTunnel tunnel = new Http1PostTunnel(socket, in, threads);
        String head = "POST / HTTP/1.1\r\n" +
            "Host: adit.test\r\n" +
            TARGET_HEADER + ": " + target + "\r\n" +
            "Content-Type: application/octet-stream\r\n" +
            "Transfer-Encoding: chunked\r\n" +
            "\r\n";
        tunnel.send(head.getBytes(StandardCharsets.US_ASCII), timeout, "request head");
        threads.execute(tunnel::readResponse);
        try
        {
            tunnel.status.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (ExecutionException x)
        {
            throw x.getCause() instanceof Exception e ? e : x;
        }
        return tunnel;
    }

    /**
     * After a clean end, waits for the server to close the idle connection.
     *
     * @return true if the server closed it within {@code timeout}, false if it stayed open
     */
    boolean awaitServerClose(Duration timeout) throws Exception
    {
        if (!ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS))
            throw new IllegalStateException("the response did not end cleanly");
        socket.setSoTimeout((int)timeout.toMillis());
        try
        {
            return in.read() < 0;
        }
        catch (java.net.SocketTimeoutException x)
        {
            return false;
        }
        catch (IOException x)
        {
            return true;
        }
    }

    // ---- the reader thread ----

    private void readResponse()
    {
        try
        {
            int code = readHead();
            status.complete(code);
            List<String> te = headers.getOrDefault("transfer-encoding", List.of());
            if (te.stream().anyMatch(v -> v.equalsIgnoreCase("chunked")))
                readChunked();
            else
                readToClose();
            synchronized (this)
            {
                eof = true;
                notifyAll();
            }
            ended.complete(true);
        }
        catch (IOException x)
        {
            ended.complete(false);
            status.completeExceptionally(x);
            fail(new TunnelResetException("HTTP/1.1 POST tunnel: " + x.getMessage(), TunnelResetException.NO_CODE, x));
        }
    }

    private int readHead() throws IOException
    {
        String statusLine = line();
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1."))
            throw new IOException("not an HTTP/1.1 response: " + statusLine);
        for (String header; !(header = line()).isEmpty(); )
        {
            int colon = header.indexOf(':');
            headers.computeIfAbsent(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .add(header.substring(colon + 1).trim());
        }
        return Integer.parseInt(parts[1]);
    }

    private void readChunked() throws IOException
    {
        while (true)
        {
            String sizeLine = line();
            int semicolon = sizeLine.indexOf(';');
            int size = Integer.parseInt((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
            if (size == 0)
            {
                // Trailers, if any, up to the empty line.
                while (!line().isEmpty())
                {
                    // ignored
                }
                return;
            }
            byte[] data = in.readNBytes(size);
            if (data.length < size)
                throw new EOFException("connection closed inside a chunk");
            deliver(data);
            if (!line().isEmpty())
                throw new IOException("chunk not followed by CRLF");
        }
    }

    private void readToClose() throws IOException
    {
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) >= 0; )
            deliver(java.util.Arrays.copyOf(buffer, n));
    }

    private String line() throws IOException
    {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true)
        {
            int b = in.read();
            if (b < 0)
                throw new EOFException("connection closed without the terminating chunk");
            if (b == '\n')
            {
                byte[] bytes = line.toByteArray();
                int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, length, StandardCharsets.US_ASCII);
            }
            line.write(b);
        }
    }

    private synchronized void deliver(byte[] data)
    {
        chunks.add(data);
        notifyAll();
    }

    private synchronized void fail(TunnelResetException x)
    {
        if (failure == null)
            failure = x;
        notifyAll();
    }

    // ---- Tunnel ----

    @Override
    public Transport transport()
    {
        return Transport.HTTP1;
    }

    @Override
    public int status()
    {
        return status.join();
    }

    @Override
    public Map<String, List<String>> headers()
    {
        return Collections.unmodifiableMap(headers);
    }

    @Override
    public byte[] responseBody()
    {
        return new byte[0];
    }

    @Override
    public int read(byte[] buf, Duration timeout) throws Exception
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this)
        {
            while (chunks.isEmpty() && !eof && failure == null)
            {
                long left = deadline - System.nanoTime();
                if (left <= 0)
                    throw new TimeoutException("HTTP/1.1 POST tunnel: no bytes within " + timeout);
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (chunks.isEmpty())
            {
                if (failure != null)
                    throw failure;
                return -1;
            }
            byte[] head = chunks.peek();
            int n = Math.min(buf.length, head.length - headOffset);
            System.arraycopy(head, headOffset, buf, 0, n);
            headOffset += n;
            if (headOffset == head.length)
            {
                chunks.poll();
                headOffset = 0;
            }
            return n;
        }
    }

    /** Sends {@code bytes} as request chunks of at most 64 KiB. */
    @Override
    public void write(byte[] bytes, Duration timeout) throws Exception
    {
        ByteArrayOutputStream framed = new ByteArrayOutputStream(bytes.length + 64);
        for (int at = 0; at < bytes.length; )
        {
            int length = Math.min(MAX_CHUNK, bytes.length - at);
            framed.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            framed.write(bytes, at, length);
            framed.write('\r');
            framed.write('\n');
            at += length;
        }
        send(framed.toByteArray(), timeout, "write of " + bytes.length + " bytes");
    }

    /** The terminating chunk: the end of the request body, the client's half-close. */
    @Override
    public void shutdownOutput(Duration timeout) throws Exception
    {
        send("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII), timeout, "terminating chunk");
    }

    private void send(byte[] bytes, Duration timeout, String what) throws Exception
    {
        Future<?> sent = threads.submit(() ->
        {
            out.write(bytes);
            out.flush();
            return null;
        });
        try
        {
            sent.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (TimeoutException x)
        {
            throw new TimeoutException("HTTP/1.1 POST tunnel: " + what + " not done within " + timeout);
        }
        catch (ExecutionException x)
        {
            throw x.getCause() instanceof Exception e ? e : x;
        }
    }

    @Override
    public void pauseReading()
    {
        // The reader thread always drains the socket.
    }

    @Override
    public void resumeReading()
    {
    }

    /** A TCP reset: close with SO_LINGER 0. */
    @Override
    public void reset()
    {
        try
        {
            socket.setSoLinger(true, 0);
        }
        catch (IOException ignored)
        {
            // closing anyway
        }
        close();
    }

    @Override
    public void close()
    {
        try
        {
            socket.close();
        }
        catch (IOException ignored)
        {
            // closing anyway
        }
        threads.shutdownNow();
    }

    @Override
    public String toString()
    {
        return "Http1PostTunnel[" + socket.getLocalSocketAddress() + "]";
    }
}
