package dev.adit.embed;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What {@link TunnelHttpConnectionFactory} must leave as Jetty has it: requests other than
 * CONNECT, pipelined with the CR and LF Jetty tolerates between them, and what follows a
 * CONNECT that was refused on a connection kept open. The tunnel side (the bytes after an
 * accepted CONNECT) is in {@code ConnectTerminationTest}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunnelHttpConnectionFactoryTest
{
    private static final int SO_TIMEOUT = 10_000;

    private final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
    private Server server;
    private ServerConnector connector;

    /** Answers every request with 200 and "METHOD path body"; a CONNECT with 405, keeping the connection. */
    @BeforeEach
    void start() throws Exception
    {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("factory-test");
        server = new Server(threads, null, pool);
        connector = new ServerConnector(server, new TunnelHttpConnectionFactory(new HttpConfiguration()));
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract()
        {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception
            {
                String body = Content.Source.asString(request, StandardCharsets.UTF_8);
                response.setStatus(HttpMethod.CONNECT.is(request.getMethod()) ? HttpStatus.METHOD_NOT_ALLOWED_405 : HttpStatus.OK_200);
                Content.Sink.write(response, true, request.getMethod() + " " + request.getHttpURI().getPath() + " " + body, callback);
                return true;
            }
        });
        server.start();
    }

    @AfterEach
    void stop() throws Exception
    {
        server.stop();
        assertThat(pool.getLeaks()).isEmpty();
    }

    @Test
    void pipelinedRequestsWithCrLfBetweenThemAreEachAnswered() throws Exception
    {
        String requests = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "\r\n"
            + "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        List<String> answers = exchange(requests);
        assertThat(answers).containsExactly("200 GET /a ", "200 POST /b hello", "200 GET /c ");
    }

    @Test
    void aRequestAfterARefusedConnectOnAKeptConnectionIsAnswered() throws Exception
    {
        // Once Jetty resets the parser for the next request, the bytes after the CONNECT are a
        // request again, leading CR LF included (the parser skips it at the start of a request).
        String requests = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
            + "\r\n"
            + "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        List<String> answers = exchange(requests);
        assertThat(answers).containsExactly("405 CONNECT / ", "200 GET /d ");
    }

    /** Sends {@code requests} in one write and reads answers until the server closes: "status body" each. */
    private List<String> exchange(String requests) throws IOException
    {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), connector.getLocalPort()))
        {
            socket.setSoTimeout(SO_TIMEOUT);
            socket.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            List<String> answers = new ArrayList<>();
            for (String answer; (answer = readResponse(in)) != null; )
                answers.add(answer);
            return answers;
        }
    }

    /** One response with a Content-Length body as "status body", or null at EOF before it. */
    private static String readResponse(InputStream in) throws IOException
    {
        String statusLine = readLine(in);
        if (statusLine == null)
            return null;
        String status = statusLine.split(" ", 3)[1];
        int length = 0;
        for (String line; !(line = readLine(in)).isEmpty(); )
        {
            int colon = line.indexOf(':');
            if (line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals(HttpHeader.CONTENT_LENGTH.lowerCaseName()))
                length = Integer.parseInt(line.substring(colon + 1).trim());
        }
        byte[] body = in.readNBytes(length);
        if (body.length < length)
            throw new EOFException("EOF inside a response body");
        return status + " " + new String(body, StandardCharsets.UTF_8);
    }

    /** A line without its CR LF; null at EOF before any byte. */
    private static String readLine(InputStream in) throws IOException
    {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; )
        {
            if (b < 0)
            {
                if (line.size() == 0)
                    return null;
                throw new EOFException("EOF inside a response head");
            }
            if (b != '\r')
                line.write(b);
        }
        return line.toString(StandardCharsets.US_ASCII);
    }
}
