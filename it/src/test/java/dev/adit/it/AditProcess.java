package dev.adit.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The standalone jar ({@code jetty-module/target/adit.jar}) run as a separate process, as a
 * user would run it. Its output is collected; the ports are read from its start lines.
 */
final class AditProcess implements AutoCloseable
{
    private static final Pattern LISTENING = Pattern.compile("Adit listening on (https?)://[^ ]+:(\\d+) ");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final List<String> command;
    private final ProcessOutput output;
    private int httpPort = -1;
    private int httpsPort = -1;

    private AditProcess(Process process, List<String> command)
    {
        this.process = process;
        this.command = List.copyOf(command);
        this.output = new ProcessOutput(process, "adit-process-output");
    }

    static Path jar()
    {
        Path jar = Path.of(System.getProperty("test.adit.jar", "../jetty-module/target/adit.jar"));
        if (!jar.toFile().isFile())
            throw new IllegalStateException(jar + " is missing: build with 'mvn verify' from the top");
        return jar;
    }

    /**
     * Starts the jar with the JVM options of {@code config/jvm.options}, as the README does;
     * system properties go before {@code -jar}, arguments after.
     */
    static AditProcess start(List<String> systemProperties, List<String> arguments) throws IOException
    {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("@" + configFile("jvm.options"));
        command.add("-Xmx256m");
        command.addAll(systemProperties);
        command.add("-jar");
        command.add(jar().toString());
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(k -> k.startsWith("ADIT_"));
        return new AditProcess(builder.start(), command);
    }

    /**
     * A file of the repository's {@code config/} directory, as an absolute path: from the system
     * property {@code test.adit.config.dir} if set, else {@code ../config} from the working
     * directory (surefire runs in {@code it/}).
     */
    static Path configFile(String name)
    {
        Path dir = Path.of(System.getProperty("test.adit.config.dir", "../config")).toAbsolutePath().normalize();
        Path file = dir.resolve(name);
        if (!file.toFile().isFile())
            throw new IllegalStateException(file + " is missing (set -Dtest.adit.config.dir to the repository's config/ directory)");
        return file;
    }

    /** Starts the jar on free loopback ports and waits until it listens. */
    static AditProcess startListening(List<String> systemProperties, List<String> arguments) throws Exception
    {
        List<String> props = new ArrayList<>(List.of("-Dadit.http.port=0", "-Dadit.https.port=0"));
        props.addAll(systemProperties);
        AditProcess adit = start(props, arguments);
        adit.awaitListening(true);
        return adit;
    }

    /**
     * Starts the jar with {@code -Dadit.http.port=0} before the given system properties and waits
     * for the plain listener only, for configurations that disable the TLS listener (the
     * scenario files in {@code config/}). If it does not start listening, the process is stopped
     * and the exception carries its output.
     */
    static AditProcess startHttpListening(List<String> systemProperties, List<String> arguments) throws Exception
    {
        List<String> props = new ArrayList<>(List.of("-Dadit.http.port=0"));
        props.addAll(systemProperties);
        AditProcess adit = start(props, arguments);
        try
        {
            adit.awaitListening(false);
            return adit;
        }
        catch (Exception | Error x)
        {
            adit.close();
            throw x;
        }
    }

    private void awaitListening(boolean withTls) throws Exception
    {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (httpPort < 0 || (withTls && httpsPort < 0))
        {
            String line = output.next(deadline);
            if (line == null)
                throw new IllegalStateException("Adit did not start listening; command: " + String.join(" ", command) + "\noutput:\n" + output());
            Matcher m = LISTENING.matcher(line);
            if (m.find())
            {
                if (m.group(1).equals("http"))
                    httpPort = Integer.parseInt(m.group(2));
                else
                    httpsPort = Integer.parseInt(m.group(2));
            }
        }
    }

    /** Waits for an output line containing {@code text}, consuming the lines before it. */
    String awaitLine(String text, Duration timeout) throws InterruptedException
    {
        return output.awaitLine(text, timeout);
    }

    /**
     * Waits for the line announcing the listener {@code prefix} names, such as
     * {@code "Adit listening on https://"} or {@code "Adit encapsulating client on tcp://"}, and
     * returns its port.
     */
    int awaitPort(String prefix, Duration timeout) throws InterruptedException
    {
        String line = awaitLine(prefix, timeout);
        Matcher m = Pattern.compile(Pattern.quote(prefix) + "[^ ]*:(\\d+) ").matcher(line);
        if (!m.find())
            throw new IllegalStateException("no port in: " + line);
        return Integer.parseInt(m.group(1));
    }

    /** @return every output line so far that contains {@code text} */
    List<String> linesWith(String text)
    {
        return output.linesWith(text);
    }

    int httpPort()
    {
        return httpPort;
    }

    int httpsPort()
    {
        return httpsPort;
    }

    String output()
    {
        return output.text();
    }

    /** Waits for the process to exit by itself. */
    int awaitExit(Duration timeout) throws InterruptedException
    {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
            throw new IllegalStateException("Adit did not exit within " + timeout + "; output:\n" + output());
        return process.exitValue();
    }

    /** Sends SIGTERM and waits for the exit. */
    int terminate(Duration timeout) throws InterruptedException
    {
        process.destroy();
        return awaitExit(timeout);
    }

    @Override
    public void close() throws InterruptedException
    {
        if (process.isAlive())
        {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS))
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
