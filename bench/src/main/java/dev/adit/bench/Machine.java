package dev.adit.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** What the run was on, for the report: cores, memory, CPU, kernel, JVM, load. */
final class Machine {
    private Machine() {
    }

    static List<String> describe() {
        return List.of(
            "cores (nproc): " + Runtime.getRuntime().availableProcessors(),
            "memory: " + memTotal(),
            "CPU: " + cpuModel(),
            "kernel: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
            "JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")",
            "open-file limit: " + fileLimit());
    }

    /** The client JVM's own flags, as it was started. */
    static String clientFlags() {
        return String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments());
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException x) {
            return "unknown";
        }
    }

    private static String memTotal() {
        return grep(Path.of("/proc/meminfo"), "MemTotal:")
            .map(line -> String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(line.replaceAll("[^0-9]", "")) / 1048576.0))
            .orElse("unknown");
    }

    private static String cpuModel() {
        return grep(Path.of("/proc/cpuinfo"), "model name").map(line -> line.substring(line.indexOf(':') + 1).trim()).orElse("unknown");
    }

    private static String fileLimit() {
        return grep(Path.of("/proc/self/limits"), "Max open files").map(line -> line.replaceAll("\\s+", " ").trim()).orElse("unknown");
    }

    private static java.util.Optional<String> grep(Path file, String prefix) {
        try {
            return Files.readAllLines(file).stream().filter(l -> l.startsWith(prefix)).findFirst();
        } catch (IOException x) {
            return java.util.Optional.empty();
        }
    }
}
