package dev.adit.embed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import dev.adit.config.AditConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.ListenerConfig;
import dev.adit.config.mp.ConfigBinder;
import dev.adit.config.mp.ConfigFile;
import dev.adit.config.mp.ConfigKey;
import dev.adit.config.mp.ConfigKeys;
import dev.adit.core.TunnelListener;
import dev.adit.handler.TunnelHandler;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.annotation.Name;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.microprofile.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adit in a server that jetty-home configured: what the {@code adit} module's
 * {@code etc/adit.xml} creates, adds to the {@link Server} as a bean, and whose
 * {@link #getHandler() handler} it inserts in front of every context.
 *
 * <p><b>Configuration</b> is MicroProfile Config, as for the standalone jar: {@code -Dadit.*}
 * system properties, {@code ADIT_*} environment variables, then the file (see
 * {@link ConfigFile}): {@code jetty.adit.config} when set (it must then exist), else
 * {@value #DEFAULT_CONFIG} in {@code jetty.base} if it exists. It is bound when the XML runs,
 * so an invalid value fails the start before any connector opens, with the
 * {@link ConfigException}'s lines naming each key.</p>
 *
 * <p><b>Jetty's connectors serve the tunnels</b>, configured by Jetty's own modules; Adit's
 * listener keys ({@link #CONNECTOR_KEYS}) have no effect here and are reported at WARN when set.
 * The upgrades of {@code adit.https.upgrades} apply to connectors with TLS, those of
 * {@code adit.http.upgrades} to the others (jetty-home's connectors have no names to go by).
 * When the server starts (after every module's XML, before any connector starts) every
 * connector is adapted for tunnels by a {@link TunnelConnectors} bean, HTTP/2 stream idle
 * timeouts from {@code adit.h2.stream-idle-timeout}; the {@code adit-connect-path} module of
 * the WAR form adapts them the same way.</p>
 *
 * <p>It also refuses to start an open proxy: when the configuration serves every destination
 * to anyone ({@link ConfigBinder#isOpenProxy}), every HTTP connector must be bound to
 * loopback, unless {@code adit.policy.allow-open-proxy=true}. This is checked when the XML
 * runs, before anything binds, and again at start for connectors added since.</p>
 */
public class AditJettyModule extends ContainerLifeCycle
{
    /** The configuration file, relative to {@code jetty.base}, when {@code jetty.adit.config} is not set. */
    public static final String DEFAULT_CONFIG = "etc/adit.properties";
    /** The Jetty property that names the configuration file. */
    public static final String CONFIG_PROPERTY = "jetty.adit.config";
    /** Keys of the standalone jar's listeners: Jetty's connectors and modules replace them here. */
    public static final List<ConfigKey> CONNECTOR_KEYS = List.of(
        ConfigKeys.HTTP_ENABLED, ConfigKeys.HTTP_HOST, ConfigKeys.HTTP_PORT,
        ConfigKeys.HTTPS_ENABLED, ConfigKeys.HTTPS_HOST, ConfigKeys.HTTPS_PORT,
        ConfigKeys.TLS_CERT_CHAIN, ConfigKeys.TLS_PRIVATE_KEY, ConfigKeys.TLS_CLIENT_AUTH, ConfigKeys.TLS_CLIENT_CA, ConfigKeys.TLS_PROTOCOLS,
        ConfigKeys.SERVER_IDLE_TIMEOUT,
        ConfigKeys.H2_MAX_CONCURRENT_STREAMS, ConfigKeys.H2_INITIAL_STREAM_WINDOW, ConfigKeys.H2_INITIAL_SESSION_WINDOW);

    private static final Logger LOG = LoggerFactory.getLogger(AditJettyModule.class);

    private final Server server;
    private final AditConfig config;
    private final AditComponents components;
    private final List<String> ineffectiveKeys;
    private boolean encapConnectorsAdded;

    /**
     * Reads and binds the configuration and builds Adit's parts for {@code server}.
     *
     * @param jettyBase  the {@code jetty.base} directory, against which a relative file is resolved
     * @param configFile the {@code jetty.adit.config} property: the configuration file; null or
     *                   blank for {@value #DEFAULT_CONFIG}, if it exists
     * @throws ConfigException when the file cannot be read or the configuration is invalid
     */
    public AditJettyModule(@Name("server") Server server, @Name("jettyBase") String jettyBase, @Name("configFile") String configFile)
    {
        this.server = server;
        ConfigFile file = configFile(Path.of(jettyBase), configFile);
        Config mpConfig = ConfigFile.build(file, AditJettyModule.class.getClassLoader());
        AditConfig bound;
        try
        {
            bound = ConfigBinder.bind(mpConfig);
        }
        catch (ConfigException x)
        {
            // One line each: Jetty's log folds a message's line breaks.
            LOG.error("Adit: invalid configuration ({}), not starting", describe(file));
            x.problems().forEach(p -> LOG.error("Adit: {}", p));
            throw x;
        }
        this.config = bound;
        this.ineffectiveKeys = ineffectiveKeys(mpConfig);
        Function<Connector, Set<String>> upgrades = upgradesByTls(config);
        // The connectors of the modules adit.mod comes after exist by now: refuse an open proxy
        // before anything binds; doStart() checks again for connectors added later.
        checkOpenProxy();
        this.components = AditComponents.install(server, config, TunnelListener.NOOP, null, upgrades);
        // Started with this bean, after the checks of doStart().
        installBean(new TunnelConnectors(server, config.http2().streamIdleTimeout().toMillis()));
        LOG.info("Adit: configuration {}", describe(file));
    }

    private static ConfigFile configFile(Path jettyBase, String configFile)
    {
        boolean explicit = configFile != null && !configFile.isBlank();
        Path path = jettyBase.resolve(explicit ? configFile.strip() : DEFAULT_CONFIG);
        if (!explicit && !Files.exists(path))
            return null;
        try
        {
            return ConfigFile.read(path);
        }
        catch (IOException x)
        {
            String problem = (explicit ? CONFIG_PROPERTY : DEFAULT_CONFIG) + ": " + path + " (expected: a readable Java properties file; " + x + ")";
            LOG.error("Adit: cannot read its configuration, not starting: {}", problem);
            throw new ConfigException(List.of(problem));
        }
    }

    private static String describe(ConfigFile file)
    {
        return file == null ? "system properties, environment and defaults; no " + DEFAULT_CONFIG : file.getName();
    }

    /**
     * The listener keys set in any source (an {@code ADIT_} variable counts as its key): they
     * do nothing here, and an operator should know.
     */
    private static List<String> ineffectiveKeys(Config config)
    {
        Set<String> set = new TreeSet<>();
        for (String name : config.getPropertyNames())
        {
            for (ConfigKey key : CONNECTOR_KEYS)
            {
                if (name.equals(key.name()) || name.equals(key.environmentName()) || name.startsWith(key.name() + "["))
                    set.add(key.name());
            }
        }
        return List.copyOf(set);
    }

    private static Function<Connector, Set<String>> upgradesByTls(AditConfig config)
    {
        Set<String> plain = config.listeners().stream().filter(l -> !l.isTls()).findFirst().map(ListenerConfig::upgrades).orElse(null);
        Set<String> tls = config.listeners().stream().filter(ListenerConfig::isTls).findFirst().map(ListenerConfig::upgrades).orElse(null);
        return connector -> connector.getConnectionFactory(SslConnectionFactory.class) != null ? tls : plain;
    }

    /** The handler serving tunnel requests, for {@code Server.insertHandler}: it must come before every context. */
    public TunnelHandler getHandler()
    {
        return components.handler();
    }

    /** Adds the encapsulating connectors of {@code adit.encaps} (the {@code adit-encap} module). */
    public void addEncapConnectors()
    {
        components.addEncapConnectors(server);
        encapConnectorsAdded = true;
    }

    @Override
    protected void doStart() throws Exception
    {
        if (!ineffectiveKeys.isEmpty())
        {
            LOG.warn("Adit: {} set, but Jetty's connectors serve the tunnels here: use Jetty's properties instead (jetty.http.*, jetty.ssl.*, " +
                "jetty.sslContext.*, jetty.http2c.*, jetty.http2.*)", String.join(", ", ineffectiveKeys));
        }
        if (!config.encaps().isEmpty() && !encapConnectorsAdded)
            LOG.warn("Adit: {} is set, but the adit-encap module is not enabled: no encapsulating listener", ConfigKeys.ENCAPS.name());
        checkOpenProxy();
        super.doStart();
    }

    private void checkOpenProxy()
    {
        if (!ConfigBinder.isOpenProxy(config))
            return;
        List<String> problems = new ArrayList<>();
        for (Connector connector : server.getConnectors())
        {
            if (!servesHttp(connector) || !(connector instanceof NetworkConnector network))
                continue;
            String host = network.getHost();
            if (host == null || host.isBlank() || !ConfigBinder.isLoopback(host))
            {
                String key = connector.getConnectionFactory(SslConnectionFactory.class) != null ? "jetty.ssl.host" : "jetty.http.host";
                problems.add(key + ": " + (host == null || host.isBlank() ? "unset, every interface" : host) + " (expected: a loopback address while "
                    + ConfigKeys.POLICY_ALLOW.name() + " allows every destination and there is no authentication; restrict the policy, or set "
                    + ConfigKeys.POLICY_ALLOW_OPEN_PROXY.name() + "=true to run an open proxy on purpose)");
            }
        }
        if (!problems.isEmpty())
        {
            LOG.error("Adit: refusing to run an open proxy, not starting");
            problems.forEach(p -> LOG.error("Adit: {}", p));
            throw new ConfigException(problems);
        }
    }

    private static boolean servesHttp(Connector connector)
    {
        return connector.getProtocols().stream().anyMatch(p -> p.equalsIgnoreCase("http/1.1") || p.equalsIgnoreCase("h2") || p.equalsIgnoreCase("h2c"));
    }
}
