package dev.adit.handler;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

import dev.adit.config.HeaderMatch;
import dev.adit.config.RouteConfig;
import dev.adit.config.RouteMatch;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationRule;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;

/**
 * Picks the route for a tunnel request: routes are tried in their configured order and the
 * first whose every condition holds wins (Envoy's route table semantics). Immutable and
 * thread-safe; matching allocates nothing but the regex matchers.
 */
public final class Router
{
    /** What kind of tunnel request is being routed. */
    public enum Kind
    {
        /** CONNECT without {@code :protocol}, or with the legacy {@code bytestream}. */
        PLAIN,
        /** RFC 8441 extended CONNECT with another {@code :protocol}. */
        EXTENDED,
        /** A POST whose body is the tunnel. */
        POST
    }

    private final List<Route> routes;
    private final boolean takesPost;

    public Router(List<RouteConfig> configs)
    {
        List<Route> compiled = new ArrayList<>(configs.size());
        for (RouteConfig config : configs)
            compiled.add(new Route(config));
        this.routes = List.copyOf(compiled);
        this.takesPost = configs.stream().anyMatch(RouteConfig::allowPost);
    }

    /** @return whether some route takes POST tunnels (otherwise POSTs are not looked at) */
    public boolean takesPost()
    {
        return takesPost;
    }

    /**
     * @param kind     the request's kind
     * @param protocol the extended CONNECT {@code :protocol}, lower case; null otherwise
     * @param target   the CONNECT target (the Host of a POST); null when it is malformed
     * @param headers  the request headers
     * @param path     the request path; null for plain CONNECT
     * @return the first matching route, or null
     */
    public RouteConfig route(Kind kind, String protocol, Authority target, HttpFields headers, String path)
    {
        for (Route route : routes)
        {
            if (route.matches(kind, protocol, target, headers, path))
                return route.config;
        }
        return null;
    }

    private static final class Route
    {
        private final RouteConfig config;
        private final List<DestinationRule> authorities;
        private final List<Pattern> regexes;

        private Route(RouteConfig config)
        {
            this.config = config;
            this.authorities = config.match().authorities().stream().map(DestinationRule::parse).toList();
            List<Pattern> patterns = new ArrayList<>();
            for (HeaderMatch header : config.match().headers())
                patterns.add(header.kind() == HeaderMatch.Kind.REGEX ? Pattern.compile(header.value()) : null);
            this.regexes = patterns;
        }

        private boolean matches(Kind kind, String protocol, Authority target, HttpFields headers, String path)
        {
            RouteMatch match = config.match();
            boolean kindMatches = switch (kind)
            {
                case PLAIN -> match.connect() != RouteMatch.Connect.EXTENDED;
                case EXTENDED -> match.connect() != RouteMatch.Connect.PLAIN
                    && (match.protocols().isEmpty() || match.protocols().contains(protocol));
                case POST -> config.allowPost();
            };
            if (!kindMatches)
                return false;
            if (match.pathPrefix().isPresent() && (path == null || !path.startsWith(match.pathPrefix().get())))
                return false;
            if (!authorities.isEmpty() && (target == null || authorities.stream().noneMatch(rule -> rule.matchesTarget(target))))
                return false;
            List<HeaderMatch> conditions = match.headers();
            for (int i = 0; i < conditions.size(); i++)
            {
                if (!matches(conditions.get(i), regexes.get(i), headers))
                    return false;
            }
            return true;
        }

        private static boolean matches(HeaderMatch condition, Pattern regex, HttpFields headers)
        {
            boolean present = false;
            for (HttpField field : headers)
            {
                if (!field.getLowerCaseName().equals(condition.name()))
                    continue;
                present = true;
                String value = Objects.requireNonNullElse(field.getValue(), "");
                boolean hit = switch (condition.kind())
                {
                    case EXACT -> value.equals(condition.value());
                    case PREFIX -> value.startsWith(condition.value());
                    case REGEX -> regex.matcher(value).matches();
                    case PRESENT -> true;
                    case ABSENT -> false;
                };
                if (hit)
                    return true;
            }
            return !present && condition.kind() == HeaderMatch.Kind.ABSENT;
        }
    }
}
