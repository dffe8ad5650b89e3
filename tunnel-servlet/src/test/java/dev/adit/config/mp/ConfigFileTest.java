package dev.adit.config.mp;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

import dev.adit.config.AditConfig;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Jetty module's configuration file: read as Java properties, below system properties. */
class ConfigFileTest
{
    @TempDir
    Path dir;

    @Test
    void theFileIsReadAsJavaPropertiesAndBound() throws Exception
    {
        Path file = Files.writeString(dir.resolve("adit.properties"),
            "# a comment\nadit.tunnel.idle-timeout = 5m\nadit.policy.deny=10.0.0.0/8,\\\n  [fd00::/8]\n", StandardCharsets.ISO_8859_1);
        ConfigFile source = ConfigFile.read(file);

        assertThat(source.getOrdinal()).isEqualTo(ConfigFile.ORDINAL);
        assertThat(source.getName()).isEqualTo("file:" + file.toAbsolutePath());
        assertThat(source.getValue("adit.policy.deny")).isEqualTo("10.0.0.0/8,[fd00::/8]");
        AditConfig config = ConfigBinder.bind(ConfigFile.build(source, getClass().getClassLoader()));
        assertThat(config.tunnel().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aSystemPropertyWinsOverTheFile() throws Exception
    {
        Path file = Files.writeString(dir.resolve("adit.properties"), "adit.tunnel.max-duration=5m\n");
        System.setProperty("adit.tunnel.max-duration", "7m");
        try
        {
            Config config = ConfigFile.build(ConfigFile.read(file), getClass().getClassLoader());
            assertThat(ConfigBinder.bind(config).tunnel().maxDuration()).isEqualTo(Duration.ofMinutes(7));
        }
        finally
        {
            System.clearProperty("adit.tunnel.max-duration");
        }
    }

    @Test
    void aMissingFileIsAnError()
    {
        assertThatThrownBy(() -> ConfigFile.read(dir.resolve("missing.properties"))).isInstanceOf(NoSuchFileException.class);
    }
}
