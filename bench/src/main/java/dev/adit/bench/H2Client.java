package dev.adit.bench;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Jetty's {@link HTTP2Client}, for CONNECT over h2c (prior knowledge) or h2 (TLS, ALPN, trust
 * all). Windows as Adit's defaults (8 MiB per stream, 32 MiB per connection) so that the
 * client's receive window is never what limits a download; frame size Jetty's default (16 KiB).
 * Idle timeouts are long (10 min): the idle-tunnel rows hold streams without traffic.
 */
final class H2Client implements AutoCloseable {
    static final int STREAM_WINDOW = 8 * 1024 * 1024;
    static final int SESSION_WINDOW = 32 * 1024 * 1024;

    private final Transport transport;
    private final HTTP2Client client;

    H2Client(Transport transport) throws Exception {
        if (!transport.isHttp2()) {
            throw new IllegalArgumentException(transport + " is not HTTP/2");
        }
        this.transport = transport;
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("bench-" + transport.name().toLowerCase());
        threads.setDaemon(true);
        ClientConnector connector = new ClientConnector();
        connector.setExecutor(threads);
        if (transport.isTls()) {
            connector.setSslContextFactory(TrustAll.jettyClient());
        }
        client = new HTTP2Client(connector);
        client.setInitialStreamRecvWindow(STREAM_WINDOW);
        client.setInitialSessionRecvWindow(SESSION_WINDOW);
        client.setIdleTimeout(600_000);
        client.setStreamIdleTimeout(600_000);
        client.setConnectTimeout(10_000);
        client.start();
    }

    Transport transport() {
        return transport;
    }

    /**
     * A new HTTP/2 connection to Adit, ready once Adit's SETTINGS have been applied. Jetty's own
     * future completes as soon as the client's preface is written, and Jetty 12.1.12's client can
     * give a stream opened while Adit's first SETTINGS are being applied the initial window twice
     * (16 MiB against Adit's 8 MiB): an upload on it then over-sends and Adit ends the connection
     * with FLOW_CONTROL_ERROR, as one bulk row once saw.
     */
    Session connect(Ports adit) throws Exception {
        CompletableFuture<Void> settings = new CompletableFuture<>();
        Session.Listener listener = new Session.Listener() {
            @Override
            public void onSettings(Session session, SettingsFrame frame) {
                settings.complete(null); // called after Jetty applied them
            }
        };
        var session = transport.isTls()
            ? client.connect(client.getClientConnector().getSslContextFactory(), new InetSocketAddress("127.0.0.1", adit.https()), listener)
            : client.connect(new InetSocketAddress("127.0.0.1", adit.http()), listener);
        Session connected = session.get(10, TimeUnit.SECONDS);
        try {
            settings.get(10, TimeUnit.SECONDS);
        } catch (Exception x) {
            ((HTTP2Session) connected).disconnect();
            throw x;
        }
        return connected;
    }

    /** Sends a plain CONNECT (RFC 9113 §8.5: {@code :method} and {@code :authority} only). */
    static void open(Session session, int targetPort, TunnelStream tunnel) {
        open(session, "127.0.0.1", targetPort, tunnel);
    }

    /** As above, to {@code targetHost:targetPort}. */
    static void open(Session session, String targetHost, int targetPort, TunnelStream tunnel) {
        var request = new MetaData.ConnectRequest((String) null, new HostPortHttpField(targetHost + ":" + targetPort), null, HttpFields.EMPTY, null);
        session.newStream(new HeadersFrame(request, null, false), Promise.from(tunnel::attach, tunnel::onError), tunnel);
    }

    /**
     * Ends a connection at once: RST_STREAM(CANCEL) for every open stream, GOAWAY, then the TCP
     * close (a GOAWAY alone would wait for the streams, and a download never ends by itself).
     * Waits up to 5 s for the close.
     */
    static void close(Session session) {
        if (session == null) {
            return;
        }
        for (Stream stream : session.getStreams()) {
            if (!stream.isReset()) {
                stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
            }
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        Runnable disconnect = () -> {
            ((HTTP2Session) session).disconnect();
            closed.complete(null);
        };
        if (!session.close(ErrorCode.NO_ERROR.code, "bench done", Callback.from(disconnect, x -> disconnect.run()))) {
            disconnect.run();
        }
        try {
            closed.get(5, TimeUnit.SECONDS);
        } catch (Exception x) {
            ((HTTP2Session) session).disconnect();
        }
    }

    @Override
    public void close() {
        try {
            client.stop();
        } catch (Exception x) {
            throw new IllegalStateException("stopping the HTTP/2 client", x);
        }
    }
}
