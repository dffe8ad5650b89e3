package dev.adit.config.mp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.spi.ConfigProviderResolver;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * A Java properties file as a MicroProfile Config source, and the {@link Config} Adit builds
 * around one where it is not given a {@code Config} (the Jetty module): the implementation's
 * default sources (system properties at 400, environment variables at 300,
 * {@code META-INF/microprofile-config.properties} at 100) plus the file at {@value #ORDINAL},
 * so {@code -Dadit.*} and {@code ADIT_*} override the file, as with the standalone jar.
 *
 * <p>Only the MicroProfile Config API is used: whichever implementation the class loader finds
 * (SmallRye Config in Adit's deployments) builds the {@code Config}.</p>
 */
public final class ConfigFile implements ConfigSource
{
    /** Below environment variables (300), above {@code microprofile-config.properties} (100). */
    public static final int ORDINAL = 250;

    private final String name;
    private final Map<String, String> properties;

    private ConfigFile(String name, Map<String, String> properties)
    {
        this.name = name;
        this.properties = Map.copyOf(properties);
    }

    /** Reads {@code file} now (ISO 8859-1 with escapes, as {@link Properties#load(InputStream)}). */
    public static ConfigFile read(Path file) throws IOException
    {
        Properties loaded = new Properties();
        try (InputStream in = Files.newInputStream(file))
        {
            loaded.load(in);
        }
        Map<String, String> properties = new HashMap<>();
        loaded.stringPropertyNames().forEach(k -> properties.put(k, loaded.getProperty(k)));
        return new ConfigFile("file:" + file.toAbsolutePath(), properties);
    }

    /**
     * The default sources plus {@code file}, when there is one.
     *
     * @param loader the class loader the implementation and {@code META-INF/microprofile-config.properties} are found with
     */
    public static Config build(ConfigFile file, ClassLoader loader)
    {
        var builder = ConfigProviderResolver.instance().getBuilder().forClassLoader(loader).addDefaultSources();
        if (file != null)
            builder.withSources(file);
        return builder.build();
    }

    @Override
    public Map<String, String> getProperties()
    {
        return properties;
    }

    @Override
    public Set<String> getPropertyNames()
    {
        return properties.keySet();
    }

    @Override
    public String getValue(String propertyName)
    {
        return properties.get(propertyName);
    }

    @Override
    public String getName()
    {
        return name;
    }

    @Override
    public int getOrdinal()
    {
        return ORDINAL;
    }
}
