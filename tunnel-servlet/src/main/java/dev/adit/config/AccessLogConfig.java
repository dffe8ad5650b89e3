package dev.adit.config;

/**
 * The access log: one JSON line per tunnel (see {@code dev.adit.log.AccessLog}). A record
 * rather than a flag so that what comes later (a format, a file) has a place.
 *
 * @param enabled whether the server writes it
 */
public record AccessLogConfig(boolean enabled)
{
    public static final AccessLogConfig DEFAULTS = new AccessLogConfig(true);
}
