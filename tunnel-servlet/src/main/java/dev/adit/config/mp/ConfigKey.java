package dev.adit.config.mp;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One documented configuration key: the single place its name, type, default and meaning are
 * written. The README's key table is checked against these by a test.
 *
 * <p>A key may be a template with named parts in angle brackets, such as
 * {@code adit.route.<route>.action}: {@code <route>} and {@code <cluster>} stand for a name of
 * lower-case letters, digits and dashes, {@code <header>} for a lower-case header name.</p>
 *
 * @param name         the MicroProfile Config property name, {@code adit.<area>.<key>}
 * @param type         what the value is, as shown to users ({@code duration}, {@code size}, ...)
 * @param defaultValue the default as written in configuration, empty when there is none
 * @param meaning      one sentence for the README
 */
public record ConfigKey(String name, String type, String defaultValue, String meaning)
{
    /** Names of routes and clusters. */
    static final String NAME_SYNTAX = "[a-z0-9](?:[a-z0-9-]{0,62})";
    /** RFC 9110 token, lower case. */
    static final String HEADER_SYNTAX = "[a-z0-9!#$%&'*+.^_`|~-]+";

    /** @return the environment variable MicroProfile Config maps to this key, e.g. {@code ADIT_HTTP_PORT} */
    public String environmentName()
    {
        return name.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** @return whether the name has parts such as {@code <route>} */
    public boolean isTemplate()
    {
        return name.indexOf('<') >= 0;
    }

    /** @return the property name with {@code <part>} replaced by {@code value} */
    public String with(String part, String value)
    {
        return name.replace("<" + part + ">", value);
    }

    /** @return a pattern matching every property name this template stands for */
    Pattern pattern()
    {
        StringBuilder regex = new StringBuilder();
        int at = 0;
        while (at < name.length())
        {
            int open = name.indexOf('<', at);
            if (open < 0)
            {
                regex.append(Pattern.quote(name.substring(at)));
                break;
            }
            int close = name.indexOf('>', open);
            regex.append(Pattern.quote(name.substring(at, open)));
            String part = name.substring(open + 1, close);
            regex.append("header".equals(part) ? HEADER_SYNTAX : NAME_SYNTAX);
            at = close + 1;
        }
        return Pattern.compile(regex.toString());
    }
}
