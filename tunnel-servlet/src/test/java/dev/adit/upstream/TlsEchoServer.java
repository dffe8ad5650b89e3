package dev.adit.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import dev.adit.testing.TestCertificates;
import dev.adit.tls.PemCredentials;

/**
 * A TLS echo server on {@code 127.0.0.1}, port 0, with the dev PKI's server certificate
 * (CN=localhost, SANs localhost, 127.0.0.1, ::1), blocking sockets, one thread per connection.
 *
 * <p>Each connection first reads {@code preambleLength} raw bytes (what a dial writes in clear
 * before TLS), then layers a server-mode {@link SSLSocket} over the socket, handshakes, records
 * what it saw ({@link Session}), writes its greeting (if any: a server that speaks first) and
 * echoes until EOF. {@link #session(int)} completes after the
 * handshake, or exceptionally with the handshake's failure; {@link #echoed(int)} once the
 * connection ended, with the bytes echoed.</p>
 *
 * <p>{@link #echoAfterEnd(int)} makes it store and forward instead: read to the client's
 * close_notify, then echo in many small records and close. That is the shape in which a
 * proxy that half-closed towards the server finds several whole records and the server's FIN
 * in its socket at once.</p>
 */
public final class TlsEchoServer implements AutoCloseable
{
    /** What connection {@code i} saw: the clear preamble, the TLS parameters, the client. */
    public record Session(byte[] preamble, List<String> serverNames, String protocol, String applicationProtocol, X509Certificate clientCertificate)
    {
    }

    private final ServerSocket server;
    private final SSLContext context;
    private final boolean needClientAuth;
    private final String[] protocols;
    private final String[] applicationProtocols;
    private final int preambleLength;
    private final byte[] greeting;
    private final ExecutorService threads = Executors.newCachedThreadPool(r ->
    {
        Thread t = new Thread(r, "tls-echo");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger accepted = new AtomicInteger();
    private final Map<Integer, CompletableFuture<Session>> sessions = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<Long>> echoed = new ConcurrentHashMap<>();
    private volatile int afterEndRecordSize;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

    /**
     * @param needClientAuth       require a client certificate signed by the dev CA
     * @param protocols            TLS versions to allow, null for the JDK's defaults
     * @param applicationProtocols ALPN protocols the server accepts, in preference order; empty for no ALPN
     * @param preambleLength       clear bytes to read before the handshake
     * @param greeting             bytes to write right after the handshake, before echoing
     */
    public TlsEchoServer(boolean needClientAuth, String[] protocols, String[] applicationProtocols, int preambleLength, byte[] greeting) throws Exception
    {
        this.context = serverContext(TestCertificates.serverChain(), TestCertificates.serverKey(), TestCertificates.caPem());
        this.needClientAuth = needClientAuth;
        this.protocols = protocols;
        this.applicationProtocols = applicationProtocols;
        this.preambleLength = preambleLength;
        this.greeting = greeting.clone();
        this.server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    public static TlsEchoServer plain() throws Exception
    {
        return new TlsEchoServer(false, null, new String[0], 0, new byte[0]);
    }

    public int port()
    {
        return server.getLocalPort();
    }

    /** The certificate the server presents. */
    public static X509Certificate serverCertificate()
    {
        return PemCredentials.certificates(TestCertificates.serverChain()).get(0);
    }

    public CompletableFuture<Session> session(int index)
    {
        return sessions.computeIfAbsent(index, i -> new CompletableFuture<>());
    }

    /**
     * @return the bytes connection {@code index} wrote back, once it read the client's end and
     * wrote everything; exceptionally if it failed
     */
    public CompletableFuture<Long> echoed(int index)
    {
        return echoed.computeIfAbsent(index, i -> new CompletableFuture<>());
    }

    /**
     * Store and forward for the connections accepted from now on: read everything up to the
     * client's close_notify, then write it back in records of at most {@code recordSize} bytes
     * (one flush each) and close. Needs TLS 1.3 (or a client that keeps reading after its
     * close_notify): the server writes after the client ended its side.
     */
    public TlsEchoServer echoAfterEnd(int recordSize)
    {
        if (recordSize <= 0)
            throw new IllegalArgumentException("recordSize " + recordSize);
        afterEndRecordSize = recordSize;
        return this;
    }

    private static SSLContext serverContext(Path chain, Path key, Path ca) throws GeneralSecurityException
    {
        char[] password = "test".toCharArray();
        KeyStore keyStore = PemCredentials.keyStore(chain, key, password);
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(keyStore, password);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(PemCredentials.trustStore(ca));
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
        return context;
    }

    private void acceptLoop()
    {
        while (!server.isClosed())
        {
            Socket socket;
            try
            {
                socket = server.accept();
            }
            catch (IOException x)
            {
                return;
            }
            int index = accepted.getAndIncrement();
            sockets.add(socket);
            threads.execute(() -> serve(socket, index));
        }
    }

    private void serve(Socket raw, int index)
    {
        CompletableFuture<Session> session = session(index);
        CompletableFuture<Long> done = echoed(index);
        int recordSize = afterEndRecordSize;
        try (raw)
        {
            raw.setSoTimeout(10_000);
            byte[] preamble = raw.getInputStream().readNBytes(preambleLength);
            // A server-mode socket over the connected one: what follows the preamble is TLS.
            SSLSocket tls = (SSLSocket)context.getSocketFactory().createSocket(raw, null, true);
            sockets.add(tls);
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setNeedClientAuth(needClientAuth);
            if (protocols != null)
                parameters.setProtocols(protocols);
            if (applicationProtocols.length > 0)
                parameters.setApplicationProtocols(applicationProtocols);
            tls.setSSLParameters(parameters);
            try (tls)
            {
                tls.startHandshake();
                SSLSession handshaken = tls.getSession();
                List<String> names = ((ExtendedSSLSession)handshaken).getRequestedServerNames().stream()
                    .map(name -> name instanceof SNIHostName host ? host.getAsciiName() : name.toString())
                    .toList();
                session.complete(new Session(preamble, names, handshaken.getProtocol(), tls.getApplicationProtocol(), clientCertificate(handshaken)));
                tls.getOutputStream().write(greeting);
                tls.getOutputStream().flush();
                long count = recordSize > 0
                    ? echoAfterEnd(tls.getInputStream(), tls.getOutputStream(), recordSize)
                    : echo(tls.getInputStream(), tls.getOutputStream());
                done.complete(count);
            }
        }
        catch (Throwable x)
        {
            session.completeExceptionally(x);
            done.completeExceptionally(x);
        }
    }

    private static X509Certificate clientCertificate(SSLSession session)
    {
        try
        {
            return (X509Certificate)session.getPeerCertificates()[0];
        }
        catch (SSLPeerUnverifiedException x)
        {
            return null;
        }
    }

    private static long echo(InputStream in, OutputStream out) throws IOException
    {
        byte[] buffer = new byte[16 * 1024];
        long count = 0;
        for (int n; (n = in.read(buffer)) >= 0; )
        {
            out.write(buffer, 0, n);
            out.flush();
            count += n;
        }
        return count;
    }

    private static long echoAfterEnd(InputStream in, OutputStream out, int recordSize) throws IOException
    {
        byte[] all = in.readAllBytes();
        // SSLSocket makes one record per flush: many small records, all queued before the FIN.
        for (int at = 0; at < all.length; at += recordSize)
        {
            out.write(all, at, Math.min(recordSize, all.length - at));
            out.flush();
        }
        return all.length;
    }

    @Override
    public void close() throws IOException
    {
        server.close();
        for (Socket socket : sockets)
        {
            try
            {
                socket.close();
            }
            catch (IOException ignored)
            {
                // closing anyway
            }
        }
        threads.shutdownNow();
    }
}
