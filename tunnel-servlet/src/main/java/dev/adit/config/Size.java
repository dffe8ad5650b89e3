package dev.adit.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A number of bytes, written in configuration as {@code 65536}, {@code 64KiB}, {@code 4MiB}
 * or {@code 1GiB} (binary units; {@code KB}/{@code MB}/{@code GB} are read as the same binary
 * units, as Jetty and most proxies do).
 */
public record Size(long bytes)
{
    private static final Pattern SYNTAX = Pattern.compile("(\\d{1,18})\\s*([kmg]i?b?|b)?", Pattern.CASE_INSENSITIVE);

    public Size
    {
        if (bytes < 0)
            throw new IllegalArgumentException("negative size " + bytes);
    }

    public static Size ofKibibytes(long n)
    {
        return new Size(Math.multiplyExact(n, 1024L));
    }

    public static Size ofMebibytes(long n)
    {
        return new Size(Math.multiplyExact(n, 1024L * 1024));
    }

    /**
     * @throws IllegalArgumentException when the text is not a size
     */
    public static Size parse(String text)
    {
        Matcher m = SYNTAX.matcher(text.trim());
        if (!m.matches())
            throw new IllegalArgumentException("not a size");
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        long factor = switch (unit.isEmpty() ? ' ' : unit.charAt(0))
        {
            case 'k' -> 1024L;
            case 'm' -> 1024L * 1024;
            case 'g' -> 1024L * 1024 * 1024;
            default -> 1L;
        };
        return new Size(Math.multiplyExact(n, factor));
    }

    /** @return the size as an {@code int}, for APIs that take one; saturates at {@link Integer#MAX_VALUE} */
    public int toIntBytes()
    {
        return (int)Math.min(bytes, Integer.MAX_VALUE);
    }

    @Override
    public String toString()
    {
        if (bytes != 0 && bytes % (1024L * 1024 * 1024) == 0)
            return bytes / (1024L * 1024 * 1024) + "GiB";
        if (bytes != 0 && bytes % (1024L * 1024) == 0)
            return bytes / (1024L * 1024) + "MiB";
        if (bytes != 0 && bytes % 1024L == 0)
            return bytes / 1024L + "KiB";
        return Long.toString(bytes);
    }
}
