package dev.adit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A dev PKI made by {@code certs/gen-certs.sh}, generated once per JVM into a fresh temporary
 * directory on first use and deleted at JVM exit. The script comes from the system property
 * {@code test.adit.certs.script} (set by surefire), else {@code ../certs/gen-certs.sh}.
 *
 * <p>Thread-safe; the first caller pays for generation (well under a second).
 */
public final class TestCertificates {
    private static final long TIMEOUT_SECONDS = 60;

    /** The trust domain of {@link #spiffeDir()}'s certificates. */
    public static final String TRUST_DOMAIN = "adit.test";
    /** The SPIFFE ID of {@link #spiffeDir()}'s server certificate. */
    public static final String SPIFFE_SERVER = "spiffe://" + TRUST_DOMAIN + "/ns/default/sa/server";
    /** The SPIFFE ID of {@link #spiffeDir()}'s client certificate. */
    public static final String SPIFFE_CLIENT = "spiffe://" + TRUST_DOMAIN + "/ns/default/sa/client";

    private static Path dir;
    private static RuntimeException failure;
    private static Path spiffeDir;

    private TestCertificates() {}

    /** The directory holding all generated files. */
    public static synchronized Path dir() {
        if (failure != null) {
            throw failure;
        }
        if (dir == null) {
            try {
                dir = generate();
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            }
        }
        return dir;
    }

    /** The dev CA certificate. */
    public static Path caPem() {
        return dir().resolve("ca.pem");
    }

    /** The server certificate (CN=localhost, SANs localhost, 127.0.0.1, ::1) then the CA. */
    public static Path serverChain() {
        return dir().resolve("server.pem");
    }

    public static Path serverKey() {
        return dir().resolve("server.key");
    }

    /** The client certificate (CN=adit-client, clientAuth) then the CA. */
    public static Path clientChain() {
        return dir().resolve("client.pem");
    }

    public static Path clientKey() {
        return dir().resolve("client.key");
    }

    /**
     * A second dev PKI, made with {@code gen-certs.sh --spiffe adit.test}: same file names as
     * {@link #dir()}, but its own CA, and the leaves are X.509 SVIDs ({@link #SPIFFE_SERVER},
     * {@link #SPIFFE_CLIENT}). Generated once per JVM on first use.
     */
    public static synchronized Path spiffeDir() {
        if (spiffeDir == null) {
            spiffeDir = generate(Map.of(), "--spiffe", TRUST_DOMAIN);
        }
        return spiffeDir;
    }

    /**
     * Runs {@code gen-certs.sh} with {@code options} and extra {@code environment} (such as
     * {@code ADIT_CLIENT_SANS}) into a new temporary directory, deleted at JVM exit.
     */
    public static Path generate(Map<String, String> environment, String... options) {
        try {
            Path target = Files.createTempDirectory("adit-certs");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(target)));
            List<String> command = new ArrayList<>(List.of("env"));
            environment.forEach((name, value) -> command.add(name + "=" + value));
            command.addAll(List.of("bash", script().toString()));
            command.addAll(List.of(options));
            command.add(target.toString());
            run(target, command);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory", e);
        }
    }

    /**
     * Runs {@code command} in {@code workDir}, waiting at most 60 s; fails with the command's
     * output if it does not exit 0. Returns the combined stdout and stderr.
     */
    public static String run(Path workDir, List<String> command) {
        Path output = null;
        try {
            output = Files.createTempFile("adit-exec", ".log");
            Process process = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            boolean exited = process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!exited) {
                process.destroyForcibly();
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            if (!exited || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command)
                        + (exited ? " exited with " + process.exitValue()
                                : " did not finish in " + TIMEOUT_SECONDS + " s")
                        + ":\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        } finally {
            if (output != null) {
                output.toFile().delete();
            }
        }
    }

    private static Path generate() {
        return generate(Map.of());
    }

    private static Path script() {
        Path script = Path.of(System.getProperty("test.adit.certs.script", "../certs/gen-certs.sh"))
                .toAbsolutePath()
                .normalize();
        if (!Files.isRegularFile(script)) {
            throw new IllegalStateException("cert script not found: " + script
                    + " (set -Dtest.adit.certs.script)");
        }
        return script;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // Best effort at exit; the directory lives under java.io.tmpdir anyway.
        }
    }
}
