package dev.adit.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The jetty-home the Jetty module and WAR tests run on: unpacked by the build, a fresh base
 * configured with {@code --add-modules}, started as its own process. Tells a broken test
 * harness from a broken module.
 */
@Timeout(180)
class JettyHomeTest
{
    @TempDir
    Path base;

    @Test
    void aFreshBaseStartsAndServesAStaticContext() throws Exception
    {
        JettyBase jetty = new JettyBase(base);
        Commands.Result added = jetty.run("--add-modules=http,http2c,ee10-deploy");
        assertThat(added.exitCode()).as(added.output()).isZero();
        Path webapps = Files.createDirectories(base.resolve("webapps/hello"));
        Files.writeString(webapps.resolve("index.html"), "hello from jetty-home\n");
        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0").awaitStarted())
        {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port("h2c") + "/hello/")).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(server.output()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("hello from jetty-home\n");
        }
    }
}
