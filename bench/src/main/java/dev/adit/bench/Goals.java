package dev.adit.bench;

import java.util.Map;

/**
 * The targets issue 6 sets (as a ratio to the direct path, or added µs, or KiB per tunnel) and
 * the best peer of {@code shared/notes/peer-figures.md} on the same row, measured there by the
 * same method. Rows the issue and the peers say nothing of get a dash.
 */
final class Goals {
    private static final String[] NONE = {"–", "–"};
    private static final Map<String, String[]> GOALS = Map.ofEntries(
        Map.entry("bulk upload|h1", new String[] {"≥ 0.65", "squid 0.60"}),
        Map.entry("bulk upload|h2c", new String[] {"≥ 0.50", "nghttpx 0.44"}),
        Map.entry("bulk upload|h2 TLS", new String[] {"≥ 0.25", "nghttpx 0.20"}),
        Map.entry("setup, target closes|h1", new String[] {"≥ 0.65", "tinyproxy 0.61"}),
        Map.entry("setup, target closes|h2c", new String[] {"≥ 0.50", "haproxy 0.43"}),
        Map.entry("setup, target closes|h2 TLS", new String[] {"–", "nghttpx 0.39"}),
        Map.entry("setup, client closes|h1", new String[] {"≥ 0.65", "tinyproxy 0.56"}),
        Map.entry("setup, client closes|h2c", new String[] {"≥ 0.50", "haproxy 0.40"}),
        Map.entry("setup, client closes|h2 TLS", new String[] {"–", "Node 0.32"}),
        Map.entry("echo RTT p50|h1", new String[] {"≤ +15 µs", "tinyproxy, Node +17 µs"}),
        Map.entry("echo RTT p50|h2c", new String[] {"≤ +30 µs", "Node +37 µs"}),
        Map.entry("echo RTT p50|h2 TLS", new String[] {"–", "Node +56 µs"}),
        Map.entry("echo RTT p99|h1", new String[] {"–", "Node 226 µs (direct 95)"}),
        Map.entry("echo RTT p99|h2c", new String[] {"–", "apache 800 µs (direct 95)"}),
        Map.entry("echo RTT p99|h2 TLS", new String[] {"–", "apache 508 µs (direct 95)"}),
        Map.entry("idle RSS from fresh start|h2c", new String[] {"≤ 4 KiB", "haproxy 3.7 (+ squid); Node 15.0"}),
        Map.entry("idle RSS from fresh start|h1", new String[] {"–", "haproxy 4.8 (+ squid); Node 12.9"}));

    private Goals() {
    }

    /** @return {target, best peer} for a row family ("bulk upload") over a transport */
    static String[] of(String family, Transport transport) {
        return GOALS.getOrDefault(family + "|" + transport.label(), NONE);
    }
}
