package dev.adit.bench;

import java.util.function.LongSupplier;

/**
 * What every workload runs against: the four targets (each on its own selector thread in this
 * process), one HTTP/2 client per HTTP/2 transport, and the ports of the Adit under test.
 */
final class Rig implements AutoCloseable {
    final Target discard;
    final Target source;
    final Target echo;
    final Target closer;
    final H2Client h2c;
    final H2Client h2;
    private volatile Ports adit;
    private volatile LongSupplier aditCpu = () -> 0;

    Rig() throws Exception {
        discard = Target.start(Target.Kind.DISCARD);
        source = Target.start(Target.Kind.SOURCE);
        echo = Target.start(Target.Kind.ECHO);
        closer = Target.start(Target.Kind.CLOSE);
        h2c = new H2Client(Transport.H2C);
        h2 = new H2Client(Transport.H2);
    }

    Ports adit() {
        return adit;
    }

    void adit(AditProcess process) {
        this.adit = process.ports();
        this.aditCpu = process::cpuNanos;
    }

    /** Adit's CPU time so far (ns); on the direct path -1, which {@link Load#measure} reports as NaN. */
    LongSupplier aditCpu(Transport transport) {
        return transport == Transport.DIRECT ? () -> -1 : aditCpu;
    }

    H2Client http2(Transport transport) {
        return switch (transport) {
            case H2C -> h2c;
            case H2 -> h2;
            default -> throw new IllegalArgumentException(transport + " is not HTTP/2");
        };
    }

    @Override
    public void close() {
        h2c.close();
        h2.close();
        for (Target target : new Target[] {discard, source, echo, closer}) {
            target.close();
        }
    }
}
