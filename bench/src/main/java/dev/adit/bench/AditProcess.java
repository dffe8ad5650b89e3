package dev.adit.bench;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Adit under test: {@code java [flags] -jar adit.jar --config FILE} as a separate process,
 * output copied to a log file, listening on ports the kernel chose (read back from its start
 * lines). Memory is read from outside: VmRSS from {@code /proc/PID/status}, the live heap
 * with {@code jcmd PID GC.run} then {@code GC.heap_info}.
 */
final class AditProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("Adit listening on (https?)://127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final Ports ports;
    private final Path log;
    private final Path jcmd;

    /** Marks the end of Adit's output in the queue of lines (compared by identity). */
    private static final String EOF = new String("<eof>");

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
            .start();
        // Adit's output goes to the log file through this reader, which also hands each line
        // over so that the start is seen as it happens, not by polling the file.
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> copy(process, log, lines), "adit-output");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int http = -1;
        int https = -1;
        while (http < 0 || https < 0) {
            String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null || line == EOF) {
                process.destroyForcibly();
                String why = line == null ? "did not start within 60 s" : "exited with " + process.waitFor();
                throw new IOException("Adit " + why + ": " + Files.readString(log));
            }
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                if (m.group(1).equals("http")) {
                    http = Integer.parseInt(m.group(2));
                } else {
                    https = Integer.parseInt(m.group(2));
                }
            }
        }
        return new AditProcess(process, new Ports(http, https), log, java.resolveSibling("jcmd"));
    }

    private static void copy(Process process, Path log, LinkedBlockingQueue<String> lines) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             BufferedWriter out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                out.write(line);
                out.newLine();
                out.flush();
                lines.add(line);
            }
        } catch (IOException ignored) {
            // Adit ended; the log has what it wrote.
        } finally {
            lines.add(EOF);
        }
    }

    /** @return how many files (sockets included) Adit has open, from {@code /proc/PID/fd} */
    int openFiles() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            return (int) fds.count();
        }
    }

    /**
     * Waits, at most {@code timeout}, until Adit holds at most {@code max} open files: the
     * connections of the last measurement are closed on its side too.
     *
     * @return whether it got there in time
     */
    boolean awaitOpenFilesAtMost(int max, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (openFiles() > max) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        return true;
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
     * Resident set size once it has stopped falling, KiB: after a full GC, G1 gives the heap it
     * shrank back to the operating system from a background thread, after the GC has returned.
     * Three readings 200 ms apart within 1 MiB of each other, or what there is after 10 s.
     */
    long rssAfterGcKiB() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        java.util.ArrayDeque<Long> last = new java.util.ArrayDeque<>(List.of(rssKiB()));
        while (System.nanoTime() < deadline
            && (last.size() < 3 || java.util.Collections.max(last) - java.util.Collections.min(last) > 1024)) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            if (last.size() == 3) {
                last.removeFirst();
            }
            last.addLast(rssKiB());
        }
        return last.getLast();
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
