package dev.adit.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.adit.testing.Payloads;

/**
 * curl fetching an HTTPS URL through an HTTP proxy with CONNECT, as the scenarios are tried by
 * hand: {@code curl -sS -k -p -x http://127.0.0.1:PORT [--proxy-header 'foo: bar'] URL}. The body
 * goes to a temporary file; curl's own output (errors, and a last line with the CONNECT and the
 * response status) is kept for assertion messages.
 */
final class ProxyCurl
{
    /** The header of the proxy scenario, sent to the proxy only (in the CONNECT request). */
    static final String FOO_BAR = "foo: bar";

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String MAX_TIME = "60";
    private static final Pattern STATUS = Pattern.compile("curl-status connect=(\\d+) response=(\\d+)");

    /**
     * One fetch: curl's exit code, the status of the proxy's answer to the CONNECT, the status of
     * the response through the tunnel (0 when there was none), the body and curl's output.
     */
    record Fetch(List<String> command, int exitCode, int connectStatus, int responseStatus, byte[] body, String output)
    {
        String bodyText()
        {
            return new String(body, StandardCharsets.UTF_8);
        }

        String bodySha256()
        {
            return Payloads.sha256(body);
        }

        /** The command, exit code, statuses and curl's output, for assertion messages. */
        String describe()
        {
            String text = body.length <= 200 ? "body: " + bodyText().strip() : "body: " + body.length + " bytes, sha256 " + bodySha256();
            StringBuilder line = new StringBuilder();
            for (String arg : command)
            {
                String shown = arg.replace("\n", "\\n");
                line.append(line.length() == 0 ? "" : " ").append(shown.isEmpty() || shown.contains(" ") ? "'" + shown + "'" : shown);
            }
            return line + "\nexit " + exitCode + ", CONNECT " + connectStatus + ", response " + responseStatus + ", " + text
                + "\ncurl output:\n" + output;
        }
    }

    private ProxyCurl()
    {
    }

    /** GETs {@code url} through the HTTP proxy on {@code 127.0.0.1:proxyPort}, with {@code 'foo: bar'} on the CONNECT if {@code fooBar}. */
    static Fetch fetch(int proxyPort, String url, boolean fooBar) throws IOException, InterruptedException
    {
        Path body = Files.createTempFile("adit-it-body-", ".bin");
        try
        {
            List<String> command = new ArrayList<>(List.of(
                "curl",
                "-q",                     // ignore any ~/.curlrc
                "-sS", "-k",
                "--max-time", MAX_TIME,
                "--noproxy", "",          // NO_PROXY=127.0.0.1 in the environment would bypass -x
                "-p", "-x", "http://127.0.0.1:" + proxyPort));
            if (fooBar)
                command.addAll(List.of("--proxy-header", FOO_BAR));
            command.addAll(List.of(
                "-o", body.toString(),
                "-w", "\ncurl-status connect=%{http_connect} response=%{http_code}\n",
                url));
            Commands.Result result = Commands.run(TIMEOUT, command);
            Matcher m = STATUS.matcher(result.output());
            int connect = -1;
            int response = -1;
            if (m.find())
            {
                connect = Integer.parseInt(m.group(1));
                response = Integer.parseInt(m.group(2));
            }
            return new Fetch(command, result.exitCode(), connect, response, Files.readAllBytes(body), result.output());
        }
        finally
        {
            Files.deleteIfExists(body);
        }
    }
}
