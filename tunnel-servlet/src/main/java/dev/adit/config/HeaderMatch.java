package dev.adit.config;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One request-header condition of a route. A header sent several times matches when any of its
 * values does.
 *
 * @param name  the header name, matched case-insensitively
 * @param kind  how the value is compared
 * @param value the expected value, prefix or regular expression; empty for presence tests
 */
public record HeaderMatch(String name, Kind kind, String value)
{
    /** How a header is compared. */
    public enum Kind
    {
        /** A value equals {@link #value()}. */
        EXACT,
        /** A value starts with {@link #value()}. */
        PREFIX,
        /** A whole value matches the regular expression {@link #value()}. */
        REGEX,
        /** The header is sent, with any value. */
        PRESENT,
        /** The header is not sent. */
        ABSENT
    }

    public HeaderMatch
    {
        name = Objects.requireNonNull(name, "name").toLowerCase(Locale.ROOT);
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        if (kind == Kind.REGEX)
            Pattern.compile(value);
    }
}
