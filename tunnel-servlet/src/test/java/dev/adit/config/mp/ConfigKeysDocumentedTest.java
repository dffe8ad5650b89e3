package dev.adit.config.mp;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's configuration table lists every key the binder reads, with its default. */
class ConfigKeysDocumentedTest
{
    @Test
    void everyKeyTheBinderReadsHasARowInTheReadme() throws Exception
    {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (ConfigKey key : ConfigKeys.ALL)
        {
            String cell = key.defaultValue().isEmpty() ? "(none)" : "`" + key.defaultValue() + "`";
            assertThat(readme)
                .as("README row for %s", key.name())
                .contains("| `" + key.name() + "` | " + key.type() + " | " + cell + " |");
        }
    }

    @Test
    void theSampleConfigurationUsesOnlyDocumentedKeys() throws Exception
    {
        try (var lines = Files.lines(Path.of("..", "config", "default.properties")))
        {
            lines.map(String::trim)
                .map(l -> l.startsWith("# adit.") ? l.substring(2) : l)
                .filter(l -> l.startsWith("adit."))
                .map(l -> l.substring(0, l.indexOf('=')))
                .forEach(k -> assertThat(ConfigKeys.BY_NAME).as("documented key %s", k).containsKey(k));
        }
    }
}
