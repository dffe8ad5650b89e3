package dev.adit.config.mp;

import java.util.Locale;

/**
 * One documented configuration key: the single place its name, type, default and meaning are
 * written. The README's key table is checked against these by a test.
 *
 * @param name         the MicroProfile Config property name, {@code adit.<area>.<key>}
 * @param type         what the value is, as shown to users ({@code duration}, {@code size}, ...)
 * @param defaultValue the default as written in configuration, empty when there is none
 * @param meaning      one sentence for the README
 */
public record ConfigKey(String name, String type, String defaultValue, String meaning)
{
    /** @return the environment variable MicroProfile Config maps to this key, e.g. {@code ADIT_HTTP_PORT} */
    public String environmentName()
    {
        return name.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }
}
