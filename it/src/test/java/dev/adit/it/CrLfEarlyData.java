package dev.adit.it;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jetty's stock HTTP/1.1 parser eats CR and LF bytes right after a CONNECT's head. Both ways of
 * putting Adit into jetty-home (the {@code adit} module and the WAR with
 * {@code adit-connect-path}) must put Adit's connection factory on Jetty's connector so that
 * they reach the target; this is the one check both run against their server.
 */
final class CrLfEarlyData
{
    private CrLfEarlyData()
    {
    }

    /**
     * Sends an HTTP/1.1 CONNECT to {@code echo} and 64 KiB of early data starting with
     * {@code \r\n\n} in one write, half-closes, and asserts that the echo target received the
     * early data whole and the client got it back after a 200.
     */
    static void assertReachesTheTargetWhole(JettyBase.Server server, TcpTarget echo, Duration timeout) throws Exception
    {
        byte[] early = Payloads.random(64 * 1024);
        early[0] = '\r';
        early[1] = '\n';
        early[2] = '\n';
        byte[] head = ("CONNECT " + echo.authority() + " HTTP/1.1\r\nHost: " + echo.authority() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        int before = echo.accepted();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port("h2c")))
        {
            socket.setSoTimeout((int)timeout.toMillis());
            OutputStream out = socket.getOutputStream();
            // The head and the early data in one write: the parser sees them in one buffer.
            byte[] both = new byte[head.length + early.length];
            System.arraycopy(head, 0, both, 0, head.length);
            System.arraycopy(early, 0, both, head.length, early.length);
            out.write(both);
            out.flush();
            socket.shutdownOutput();

            byte[] answer = socket.getInputStream().readAllBytes();
            String text = new String(answer, StandardCharsets.ISO_8859_1);
            assertThat(text).as(server.output()).startsWith("HTTP/1.1 200 ");
            int body = text.indexOf("\r\n\r\n") + 4;
            assertThat(Payloads.sha256(answer, body, answer.length - body)).as("the echo of the early data").isEqualTo(Payloads.sha256(early));
        }
        TcpTarget.Received received = echo.received(before).get(timeout.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.count()).isEqualTo(early.length);
        assertThat(received.sha256()).isEqualTo(Payloads.sha256(early));
    }
}
