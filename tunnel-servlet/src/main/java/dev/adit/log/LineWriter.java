package dev.adit.log;

import java.io.Writer;

/**
 * A {@link Writer} into a reused {@link StringBuilder}: what {@link java.io.StringWriter} does
 * without its synchronised {@link StringBuffer} and without a new one per line. Not thread-safe.
 */
final class LineWriter extends Writer
{
    /** Lines longer than this (a hostile target, escaped) do not keep their buffer. */
    private static final int KEEP = 4096;

    private StringBuilder text = new StringBuilder(1024);

    @Override
    public void write(char[] chars, int offset, int length)
    {
        text.append(chars, offset, length);
    }

    @Override
    public void write(String string, int offset, int length)
    {
        text.append(string, offset, offset + length);
    }

    @Override
    public void write(int c)
    {
        text.append((char)c);
    }

    @Override
    public void flush()
    {
    }

    @Override
    public void close()
    {
    }

    /** @return what was written since the last call, which is then forgotten */
    String take()
    {
        String line = text.toString();
        if (text.capacity() > KEEP)
            text = new StringBuilder(1024);
        else
            text.setLength(0);
        return line;
    }
}
