package dev.adit.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A CONNECT tunnel over HTTP/1.1 (plain or TLS) on its own blocking socket.
 *
 * <p>The response head is parsed byte by byte, so not one tunnel byte after the blank line is
 * consumed by the parser. Interim 1xx responses are skipped. For 2xx any {@code Content-Length}
 * is ignored (RFC 9110 §9.3.6: the tunnel starts right after the head); for other statuses the
 * body is read by {@code Content-Length}, chunked, or until close, at most 1 MiB.
 *
 * <p>Writes run on a per-tunnel writer thread so that {@link #write(byte[], Duration)} can be
 * bounded; a timed-out write stays queued. Reads run on the caller's thread with
 * {@code SO_TIMEOUT}.
 *
 * <p>TLS half-close: {@link #shutdownOutput(Duration)} calls {@link SSLSocket#shutdownOutput()},
 * which sends a TLS close_notify and keeps the input open under TLS 1.3 (JDK 11+, the JDK and
 * Jetty default); the proxy sees EOF. Under TLS 1.2 a peer answers close_notify with its own, so
 * the read side ends too. See {@code HarnessSelfTest} for what was verified.
 */
public final class Http1Tunnel implements Tunnel {
    static final int MAX_HEAD = 64 * 1024;
    static final int MAX_BODY = 1024 * 1024;
    private static final AtomicInteger IDS = new AtomicInteger();
    private static volatile SSLContext trustAll;

    private final Transport transport;
    private final Socket raw;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final ExecutorService writer;
    private final AtomicInteger pendingWrites = new AtomicInteger();
    private volatile Runnable onClose = () -> { };
    private int status;
    private String reason;
    private final Map<String, List<String>> headers = new LinkedHashMap<>();
    private byte[] body = new byte[0];

    private Http1Tunnel(Transport transport, Socket raw, Socket socket) throws IOException {
        this.transport = transport;
        this.raw = raw;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        String name = "h1-tunnel-writer-" + IDS.incrementAndGet();
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Connects, sends {@code CONNECT authority} with {@code headers} and {@code early} bytes (may be null) in one write, reads the response. */
    static Http1Tunnel open(Transport transport, InetSocketAddress proxy, String authority, Map<String, String> headers,
                            byte[] early, Duration timeout) throws Exception {
        return open(transport, proxy, authority, headers, early, timeout, null);
    }

    /** As above, over TLS with {@code tls}; null for the trust-all context without a client certificate. */
    static Http1Tunnel open(Transport transport, InetSocketAddress proxy, String authority, Map<String, String> headers,
                            byte[] early, Duration timeout, SSLContext tls) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Socket raw = new Socket();
        Http1Tunnel tunnel = null;
        try {
            raw.setTcpNoDelay(true);
            raw.connect(proxy, millis(deadline));
            Socket socket = raw;
            if (transport.isTls()) {
                SSLSocket ssl = (SSLSocket) (tls == null ? trustAll() : tls).getSocketFactory().createSocket(raw, proxy.getHostString(), proxy.getPort(), true);
                SSLParameters parameters = ssl.getSSLParameters();
                parameters.setApplicationProtocols(new String[] {"http/1.1"});
                ssl.setSSLParameters(parameters);
                ssl.setSoTimeout(millis(deadline));
                ssl.startHandshake();
                socket = ssl;
            }
            tunnel = new Http1Tunnel(transport, raw, socket);
            StringBuilder head = new StringBuilder()
                .append("CONNECT ").append(authority).append(" HTTP/1.1\r\n")
                .append("Host: ").append(authority).append("\r\n");
            headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
            head.append("\r\n");
            byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            byte[] first = headBytes;
            if (early != null && early.length > 0) {
                first = new byte[headBytes.length + early.length];
                System.arraycopy(headBytes, 0, first, 0, headBytes.length);
                System.arraycopy(early, 0, first, headBytes.length, early.length);
            }
            tunnel.write(first, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            tunnel.readResponse(authority, deadline, timeout);
            return tunnel;
        } catch (SocketTimeoutException x) {
            closeAfterFailure(tunnel, raw);
            TimeoutException t = new TimeoutException("CONNECT " + authority + " over " + transport + ": no response within " + timeout);
            t.initCause(x);
            throw t;
        } catch (Exception | Error x) {
            closeAfterFailure(tunnel, raw);
            throw x;
        }
    }

    private static void closeAfterFailure(Http1Tunnel tunnel, Socket raw) {
        if (tunnel != null) {
            tunnel.close();
        } else {
            try {
                raw.close();
            } catch (IOException ignored) {
                // failing anyway
            }
        }
    }

    private static SSLContext trustAll() {
        SSLContext context = trustAll;
        if (context == null) {
            trustAll = context = TrustAll.sslContext();
        }
        return context;
    }

    private void readResponse(String authority, long deadline, Duration timeout) throws IOException, TimeoutException {
        int[] headBudget = {MAX_HEAD};
        do {
            headers.clear();
            socket.setSoTimeout(millis(deadline));
            String statusLine = readLine(headBudget);
            if (statusLine == null) {
                throw new EOFException("CONNECT " + authority + ": connection closed before the response");
            }
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("CONNECT " + authority + ": bad status line: " + statusLine);
            }
            status = Integer.parseInt(parts[1]);
            reason = parts.length > 2 ? parts[2] : "";
            for (String line; !(line = readLine(headBudget)).isEmpty(); ) {
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("CONNECT " + authority + ": bad header line: " + line);
                }
                headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(line.substring(colon + 1).trim());
            }
        } while (status >= 100 && status < 200);
        if (!established()) {
            body = readBody(deadline);
        }
        socket.setSoTimeout(0);
    }

    /** One header line without CRLF; null at EOF before any byte. Byte by byte: never reads past the line. */
    private String readLine(int[] budget) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (line.size() == 0) {
                    return null;
                }
                throw new EOFException("EOF inside the response head");
            }
            if (--budget[0] < 0) {
                throw new IOException("response head larger than " + MAX_HEAD + " bytes");
            }
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            line.write(b);
        }
    }

    private byte[] readBody(long deadline) throws IOException {
        String length = header("content-length");
        String encoding = header("transfer-encoding");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (encoding != null && encoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            int[] budget = {MAX_HEAD};
            while (true) {
                String sizeLine = readLine(budget);
                if (sizeLine == null) {
                    throw new EOFException("EOF inside a chunked body");
                }
                int semicolon = sizeLine.indexOf(';');
                long size = Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
                if (size == 0) {
                    for (String trailer; (trailer = readLine(budget)) != null && !trailer.isEmpty(); ) {
                        // trailers are ignored
                    }
                    break;
                }
                copy(body, size, deadline);
                readLine(budget); // CRLF after the chunk
            }
        } else if (length != null) {
            copy(body, Long.parseLong(length), deadline);
        } else {
            copy(body, -1, deadline); // until close
        }
        return body.toByteArray();
    }

    /** Copies {@code n} bytes (or until EOF when n &lt; 0) into {@code body}, at most {@link #MAX_BODY}. */
    private void copy(ByteArrayOutputStream body, long n, long deadline) throws IOException {
        byte[] buf = new byte[8192];
        long left = n < 0 ? Long.MAX_VALUE : n;
        while (left > 0) {
            if (body.size() >= MAX_BODY) {
                throw new IOException("response body larger than " + MAX_BODY + " bytes");
            }
            socket.setSoTimeout(millis(deadline));
            int r = in.read(buf, 0, (int) Math.min(left, buf.length));
            if (r < 0) {
                if (n < 0) {
                    return;
                }
                throw new EOFException("EOF after " + (n - left) + " of " + n + " body bytes");
            }
            body.write(buf, 0, r);
            left -= r;
        }
    }

    private static int millis(long deadline) throws SocketTimeoutException {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (ms <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    void onClose(Runnable action) {
        this.onClose = action;
    }

    /** The socket carrying this tunnel (an {@link SSLSocket} for {@link Transport#HTTP1_TLS}). */
    public Socket socket() {
        return socket;
    }

    /** The reason phrase of the status line. */
    public String reason() {
        return reason;
    }

    @Override
    public Transport transport() {
        return transport;
    }

    @Override
    public int status() {
        return status;
    }

    @Override
    public Map<String, List<String>> headers() {
        return Collections.unmodifiableMap(headers);
    }

    @Override
    public byte[] responseBody() {
        return body.clone();
    }

    @Override
    public void write(byte[] bytes, Duration timeout) throws Exception {
        byte[] copy = bytes.clone();
        onWriter(() -> {
            out.write(copy);
            out.flush();
            return null;
        }, timeout, "write of " + bytes.length + " bytes");
    }

    @Override
    public void shutdownOutput(Duration timeout) throws Exception {
        onWriter(() -> {
            socket.shutdownOutput();
            return null;
        }, timeout, "shutdownOutput");
    }

    private void onWriter(Callable<Void> task, Duration timeout, String what) throws Exception {
        pendingWrites.incrementAndGet();
        Future<Void> future = writer.submit(() -> {
            try {
                return task.call();
            } finally {
                pendingWrites.decrementAndGet();
            }
        });
        try {
            future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException x) {
            throw new TimeoutException(transport + " tunnel: " + what + " not done within " + timeout + " (still pending)");
        } catch (ExecutionException x) {
            throw mapReset(x.getCause());
        }
    }

    @Override
    public int read(byte[] buf, Duration timeout) throws Exception {
        socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
        try {
            return in.read(buf);
        } catch (SocketTimeoutException x) {
            throw new TimeoutException(transport + " tunnel: no bytes within " + timeout);
        } catch (IOException x) {
            throw mapReset(x);
        }
    }

    /** A TCP reset / broken pipe (possibly wrapped by the TLS layer) becomes {@link TunnelResetException}. */
    private Exception mapReset(Throwable failure) {
        if (TunnelResetException.isTcpReset(failure)) {
            return new TunnelResetException(transport + " tunnel: TCP reset", TunnelResetException.NO_CODE, failure);
        }
        return failure instanceof Exception e ? e : new ExecutionException(failure);
    }

    /** Nothing to do: HTTP/1.1 backpressure is simply not reading (the socket buffers fill up). */
    @Override
    public void pauseReading() {
    }

    @Override
    public void resumeReading() {
    }

    /** {@code SO_LINGER 0} close of the TCP socket (not the TLS layer, so no close_notify): a RST. */
    @Override
    public void reset() {
        try {
            raw.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closed already
        }
        closeSocket(raw);
        writer.shutdownNow();
        onClose.run();
    }

    @Override
    public void close() {
        // SSLSocket.close() sends close_notify, which needs the write lock a blocked write holds.
        closeSocket(pendingWrites.get() > 0 ? raw : socket);
        closeSocket(raw);
        writer.shutdownNow();
        onClose.run();
    }

    private static void closeSocket(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public String toString() {
        return "Http1Tunnel[" + transport + " " + status + " " + socket.getLocalPort() + "->" + socket.getRemoteSocketAddress() + "]";
    }
}
