package dev.adit.config.mp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

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
    void theConfigurationFilesUseOnlyDocumentedKeys() throws Exception
    {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("..", "config")))
        {
            files = list.filter(f -> f.toString().endsWith(".properties")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path file : files)
        {
            for (String line : Files.readAllLines(file))
            {
                String l = line.trim();
                if (l.startsWith("# adit."))
                    l = l.substring(2);
                if (!l.startsWith("adit.") || l.indexOf('=') < 0)
                    continue;
                String key = l.substring(0, l.indexOf('=')).trim();
                assertThat(ConfigKeys.BY_NAME.containsKey(key) || ConfigKeys.TEMPLATES.stream().anyMatch(p -> p.matcher(key).matches()))
                    .as("%s: documented key %s", file.getFileName(), key)
                    .isTrue();
            }
        }
    }

    @Test
    void templatesMatchOnlyWellFormedNames()
    {
        assertThat(ConfigKeys.ROUTE_MATCH_HEADER_EXACT.pattern().matcher("adit.route.back-1.match.header.x-foo.exact").matches()).isTrue();
        assertThat(ConfigKeys.ROUTE_MATCH_HEADER_EXACT.pattern().matcher("adit.route.Back.match.header.x-foo.exact").matches()).isFalse();
        assertThat(ConfigKeys.CLUSTER_TLS_CA.pattern().matcher("adit.cluster.backend.tls.ca").matches()).isTrue();
        assertThat(ConfigKeys.CLUSTER_TLS_CA.pattern().matcher("adit.cluster.backend.tls.cafile").matches()).isFalse();
    }
}
