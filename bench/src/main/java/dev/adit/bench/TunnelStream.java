package dev.adit.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;

/**
 * One CONNECT stream seen as events: established (2xx), bytes, the peer's END_STREAM, an error
 * (non-2xx, RST_STREAM, failure, idle timeout), closed. Reads are demanded continuously and each
 * {@link Stream.Data} is released right after {@link #onBytes}, so the client never holds
 * credit back. All callbacks run on Jetty's threads and must not block.
 */
abstract class TunnelStream implements Stream.Listener {
    protected volatile Stream stream;

    /** The stream was created (its HEADERS are on their way). */
    void attach(Stream stream) {
        this.stream = stream;
    }

    /** The 2xx arrived: bytes may flow. */
    void onEstablished() {
    }

    /** Bytes from the target; the buffer is valid only during the call. */
    void onBytes(ByteBuffer bytes) {
    }

    /** END_STREAM from Adit: the target's FIN. */
    void onRemoteEnd() {
    }

    abstract void onError(Throwable failure);

    /** Both directions ended, or the stream was reset. */
    void onStreamClosed() {
    }

    /** Sends {@code bytes} (consumed by Jetty: pass a duplicate of shared buffers). */
    void send(ByteBuffer bytes, Callback callback) {
        stream.data(new DataFrame(stream.getId(), bytes, false), callback);
    }

    /** END_STREAM: the client's FIN towards the target. */
    void end(Callback callback) {
        stream.data(new DataFrame(stream.getId(), BufferUtil.EMPTY_BUFFER, true), callback);
    }

    @Override
    public void onNewStream(Stream stream) {
        this.stream = stream;
    }

    @Override
    public void onHeaders(Stream stream, HeadersFrame frame) {
        this.stream = stream;
        if (frame.getMetaData() instanceof MetaData.Response response) {
            if (response.getStatus() / 100 == 2) {
                onEstablished();
            } else if (response.getStatus() >= 200) {
                onError(new IOException("CONNECT answered " + response.getStatus()));
            }
        }
        if (frame.isEndStream()) {
            onRemoteEnd();
        } else {
            stream.demand();
        }
    }

    @Override
    public void onDataAvailable(Stream stream) {
        while (true) {
            Stream.Data data = stream.readData();
            if (data == null) {
                stream.demand();
                return;
            }
            ByteBuffer bytes = data.frame().getByteBuffer();
            if (bytes.hasRemaining()) {
                onBytes(bytes);
            }
            boolean last = data.frame().isEndStream();
            data.release();
            if (last) {
                onRemoteEnd();
                return;
            }
        }
    }

    @Override
    public void onReset(Stream stream, ResetFrame frame, Callback callback) {
        onError(new IOException("RST_STREAM " + frame.getError()));
        callback.succeeded();
    }

    @Override
    public void onFailure(Stream stream, int error, String reason, Throwable failure, Callback callback) {
        onError(failure != null ? failure : new IOException("stream failure " + error + " " + reason));
        callback.succeeded();
    }

    @Override
    public void onIdleTimeout(Stream stream, TimeoutException x, Promise<Boolean> promise) {
        onError(x);
        promise.succeeded(true);
    }

    @Override
    public void onClosed(Stream stream) {
        onStreamClosed();
    }
}
