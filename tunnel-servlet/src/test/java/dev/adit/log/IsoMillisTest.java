package dev.adit.log;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class IsoMillisTest
{
    /** What the access log printed before the cache: the reference. */
    private static final DateTimeFormatter REFERENCE = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final IsoMillis times = new IsoMillis();

    private String print(Instant instant)
    {
        return times.append(new StringBuilder(), instant).toString();
    }

    @Test
    void consecutiveInstantsAcrossSecondMinuteHourAndDayBoundariesPrintAsTheFormatterDoes()
    {
        Instant[] instants = {
            Instant.parse("2024-12-03T11:37:59.042Z"),
            Instant.parse("2024-12-03T11:37:59.999999999Z"),
            Instant.parse("2024-12-03T11:38:00Z"),
            Instant.parse("2024-12-03T11:59:59.999Z"),
            Instant.parse("2024-12-03T12:00:00.001Z"),
            Instant.parse("2024-12-03T23:59:59.999Z"),
            Instant.parse("2024-12-04T00:00:00.000Z"),
            // back to the previous day: the cached day must not be reused
            Instant.parse("2024-12-03T23:59:59.998Z"),
            Instant.parse("2024-02-29T07:08:09.010Z"),
            Instant.parse("2024-03-01T00:00:00.000000001Z"),
        };
        for (Instant instant : instants)
            assertThat(print(instant)).as("%s", instant).isEqualTo(REFERENCE.format(instant));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "1969-12-31T00:00:00.5Z", "0000-01-01T00:00:00Z",
        "-0001-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z", "+10000-01-01T00:00:00.001Z"})
    void instantsAroundTheEpochAndBeyondFourDigitYearsPrintAsTheFormatterDoes(String text)
    {
        Instant instant = Instant.parse(text);
        assertThat(print(instant)).isEqualTo(REFERENCE.format(instant));
    }

    @Test
    void randomInstantsPrintAsTheFormatterDoes()
    {
        SplittableRandom random = new SplittableRandom(20241203);
        Instant near = Instant.parse("2024-12-03T11:37:59.042Z");
        for (int i = 0; i < 20_000; i++)
        {
            // Mostly close together (the cache's case), sometimes anywhere in 1..4000 AD.
            Instant instant = i % 10 == 0
                ? Instant.ofEpochSecond(random.nextLong(-62_000_000_000L, 64_000_000_000L), random.nextInt(1_000_000_000))
                : near.plusNanos(random.nextLong(-3 * 86_400_000_000_000L, 3 * 86_400_000_000_000L));
            assertThat(print(instant)).as("%s", instant).isEqualTo(REFERENCE.format(instant));
        }
    }

    @Test
    void appendsToWhatTheBuilderHolds()
    {
        assertThat(times.append(new StringBuilder("at "), Instant.parse("2024-12-03T11:37:59.042Z"))).hasToString("at 2024-12-03T11:37:59.042Z");
    }
}
