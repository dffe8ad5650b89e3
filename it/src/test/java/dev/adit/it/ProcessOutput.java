package dev.adit.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The combined output of a process, read line by line on a daemon thread: kept whole for
 * failure messages, and queued for tests that wait (bounded) for a line.
 */
final class ProcessOutput
{
    private static final String EOF = "<eof>";

    private final List<String> all = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();

    ProcessOutput(Process process, String threadName)
    {
        Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                for (String line; (line = in.readLine()) != null; )
                {
                    all.add(line);
                    lines.add(line);
                }
            }
            catch (IOException ignored)
            {
                // The process ended.
            }
            lines.add(EOF);
        }, threadName);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Takes the next line, waiting until {@code deadline} ({@link System#nanoTime()}).
     *
     * @return the line, or null if the deadline passed or the output ended
     */
    String next(long deadline) throws InterruptedException
    {
        String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        return line == null || line.equals(EOF) ? null : line;
    }

    /** Waits for a line containing {@code text}, consuming the lines before it; fails with the whole output. */
    String awaitLine(String text, Duration timeout) throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true)
        {
            String line = next(deadline);
            if (line == null)
                throw new IllegalStateException("no line with '" + text + "' within " + timeout + "; output:\n" + text());
            if (line.contains(text))
                return line;
        }
    }

    /** @return every line so far that contains {@code text} */
    List<String> linesWith(String text)
    {
        return all.stream().filter(l -> l.contains(text)).toList();
    }

    String text()
    {
        return String.join("\n", all);
    }
}
