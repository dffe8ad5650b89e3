package dev.adit.config;

import java.util.List;

/**
 * An invalid configuration: one problem per entry, each naming the key, the value and what was
 * expected, in the form {@code adit.http.port: 70000 (expected: a port from 0 to 65535)}.
 */
public class ConfigException extends RuntimeException
{
    private final List<String> problems;

    public ConfigException(List<String> problems)
    {
        super("invalid configuration:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems()
    {
        return problems;
    }
}
