package dev.adit.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.core.TunnelListener;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.component.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log: one JSON object on one line per tunnel, when it ends, whether it was
 * established ({@link #onClosed}) or refused ({@link #onRefused}), written at INFO to the SLF4J
 * logger {@value #LOGGER_NAME}. The fields are Envoy's, with Envoy's conventions, so that what
 * reads Envoy's JSON access log reads Adit's:
 * <ul>
 *   <li>{@code start_time}: when the request arrived, ISO-8601 UTC with milliseconds;</li>
 *   <li>{@code duration}: milliseconds from then to the end of the tunnel (or its refusal);</li>
 *   <li>{@code protocol}: how the client asked ({@link TunnelInfo#protocol()});</li>
 *   <li>{@code authority}: the target as the client wrote it;</li>
 *   <li>{@code response_code}: the status answered, 0 when none was
 *       ({@link TunnelInfo#responseCode()});</li>
 *   <li>{@code response_flags}: Envoy's flag ({@link TunnelFailure#responseFlag()}), {@code -}
 *       for none, and {@code response_code_details} Adit's name of the outcome
 *       ({@link TunnelFailure#code()});</li>
 *   <li>{@code bytes_received}: bytes from the client, {@code bytes_sent}: bytes to the client
 *       (tunnel payload);</li>
 *   <li>{@code upstream_host}: the address the upstream connection went to, as {@code ip:port};
 *       {@code upstream_cluster}: the cluster's name;</li>
 *   <li>{@code downstream_remote_address} and {@code downstream_local_address}: the client's
 *       address and the one it connected to, as {@code ip:port} ({@code [v6]:port});</li>
 *   <li>{@code tunnel_id}: the id other log lines about the tunnel carry.</li>
 * </ul>
 * What is not known is {@code null}, as in Envoy's JSON format.
 *
 * <p>The JSON is written by Jackson's streaming generator, never by hand, with non-ASCII
 * escaped: a target a client made up cannot break the line or the object. Cheap enough for
 * I/O threads: generators are kept and reused ({@link LineFormatter}, lent by a
 * {@link FormatterPool}), the time and addresses are printed without intermediate objects,
 * and the one string a line allocates is the line itself; nothing at all when the logger is
 * off. Safe to call from any number of threads at once.</p>
 *
 * <p>Lines for the logger are written by a thread of the log's own while it is started (an
 * {@link AsyncLines}, a child bean): an I/O thread formats the line and queues it, and does not
 * wait for the logger's formatting and its write to a pipe or a file. The queue is bounded,
 * nothing is dropped (when it is full the producing thread writes, which is back-pressure),
 * lines keep their order, and stopping writes what is queued. Before the log starts and after
 * it stops, lines are written on the thread that ended the tunnel. A line given to a
 * {@link #AccessLog(Consumer) sink of the caller's} is handed over on that thread, unless the
 * sink is a {@link LifeCycle} (such as an {@link AsyncLines}), which then starts and stops with
 * the log.</p>
 */
public final class AccessLog extends ContainerLifeCycle implements TunnelListener
{
    /** The logger the lines go to by default, at INFO. */
    public static final String LOGGER_NAME = "adit.access";
    /** The writer thread's name. */
    public static final String THREAD_NAME = "adit-access-log";
    /** How many lines may wait for the writer thread (about 600 bytes each). */
    static final int QUEUE_CAPACITY = 4096;

    private static final Logger LOG = LoggerFactory.getLogger(LOGGER_NAME);

    private final Consumer<String> lines;
    private final BooleanSupplier enabled;
    private final Clock clock;
    private final FormatterPool formatters = new FormatterPool();

    /**
     * Lines go to the SLF4J logger {@value #LOGGER_NAME} at INFO, from the thread
     * {@value #THREAD_NAME} while this log is started.
     */
    public AccessLog()
    {
        // "{}": the line is an argument, never a pattern a logger might interpret.
        this(new AsyncLines(line -> LOG.info("{}", line), QUEUE_CAPACITY, THREAD_NAME), LOG::isInfoEnabled, Clock.systemUTC());
    }

    /**
     * @param lines where each line goes instead of SLF4J (a file, a queue, a test), called on
     *              the thread that ended the tunnel; a {@link LifeCycle} is started and stopped
     *              with this log
     */
    public AccessLog(Consumer<String> lines)
    {
        this(lines, () -> true, Clock.systemUTC());
    }

    AccessLog(Consumer<String> lines, BooleanSupplier enabled, Clock clock)
    {
        this.lines = Objects.requireNonNull(lines);
        this.enabled = Objects.requireNonNull(enabled);
        this.clock = Objects.requireNonNull(clock);
        if (lines instanceof LifeCycle)
            installBean(lines);
    }

    @Override
    public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
    {
        log(tunnel, outcome);
    }

    @Override
    public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
    {
        log(tunnel, failure);
    }

    private void log(TunnelInfo tunnel, TunnelFailure outcome)
    {
        if (enabled.getAsBoolean())
            lines.accept(format(tunnel, outcome, clock.instant()));
    }

    /** @return the line for a tunnel that ended at {@code end} */
    String format(TunnelInfo tunnel, TunnelFailure outcome, Instant end)
    {
        LineFormatter formatter = formatters.acquire();
        String line;
        try
        {
            line = formatter.format(tunnel, outcome, end);
        }
        catch (IOException x)
        {
            // A LineWriter does not fail; Jackson declares it anyway.
            throw new UncheckedIOException(x);
        }
        // Given back only after a whole line: on any exception above it is dropped, as its
        // generator may be half-way through an object.
        formatters.release(formatter);
        return line;
    }

    /** @return {@code ip:port}, {@code [v6]:port} with the IPv6 address in RFC 5952 text (as Envoy prints it), or null */
    static String address(SocketAddress address)
    {
        if (address == null)
            return null;
        if (!(address instanceof InetSocketAddress inet))
            return address.toString();
        return LineFormatter.append(new StringBuilder(48), inet).toString();
    }

    @Override
    public String toString()
    {
        return "AccessLog";
    }
}
