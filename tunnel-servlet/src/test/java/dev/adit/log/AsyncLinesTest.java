package dev.adit.log;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class AsyncLinesTest
{
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** What the sink got, with the name of the thread that gave it. */
    private final List<String[]> written = Collections.synchronizedList(new ArrayList<>());
    // The sink blocks on this line until the gate opens.
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch gate = new CountDownLatch(1);
    private volatile String gated;
    private final List<Thread> threads = new ArrayList<>();
    private AsyncLines lines;

    private AsyncLines start(int capacity) throws Exception
    {
        lines = new AsyncLines(this::sink, capacity, "test-writer");
        lines.start();
        return lines;
    }

    private void sink(String line)
    {
        if (line.equals(gated))
        {
            entered.countDown();
            try
            {
                assertThat(gate.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("gate opened").isTrue();
            }
            catch (InterruptedException x)
            {
                throw new AssertionError(x);
            }
        }
        if (line.equals("bad"))
            throw new IllegalArgumentException("a sink that throws");
        written.add(new String[]{line, Thread.currentThread().getName()});
    }

    private List<String> writtenLines()
    {
        synchronized (written)
        {
            return written.stream().map(w -> w[0]).toList();
        }
    }

    private Thread thread(String name, Runnable task)
    {
        Thread thread = new Thread(task, name);
        threads.add(thread);
        thread.start();
        return thread;
    }

    private static void await(String what, BooleanSupplier condition)
    {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean())
        {
            assertThat(System.nanoTime() - deadline).as(what).isNegative();
            Thread.onSpinWait();
        }
    }

    @AfterEach
    void stop() throws Exception
    {
        gate.countDown();
        if (lines != null)
            lines.stop();
        for (Thread thread : threads)
        {
            thread.join(WAIT.toMillis());
            assertThat(thread.isAlive()).as(thread.getName()).isFalse();
        }
    }

    @Test
    void linesFromManyThreadsAreAllWrittenOnceEachThreadsInItsOrder() throws Exception
    {
        // A small queue, so that producers often find it full and write themselves.
        start(8);
        int producers = 4;
        int each = 5_000;
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            thread("producer-" + p, () ->
            {
                for (int i = 0; i < each; i++)
                    lines.accept(producer + ":" + i);
            });
        }
        for (Thread thread : threads)
            thread.join(WAIT.toMillis() * 3);
        lines.stop();

        List<String> all = writtenLines();
        assertThat(all).hasSize(producers * each).doesNotHaveDuplicates();
        Map<Integer, Integer> next = new HashMap<>();
        for (String line : all)
        {
            int producer = Integer.parseInt(line.substring(0, line.indexOf(':')));
            int i = Integer.parseInt(line.substring(line.indexOf(':') + 1));
            assertThat(i).as("after %s", next.getOrDefault(producer, 0) - 1).isEqualTo(next.getOrDefault(producer, 0));
            next.put(producer, i + 1);
        }
    }

    @Test
    void aProducerThatFindsTheQueueFullWaitsForRoomAndNothingIsDroppedOrReordered() throws Exception
    {
        gated = "1";
        start(4);
        lines.accept("1");
        assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the writer took line 1").isTrue();
        for (int i = 2; i <= 5; i++)
            lines.accept(String.valueOf(i));
        assertThat(lines.getQueued()).isEqualTo(4);

        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread producer = thread("producer", () ->
        {
            try
            {
                lines.accept("6");
            }
            catch (Throwable x)
            {
                failure.set(x);
            }
        });
        await("the producer waits for the writer", () -> producer.getState() == Thread.State.WAITING);
        assertThat(lines.getQueued()).as("nothing dropped, nothing written past the stuck line").isEqualTo(4);
        assertThat(writtenLines()).isEmpty();

        gate.countDown();
        producer.join(WAIT.toMillis());
        assertThat(producer.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        lines.stop();

        assertThat(writtenLines()).containsExactly("1", "2", "3", "4", "5", "6");
    }

    @Test
    void stopWritesEveryQueuedLineBeforeReturningThenLinesAreWrittenByTheirCaller() throws Exception
    {
        gated = "1";
        start(64);
        for (int i = 1; i <= 10; i++)
            lines.accept(String.valueOf(i));
        assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread stopper = thread("stopper", () ->
        {
            try
            {
                lines.stop();
            }
            catch (Throwable x)
            {
                failure.set(x);
            }
        });
        await("stop waits for the line being written", () -> stopper.getState() == Thread.State.WAITING);
        assertThat(lines.isStopping()).isTrue();

        gate.countDown();
        stopper.join(WAIT.toMillis());
        assertThat(stopper.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(writtenLines()).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
        assertThat(lines.getQueued()).isZero();

        lines.accept("11");
        assertThat(written.get(written.size() - 1)).containsExactly("11", Thread.currentThread().getName());
    }

    @Test
    void beforeStartLinesAreWrittenByTheirCaller()
    {
        lines = new AsyncLines(this::sink, 4, "test-writer");
        lines.accept("early");
        assertThat(written).singleElement().satisfies(w -> assertThat(w).containsExactly("early", Thread.currentThread().getName()));
    }

    @Test
    void aLineGivenToTheIdleWriterWakesIt() throws Exception
    {
        start(4);
        await("the writer goes idle after its linger", lines::isIdle);
        lines.accept("wake");
        await("the line is written", () -> !written.isEmpty());
        assertThat(written.get(0)).containsExactly("wake", "test-writer");
    }

    @Test
    void aRestartedWriterWritesAgain() throws Exception
    {
        start(4);
        lines.accept("a");
        lines.stop();
        lines.start();
        lines.accept("b");
        await("the line is written", () -> written.size() == 2);
        assertThat(writtenLines()).containsExactly("a", "b");
        assertThat(written.get(1)[1]).isEqualTo("test-writer");
    }

    @Test
    void aSinkThatThrowsLosesThatLineOnly() throws Exception
    {
        start(4);
        lines.accept("a");
        lines.accept("bad");
        lines.accept("b");
        lines.stop();
        assertThat(writtenLines()).containsExactly("a", "b");
    }

    @Test
    void aQueueHoldsAtLeastOneLine()
    {
        assertThatThrownBy(() -> new AsyncLines(line -> {}, 0, "x")).hasMessage("capacity: 0 (expected: > 0)");
    }
}
