package dev.adit.config;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.adit.policy.Authority;

/**
 * A configured string with Envoy-style command operators ({@code %DOWNSTREAM_LOCAL_PORT%})
 * filled in per connection: the CONNECT target and added headers of an encapsulating listener.
 *
 * <p>Operators, as Envoy spells them: {@code %DOWNSTREAM_LOCAL_ADDRESS%} and
 * {@code %DOWNSTREAM_REMOTE_ADDRESS%} ({@code ip:port}, {@code [ipv6]:port}), the same
 * {@code _WITHOUT_PORT} (the bare address, no brackets), {@code %DOWNSTREAM_LOCAL_PORT%} and
 * {@code %DOWNSTREAM_REMOTE_PORT%}. Anything else is literal text; an upper-case
 * {@code %NAME%} that is not an operator is a configuration error, not literal text, so that a
 * typo is found at start rather than sent upstream.</p>
 */
public final class Template
{
    private static final Pattern OPERATOR = Pattern.compile("%([A-Z][A-Z0-9_]*)%");
    private static final List<String> OPERATORS = List.of("DOWNSTREAM_LOCAL_ADDRESS", "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
        "DOWNSTREAM_LOCAL_PORT", "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", "DOWNSTREAM_REMOTE_PORT");

    private final String text;
    /** Literal strings and operator names, alternating, starting with a literal. */
    private final List<String> parts;

    private Template(String text, List<String> parts)
    {
        this.text = text;
        this.parts = parts;
    }

    /** @throws IllegalArgumentException naming the unknown operator */
    public static Template parse(String text)
    {
        Objects.requireNonNull(text, "text");
        List<String> parts = new ArrayList<>();
        Matcher m = OPERATOR.matcher(text);
        int at = 0;
        while (m.find())
        {
            if (!OPERATORS.contains(m.group(1)))
                throw new IllegalArgumentException("%s: unknown operator %s (expected: literal text and %s)".formatted(text, m.group(),
                    String.join(", ", OPERATORS.stream().map(o -> "%" + o + "%").toList())));
            parts.add(text.substring(at, m.start()));
            parts.add(m.group(1));
            at = m.end();
        }
        parts.add(text.substring(at));
        return new Template(text, List.copyOf(parts));
    }

    /** @return whether the value is the same for every connection */
    public boolean isLiteral()
    {
        return parts.size() == 1;
    }

    /** @return the text filled in for a connection between {@code remote} and {@code local} */
    public String render(InetSocketAddress local, InetSocketAddress remote)
    {
        if (isLiteral())
            return text;
        StringBuilder out = new StringBuilder(text.length() + 32);
        for (int i = 0; i < parts.size(); i++)
        {
            String part = parts.get(i);
            if (i % 2 == 0)
            {
                out.append(part);
                continue;
            }
            switch (part)
            {
                case "DOWNSTREAM_LOCAL_ADDRESS" -> out.append(Authority.of(local));
                case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT" -> out.append(Authority.of(local).host());
                case "DOWNSTREAM_LOCAL_PORT" -> out.append(local.getPort());
                case "DOWNSTREAM_REMOTE_ADDRESS" -> out.append(Authority.of(remote));
                case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" -> out.append(Authority.of(remote).host());
                case "DOWNSTREAM_REMOTE_PORT" -> out.append(remote.getPort());
                default -> throw new IllegalStateException(part);
            }
        }
        return out.toString();
    }

    /** @return the template as configured */
    @Override
    public String toString()
    {
        return text;
    }

    @Override
    public boolean equals(Object o)
    {
        return o instanceof Template t && t.text.equals(text);
    }

    @Override
    public int hashCode()
    {
        return text.hashCode();
    }
}
