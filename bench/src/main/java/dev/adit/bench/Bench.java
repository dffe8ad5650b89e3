package dev.adit.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark: starts Adit (its standalone jar, on free ports, as its own process) and the
 * targets, then runs every row through Adit and the same workload on the direct path, in the
 * same repetition, repetitions interleaved (the direct path first in odd repetitions, last in
 * even ones), and reports medians and the per-repetition ratios to the direct path. The
 * idle-tunnel rows each get a freshly started Adit. See {@code bench/README.md}.
 */
public final class Bench {
    private static final List<Transport> ALL = List.of(Transport.H1, Transport.H1_TLS, Transport.H2C, Transport.H2);

    private final Options options;
    private final Path root;
    private final Path work;
    private final Path javaBin;
    private final List<Workload> workloads = new ArrayList<>();
    private final List<Row> idleRows = new ArrayList<>();
    private final List<String> idleNotes = new ArrayList<>();
    private String nodeTable;
    private final List<String> peerIdle = new ArrayList<>();
    private final List<String> peersMissing = new ArrayList<>();

    private Bench(Options options) {
        this.options = options;
        this.root = options.root.toAbsolutePath().normalize();
        this.work = root.resolve("bench/target");
        this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException x) {
            if (!"help".equals(x.getMessage())) {
                System.err.println("bench: " + x.getMessage());
            }
            System.err.print(Options.USAGE);
            System.exit(2);
            return;
        }
        System.exit(new Bench(options).run());
    }

    /** Measures a workload over one transport: one sample per row of the workload. */
    private interface Measure {
        Sample[] run(Transport transport) throws Exception;
    }

    /** A workload, the transports it runs over, and its rows (one list per transport). */
    private record Workload(String name, List<Transport> vias, Measure measure, Map<Transport, List<Row>> rows) {
    }

    private int run() throws Exception {
        Path jar = options.aditJar != null ? options.aditJar : root.resolve("jetty-module/target/adit.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("bench: no " + jar + (options.aditJar != null ? "" : " (bench/run builds it)"));
            return 2;
        }
        Files.createDirectories(work);
        Path config = writeConfig();
        String loadBefore = Machine.loadAverage();
        Instant started = Instant.now();
        try (Rig rig = new Rig()) {
            defineWorkloads(rig);
            if (!workloads.isEmpty()) {
                runRates(rig, jar, config);
            }
            if (options.groups.contains("idle")) {
                for (Transport transport : List.of(Transport.H2C, Transport.H1)) {
                    runIdle(rig, jar, config, transport);
                }
                if (options.peers) {
                    runPeerIdle(jar, config);
                }
            }
        }
        Duration took = Duration.between(started, Instant.now()).truncatedTo(ChronoUnit.SECONDS);
        List<Row> rows = new ArrayList<>();
        workloads.forEach(w -> w.vias().forEach(t -> rows.addAll(w.rows().get(t))));
        rows.addAll(idleRows);
        String table = Report.table(rows);
        System.out.println();
        System.out.print(table);
        String notes = Report.notes(rows);
        if (!notes.isEmpty()) {
            System.out.print("\n" + notes);
        }
        Report.write(options.results, generated(rows, table, notes, loadBefore, started, took));
        System.out.println("\nwritten: " + options.results + " (" + took.toSeconds() + " s)");
        return 0;
    }

    private Path writeConfig() throws Exception {
        List<String> lines = new ArrayList<>(List.of(
            "# Written by bench/run: Adit on free ports, otherwise its defaults (README, Configuration).",
            "adit.http.port=0",
            "adit.https.port=0"));
        lines.addAll(options.settings);
        Path config = work.resolve("adit-bench.properties");
        Files.write(config, lines);
        return config;
    }

    private void defineWorkloads(Rig rig) {
        if (options.groups.contains("bulk")) {
            for (Bulk.Direction direction : Bulk.Direction.values()) {
                String family = "bulk " + direction.name().toLowerCase(Locale.ROOT);
                rate(family, family + ", 1 tunnel", "Gbit/s", ALL,
                    t -> new Sample[] {Bulk.run(rig, t, direction, 1, options.bulkTiming())});
            }
        }
        if (options.groups.contains("aggregate")) {
            for (int tunnels : new int[] {8, 64}) {
                String name = "aggregate upload, " + tunnels + " tunnels";
                rate(name, name, "Gbit/s", List.of(Transport.H1, Transport.H2C),
                    t -> new Sample[] {Bulk.run(rig, t, Bulk.Direction.UPLOAD, tunnels, options.bulkTiming())});
            }
        }
        if (options.groups.contains("setup")) {
            for (SetupRate.Closer closer : SetupRate.Closer.values()) {
                String family = "setup, " + closer.name().toLowerCase(Locale.ROOT) + " closes";
                rate(family, family + ", 32 clients", "tunnels/s", List.of(Transport.H1, Transport.H2C, Transport.H2),
                    t -> new Sample[] {SetupRate.run(rig, t, closer, 32, options.setupTiming())});
            }
        }
        if (options.groups.contains("echo")) {
            Map<Transport, List<Row>> rows = new LinkedHashMap<>();
            for (Transport t : ALL) {
                rows.put(t, List.of(row("echo RTT p50", "echo RTT p50, 64 B", "µs", Row.Kind.LATENCY, t),
                    row("echo RTT p99", "echo RTT p99, 64 B", "µs", Row.Kind.LATENCY, t)));
            }
            workloads.add(new Workload("echo RTT", ALL, t -> {
                EchoRtt.Rtts rtts = EchoRtt.run(rig, t, options.echoWarmUp, options.echoCount);
                return new Sample[] {new Sample(rtts.percentile(50), rtts.cpuPerRoundTrip(), null), new Sample(rtts.percentile(99), rtts.cpuPerRoundTrip(), null)};
            }, rows));
        }
    }

    private void rate(String family, String name, String unit, List<Transport> vias, Measure measure) {
        Map<Transport, List<Row>> rows = new LinkedHashMap<>();
        for (Transport t : vias) {
            rows.put(t, List.of(row(family, name, unit, Row.Kind.RATE, t)));
        }
        workloads.add(new Workload(name, vias, measure, rows));
    }

    private static Row row(String family, String name, String unit, Row.Kind kind, Transport t) {
        String[] goal = Goals.of(family, t);
        return new Row(name + ", " + t.label(), unit, kind, goal[0], goal[1]);
    }

    private void runRates(Rig rig, Path jar, Path config) throws Exception {
        List<String> flags = new ArrayList<>(options.aditJvmFlags());
        if (options.jfr) {
            flags.add("-XX:StartFlightRecording=filename=" + work.resolve("adit.jfr") + ",settings=profile,dumponexit=true");
        }
        try (AditProcess adit = AditProcess.start(javaBin, root, jar, flags, config, work.resolve("adit.log"))) {
            rig.adit(adit);
            log("Adit pid %d on http %d, https %d; JVM flags: %s", adit.pid(), adit.ports().http(), adit.ports().https(), String.join(" ", flags));
            warmUp(rig);
            for (int rep = 1; rep <= options.reps; rep++) {
                for (Workload workload : workloads) {
                    runRepetition(rig, workload, rep);
                }
            }
            if (options.node) {
                nodeTable = nodeCrossCheck(adit);
            }
        }
    }

    /**
     * bench/node/crosscheck.mjs against the same Adit: Node's clients and targets, as in the
     * peer figures, so that those rows' ratios stand beside the peers' without the question of
     * how fast the direct path's client is; with each proxy's CPU time per unit of work (a
     * chain's: the front and its squid together). Its table, or why there is none.
     */
    private String nodeCrossCheck(AditProcess adit) {
        Ports ports = adit.ports();
        List<Peers.Running> running = new ArrayList<>();
        try {
            List<String> command = new ArrayList<>(List.of("node", root.resolve("bench/node/crosscheck.mjs").toString(),
                "--http", Integer.toString(ports.http()),
                "--seconds", Double.toString(options.bulkSeconds),
                "--reps", Integer.toString(options.reps),
                "--cpu", "Adit=" + adit.pid()));
            if (options.peers) {
                Peers peers = new Peers(root, work);
                for (Peers.Peer peer : Peers.ALL) {
                    if (!Peers.installed(peer)) {
                        continue;
                    }
                    try {
                        Peers.Running r = peers.start(peer);
                        running.add(r);
                        command.addAll(List.of("--proxy", r.proxyArgument(peer.vias())));
                        List<Long> pids = new ArrayList<>(r.pids());
                        if (r.backend != null) {
                            pids.addAll(r.backend.pids());
                        }
                        command.addAll(List.of("--cpu", peer.name() + "=" + String.join(",", pids.stream().map(String::valueOf).toList())));
                    } catch (Exception x) {
                        log("peer %s did not start: %s", peer.name(), x.getMessage());
                    }
                }
            }
            log("cross-check with Node's clients%s", running.isEmpty() ? "" : ", and the peers " + running.stream().map(r -> r.peer.name()).toList());
            Process node = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
            String table = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!node.waitFor(20, TimeUnit.MINUTES) || node.exitValue() != 0) {
                return "(the Node cross-check failed: exit " + (node.isAlive() ? "none, timed out" : node.exitValue()) + ")\n";
            }
            System.out.print(table);
            return table;
        } catch (Exception x) {
            log("no Node cross-check: %s", x);
            return "(no Node cross-check: " + x.getMessage() + ")\n";
        } finally {
            running.forEach(Peers.Running::close);
        }
    }

    /**
     * Idle memory the peers' way, for Adit and every peer installed here alike: a freshly started
     * proxy, the idle tunnels opened through it by bench/node/crosscheck.mjs, the growth of its
     * processes' VmRSS (for a chain, the front proxy's, and with the squid behind it).
     */
    private void runPeerIdle(Path jar, Path config) {
        Peers peers;
        try {
            peers = new Peers(root, work);
        } catch (IOException x) {
            log("no peers: %s", x);
            return;
        }
        for (String via : List.of("h2c", "h1")) {
            try (AditProcess adit = AditProcess.start(javaBin, root, jar, options.aditJvmFlags(), config, work.resolve("adit-idle-node-" + via + ".log"))) {
                peerIdle.add(nodeIdle("Adit=" + via + ":" + adit.ports().http(), List.of(adit.pid()), List.of()));
            } catch (Exception x) {
                log("idle over Adit %s with Node's client failed: %s", via, x);
                peerIdle.add("| Adit | " + via + " | failed: " + x.getMessage() + " | | | | | |");
            }
        }
        for (Peers.Peer peer : Peers.ALL) {
            if (!Peers.installed(peer)) {
                peersMissing.add(peer.name() + " (`" + peer.program() + "`)");
                continue;
            }
            try (Peers.Running r = peers.start(peer)) {
                peerIdle.add(nodeIdle(r.proxyArgument(peer.idleVia()), r.pids(), r.backend == null ? List.of() : r.backend.pids()));
            } catch (Exception x) {
                log("idle over %s failed: %s", peer.name(), x);
                peerIdle.add("| " + peer.name() + " | " + peer.idleVia() + " | failed: " + x.getMessage() + " | | | | | |");
            }
        }
    }

    /** One row of the peers' idle table: crosscheck.mjs --idle through one proxy. */
    private String nodeIdle(String proxy, List<Long> front, List<Long> behind) throws Exception {
        List<Long> pids = new ArrayList<>(front);
        pids.addAll(behind);
        log("idle with Node's client: %s", proxy);
        Process node = new ProcessBuilder("node", root.resolve("bench/node/crosscheck.mjs").toString(),
            "--idle", Integer.toString(options.idleTunnels), "--proxy", proxy,
            "--pids", String.join(",", pids.stream().map(String::valueOf).toList()))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!node.waitFor(5, TimeUnit.MINUTES) || node.exitValue() != 0) {
            throw new IOException("crosscheck.mjs --idle: exit " + (node.isAlive() ? "none, timed out" : node.exitValue()) + ": " + out);
        }
        String[] f = out.split("\t");
        if (f.length != 10) {
            throw new IOException("crosscheck.mjs --idle printed: " + out);
        }
        long held = Long.parseLong(f[2]);
        long heldAtHalf = Long.parseLong(f[6]);
        long[] before = kiB(f[7]);
        long[] half = kiB(f[8]);
        long[] holding = kiB(f[9]);
        long frontGrowth = 0;
        long frontSecondHalf = 0;
        long allGrowth = 0;
        long allSecondHalf = 0;
        for (int i = 0; i < pids.size(); i++) {
            allGrowth += holding[i] - before[i];
            allSecondHalf += holding[i] - half[i];
            if (i < front.size()) {
                frontGrowth += holding[i] - before[i];
                frontSecondHalf += holding[i] - half[i];
            }
        }
        log("idle %s over %s: %s", f[0], f[1], out.replace('\t', ' '));
        return String.format(Locale.ROOT, "| %s | %s | %,d of %,d (%s errors, opened in %s s) | %s | %s | %s | %s | %s |",
            f[0], f[1], held, options.idleTunnels, f[4], f[5], f[3],
            perTunnel(frontGrowth, held), perTunnel(frontSecondHalf, held - heldAtHalf),
            behind.isEmpty() ? "–" : perTunnel(allGrowth, held), behind.isEmpty() ? "–" : perTunnel(allSecondHalf, held - heldAtHalf));
    }

    private static long[] kiB(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).mapToLong(Long::parseLong).toArray();
    }

    private static String perTunnel(long kiB, long tunnels) {
        return tunnels <= 0 ? "–" : String.format(Locale.ROOT, "%.1f", kiB / (double) tunnels);
    }

    /** Unrecorded: JIT compilation of both sides, pools and windows grown, on every transport. */
    private void warmUp(Rig rig) {
        log("warm-up");
        Timing brief = Timing.seconds(0.2, Math.max(0.3, options.warmUp));
        for (Transport t : ALL) {
            try {
                Bulk.run(rig, t, Bulk.Direction.UPLOAD, 1, brief);
                Bulk.run(rig, t, Bulk.Direction.DOWNLOAD, 1, brief);
                EchoRtt.run(rig, t, 0, options.echoWarmUp);
                if (t != Transport.H1_TLS) {
                    // Both ways of closing: each has paths of its own to compile (a target that
                    // closes before the 200 went out, say), which a 1-repetition run would
                    // otherwise pay for inside its first window.
                    for (SetupRate.Closer closer : SetupRate.Closer.values()) {
                        SetupRate.run(rig, t, closer, 32, brief);
                    }
                }
            } catch (Exception x) {
                log("warm-up over %s failed: %s", t.label(), x);
            }
        }
    }

    private void runRepetition(Rig rig, Workload workload, int rep) {
        List<Transport> order = new ArrayList<>();
        order.add(Transport.DIRECT);
        order.addAll(workload.vias());
        if (rep % 2 == 0) {
            Collections.reverse(order);
        }
        Map<Transport, Sample[]> samples = new LinkedHashMap<>();
        for (Transport t : order) {
            settle(rig);
            Sample[] s = measure(workload, t);
            samples.put(t, s);
            StringBuilder line = new StringBuilder();
            for (Sample one : s) {
                line.append(String.format(Locale.ROOT, " %.2f", one.value()));
                if (Double.isFinite(one.cpu())) {
                    line.append(String.format(Locale.ROOT, " [Adit CPU %.3g s/unit]", one.cpu()));
                }
                if (one.note() != null) {
                    line.append(" (").append(one.note()).append(')');
                }
            }
            log("rep %d  %-36s %-7s%s", rep, workload.name(), t.label(), line);
        }
        Sample[] direct = samples.get(Transport.DIRECT);
        for (Transport t : workload.vias()) {
            List<Row> rows = workload.rows().get(t);
            Sample[] via = samples.get(t);
            for (int k = 0; k < rows.size(); k++) {
                rows.get(k).add(direct[k].value(), via[k].value(), via[k].cpu());
                if (via[k].note() != null) {
                    rows.get(k).notes.add("rep " + rep + ": " + via[k].note());
                }
                if (direct[k].note() != null) {
                    rows.get(k).notes.add("rep " + rep + ", direct: " + direct[k].note());
                }
            }
        }
    }

    /** Between measurements: waits (bounded) until Adit has closed the previous one's connections. */
    private static void settle(Rig rig) {
        try {
            if (!rig.awaitAditQuiet(Duration.ofSeconds(10))) {
                log("Adit still holds the last measurement's connections after 10 s; measuring anyway");
            }
        } catch (IOException x) {
            log("cannot count Adit's open files: %s", x);
        }
    }

    private Sample[] measure(Workload workload, Transport t) {
        int width = workload.rows().values().iterator().next().size();
        try {
            return workload.measure().run(t);
        } catch (Exception x) {
            Sample[] failed = new Sample[width];
            String note = "failed: " + (x.getCause() != null ? x.getCause() : x);
            Arrays.fill(failed, new Sample(Double.NaN, Double.NaN, note));
            return failed;
        }
    }

    private void runIdle(Rig rig, Path jar, Path config, Transport t) throws Exception {
        String name = t.label().replace(' ', '-').toLowerCase(Locale.ROOT);
        Row fresh = row("idle RSS from fresh start", "idle, RSS growth per tunnel from a fresh start", "KiB", Row.Kind.MEMORY, t);
        Row settled = row("idle RSS settled", String.format(Locale.ROOT, "idle, RSS growth per tunnel from a fresh start, then %.0f s without traffic", options.idleSettle), "KiB", Row.Kind.MEMORY, t);
        Row afterGc = row("idle RSS after GC", "idle, RSS growth per tunnel after warm-up, both after GC", "KiB", Row.Kind.MEMORY, t);
        Row heap = row("idle heap", "idle, live heap per tunnel after GC", "KiB", Row.Kind.MEMORY, t);
        List<String> flags = new ArrayList<>(options.aditJvmFlags());
        if (options.nmt) {
            flags.add("-XX:NativeMemoryTracking=summary");
        }
        try (AditProcess adit = AditProcess.start(javaBin, root, jar, flags, config, work.resolve("adit-idle-" + name + ".log"))) {
            rig.adit(adit);
            IdleMemory.Result r = IdleMemory.run(rig, adit, t, options.idleTunnels, options.idleSettle, options.nmt ? work.resolve("nmt-" + name + ".txt") : null);
            fresh.add(Double.NaN, r.rssPerTunnelFromFresh(), Double.NaN);
            settled.add(Double.NaN, r.rssPerTunnelSettled(), Double.NaN);
            afterGc.add(Double.NaN, r.rssPerTunnelAfterGc(), Double.NaN);
            heap.add(Double.NaN, r.heapPerTunnel(), Double.NaN);
            String note = String.format(Locale.ROOT,
                "%,d of %,d held over %,d connection(s), opened in %.1f s, %d errors; RSS MiB: fresh %.1f, warmed+GC %.1f, held %.1f, held and settled %.1f, held+GC %.1f; live heap MiB: warmed %.1f, held %.1f",
                r.held(), options.idleTunnels, r.connections(), r.openSeconds(), r.errors(),
                r.rssFresh() / 1024.0, r.rssBase() / 1024.0, r.rssHeld() / 1024.0, r.rssSettled() / 1024.0, r.rssHeldAfterGc() / 1024.0,
                r.heapBase() / 1024.0, r.heapHeld() / 1024.0);
            log("idle %s: %s", t.label(), note);
            idleNotes.add("idle over " + t.label() + ": " + note);
            if (r.held() < options.idleTunnels) {
                fresh.notes.add("only " + r.held() + " of " + options.idleTunnels + " held");
            }
        } catch (Exception x) {
            log("idle %s failed: %s", t.label(), x);
            for (Row row : List.of(fresh, settled, afterGc, heap)) {
                row.add(Double.NaN, Double.NaN, Double.NaN);
                row.notes.add("failed: " + x);
            }
        }
        idleRows.addAll(List.of(fresh, settled, afterGc, heap));
    }

    private String generated(List<Row> rows, String table, String notes, String loadBefore, Instant started, Duration took) {
        StringBuilder out = new StringBuilder();
        out.append("## Latest run\n\n");
        out.append("`bash bench/run ").append(String.join(" ", options.commandLine())).append("` on ")
            .append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ").append(took.toSeconds()).append(" s.\n\n");
        out.append(String.format(Locale.ROOT,
            "%d interleaved repetition(s), medians; ratios are per repetition against the direct path measured in the same repetition. "
                + "Rates: %.1f s warm-up then a %.1f s window (bulk, aggregate), %.1f s (setup). Echo: %,d round trips after %,d unrecorded. "
                + "Idle: %,d tunnels on a freshly started Adit per transport.%n%n",
            options.reps, options.warmUp, options.bulkSeconds, options.setupSeconds, options.echoCount, options.echoWarmUp, options.idleTunnels));
        out.append(table).append('\n');
        if (!notes.isEmpty()) {
            out.append("Notes:\n\n").append(notes).append('\n');
        }
        String perRepetition = Report.perRepetition(rows);
        if (!perRepetition.isEmpty()) {
            out.append("<details><summary>Each repetition (1 / 2 / 3 ...)</summary>\n\n").append(perRepetition).append("\n</details>\n\n");
        }
        if (nodeTable != null) {
            out.append("Cross-check with Node's clients and targets (bench/node/crosscheck.mjs, Node ")
                .append(nodeVersion()).append(options.peers ? ", same Adit, and the peer proxies installed here measured in the same repetitions, each against the same direct path"
                    : ", same Adit").append(", same windows and repetitions; ")
                .append(options.peers ? "proxy CPU: each proxy's" : "Adit CPU: Adit's")
                .append(" own CPU time, user and system, per unit of work in the same windows")
                .append(options.peers ? " (a chain's: its front and the squid behind it together)" : "").append("):\n\n").append(nodeTable).append('\n');
        }
        if (!peerIdle.isEmpty()) {
            out.append("Idle memory the peers' way, for Adit and the peers alike (bench/node/crosscheck.mjs --idle): each proxy started fresh, ")
                .append(String.format(Locale.ROOT, "%,d", options.idleTunnels))
                .append(" tunnels opened through it to the echo target by Node's client (h2c: as many streams per connection as the proxy allows, at most 1,000), ")
                .append("each checked with a 1-byte echo, VmRSS growth of the proxy's processes divided by the tunnels held; ")
                .append("the second half alone: the growth while the second half of them opened, divided by those, ")
                .append("what each further tunnel costs once a proxy's one-off costs are paid (for a JVM: code compiled, heap sized):\n\n")
                .append("| proxy | via | tunnels held | connections | RSS growth per tunnel, KiB | second half alone, KiB | with the squid behind it, KiB | second half, with the squid, KiB |\n|---|---|---|---:|---:|---:|---:|---:|\n");
            peerIdle.forEach(line -> out.append(line).append('\n'));
            out.append('\n');
        }
        if (!peersMissing.isEmpty()) {
            out.append("Peers not installed here, so not measured: ").append(String.join(", ", peersMissing))
                .append(" (`apt-get install squid tinyproxy haproxy nghttp2-proxy`).\n\n");
        }
        if (!idleNotes.isEmpty()) {
            out.append("Idle rows in detail:\n\n");
            idleNotes.forEach(n -> out.append("- ").append(n).append('\n'));
            out.append('\n');
        }
        out.append("### Conditions\n\n");
        Machine.describe().forEach(line -> out.append("- ").append(line).append('\n'));
        out.append("- load average (1, 5, 15 min): ").append(loadBefore).append(" before, ").append(Machine.loadAverage()).append(" after\n");
        if (options.aditJar != null) {
            out.append("- Adit's jar: ").append(options.aditJar).append('\n');
        }
        out.append("- Adit's JVM flags: ").append(options.aditJvmDescription()).append(options.jfr ? ", with `-XX:StartFlightRecording=…`" : "").append('\n');
        out.append("- Adit's configuration: its defaults (access log on, to a file), listeners on free ports")
            .append(options.settings.isEmpty() ? "" : ", and " + String.join(", ", options.settings)).append('\n');
        out.append("- clients' and targets' JVM (one process): `").append(Machine.clientFlags()).append("`\n");
        if (options.note != null) {
            out.append("- ").append(options.note).append('\n');
        }
        out.append('\n');
        return out.toString();
    }

    private static String nodeVersion() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (Exception x) {
            return "?";
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[%s] %s%n", Instant.now().truncatedTo(ChronoUnit.SECONDS), String.format(Locale.ROOT, format, args));
    }
}
