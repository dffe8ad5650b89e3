package dev.adit.log;

import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;

/**
 * Writes an instant as the access log's {@code start_time}: ISO-8601 UTC with milliseconds,
 * exactly what {@code DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")} in UTC
 * prints, for about a tenth of the cost and no garbage. The date part is formatted by
 * {@link DateTimeFormatter} once per UTC day and kept; the time of day is plain arithmetic
 * (UTC has no offsets to apply, and the fraction is truncated to milliseconds as {@code SSS}
 * truncates it).
 *
 * <p>Not thread-safe: each {@link LineFormatter} has its own.</p>
 */
final class IsoMillis
{
    private static final long SECONDS_PER_DAY = 86_400;
    // uuuu, not yyyy: a proleptic year, signed beyond 0000..9999, as the full pattern prints it.
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'");

    private long day = Long.MIN_VALUE;
    private String dayText;

    /** @return {@code out}, with {@code instant} appended */
    StringBuilder append(StringBuilder out, Instant instant)
    {
        long seconds = instant.getEpochSecond();
        long epochDay = Math.floorDiv(seconds, SECONDS_PER_DAY);
        if (epochDay != day)
        {
            dayText = DAY.format(LocalDate.ofEpochDay(epochDay));
            day = epochDay;
        }
        int secondOfDay = (int)Math.floorMod(seconds, SECONDS_PER_DAY);
        out.append(dayText);
        twoDigits(out, secondOfDay / 3600).append(':');
        twoDigits(out, secondOfDay / 60 % 60).append(':');
        twoDigits(out, secondOfDay % 60).append('.');
        int millis = instant.getNano() / 1_000_000;
        return out.append((char)('0' + millis / 100)).append((char)('0' + millis / 10 % 10)).append((char)('0' + millis % 10)).append('Z');
    }

    private static StringBuilder twoDigits(StringBuilder out, int value)
    {
        return out.append((char)('0' + value / 10)).append((char)('0' + value % 10));
    }
}
