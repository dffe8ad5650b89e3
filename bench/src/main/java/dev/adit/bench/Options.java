package dev.adit.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Command-line options of {@link Bench}; every one has a default (see {@link #USAGE}). */
final class Options {
    /** The README's {@code java @config/jvm.options -jar adit.jar}: the options in that file. */
    static final String DEFAULT_ADIT_JVM = "@config/jvm.options";
    static final Set<String> GROUPS = Set.of("bulk", "aggregate", "setup", "echo", "idle");

    static final String USAGE = """
        usage: bash bench/run [options]
          --quick               a smoke run: 1 repetition, short windows, 1,000 idle tunnels
          --reps N              interleaved repetitions (3)
          --warm-up S           unmeasured seconds before each rate window (0.5)
          --bulk-seconds S      measured window of each bulk and aggregate row (2.5; the peers: 10)
          --setup-seconds S     measured window of each setup-rate row (2; the peers: 5)
          --echo-count N        recorded 64-byte round trips per echo row (3000), after 1,000 unrecorded
          --idle-tunnels N      tunnels held by each idle row (9000)
          --idle-settle S       idle rows: seconds held without traffic before the settled RSS reading (30; with G1 the launcher's periodic GC comes 10 to 20 s after the last collection; the serial collector of config/jvm.options has none)
          --only G[,G...]       only these groups: bulk, aggregate, setup, echo, idle
          --adit-jvm "FLAGS"    JVM flags of Adit (%s, the README's: the options in that file)
          --adit-jar FILE       another build of Adit's standalone jar, for a before/after (jetty-module/target/adit.jar)
          --set KEY=VALUE       one more line of Adit's bench configuration (repeatable)
          --node                also cross-check a few rows with Node's net and http2 clients (bench/node/), as the peers were measured
          --peers               also run the peer proxies installed here (squid, tinyproxy, haproxy and nghttpx in front of squid, Node's http and http2) and measure them with the Node cross-check's clients beside Adit, idle memory included (implies --node)
          --nmt                 idle rows: Adit with -XX:NativeMemoryTracking=summary, its summaries (warmed, held) and a class histogram (held) in bench/target/nmt-*.txt
          --jfr                 record a JFR of the Adit that serves the rate rows (bench/target/adit.jfr)
          --results FILE        where the report goes (bench/RESULTS.md; --quick: bench/target/RESULTS-quick.md)
          --note TEXT           a line on the run's conditions, for the report
        """.formatted(DEFAULT_ADIT_JVM);

    int reps = 3;
    double warmUp = 0.5;
    double bulkSeconds = 2.5;
    double setupSeconds = 2;
    int echoWarmUp = 1000;
    int echoCount = 3000;
    int idleTunnels = 9000;
    double idleSettle = 30;
    Set<String> groups = new LinkedHashSet<>(List.of("bulk", "aggregate", "setup", "echo", "idle"));
    String aditJvm = DEFAULT_ADIT_JVM;
    Path aditJar;
    List<String> settings = new ArrayList<>();
    boolean jfr;
    boolean node;
    boolean peers;
    boolean nmt;
    boolean quick;
    Path results;
    String note;
    Path root = Path.of(".");
    private final List<String> commandLine = new ArrayList<>();

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            int first = i;
            switch (arg) {
                case "--quick" -> {
                    o.quick = true;
                    o.reps = 1;
                    o.warmUp = 0.3;
                    o.bulkSeconds = 0.7;
                    o.setupSeconds = 0.7;
                    o.echoWarmUp = 300;
                    o.echoCount = 500;
                    o.idleTunnels = 1000;
                    o.idleSettle = 3;
                }
                case "--reps" -> o.reps = Integer.parseInt(value(args, ++i, arg));
                case "--warm-up" -> o.warmUp = Double.parseDouble(value(args, ++i, arg));
                case "--bulk-seconds" -> o.bulkSeconds = Double.parseDouble(value(args, ++i, arg));
                case "--setup-seconds" -> o.setupSeconds = Double.parseDouble(value(args, ++i, arg));
                case "--echo-count" -> o.echoCount = Integer.parseInt(value(args, ++i, arg));
                case "--idle-tunnels" -> o.idleTunnels = Integer.parseInt(value(args, ++i, arg));
                case "--idle-settle" -> o.idleSettle = Double.parseDouble(value(args, ++i, arg));
                case "--only" -> {
                    o.groups = new LinkedHashSet<>(List.of(value(args, ++i, arg).split(",")));
                    if (!GROUPS.containsAll(o.groups)) {
                        throw new IllegalArgumentException("--only: " + o.groups + " (expected: some of " + GROUPS + ")");
                    }
                }
                case "--adit-jvm" -> o.aditJvm = value(args, ++i, arg);
                case "--adit-jar" -> o.aditJar = Path.of(value(args, ++i, arg)).toAbsolutePath();
                case "--set" -> o.settings.add(value(args, ++i, arg));
                case "--jfr" -> o.jfr = true;
                case "--node" -> o.node = true;
                case "--peers" -> {
                    o.peers = true;
                    o.node = true;
                }
                case "--nmt" -> o.nmt = true;
                case "--results" -> o.results = Path.of(value(args, ++i, arg));
                case "--note" -> o.note = value(args, ++i, arg);
                case "--root" -> {
                    o.root = Path.of(value(args, ++i, arg));
                    continue;
                }
                case "-h", "--help" -> throw new IllegalArgumentException("help");
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
            for (int j = first; j <= i; j++) {
                o.commandLine.add(quote(args[j]));
            }
        }
        if (o.reps < 1 || o.idleTunnels < 1 || o.echoCount < 1) {
            throw new IllegalArgumentException("--reps, --idle-tunnels and --echo-count must be at least 1");
        }
        if (o.results == null) {
            o.results = o.root.resolve(o.quick ? "bench/target/RESULTS-quick.md" : "bench/RESULTS.md");
        }
        return o;
    }

    /** The options as given (without --root), for the report. */
    List<String> commandLine() {
        return commandLine;
    }

    private static String quote(String arg) {
        return arg.matches("[\\w.,=/:+-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /**
     * Adit's JVM options: {@code --adit-jvm}'s, or by default the argument file itself, which the
     * java launcher reads as it does for the README's command.
     */
    List<String> aditJvmFlags() {
        if (aditJvm.equals(DEFAULT_ADIT_JVM)) {
            return List.of("@" + root.resolve("config/jvm.options").toAbsolutePath().normalize());
        }
        List<String> flags = new ArrayList<>();
        for (String flag : aditJvm.trim().split("\\s+")) {
            if (!flag.isEmpty()) {
                flags.add(flag);
            }
        }
        return flags;
    }

    /** For the report: {@code --adit-jvm} as given, or the file's options without its comments. */
    String aditJvmDescription() {
        if (!aditJvm.equals(DEFAULT_ADIT_JVM)) {
            return "`" + aditJvm + "`";
        }
        try {
            String options = Files.readAllLines(root.resolve("config/jvm.options")).stream()
                .map(line -> line.replaceFirst("#.*", "").strip())
                .filter(line -> !line.isEmpty())
                .collect(Collectors.joining(" "));
            return "`" + options + "` (`@config/jvm.options`, as the README starts Adit)";
        } catch (IOException x) {
            throw new UncheckedIOException("Adit's JVM options", x);
        }
    }

    Timing bulkTiming() {
        return Timing.seconds(warmUp, bulkSeconds);
    }

    Timing setupTiming() {
        return Timing.seconds(warmUp, setupSeconds);
    }
}
