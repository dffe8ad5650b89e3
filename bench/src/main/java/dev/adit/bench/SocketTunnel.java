package dev.adit.bench;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * A blocking byte stream to a target: {@link Transport#DIRECT} (plain TCP to the target),
 * {@link Transport#H1} (CONNECT over HTTP/1.1 to Adit), both a JDK {@link SocketChannel} fed
 * from direct buffers (no copy on the client's side), or {@link Transport#H1_TLS} (the same
 * CONNECT inside a JDK {@link SSLSocket}, ALPN {@code http/1.1}). Opening returns once the
 * tunnel exists (the 200 was read); bytes that came with the 200 are read first. TCP_NODELAY
 * is on. Use {@link #buffer(int)} for buffers: direct for channels, heap-backed for TLS.
 */
final class SocketTunnel implements Closeable {
    private static final SSLSocketFactory TLS = TrustAll.sslContext().getSocketFactory();

    private final SocketChannel channel;
    private final Socket tls;
    private final InputStream tlsIn;
    private final OutputStream tlsOut;
    private ByteBuffer early;

    private SocketTunnel(SocketChannel channel, SSLSocket tls) throws IOException {
        this.channel = channel;
        this.tls = tls;
        this.tlsIn = tls == null ? null : tls.getInputStream();
        this.tlsOut = tls == null ? null : tls.getOutputStream();
    }

    /** Opens a tunnel to {@code 127.0.0.1:targetPort} over {@code transport} (not HTTP/2). */
    static SocketTunnel open(Transport transport, Ports adit, int targetPort) throws IOException {
        return open(transport, adit, "127.0.0.1", targetPort);
    }

    /** Opens a tunnel to {@code targetHost:targetPort} over {@code transport} (not HTTP/2). */
    static SocketTunnel open(Transport transport, Ports adit, String targetHost, int targetPort) throws IOException {
        SocketTunnel tunnel;
        switch (transport) {
            case DIRECT -> tunnel = new SocketTunnel(connect(targetHost, targetPort), null);
            case H1 -> tunnel = new SocketTunnel(connect("127.0.0.1", adit.http()), null);
            case H1_TLS -> {
                Socket socket = new Socket();
                try {
                    socket.setTcpNoDelay(true);
                    socket.connect(new InetSocketAddress("127.0.0.1", adit.https()));
                    SSLSocket ssl = (SSLSocket) TLS.createSocket(socket, "127.0.0.1", adit.https(), true);
                    SSLParameters parameters = ssl.getSSLParameters();
                    parameters.setApplicationProtocols(new String[] {"http/1.1"});
                    ssl.setSSLParameters(parameters);
                    ssl.startHandshake();
                    tunnel = new SocketTunnel(null, ssl);
                } catch (IOException | RuntimeException x) {
                    socket.close();
                    throw x;
                }
            }
            default -> throw new IllegalArgumentException(transport + " is not a socket transport");
        }
        if (transport != Transport.DIRECT) {
            try {
                tunnel.connectRequest(targetHost + ":" + targetPort);
            } catch (IOException | RuntimeException x) {
                tunnel.close();
                throw x;
            }
        }
        return tunnel;
    }

    private static SocketChannel connect(String host, int port) throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.connect(new InetSocketAddress(host, port));
            return channel;
        } catch (IOException | RuntimeException x) {
            channel.close();
            throw x;
        }
    }

    /** HTTP/1.1 CONNECT (RFC 9110 §9.3.6); a 2xx head, anything after it kept as early bytes. */
    private void connectRequest(String authority) throws IOException {
        byte[] request = ("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        write(ByteBuffer.wrap(request));
        ByteBuffer head = ByteBuffer.allocate(4096);
        int end;
        while ((end = indexOf(head, "\r\n\r\n")) < 0) {
            if (!head.hasRemaining()) {
                throw new IOException("CONNECT response head longer than " + head.capacity() + " bytes");
            }
            if (readRaw(head) < 0) {
                throw new EOFException("no CONNECT response");
            }
        }
        String text = new String(head.array(), 0, head.position(), StandardCharsets.US_ASCII);
        String statusLine = text.substring(0, text.indexOf("\r\n"));
        if (!statusLine.matches("HTTP/1\\.1 2\\d\\d.*")) {
            throw new IOException("CONNECT " + authority + ": " + statusLine);
        }
        int bodyStart = end + 4;
        if (bodyStart < head.position()) {
            early = ByteBuffer.wrap(head.array(), bodyStart, head.position() - bodyStart);
        }
    }

    private static int indexOf(ByteBuffer buffer, String what) {
        String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
        return text.indexOf(what);
    }

    /** A buffer suited to this tunnel's reads and writes. */
    ByteBuffer buffer(int size) {
        return channel != null ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
    }

    /** Writes all of {@code bytes}. */
    void write(ByteBuffer bytes) throws IOException {
        if (channel != null) {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } else {
            tlsOut.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
            bytes.position(bytes.limit());
        }
    }

    /** Reads what is there (blocking for at least one byte); -1 at the end of input. */
    int read(ByteBuffer into) throws IOException {
        if (early != null) {
            int n = Math.min(early.remaining(), into.remaining());
            into.put(early.slice().limit(n));
            early.position(early.position() + n);
            if (!early.hasRemaining()) {
                early = null;
            }
            return n;
        }
        return readRaw(into);
    }

    private int readRaw(ByteBuffer into) throws IOException {
        if (channel != null) {
            return channel.read(into);
        }
        int n = tlsIn.read(into.array(), into.arrayOffset() + into.position(), into.remaining());
        if (n > 0) {
            into.position(into.position() + n);
        }
        return n;
    }

    /** Reads exactly {@code into.remaining()} bytes. */
    void readFully(ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (read(into) < 0) {
                throw new EOFException("ended " + into.remaining() + " bytes short");
            }
        }
    }

    /** FIN towards the target (through the tunnel); over TLS close_notify first. */
    void shutdownOutput() throws IOException {
        if (channel != null) {
            channel.shutdownOutput();
        } else {
            tls.shutdownOutput();
        }
    }

    /** Reads and drops until the end of input. */
    void drain(ByteBuffer scratch) throws IOException {
        do {
            scratch.clear();
        } while (read(scratch) >= 0);
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        } else {
            tls.close();
        }
    }
}
