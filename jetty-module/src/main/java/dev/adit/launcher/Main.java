package dev.adit.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.adit.config.AditConfig;
import dev.adit.config.ClusterConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.EncapConfig;
import dev.adit.config.ListenerConfig;
import dev.adit.config.UpstreamProtocol;
import dev.adit.config.mp.ConfigBinder;
import dev.adit.embed.AditServer;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.jetty.server.Server;

/**
 * The standalone Adit: {@code java -jar adit.jar [--config FILE]}.
 *
 * <p>Configuration comes from MicroProfile Config, highest ordinal first: {@code -Dadit.*}
 * system properties (400), {@code ADIT_*} environment variables (300), the {@code --config}
 * properties file (250), then the defaults. Invalid configuration prints one line per problem
 * and exits with status 2. The server stops cleanly on SIGTERM.</p>
 */
public final class Main
{
    /** Ordinal of the --config file: below environment variables (300), above defaults. */
    static final int CONFIG_FILE_ORDINAL = 250;

    private Main()
    {
    }

    public static void main(String[] args) throws Exception
    {
        int status = run(args, System.out, System.err);
        if (status != 0)
            System.exit(status);
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception
    {
        Optional<Path> configFile;
        try
        {
            configFile = parseArguments(args);
        }
        catch (IllegalArgumentException x)
        {
            err.println("adit: " + x.getMessage());
            err.println("usage: java [-Dadit.KEY=VALUE ...] -jar adit.jar [--config FILE]");
            return 2;
        }
        if (configFile.isPresent() && !Files.isReadable(configFile.get()))
        {
            err.println("adit: --config " + configFile.get() + ": no such readable file");
            return 2;
        }

        AditConfig config;
        try
        {
            config = withDevelopmentCertificate(ConfigBinder.bind(buildConfig(configFile)), out);
        }
        catch (ConfigException x)
        {
            err.println("adit: invalid configuration, not starting:");
            x.problems().forEach(p -> err.println("  " + p));
            return 2;
        }

        HeapReturn.apply();
        Server server = AditServer.builder(config).build();
        server.setStopAtShutdown(true);
        try
        {
            server.start();
        }
        catch (IOException x)
        {
            err.println("adit: cannot listen: " + x.getMessage());
            server.stop();
            return 1;
        }
        for (ListenerConfig listener : config.listeners())
        {
            if (listener.enabled())
            {
                String scheme = listener.isTls() ? "https" : "http";
                String protocols = listener.isTls() ? "TLS, ALPN h2 and http/1.1" : "HTTP/1.1 and h2c";
                String host = listener.host().contains(":") ? "[" + listener.host() + "]" : listener.host();
                out.printf("Adit listening on %s://%s:%d (%s)%n", scheme, host, AditServer.port(server, listener.name()), protocols);
            }
        }
        for (EncapConfig encap : config.encaps())
        {
            ClusterConfig cluster = config.clusters().get(encap.cluster());
            String host = encap.host().contains(":") ? "[" + encap.host() + "]" : encap.host();
            String how = (encap.mode() == EncapConfig.Mode.POST ? "POST" : "CONNECT") + " over "
                + (cluster.protocol() == UpstreamProtocol.H2 ? (cluster.tls().enabled() ? "h2" : "h2c") : (cluster.tls().enabled() ? "HTTP/1.1 and TLS" : "HTTP/1.1"));
            out.printf("Adit encapsulating %s on tcp://%s:%d (%s to cluster %s)%n", encap.name(), host, AditServer.port(server, encap.name()), how, encap.cluster());
        }
        out.flush();
        server.join();
        return 0;
    }

    private static Optional<Path> parseArguments(String[] args)
    {
        Path config = null;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--config" ->
                {
                    if (i + 1 == args.length)
                        throw new IllegalArgumentException("--config needs a file");
                    config = Path.of(args[++i]);
                }
                case "-h", "--help" -> throw new IllegalArgumentException("help");
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        return Optional.ofNullable(config);
    }

    static SmallRyeConfig buildConfig(Optional<Path> configFile) throws IOException
    {
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().addDefaultSources();
        if (configFile.isPresent())
            builder.withSources(new PropertiesConfigSource(configFile.get().toUri().toURL(), CONFIG_FILE_ORDINAL));
        return builder.build();
    }

    /**
     * A TLS listener without a configured certificate uses the one {@code certs/gen-certs.sh}
     * made (in {@code certs/out}, from the working directory), or else a self-signed one made
     * once in the temporary directory. Development only; the start line says which.
     */
    private static AditConfig withDevelopmentCertificate(AditConfig config, PrintStream out)
    {
        List<ListenerConfig> listeners = new ArrayList<>();
        for (ListenerConfig listener : config.listeners())
        {
            if (listener.enabled() && listener.isTls() && listener.certChain().isEmpty())
            {
                Path generated = Path.of("certs", "out");
                Path dir = Files.isRegularFile(generated.resolve("server.pem")) && Files.isRegularFile(generated.resolve("server.key"))
                    ? generated
                    : Path.of(System.getProperty("java.io.tmpdir"), "adit-dev-cert-" + System.getProperty("user.name"));
                DevCertificate.Paths dev = DevCertificate.findOrCreate(dir);
                out.println("Adit: no adit.tls.cert-chain configured, using the development certificate " + dev.certChain());
                listener = listener.withCertificate(dev.certChain(), dev.privateKey());
            }
            listeners.add(listener);
        }
        return config.withListeners(listeners);
    }
}
