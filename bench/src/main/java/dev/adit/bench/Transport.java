package dev.adit.bench;

/**
 * How a client reaches a target: straight there ({@link #DIRECT}, the baseline every row is
 * divided by) or through Adit with CONNECT over one of its four transports.
 */
enum Transport {
    DIRECT("direct"),
    H1("h1"),
    H1_TLS("h1 TLS"),
    H2C("h2c"),
    H2("h2 TLS");

    private final String label;

    Transport(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    boolean isHttp2() {
        return this == H2C || this == H2;
    }

    boolean isTls() {
        return this == H1_TLS || this == H2;
    }
}
