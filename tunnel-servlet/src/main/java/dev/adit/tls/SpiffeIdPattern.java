package dev.adit.tls;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * An entry of an allow list of SPIFFE IDs: a SPIFFE ID with a path whose segments may be
 * wildcards.
 *
 * <ul>
 * <li>{@code spiffe://td/ns/prod/sa/api}: exactly that ID;</li>
 * <li>{@code *} as a whole segment matches exactly one segment:
 *     {@code spiffe://td/ns/prod/sa/*} is every service account of namespace {@code prod},
 *     {@code spiffe://td/ns/*}{@code /sa/api} service account {@code api} in any namespace;</li>
 * <li>{@code **} as the last segment matches one or more segments:
 *     {@code spiffe://td/**} is every workload of trust domain {@code td}.</li>
 * </ul>
 *
 * <p>Wildcards are whole segments only ({@code sa-*} is an error, not a prefix match), the trust
 * domain is always literal, and the path may not be empty: {@code spiffe://td} alone names the
 * trust domain, never a workload, so an allow list holding it would admit nobody. Everything
 * else follows {@link SpiffeId}'s syntax. Immutable and thread-safe.</p>
 */
public final class SpiffeIdPattern
{
    private static final String ONE = "*";
    private static final String REST = "**";

    private final String trustDomain;
    private final List<String> segments;
    private final String text;

    private SpiffeIdPattern(String trustDomain, List<String> segments, String text)
    {
        this.trustDomain = trustDomain;
        this.segments = segments;
        this.text = text;
    }

    /**
     * @throws IllegalArgumentException naming what is wrong
     */
    public static SpiffeIdPattern parse(String text)
    {
        Objects.requireNonNull(text, "text");
        String rest = SpiffeId.afterPrefix(text);
        int slash = rest.indexOf('/');
        String trustDomain = slash < 0 ? rest : rest.substring(0, slash);
        SpiffeId.checkTrustDomain(trustDomain);
        if (slash < 0 || slash == rest.length() - 1)
            throw new IllegalArgumentException("the path is missing; spiffe://" + trustDomain + "/** would allow every workload of the trust domain");
        List<String> segments = List.of(rest.substring(slash + 1).split("/", -1));
        for (int i = 0; i < segments.size(); i++)
        {
            String segment = segments.get(i);
            if (segment.equals(REST))
            {
                if (i != segments.size() - 1)
                    throw new IllegalArgumentException("** may only be the last segment");
            }
            else if (!segment.equals(ONE))
            {
                if (segment.indexOf('*') >= 0)
                    throw new IllegalArgumentException("a wildcard must be a whole segment, * or a last **");
                SpiffeId.checkSegment(segment);
            }
        }
        // A pattern without wildcards must be a valid SPIFFE ID (length limit included).
        if (!segments.contains(ONE) && !segments.contains(REST))
            SpiffeId.parse(text);
        return new SpiffeIdPattern(trustDomain, segments, text);
    }

    /** @return whether any of {@code patterns} matches {@code id} */
    public static boolean anyMatches(Collection<SpiffeIdPattern> patterns, SpiffeId id)
    {
        for (SpiffeIdPattern pattern : patterns)
        {
            if (pattern.matches(id))
                return true;
        }
        return false;
    }

    public boolean matches(SpiffeId id)
    {
        if (!trustDomain.equals(id.trustDomain()))
            return false;
        List<String> actual = id.segments();
        int n = segments.size();
        boolean rest = segments.get(n - 1).equals(REST);
        if (rest ? actual.size() < n : actual.size() != n)
            return false;
        for (int i = 0; i < (rest ? n - 1 : n); i++)
        {
            String expected = segments.get(i);
            if (!expected.equals(ONE) && !expected.equals(actual.get(i)))
                return false;
        }
        return true;
    }

    @Override
    public boolean equals(Object other)
    {
        return other instanceof SpiffeIdPattern pattern && pattern.text.equals(text);
    }

    @Override
    public int hashCode()
    {
        return text.hashCode();
    }

    @Override
    public String toString()
    {
        return text;
    }
}
