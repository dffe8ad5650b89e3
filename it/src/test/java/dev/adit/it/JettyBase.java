package dev.adit.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A jetty-base over the real jetty-home the build unpacked from Maven Central (system property
 * {@code test.adit.jetty.home}), driven as a user drives it: {@code start.jar --add-modules} to
 * configure it, then {@code start.jar} as a separate process.
 */
final class JettyBase
{
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern CONNECTOR = Pattern.compile("Started [\\w.]*ServerConnector@\\w+\\{([^}]*)}\\{[^}]*:(\\d+)}");

    private final Path base;

    JettyBase(Path base)
    {
        this.base = base;
    }

    static Path home()
    {
        Path home = Path.of(System.getProperty("test.adit.jetty.home", "target/jetty-home-12.1.12")).toAbsolutePath().normalize();
        if (!Files.isRegularFile(home.resolve("start.jar")))
            throw new IllegalStateException(home + " has no start.jar: build with 'mvn verify' from the top, which unpacks jetty-home");
        return home;
    }

    Path base()
    {
        return base;
    }

    private List<String> startJar(List<String> arguments)
    {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-jar");
        command.add(home().resolve("start.jar").toString());
        command.add("jetty.home=" + home());
        command.add("jetty.base=" + base);
        command.addAll(arguments);
        return command;
    }

    /**
     * A jetty-base set up as the README says, for the Jetty module and the WAR alike: Adit's
     * archive ({@code adit-jetty-base.tar.gz}, system property {@code test.adit.jetty.base.archive})
     * unpacked into {@code base}, then {@code start.jar --add-modules=modules} there.
     *
     * @param modules jetty-home's and Adit's modules, comma-separated (e.g. {@code http,http2c,adit})
     */
    static JettyBase install(Path base, String modules) throws IOException, InterruptedException
    {
        Path archive = Path.of(System.getProperty("test.adit.jetty.base.archive", "../jetty-module/target/adit-jetty-base.tar.gz"))
            .toAbsolutePath().normalize();
        if (!Files.isRegularFile(archive))
            throw new IllegalStateException(archive + " is missing: build with 'mvn verify' from the top, which packages jetty-module first");
        Files.createDirectories(base);
        Commands.Result unpacked = Commands.run(TIMEOUT, List.of("tar", "-xzf", archive.toString(), "-C", base.toString()));
        if (unpacked.exitCode() != 0)
            throw new IllegalStateException("tar -xzf " + archive + " failed:\n" + unpacked.output());
        JettyBase jetty = new JettyBase(base);
        List<String> arguments = new ArrayList<>(List.of("--add-modules=" + modules));
        // start.jar copies the http2-client module's jars (the adit module needs them) from the
        // build's local repository instead of downloading them.
        String localRepository = System.getProperty("test.adit.maven.local.repo");
        if (localRepository != null)
            arguments.add("maven.local.repo=" + localRepository);
        Commands.Result added = jetty.run(arguments.toArray(String[]::new));
        if (added.exitCode() != 0)
            throw new IllegalStateException("start.jar " + arguments + " exited with " + added.exitCode() + ":\n" + added.output());
        return jetty;
    }

    /** Runs {@code start.jar} with {@code arguments} (e.g. {@code --add-modules=http}) and waits for it to exit. */
    Commands.Result run(String... arguments) throws IOException, InterruptedException
    {
        return Commands.run(TIMEOUT, startJar(List.of(arguments)));
    }

    /** Starts the server (plus {@code arguments} such as {@code jetty.http.port=0}); call {@link Server#awaitStarted()}. */
    Server start(String... arguments) throws IOException
    {
        ProcessBuilder builder = new ProcessBuilder(startJar(List.of(arguments))).directory(base.toFile()).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("ADIT_"));
        return new Server(builder.start());
    }

    /** A running Jetty server process. */
    static final class Server implements AutoCloseable
    {
        private final Process process;
        private final ProcessOutput output;
        private final List<int[]> ports = new ArrayList<>();
        private final List<String> protocols = new ArrayList<>();

        private Server(Process process)
        {
            this.process = process;
            this.output = new ProcessOutput(process, "jetty-output");
        }

        /** Waits for the server's "Started oejs.Server" line, noting each connector's port. */
        Server awaitStarted() throws InterruptedException
        {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (true)
            {
                String line = output.next(deadline);
                if (line == null)
                    throw new IllegalStateException("Jetty did not start; output:\n" + output());
                Matcher m = CONNECTOR.matcher(line);
                if (m.find())
                {
                    protocols.add(m.group(1));
                    ports.add(new int[]{Integer.parseInt(m.group(2))});
                }
                if (line.contains("Started oejs.Server@"))
                    return this;
            }
        }

        /** @return the port of the first connector whose protocols contain {@code protocol} (e.g. {@code h2c}, {@code ssl}) */
        int port(String protocol)
        {
            for (int i = 0; i < protocols.size(); i++)
            {
                if (protocols.get(i).contains(protocol))
                    return ports.get(i)[0];
            }
            throw new IllegalStateException("no connector with " + protocol + " in " + protocols + "; output:\n" + output());
        }

        /** Waits for the process to exit by itself (a failed start). */
        int awaitExit(Duration timeout) throws InterruptedException
        {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                throw new IllegalStateException("Jetty did not exit within " + timeout + "; output:\n" + output());
            return process.exitValue();
        }

        String output()
        {
            return output.text();
        }

        @Override
        public void close() throws InterruptedException
        {
            if (process.isAlive())
            {
                process.destroy();
                if (!process.waitFor(15, TimeUnit.SECONDS))
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
