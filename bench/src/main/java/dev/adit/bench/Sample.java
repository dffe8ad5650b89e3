package dev.adit.bench;

/**
 * One measured value; {@code cpu}: Adit's CPU time per unit of work over the same window
 * (NaN on the direct path); {@code note}: what was not clean (errors seen on the way), or null.
 */
record Sample(double value, double cpu, String note) {
    static Sample of(double value) {
        return new Sample(value, Double.NaN, null);
    }
}
