package dev.adit.bench;

/** What one measurement window saw: units of work done, seconds elapsed, Adit's CPU seconds (NaN: direct path). */
record Window(double units, double seconds, double aditCpuSeconds) {
    double rate() {
        return units / seconds;
    }

    /** Adit's CPU seconds per unit of work; NaN when Adit was not involved or nothing was done. */
    double cpuPerUnit() {
        return units > 0 ? aditCpuSeconds / units : Double.NaN;
    }
}
