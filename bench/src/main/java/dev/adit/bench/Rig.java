package dev.adit.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What every workload runs against: the four targets (each on its own selector thread in this
 * process), one HTTP/2 client per HTTP/2 transport, and the ports of the Adit under test.
 */
final class Rig implements AutoCloseable {
    /** Files Adit may hold beyond its start: the HTTP/2 clients' connections, log files, JIT. */
    static final int FILE_SLACK = 16;

    final Target discard;
    final Target source;
    final Target echo;
    final Target closer;
    final H2Client h2c;
    final H2Client h2;
    private volatile Ports adit;
    private volatile LongSupplier aditCpu = () -> 0;
    private volatile AditProcess aditProcess;
    private volatile int aditBaselineFiles;

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

    void adit(AditProcess process) throws IOException {
        this.adit = process.ports();
        this.aditCpu = process::cpuNanos;
        this.aditProcess = process;
        this.aditBaselineFiles = process.openFiles();
    }

    /**
     * Waits (at most {@code timeout}) until Adit holds no more files than when it started, give
     * or take {@link #FILE_SLACK}: the tunnels and connections of the last measurement are gone
     * on its side as well, so they do not weigh on the next.
     *
     * @return whether Adit got there in time (true when there is no Adit)
     */
    boolean awaitAditQuiet(Duration timeout) throws IOException {
        AditProcess process = aditProcess;
        return process == null || process.awaitOpenFilesAtMost(aditBaselineFiles + FILE_SLACK, timeout);
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
