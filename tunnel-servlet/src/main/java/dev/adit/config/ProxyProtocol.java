package dev.adit.config;

/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt) Adit writes to a target before the
 * first payload byte, telling it the client's address.
 */
public enum ProxyProtocol
{
    /** No header. */
    NONE,
    /** The human-readable form, {@code PROXY TCP4 src dst sport dport\r\n}. */
    V1,
    /** The binary form with the 12-byte signature. */
    V2
}
