package dev.adit.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Adit under test: {@code java [flags] -jar adit.jar --config FILE} as a separate process,
 * output to a log file, listening on ports the kernel chose (read back from its start
 * lines). Memory is read from outside: VmRSS from {@code /proc/PID/status}, the live heap
 * with {@code jcmd PID GC.run} then {@code GC.heap_info}.
 */
final class AditProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("Adit listening on (https?)://127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final Ports ports;
    private final Path log;
    private final Path jcmd;

    private AditProcess(Process process, Ports ports, Path log, Path jcmd) {
        this.process = process;
        this.ports = ports;
        this.log = log;
        this.jcmd = jcmd;
    }

    static AditProcess start(Path java, Path workingDirectory, Path jar, List<String> jvmFlags, Path config, Path log) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(java.toString());
        command.addAll(jvmFlags);
        command.add("-jar");
        command.add(jar.toString());
        command.add("--config");
        command.add(config.toString());
        Process process = new ProcessBuilder(command)
            .directory(workingDirectory.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int http = -1;
        int https = -1;
        while (http < 0 || https < 0) {
            if (!process.isAlive()) {
                throw new IOException("Adit exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("Adit did not start within 60 s: " + Files.readString(log));
            }
            Thread.sleep(50);
            Matcher m = LISTENING.matcher(Files.readString(log, StandardCharsets.UTF_8));
            while (m.find()) {
                if (m.group(1).equals("http")) {
                    http = Integer.parseInt(m.group(2));
                } else {
                    https = Integer.parseInt(m.group(2));
                }
            }
        }
        return new AditProcess(process, new Ports(http, https), log, java.resolveSibling("jcmd"));
    }

    Ports ports() {
        return ports;
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    /**
     * User plus system CPU time of the whole process so far, from {@code /proc/PID/stat}, in
     * nanoseconds (resolution: one clock tick, 10 ms); -1 when unreadable.
     */
    long cpuNanos() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
            // Fields after the command name (which may hold spaces), from field 3 on.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            return ticks * 10_000_000L;
        } catch (IOException | RuntimeException x) {
            return -1;
        }
    }

    /** Resident set size now, KiB. */
    long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS for " + pid());
    }

    /**
     * Forces a full GC ({@code jcmd GC.run}) and returns the heap used after it, KiB: the sum
     * of the "total ...K, used ...K" lines of {@code GC.heap_info}, one for G1, one per
     * generation for the Serial and Parallel collectors.
     */
    long liveHeapKiB() throws Exception {
        jcmd("GC.run");
        String info = jcmd("GC.heap_info");
        Matcher m = Pattern.compile("total \\d+K, used (\\d+)K").matcher(info);
        long used = 0;
        boolean found = false;
        while (m.find()) {
            used += Long.parseLong(m.group(1));
            found = true;
        }
        if (!found) {
            throw new IOException("no heap use in: " + info);
        }
        return used;
    }

    /** Runs the JDK's {@code jcmd} on Adit (GC.run, JFR.dump...), returning its output. */
    String jcmd(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid())));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    /** SIGTERM (Adit stops cleanly, a JFR recording is dumped), then SIGKILL after 20 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException x) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
