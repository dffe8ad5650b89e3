package dev.adit.bench;

import java.time.Duration;

/** How long a rate is measured: an unmeasured warm-up, then the measured window. */
record Timing(Duration warmUp, Duration window) {
    static Timing seconds(double warmUp, double window) {
        return new Timing(Duration.ofMillis(Math.round(warmUp * 1000)), Duration.ofMillis(Math.round(window * 1000)));
    }
}
