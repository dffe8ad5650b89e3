package dev.adit.embed;

import java.nio.ByteBuffer;

import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.annotation.Name;

/**
 * An {@link HttpConnectionFactory} whose connections never let the HTTP/1.1 parser touch the
 * bytes that follow the head of a CONNECT: those are the client's first tunnel bytes (early
 * data), and the tunnel must get every one of them.
 *
 * <p>Why: Jetty 12.1.12's {@link HttpParser#parseNext(ByteBuffer)}, once a request is complete
 * (state {@code END}), discards the CR and LF bytes that follow it ("Eat CR or LF white space,
 * but not SP", HttpParser.java line 1767): harmless between pipelined requests, but after a
 * CONNECT those bytes belong to the tunnel. A CONNECT has no content, so its head leaves the
 * parser in {@code CONTENT} with nothing to read; when Jetty consumes that empty content as the
 * 200 completes, {@code parseContent} moves on to {@code END} and the same {@code parseNext}
 * eats the CR and LF at the start of the early data still in the request buffer.
 * {@code HttpConnection.onUpgradeFrom()} then hands the tunnel what is left. Early data that
 * starts with CR or LF lost those bytes (2 in 256 random payloads do), 10000 of them all. Each
 * byte is counted against the header limit ({@code addAndCheckHeadersSize}), but that is a
 * no-op in {@code END}: no 431 comes of it, only silent loss.</p>
 *
 * <p>The fix: once the head of a CONNECT has been parsed, the parser is given an empty view
 * of the request buffer. It still completes the message (content end, then {@code END}) as
 * before, but consumes nothing; the bytes stay in the buffer for {@code onUpgradeFrom()}. Everything else is parsed as Jetty parses it: requests other than
 * CONNECT (pipelined ones keep their CR/LF tolerance), the content a CONNECT declares, if any,
 * and whatever follows a refused CONNECT once Jetty has closed or reset the parser. End of input
 * is unaffected: the parser only learns of it once the request buffer is empty.</p>
 *
 * <p>This relies on {@link HttpConnection}, which is public but in a package Jetty does not
 * export to JPMS modules: Adit runs on the class path. Adit's own listeners ({@link AditServer})
 * use this factory, and both Jetty modules ({@code adit} and {@code adit-connect-path}, through
 * {@link TunnelConnectors}) put it in place of the stock one on jetty-home's connectors; any
 * other Jetty connector keeps the loss.</p>
 */
public class TunnelHttpConnectionFactory extends HttpConnectionFactory
{
    public TunnelHttpConnectionFactory()
    {
        this(new HttpConfiguration());
    }

    public TunnelHttpConnectionFactory(@Name("config") HttpConfiguration config)
    {
        super(config);
    }

    /** What {@link HttpConnectionFactory#newConnection} does, with {@link TunnelHttpConnection}. */
    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint)
    {
        HttpConnection connection = new TunnelHttpConnection(getHttpConfiguration(), connector, endPoint);
        connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
        return configure(connection, connector, endPoint);
    }

    /** An {@link HttpConnection} whose parser leaves the bytes after a CONNECT head alone. */
    static final class TunnelHttpConnection extends HttpConnection
    {
        TunnelHttpConnection(HttpConfiguration configuration, Connector connector, EndPoint endPoint)
        {
            super(configuration, connector, endPoint);
        }

        /** Called by the super constructor; the handler records the method for the parser. */
        @Override
        protected RequestHandler newRequestHandler()
        {
            return new MethodRecordingHandler();
        }

        /** Jetty's parser, configured as Jetty configures it, but a {@link TunnelHttpParser}. */
        @Override
        protected HttpParser newHttpParser(HttpCompliance compliance)
        {
            // The stock parser lends the request handler (the super class keeps it private)
            // and the settings it was given; it is not used otherwise.
            HttpParser stock = super.newHttpParser(compliance);
            HttpParser parser = new TunnelHttpParser((MethodRecordingHandler)stock.getHandler(),
                getHttpConfiguration().getRequestHeaderSize(), compliance);
            parser.setHeaderCacheSize(stock.getHeaderCacheSize());
            parser.setHeaderCacheCaseSensitive(stock.isHeaderCacheCaseSensitive());
            return parser;
        }

        /**
         * Notes whether the request being parsed is a CONNECT. The parser keeps its method to
         * itself, and the channel's request is only reachable under its lock; the parser's own
         * callbacks see it first and on the parsing thread.
         */
        private final class MethodRecordingHandler extends RequestHandler
        {
            private boolean connect;

            @Override
            public void messageBegin()
            {
                connect = false;
                super.messageBegin();
            }

            @Override
            public void startRequest(String method, String uri, HttpVersion version)
            {
                connect = HttpMethod.CONNECT.is(method);
                super.startRequest(method, uri, version);
            }
        }
    }

    /**
     * Parses nothing past the head of a CONNECT: from then until Jetty resets or closes it, it
     * reads an empty view of the buffer (see the class comment).
     */
    private static final class TunnelHttpParser extends HttpParser
    {
        private final TunnelHttpConnection.MethodRecordingHandler handler;

        private TunnelHttpParser(TunnelHttpConnection.MethodRecordingHandler handler, int maxHeaderBytes, HttpCompliance compliance)
        {
            super(handler, maxHeaderBytes, compliance);
            this.handler = handler;
        }

        @Override
        public boolean parseNext(ByteBuffer buffer)
        {
            if (buffer.hasRemaining() && afterConnectHead())
                return super.parseNext(buffer.slice(buffer.position(), 0));
            return super.parseNext(buffer);
        }

        /**
         * True from the end of a CONNECT's head (and of its content, should it declare any)
         * until the parser is reset or closed: state {@code CONTENT} with nothing left to
         * read, then {@code CONTENT_END} and {@code END}. A CONNECT has no content (RFC 9110
         * §9.3.6), but a client may still send {@code Content-Length: 0}; declared bytes are
         * left to Jetty as content.
         */
        private boolean afterConnectHead()
        {
            if (!handler.connect)
                return false;
            return switch (getState())
            {
                case CONTENT -> !hasContent() || getContentRead() == getContentLength();
                case CONTENT_END, END -> true;
                default -> false;
            };
        }
    }
}
