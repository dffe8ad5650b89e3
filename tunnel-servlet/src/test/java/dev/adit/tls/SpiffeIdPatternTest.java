package dev.adit.tls;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link SpiffeIdPattern}: exact IDs, {@code *} for one segment, a last {@code **} for the rest. */
class SpiffeIdPatternTest
{
    @ParameterizedTest(name = "{0} ~ {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
        spiffe://td/ns/prod/sa/api        | spiffe://td/ns/prod/sa/api       | true
        spiffe://td/ns/prod/sa/api        | spiffe://td/ns/prod/sa/web       | false
        spiffe://td/ns/prod/sa/api        | spiffe://td/ns/prod/sa/api/x     | false
        spiffe://td/ns/prod/sa/api        | spiffe://td/ns/prod/sa           | false
        spiffe://td/ns/prod/sa/api        | spiffe://other/ns/prod/sa/api    | false
        spiffe://td/ns/prod/sa/api        | spiffe://td/ns/prod/sa/API       | false
        spiffe://td/ns/prod/sa/*          | spiffe://td/ns/prod/sa/api       | true
        spiffe://td/ns/prod/sa/*          | spiffe://td/ns/prod/sa/api/x     | false
        spiffe://td/ns/prod/sa/*          | spiffe://td/ns/prod/sa           | false
        spiffe://td/ns/prod/sa/*          | spiffe://td/ns/test/sa/api       | false
        spiffe://td/ns/*/sa/api           | spiffe://td/ns/test/sa/api       | true
        spiffe://td/ns/*/sa/api           | spiffe://td/ns/test/sa/web       | false
        spiffe://td/*/*/*/*               | spiffe://td/ns/a/sa/b            | true
        spiffe://td/**                    | spiffe://td/ns/a/sa/b            | true
        spiffe://td/**                    | spiffe://td/x                    | true
        spiffe://td/**                    | spiffe://td                      | false
        spiffe://td/**                    | spiffe://tdx/ns/a/sa/b           | false
        spiffe://td/ns/prod/**            | spiffe://td/ns/prod/sa/api       | true
        spiffe://td/ns/prod/**            | spiffe://td/ns/prod              | false
        spiffe://td/ns/prod/**            | spiffe://td/ns/production/sa/api | false
        spiffe://td/ns/*/**               | spiffe://td/ns/a/b               | true
        spiffe://td/ns/*/**               | spiffe://td/ns/a                 | false
        """)
    void matches(String pattern, String id, boolean expected)
    {
        assertThat(SpiffeIdPattern.parse(pattern).matches(SpiffeId.parse(id))).isEqualTo(expected);
    }

    @Test
    void anyOfAListMatches()
    {
        List<SpiffeIdPattern> list = List.of(SpiffeIdPattern.parse("spiffe://td/ns/a/sa/x"), SpiffeIdPattern.parse("spiffe://td/ns/b/**"));

        assertThat(SpiffeIdPattern.anyMatches(list, SpiffeId.parse("spiffe://td/ns/b/sa/y"))).isTrue();
        assertThat(SpiffeIdPattern.anyMatches(list, SpiffeId.parse("spiffe://td/ns/a/sa/y"))).isFalse();
        assertThat(SpiffeIdPattern.anyMatches(List.of(), SpiffeId.parse("spiffe://td/ns/a/sa/x"))).isFalse();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        spiffe://td                 | the path is missing; spiffe://td/** would allow every workload of the trust domain
        spiffe://td/                | the path is missing; spiffe://td/** would allow every workload of the trust domain
        spiffe://*/ns/a             | the trust domain may hold only a-z, 0-9, '.', '-' and '_'
        spiffe://td/**/sa/a         | ** may only be the last segment
        spiffe://td/ns/sa-*         | a wildcard must be a whole segment, * or a last **
        spiffe://td/ns/***          | a wildcard must be a whole segment, * or a last **
        spiffe://td/ns//*           | the path has an empty segment (no // and no trailing /)
        spiffe://td/ns/*/           | the path has an empty segment (no // and no trailing /)
        spiffe://td/ns/..           | the path has a '..' segment
        https://td/ns/a             | it must start with spiffe://
        *                           | it must start with spiffe://
        """)
    void invalidPatternsAreRejectedWithTheReason(String text, String reason)
    {
        assertThatThrownBy(() -> SpiffeIdPattern.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessage(reason);
    }

    @Test
    void aPatternPrintsAsWritten()
    {
        assertThat(SpiffeIdPattern.parse("spiffe://td/ns/*/sa/api")).hasToString("spiffe://td/ns/*/sa/api");
    }
}
