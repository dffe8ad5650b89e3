package dev.adit.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The peer proxies of {@code shared/notes/peer-figures.md}, run on this machine beside Adit
 * ({@code --peers}) so that they are measured by the same clients, in the same run, against the
 * same direct path: squid, tinyproxy, haproxy and nghttpx in front of squid (neither terminates
 * CONNECT itself), and Node's built-in {@code http} and {@code http2} proxies
 * ({@code bench/node/proxies.mjs}). Each is started with a configuration written to
 * {@code bench/target/peers/}, its output in a log beside it; a peer whose program is not
 * installed is left out and named in the report.
 */
final class Peers {
    /**
     * A peer as configured: its name in the report, the program it needs, how it is reached
     * ({@code h1}, {@code h2c} or {@code h1,h2c}, on one port), and over which its idle memory is measured.
     */
    record Peer(String name, String program, String vias, String idleVia) {
    }

    /** squid, also the backend of the chains (each gets a squid of its own). */
    private static final Peer SQUID = new Peer("squid 5", "squid", "h1", "h1");

    static final List<Peer> ALL = List.of(
        SQUID,
        new Peer("tinyproxy", "tinyproxy", "h1", "h1"),
        new Peer("Node http", "node", "h1", "h1"),
        new Peer("Node http2", "node", "h2c", "h2c"),
        new Peer("haproxy → squid", "haproxy", "h1,h2c", "h2c"),
        new Peer("nghttpx → squid", "nghttpx", "h2c", "h2c"));

    /** A started peer and, for a chain, the squid behind it. */
    static final class Running implements AutoCloseable {
        final Peer peer;
        final int port;
        final Process process;
        final Running backend;

        Running(Peer peer, int port, Process process, Running backend) {
            this.peer = peer;
            this.port = port;
            this.process = process;
            this.backend = backend;
        }

        /** The {@code --proxy} argument of bench/node/crosscheck.mjs for this peer. */
        String proxyArgument(String kinds) {
            StringBuilder s = new StringBuilder(peer.name()).append('=');
            String[] each = kinds.split(",");
            for (int i = 0; i < each.length; i++) {
                s.append(i == 0 ? "" : ",").append(each[i]).append(':').append(port);
            }
            return s.toString();
        }

        /** The process and its descendants (nghttpx's worker, squid's helpers). */
        List<Long> pids() {
            List<Long> pids = new ArrayList<>();
            pids.add(process.pid());
            process.descendants().forEach(p -> pids.add(p.pid()));
            return pids;
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
            if (backend != null) {
                backend.close();
            }
        }
    }

    private final Path root;
    private final Path dir;

    Peers(Path root, Path work) throws IOException {
        this.root = root;
        this.dir = Files.createDirectories(work.resolve("peers"));
    }

    /** Whether the peer's program is on this machine. */
    static boolean installed(Peer peer) {
        for (String path : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin").split(":")) {
            if (!path.isEmpty() && Files.isExecutable(Path.of(path, peer.program()))) {
                return true;
            }
        }
        return false;
    }

    /** Starts the peer, fresh, and returns once it accepts connections. */
    Running start(Peer peer) throws Exception {
        String id = peer.name().replaceAll("[^A-Za-z0-9]+", "-").toLowerCase(Locale.ROOT);
        return switch (peer.program()) {
            case "squid" -> squid(peer, id);
            case "tinyproxy" -> {
                int port = freePort();
                Path conf = write(id + ".conf", String.join("\n",
                    "Port " + port, "Listen 127.0.0.1", "Timeout 600", "MaxClients 10000", "LogLevel Critical", ""));
                yield listening(peer, port, launch(id, "tinyproxy", "-d", "-c", conf.toString()), null);
            }
            case "node" -> {
                Process p = launch(id, "node", root.resolve("bench/node/proxies.mjs").toString(), peer.vias().equals("h1") ? "http" : "http2");
                yield listening(peer, nodePort(p, id), p, null);
            }
            case "haproxy" -> {
                Running squid = squid(SQUID, id + "-squid");
                int port = freePort();
                Path conf = write(id + ".cfg", String.join("\n",
                    "global", "    maxconn 9900", "    nbthread 1",
                    "defaults", "    mode http", "    timeout connect 10s", "    timeout client 600s", "    timeout server 600s", "    timeout tunnel 600s",
                    // Without "proto h2" the listener takes HTTP/1.1 and h2c (prior knowledge) alike.
                    "frontend bench", "    bind 127.0.0.1:" + port, "    default_backend squid",
                    "backend squid", "    server squid 127.0.0.1:" + squid.port, ""));
                yield listening(peer, port, launchBefore(squid, id, "haproxy", "-f", conf.toString()), squid);
            }
            case "nghttpx" -> {
                Running squid = squid(SQUID, id + "-squid");
                int port = freePort();
                yield listening(peer, port, launchBefore(squid, id, "nghttpx", "--conf=/dev/null", "--frontend=127.0.0.1," + port + ";no-tls",
                    "--backend=127.0.0.1," + squid.port, "--http2-proxy", "--workers=1", "--no-ocsp",
                    // Each tunnel holds a connection to squid; nghttpx's default of 8 per backend host would queue the 9th.
                    "--backend-connections-per-host=10000",
                    "--errorlog-file=" + dir.resolve(id + "-error.log"), "--accesslog-file=/dev/null"), squid);
            }
            default -> throw new IllegalArgumentException(peer.program());
        };
    }

    private Running squid(Peer peer, String id) throws Exception {
        int port = freePort();
        Path cache = Files.createDirectories(dir.resolve(id));
        // squid may drop to its own user: its files must be writable by it.
        cache.toFile().setWritable(true, false);
        Path conf = write(id + ".conf", String.join("\n",
            "http_port 127.0.0.1:" + port, "http_access allow all", "cache deny all", "cache_mem 0 MB", "access_log none",
            "cache_log " + cache.resolve("cache.log"), "pid_filename " + cache.resolve("squid.pid"), "coredump_dir " + cache,
            "shutdown_lifetime 0 seconds", "max_filedescriptors 20000", "workers 1", ""));
        return listening(peer, port, launch(id, "squid", "-N", "-f", conf.toString()), null);
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    private Process launch(String id, String... command) throws IOException {
        return new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve(id + ".log").toFile())
            .start();
    }

    /** Launches a chain's front; if that fails, its squid is stopped. */
    private Process launchBefore(Running backend, String id, String... command) throws IOException {
        try {
            return launch(id, command);
        } catch (IOException x) {
            backend.close();
            throw x;
        }
    }

    /** The port bench/node/proxies.mjs printed, read from its log. */
    private int nodePort(Process p, String id) throws Exception {
        Pattern listening = Pattern.compile("listening (\\d+)");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && p.isAlive()) {
            Matcher m = listening.matcher(Files.readString(dir.resolve(id + ".log")));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            p.waitFor(50, TimeUnit.MILLISECONDS);
        }
        p.destroyForcibly();
        throw new IOException(id + " did not print its port within 10 s: " + Files.readString(dir.resolve(id + ".log")));
    }

    /** Waits, bounded, until the peer accepts a connection on its port. */
    private Running listening(Peer peer, int port, Process p, Running backend) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return new Running(peer, port, p, backend);
            } catch (IOException notYet) {
                p.waitFor(100, TimeUnit.MILLISECONDS);
            }
        }
        String log = dir.toString();
        p.destroyForcibly();
        if (backend != null) {
            backend.close();
        }
        throw new IOException(peer.name() + " is not listening on " + port + " (" + (p.isAlive() ? "still starting" : "exited") + "), see " + log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
