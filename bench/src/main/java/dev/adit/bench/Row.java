package dev.adit.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One line of the report: a quantity measured through Adit over one transport, with the direct
 * path's value from the same repetition beside each of Adit's. The summary is the median over
 * the repetitions of each, and the median of the per-repetition ratios (rates) or differences
 * (latencies); failed repetitions (NaN) are left out and noted.
 */
final class Row {
    enum Kind { RATE, LATENCY, MEMORY }

    final String label;
    final String unit;
    final Kind kind;
    final String target;
    final String peer;
    final List<Double> direct = new ArrayList<>();
    final List<Double> via = new ArrayList<>();
    /** Adit's CPU seconds per unit of work (byte, tunnel, round trip), per repetition. */
    final List<Double> cpu = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    Row(String label, String unit, Kind kind, String target, String peer) {
        this.label = label;
        this.unit = unit;
        this.kind = kind;
        this.target = target;
        this.peer = peer;
    }

    void add(double directValue, double viaValue, double cpuPerUnit) {
        direct.add(directValue);
        via.add(viaValue);
        cpu.add(cpuPerUnit);
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Median of via/direct (rates) or via - direct (latencies) over the repetitions. */
    double comparison() {
        List<Double> each = new ArrayList<>();
        for (int i = 0; i < via.size(); i++) {
            double d = direct.get(i);
            double v = via.get(i);
            each.add(kind == Kind.RATE ? v / d : v - d);
        }
        return median(each);
    }

    String directCell() {
        return kind == Kind.MEMORY ? "–" : format(median(direct));
    }

    String viaCell() {
        return format(median(via));
    }

    String comparisonCell() {
        double c = comparison();
        return switch (kind) {
            case MEMORY -> "–";
            case RATE -> Double.isFinite(c) ? String.format(Locale.ROOT, "%.2f", c) : "n/a";
            case LATENCY -> Double.isFinite(c) ? String.format(Locale.ROOT, "%+.0f µs", c) : "n/a";
        };
    }

    /** Adit's CPU per unit of work: ms per GB of payload, µs per tunnel or per round trip. */
    String cpuCell() {
        double c = median(cpu);
        if (!Double.isFinite(c)) {
            return "–";
        }
        return switch (unit) {
            case "Gbit/s" -> String.format(Locale.ROOT, "%.0f ms/GB", c * 1e3);
            case "tunnels/s" -> String.format(Locale.ROOT, "%.0f µs/tunnel", c * 1e6);
            default -> String.format(Locale.ROOT, "%.0f µs/round trip", c * 1e6);
        };
    }

    String format(double value) {
        if (!Double.isFinite(value)) {
            return "n/a";
        }
        if (unit.equals("Gbit/s")) {
            return String.format(Locale.ROOT, value < 10 ? "%.2f" : "%.1f", value);
        }
        if (unit.equals("KiB")) {
            return String.format(Locale.ROOT, "%.1f", value);
        }
        return String.format(Locale.ROOT, "%,.0f", value);
    }
}
