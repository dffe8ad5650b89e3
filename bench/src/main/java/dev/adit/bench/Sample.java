package dev.adit.bench;

/** One measured value, with a note when something was not clean (errors seen on the way). */
record Sample(double value, String note) {
    static Sample of(double value) {
        return new Sample(value, null);
    }
}
