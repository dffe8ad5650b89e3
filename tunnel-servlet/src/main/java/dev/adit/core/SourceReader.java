package dev.adit.core;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * How a {@link Pipe} reads its source side where Jetty's {@code EndPoint.fill} will not do
 * ({@link EndPointAborter#newReader}). A pipe has its own, calls {@link #fill} from one thread
 * at a time, and {@link #release} once it ended, never at the same time as {@code fill}.
 */
public interface SourceReader
{
    /**
     * As {@code EndPoint.fill}: appends to {@code sink}, which is in flush mode before and after.
     *
     * @return the bytes added, 0 for none yet (the pipe then asks the endpoint for fill interest),
     * or -1 at the end of the input
     * @throws IOException when the side failed (the tunnel aborts)
     */
    int fill(ByteBuffer sink) throws IOException;

    /** The pipe ended: releases whatever the reader still holds. */
    void release();
}
