package dev.adit.config.mp;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsers for the value syntaxes of the configuration; each throws
 * {@link IllegalArgumentException} whose message is the "expected" part of the error.
 */
final class Values
{
    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h|d)?");

    private Values()
    {
    }

    /** Durations: {@code 0}, {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}, or ISO-8601 {@code PT30S}. */
    static Duration duration(String text)
    {
        String t = text.trim();
        if (t.startsWith("P") || t.startsWith("p"))
        {
            try
            {
                Duration d = Duration.parse(t.toUpperCase(Locale.ROOT));
                if (!d.isNegative())
                    return d;
            }
            catch (DateTimeParseException ignored)
            {
                // reported below
            }
            throw new IllegalArgumentException("a duration such as 30s, 500ms, 5m, 1h or PT30S");
        }
        Matcher m = DURATION.matcher(t.toLowerCase(Locale.ROOT));
        if (!m.matches() || m.group(2) == null && !m.group(1).matches("0+"))
            throw new IllegalArgumentException("a duration such as 30s, 500ms, 5m, 1h or PT30S");
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit)
        {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }

    static boolean bool(String text)
    {
        return switch (text.trim().toLowerCase(Locale.ROOT))
        {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("true or false");
        };
    }

    static int integer(String text, int min, int max)
    {
        try
        {
            int n = Integer.parseInt(text.trim());
            if (n >= min && n <= max)
                return n;
        }
        catch (NumberFormatException ignored)
        {
            // reported below
        }
        throw new IllegalArgumentException("an integer from " + min + " to " + max);
    }
}
