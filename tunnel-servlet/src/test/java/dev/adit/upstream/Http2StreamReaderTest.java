package dev.adit.upstream;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

import dev.adit.core.SourceReader;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Http2StreamReader} against a stream that hands out frames from a queue and counts
 * releases and demands: every frame is released exactly once, by the reader while it reads or
 * by {@link SourceReader#release()} when the pipe ends.
 */
class Http2StreamReaderTest
{
    private final ArrayDeque<Stream.Data> queue = new ArrayDeque<>();
    private final AtomicInteger demands = new AtomicInteger();
    private boolean reset;

    private final class CountedData extends Stream.Data
    {
        final AtomicInteger releases = new AtomicInteger();

        CountedData(byte[] bytes, boolean last)
        {
            super(new DataFrame(1, ByteBuffer.wrap(bytes), last));
        }

        @Override
        public boolean release()
        {
            releases.incrementAndGet();
            return true;
        }
    }

    private CountedData offer(byte[] bytes, boolean last)
    {
        CountedData data = new CountedData(bytes, last);
        queue.add(data);
        return data;
    }

    private SourceReader reader()
    {
        Stream stream = (Stream)Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{Stream.class}, (proxy, method, args) ->
            switch (method.getName())
            {
                case "readData" -> queue.poll();
                case "demand" ->
                {
                    demands.incrementAndGet();
                    yield null;
                }
                case "isReset" -> reset;
                case "getId" -> 1;
                default -> throw new UnsupportedOperationException(method.getName());
            });
        EndPoint endPoint = (EndPoint)Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{EndPoint.class}, (proxy, method, args) ->
        {
            if (method.getName().equals("getTransport"))
                return stream;
            throw new UnsupportedOperationException(method.getName());
        });
        return Http2StreamReader.of(endPoint);
    }

    private static ByteBuffer sink(int capacity)
    {
        ByteBuffer sink = ByteBuffer.allocate(capacity);
        BufferUtil.clear(sink);
        return sink;
    }

    @Test
    void framesAreCopiedReleasedOnceAndTheNextDemanded() throws IOException
    {
        SourceReader reader = reader();
        CountedData first = offer(new byte[]{1, 2, 3}, false);
        CountedData second = offer(new byte[]{4, 5}, true);
        ByteBuffer sink = sink(16);
        assertThat(reader.fill(sink)).isEqualTo(3);
        assertThat(first.releases).hasValue(1);
        assertThat(demands).hasValue(1);
        assertThat(reader.fill(sink)).isEqualTo(2);
        assertThat(BufferUtil.toArray(sink)).containsExactly(1, 2, 3, 4, 5);
        assertThat(second.releases).hasValue(1);
        // END_STREAM came with the last bytes: the end reads next, and nothing more is demanded.
        assertThat(reader.fill(sink)).isEqualTo(-1);
        assertThat(demands).hasValue(1);
        reader.release();
        assertThat(first.releases).hasValue(1);
        assertThat(second.releases).hasValue(1);
    }

    @Test
    void aFrameLargerThanTheSinkIsHeldUntilReadOrReleasedByThePipe() throws IOException
    {
        SourceReader reader = reader();
        CountedData frame = offer(new byte[]{1, 2, 3, 4, 5}, false);
        assertThat(reader.fill(sink(2))).isEqualTo(2);
        assertThat(frame.releases).hasValue(0);
        assertThat(demands).hasValue(0);
        assertThat(reader.fill(sink(2))).isEqualTo(2);
        // The pipe ends (an abort while its write was pending): the held frame is released, once.
        reader.release();
        assertThat(frame.releases).hasValue(1);
        reader.release();
        assertThat(frame.releases).hasValue(1);
    }

    @Test
    void anEmptyEndStreamReadsAsTheEnd() throws IOException
    {
        SourceReader reader = reader();
        CountedData end = offer(new byte[0], true);
        assertThat(reader.fill(sink(16))).isEqualTo(-1);
        assertThat(end.releases).hasValue(1);
        assertThat(reader.fill(sink(16))).isEqualTo(-1);
    }

    @Test
    void nothingYetReadsAsZeroAndAResetAsAFailure() throws IOException
    {
        SourceReader reader = reader();
        assertThat(reader.fill(sink(16))).isZero();
        reset = true;
        assertThatThrownBy(() -> reader.fill(sink(16))).isInstanceOf(IOException.class).hasMessageContaining("reset");
    }
}
