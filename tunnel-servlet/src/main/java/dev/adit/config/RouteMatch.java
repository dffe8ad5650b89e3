package dev.adit.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The conditions of a route; all must hold.
 *
 * @param connect     which kinds of CONNECT the route takes
 * @param protocols   for extended CONNECT: the {@code :protocol} values taken; empty takes any
 * @param authorities target patterns ({@code host[:port]}, {@code *.example.com:443},
 *                    {@code [::1]:8080}, CIDR ranges), matched against the CONNECT target as
 *                    written, without DNS; empty takes any target
 * @param headers     request-header conditions
 * @param pathPrefix  for extended CONNECT and POST tunnels: the path must start with this
 */
public record RouteMatch(Connect connect, List<String> protocols, List<String> authorities, List<HeaderMatch> headers, Optional<String> pathPrefix)
{
    public static final RouteMatch ANY_CONNECT = new RouteMatch(Connect.PLAIN, List.of(), List.of(), List.of(), Optional.empty());

    /** Which CONNECT requests a route takes. */
    public enum Connect
    {
        /** RFC 9110/9113 CONNECT, and the legacy {@code :protocol=bytestream} form. */
        PLAIN,
        /** RFC 8441 extended CONNECT with another {@code :protocol}. */
        EXTENDED,
        /** Both. */
        ANY
    }

    public RouteMatch
    {
        Objects.requireNonNull(connect, "connect");
        protocols = List.copyOf(protocols);
        authorities = List.copyOf(authorities);
        headers = List.copyOf(headers);
        Objects.requireNonNull(pathPrefix, "pathPrefix");
    }
}
