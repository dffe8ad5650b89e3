package dev.adit.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.adit.testing.Payloads;
import dev.adit.testing.TestCertificates;

/**
 * A local HTTPS server on 127.0.0.1 and a free port, in the test JVM, standing for one of the
 * places a scenario can send a tunnel to. It answers
 * <ul>
 *   <li>{@code GET /} with its name and a newline ({@code "backend\n"}), so a curl through the
 *   proxies shows which server answered;</li>
 *   <li>{@code GET /bulk} with {@value #BULK_SIZE} random bytes of its own (see {@link #bulkSha256()}),
 *   so a download is checked byte-exact and also says which server sent it.</li>
 * </ul>
 * Every request is counted. The certificate is the dev PKI's server certificate
 * ({@link TestCertificates}, {@code CN=localhost}, SAN {@code IP:127.0.0.1}); clients use
 * {@code -k}. Plain JDK ({@code com.sun.net.httpserver}), HTTP/1.1 only: no ALPN h2.
 */
final class TlsWebServer implements AutoCloseable
{
    static final String BULK_PATH = "/bulk";
    static final int BULK_SIZE = 4 << 20;

    private final String name;
    private final byte[] bulk;
    private final String bulkSha256;
    private final AtomicInteger requests = new AtomicInteger();
    private final ExecutorService executor;
    private final HttpsServer server;

    private TlsWebServer(String name) throws IOException, GeneralSecurityException
    {
        this.name = name;
        this.bulk = Payloads.random(BULK_SIZE);
        this.bulkSha256 = Payloads.sha256(bulk);
        this.executor = Executors.newFixedThreadPool(16, r ->
        {
            Thread thread = new Thread(r, "tls-web-" + name);
            thread.setDaemon(true);
            return thread;
        });
        this.server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setHttpsConfigurator(new HttpsConfigurator(sslContext(TestCertificates.serverChain(), TestCertificates.serverKey())));
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    /** Starts a server whose {@code GET /} answers {@code name + "\n"}. */
    static TlsWebServer start(String name) throws IOException, GeneralSecurityException
    {
        TlsWebServer web = new TlsWebServer(name);
        web.server.start();
        return web;
    }

    private void handle(HttpExchange exchange) throws IOException
    {
        requests.incrementAndGet();
        try (exchange)
        {
            try (InputStream in = exchange.getRequestBody())
            {
                in.transferTo(OutputStream.nullOutputStream());
            }
            String path = exchange.getRequestURI().getPath();
            byte[] body;
            int status = 200;
            if (path.equals("/"))
                body = (name + "\n").getBytes(StandardCharsets.UTF_8);
            else if (path.equals(BULK_PATH))
                body = bulk;
            else
            {
                status = 404;
                body = (name + ": no " + path + "\n").getBytes(StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().set("Content-Type", path.equals(BULK_PATH) ? "application/octet-stream" : "text/plain; charset=utf-8");
            exchange.getResponseHeaders().set("X-Served-By", name);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody())
            {
                out.write(body);
            }
        }
    }

    String name()
    {
        return name;
    }

    int port()
    {
        return server.getAddress().getPort();
    }

    /** {@code 127.0.0.1:port}, for an {@code endpoints} key. */
    String authority()
    {
        return "127.0.0.1:" + port();
    }

    /** {@code https://127.0.0.1:port} followed by {@code path}. */
    String url(String path)
    {
        return "https://" + authority() + path;
    }

    /** Requests received so far, any path. */
    int requests()
    {
        return requests.get();
    }

    /** The lower-case hex SHA-256 of this server's {@value #BULK_PATH} body. */
    String bulkSha256()
    {
        return bulkSha256;
    }

    @Override
    public String toString()
    {
        return name + " on " + authority() + " (" + requests() + " requests)";
    }

    @Override
    public void close()
    {
        server.stop(0);
        executor.shutdownNow();
        try
        {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        }
        catch (InterruptedException x)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** A server SSLContext from a PEM chain and an unencrypted PKCS#8 EC key, as gen-certs.sh writes them. */
    private static SSLContext sslContext(Path chainPem, Path keyPem) throws IOException, GeneralSecurityException
    {
        Collection<? extends Certificate> chain;
        try (InputStream in = Files.newInputStream(chainPem))
        {
            chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        String pem = Files.readString(keyPem, StandardCharsets.US_ASCII);
        String base64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "").replaceAll("\\s", "");
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));

        // An in-memory key store only; the password protects nothing on disk.
        char[] password = "in-memory".toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("server", key, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), null, null);
        return context;
    }
}
