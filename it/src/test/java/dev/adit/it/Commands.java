package dev.adit.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a client program nobody here wrote (curl, python3-h2) with a bound on its run time. */
final class Commands
{
    record Result(int exitCode, String output)
    {
    }

    private Commands()
    {
    }

    static Result run(Duration timeout, List<String> command) throws IOException, InterruptedException
    {
        Path out = Files.createTempFile("adit-it-", ".out");
        try
        {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
            {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(command + " did not finish within " + timeout + ":\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        }
        finally
        {
            Files.deleteIfExists(out);
        }
    }
}
