package dev.adit.core;

import java.io.IOException;

/**
 * A classified tunnel failure with the reason an operator reads in the log.
 */
public class TunnelException extends IOException
{
    private final TunnelFailure failure;

    public TunnelException(TunnelFailure failure, String reason)
    {
        this(failure, reason, null);
    }

    public TunnelException(TunnelFailure failure, String reason, Throwable cause)
    {
        super(reason, cause);
        this.failure = failure;
    }

    public TunnelFailure failure()
    {
        return failure;
    }
}
