package dev.adit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The table (Markdown, printed and written) and {@code RESULTS.md}: the part between the
 * {@link #BEGIN} and {@link #END} markers is replaced by each run, text around it is kept (the
 * profile notes and the record of optimisations live there).
 */
final class Report {
    static final String BEGIN = "<!-- bench:begin (written by bench/run; edit outside these markers) -->";
    static final String END = "<!-- bench:end -->";

    private Report() {
    }

    static String table(List<Row> rows) {
        StringBuilder out = new StringBuilder();
        out.append("| row | unit | direct | Adit | Adit vs direct | target (issue 6) | best peer, same method | Adit CPU |\n");
        out.append("|---|---|---:|---:|---:|---|---|---:|\n");
        for (Row row : rows) {
            out.append("| ").append(row.label)
                .append(" | ").append(row.unit)
                .append(" | ").append(row.directCell())
                .append(" | ").append(row.viaCell())
                .append(" | ").append(row.comparisonCell())
                .append(" | ").append(row.target)
                .append(" | ").append(row.peer)
                .append(" | ").append(row.cpuCell())
                .append(" |\n");
        }
        return out.toString();
    }

    static String notes(List<Row> rows) {
        StringBuilder out = new StringBuilder();
        for (Row row : rows) {
            if (!row.notes.isEmpty()) {
                out.append("- ").append(row.label).append(": ").append(String.join("; ", row.notes)).append('\n');
            }
        }
        return out.toString();
    }

    /** Each repetition's figures, direct and through Adit, to judge the spread behind the medians. */
    static String perRepetition(List<Row> rows) {
        StringBuilder out = new StringBuilder();
        for (Row row : rows) {
            if (row.kind == Row.Kind.MEMORY || row.via.size() < 2) {
                continue;
            }
            out.append("- ").append(row.label).append(" (").append(row.unit).append("): direct ")
                .append(String.join(" / ", row.direct.stream().map(row::format).toList()))
                .append("; Adit ").append(String.join(" / ", row.via.stream().map(row::format).toList())).append('\n');
        }
        return out.toString();
    }

    /** Replaces the generated part of {@code file}, or creates the file with a title. */
    static void write(Path file, String generated) throws IOException {
        String before = "# Benchmark results\n\n";
        String after = "";
        if (Files.exists(file)) {
            String old = Files.readString(file);
            int b = old.indexOf(BEGIN);
            int e = old.indexOf(END);
            if (b >= 0 && e > b) {
                before = old.substring(0, b);
                after = old.substring(e + END.length());
            } else {
                after = "\n" + old;
            }
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, before + BEGIN + "\n" + generated + END + after);
    }
}
