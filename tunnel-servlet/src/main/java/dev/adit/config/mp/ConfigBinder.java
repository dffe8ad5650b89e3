package dev.adit.config.mp;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

import dev.adit.config.AditConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.Http2Config;
import dev.adit.config.ListenerConfig;
import dev.adit.config.PolicyConfig;
import dev.adit.config.Size;
import dev.adit.config.TunnelConfig;
import dev.adit.policy.DestinationPolicy;
import dev.adit.policy.DestinationRule;
import org.eclipse.microprofile.config.Config;

/**
 * The one place that reads MicroProfile Config: turns a {@link Config} into a validated
 * {@link AditConfig}, or throws a {@link ConfigException} listing every problem, one per key,
 * as {@code key: value (expected: ...)}. Unknown {@code adit.*} keys (and {@code ADIT_*}
 * environment variables) are problems too: a typo must not silently fall back to a default.
 */
public final class ConfigBinder
{
    private static final int MAX_WINDOW = Integer.MAX_VALUE;
    private static final int MIN_WINDOW = 65535;

    private final Config config;
    private final List<String> problems = new ArrayList<>();

    private ConfigBinder(Config config)
    {
        this.config = config;
    }

    /**
     * @throws ConfigException when any value is invalid or any {@code adit.} key is unknown
     */
    public static AditConfig bind(Config config)
    {
        return new ConfigBinder(config).bind();
    }

    private AditConfig bind()
    {
        checkUnknownKeys();
        Optional<Path> certChain = get(ConfigKeys.TLS_CERT_CHAIN, this::readableFile);
        Optional<Path> privateKey = get(ConfigKeys.TLS_PRIVATE_KEY, this::readableFile);
        if (certChain.isPresent() != privateKey.isPresent())
            problems.add(ConfigKeys.TLS_CERT_CHAIN.name() + " and " + ConfigKeys.TLS_PRIVATE_KEY.name() + ": only one is set (expected: both or neither)");
        List<ListenerConfig> listeners = List.of(
            new ListenerConfig("http", value(ConfigKeys.HTTP_ENABLED, Values::bool), value(ConfigKeys.HTTP_HOST, this::host),
                value(ConfigKeys.HTTP_PORT, t -> Values.integer(t, 0, 65535)), Optional.empty(), Optional.empty()),
            new ListenerConfig("https", value(ConfigKeys.HTTPS_ENABLED, Values::bool), value(ConfigKeys.HTTPS_HOST, this::host),
                value(ConfigKeys.HTTPS_PORT, t -> Values.integer(t, 0, 65535)), certChain, privateKey));

        TunnelConfig tunnel = new TunnelConfig(
            value(ConfigKeys.TUNNEL_CONNECT_TIMEOUT, t -> positive(Values.duration(t))),
            value(ConfigKeys.TUNNEL_IDLE_TIMEOUT, Values::duration),
            value(ConfigKeys.TUNNEL_MAX_DURATION, Values::duration),
            value(ConfigKeys.TUNNEL_BUFFER_SIZE, t -> size(t, 1024, 16 * 1024 * 1024)));

        Size streamWindow = value(ConfigKeys.H2_INITIAL_STREAM_WINDOW, t -> size(t, MIN_WINDOW, MAX_WINDOW));
        Size sessionWindow = value(ConfigKeys.H2_INITIAL_SESSION_WINDOW, t -> size(t, MIN_WINDOW, MAX_WINDOW));
        if (streamWindow != null && sessionWindow != null && sessionWindow.bytes() < streamWindow.bytes())
            problems.add(ConfigKeys.H2_INITIAL_SESSION_WINDOW.name() + ": " + sessionWindow + " (expected: at least " + ConfigKeys.H2_INITIAL_STREAM_WINDOW.name() + " = " + streamWindow + ")");
        Http2Config http2 = new Http2Config(
            value(ConfigKeys.H2_MAX_CONCURRENT_STREAMS, t -> Values.integer(t, 1, 1_000_000)),
            orDefault(streamWindow, Http2Config.DEFAULTS.initialStreamWindow()),
            orDefault(sessionWindow, Http2Config.DEFAULTS.initialSessionWindow()),
            value(ConfigKeys.H2_STREAM_IDLE_TIMEOUT, t -> positive(Values.duration(t))));

        PolicyConfig policy = new PolicyConfig(rules(ConfigKeys.POLICY_ALLOW), rules(ConfigKeys.POLICY_DENY),
            value(ConfigKeys.POLICY_ALLOW_OPEN_PROXY, Values::bool));
        checkOpenProxy(listeners, policy);

        Duration idleTimeout = value(ConfigKeys.SERVER_IDLE_TIMEOUT, t -> positive(Values.duration(t)));
        if (!problems.isEmpty())
            throw new ConfigException(problems);
        return new AditConfig(listeners, idleTimeout, tunnel, http2, policy);
    }

    private void checkUnknownKeys()
    {
        for (String name : config.getPropertyNames())
        {
            if (name.startsWith("adit."))
            {
                // List keys may also be written indexed: adit.policy.allow[0]
                String base = name.replaceAll("\\[\\d+]$", "");
                if (!ConfigKeys.BY_NAME.containsKey(base))
                    problems.add(name + ": unknown key (expected: one of the keys listed in the README)");
            }
            else if (name.startsWith("ADIT_") && !ConfigKeys.BY_ENVIRONMENT_NAME.containsKey(name.replaceAll("_\\d+_?$", "")))
            {
                problems.add(name + ": unknown environment variable (expected: ADIT_ followed by a documented key, such as ADIT_HTTP_PORT)");
            }
        }
    }

    private void checkOpenProxy(List<ListenerConfig> listeners, PolicyConfig policy)
    {
        if (policy.allowOpenProxy() || !problems.isEmpty())
            return;
        if (!DestinationPolicy.of(policy).allowsEverything())
            return;
        for (ListenerConfig listener : listeners)
        {
            if (listener.enabled() && !isLoopback(listener.host()))
            {
                String key = listener.isTls() ? ConfigKeys.HTTPS_HOST.name() : ConfigKeys.HTTP_HOST.name();
                problems.add(key + ": " + listener.host() + " (expected: a loopback address while " + ConfigKeys.POLICY_ALLOW.name()
                    + " allows every destination and there is no authentication; restrict the policy, or set "
                    + ConfigKeys.POLICY_ALLOW_OPEN_PROXY.name() + "=true to run an open proxy on purpose)");
            }
        }
    }

    private static boolean isLoopback(String host)
    {
        try
        {
            for (InetAddress address : InetAddress.getAllByName(host))
            {
                if (!address.isLoopbackAddress())
                    return false;
            }
            return true;
        }
        catch (UnknownHostException x)
        {
            return false;
        }
    }

    private List<String> rules(ConfigKey key)
    {
        List<String> texts = config.getOptionalValues(key.name(), String.class)
            .orElseGet(() -> key.defaultValue().isEmpty() ? List.of() : List.of(key.defaultValue().split(",")));
        List<String> rules = new ArrayList<>();
        for (String text : texts)
        {
            String rule = text.trim();
            if (rule.isEmpty())
                continue;
            try
            {
                DestinationRule.parse(rule);
                rules.add(rule);
            }
            catch (IllegalArgumentException x)
            {
                problems.add(key.name() + ": " + rule + " (expected: " + expectation(x) + ")");
            }
        }
        return rules;
    }

    private <T> T value(ConfigKey key, Function<String, T> parser)
    {
        String text = config.getOptionalValue(key.name(), String.class).orElse(key.defaultValue());
        try
        {
            return parser.apply(text);
        }
        catch (IllegalArgumentException x)
        {
            problems.add(key.name() + ": " + text + " (expected: " + expectation(x) + ")");
            return parser.apply(key.defaultValue());
        }
    }

    private <T> Optional<T> get(ConfigKey key, Function<String, T> parser)
    {
        Optional<String> text = config.getOptionalValue(key.name(), String.class).filter(t -> !t.isBlank());
        if (text.isEmpty())
            return Optional.empty();
        try
        {
            return Optional.of(parser.apply(text.get()));
        }
        catch (IllegalArgumentException x)
        {
            problems.add(key.name() + ": " + text.get() + " (expected: " + expectation(x) + ")");
            return Optional.empty();
        }
    }

    private static String expectation(IllegalArgumentException x)
    {
        String message = x.getMessage();
        // Parsers in dev.adit.policy phrase their messages as `"text" (expected: ...)`.
        int at = message == null ? -1 : message.indexOf("(expected: ");
        if (at >= 0)
            return message.substring(at + "(expected: ".length(), message.lastIndexOf(')'));
        return message;
    }

    private Path readableFile(String text)
    {
        Path path = Path.of(text.trim());
        if (!Files.isRegularFile(path) || !Files.isReadable(path))
            throw new IllegalArgumentException("a readable file");
        return path;
    }

    private String host(String text)
    {
        String host = text.trim();
        if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c == '/' || c == '@'))
            throw new IllegalArgumentException("an IP address or host name");
        return host;
    }

    private static Duration positive(Duration duration)
    {
        if (duration.isZero())
            throw new IllegalArgumentException("a duration above zero");
        return duration;
    }

    private static Size size(String text, long min, long max)
    {
        Size size;
        try
        {
            size = Size.parse(text);
        }
        catch (IllegalArgumentException | ArithmeticException x)
        {
            size = null;
        }
        if (size == null || size.bytes() < min || size.bytes() > max)
            throw new IllegalArgumentException("a size from " + new Size(min) + " to " + new Size(max) + ", such as 64KiB or 4MiB");
        return size;
    }

    private static <T> T orDefault(T value, T fallback)
    {
        return value == null ? fallback : value;
    }
}
