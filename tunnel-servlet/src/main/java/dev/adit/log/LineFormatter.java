package dev.adit.log;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.policy.Authority;

/**
 * Writes {@link AccessLog}'s lines with one Jackson generator kept for many lines, rather than a
 * generator (with its context, buffers and writer) per line: the generator writes each line's
 * object as another root value into a {@link LineWriter}, flushed and taken after each line.
 * Jackson still escapes every string (non-ASCII included); the field names are pre-quoted.
 *
 * <p>Not thread-safe: one thread at a time, which {@link AccessLog} ensures by lending
 * formatters from a pool. After a failure half-way through a line the generator's state is
 * unknown: the formatter must then be dropped ({@link AccessLog} does).</p>
 */
final class LineFormatter
{
    // No root-value separator: each line is the writer's whole content, with nothing before it.
    // Buffers are not recycled through Jackson's pool (by default a ThreadLocal, which would pin
    // a webapp's class loader to the server's threads): this formatter keeps its own for good.
    private static final JsonFactory JSON = new JsonFactoryBuilder()
        .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
        .rootValueSeparator((String)null)
        .recyclerPool(JsonRecyclerPools.nonRecyclingPool())
        .build();

    private static final SerializableString START_TIME = new SerializedString("start_time");
    private static final SerializableString DURATION = new SerializedString("duration");
    private static final SerializableString PROTOCOL = new SerializedString("protocol");
    private static final SerializableString AUTHORITY = new SerializedString("authority");
    private static final SerializableString RESPONSE_CODE = new SerializedString("response_code");
    private static final SerializableString RESPONSE_FLAGS = new SerializedString("response_flags");
    private static final SerializableString RESPONSE_CODE_DETAILS = new SerializedString("response_code_details");
    private static final SerializableString BYTES_RECEIVED = new SerializedString("bytes_received");
    private static final SerializableString BYTES_SENT = new SerializedString("bytes_sent");
    private static final SerializableString UPSTREAM_HOST = new SerializedString("upstream_host");
    private static final SerializableString UPSTREAM_CLUSTER = new SerializedString("upstream_cluster");
    private static final SerializableString DOWNSTREAM_REMOTE_ADDRESS = new SerializedString("downstream_remote_address");
    private static final SerializableString DOWNSTREAM_LOCAL_ADDRESS = new SerializedString("downstream_local_address");
    private static final SerializableString TUNNEL_ID = new SerializedString("tunnel_id");

    private final LineWriter out = new LineWriter();
    private final JsonGenerator json;
    private final IsoMillis times = new IsoMillis();
    // A value built by hand (a time, an address) before Jackson writes it as a string.
    private final StringBuilder value = new StringBuilder(64);
    private char[] chars = new char[64];

    LineFormatter()
    {
        try
        {
            json = JSON.createGenerator(out);
        }
        catch (IOException x)
        {
            throw new IllegalStateException("a generator over a LineWriter cannot fail", x);
        }
    }

    /**
     * @return the line for a tunnel that ended at {@code end}
     * @throws IOException never from the writer; Jackson declares it
     */
    String format(TunnelInfo tunnel, TunnelFailure outcome, Instant end) throws IOException
    {
        Instant start = tunnel.startTime();
        json.writeStartObject();
        json.writeFieldName(START_TIME);
        value.setLength(0);
        writeValue(times.append(value, start));
        json.writeFieldName(DURATION);
        json.writeNumber(Math.max(0, Duration.between(start, end).toMillis()));
        string(PROTOCOL, tunnel.protocol());
        string(AUTHORITY, tunnel.authority());
        json.writeFieldName(RESPONSE_CODE);
        json.writeNumber(tunnel.responseCode());
        string(RESPONSE_FLAGS, outcome.responseFlag());
        string(RESPONSE_CODE_DETAILS, outcome.code());
        json.writeFieldName(BYTES_RECEIVED);
        json.writeNumber(tunnel.bytesFromDownstream());
        json.writeFieldName(BYTES_SENT);
        json.writeNumber(tunnel.bytesFromUpstream());
        address(UPSTREAM_HOST, tunnel.upstreamAddress());
        string(UPSTREAM_CLUSTER, tunnel.upstreamCluster());
        address(DOWNSTREAM_REMOTE_ADDRESS, tunnel.downstreamRemoteAddress());
        address(DOWNSTREAM_LOCAL_ADDRESS, tunnel.downstreamLocalAddress());
        string(TUNNEL_ID, tunnel.id());
        json.writeEndObject();
        json.flush();
        return out.take();
    }

    private void string(SerializableString name, String value) throws IOException
    {
        json.writeFieldName(name);
        if (value == null)
            json.writeNull();
        else
            json.writeString(value);
    }

    private void address(SerializableString name, SocketAddress address) throws IOException
    {
        json.writeFieldName(name);
        if (address == null)
            json.writeNull();
        else if (address instanceof InetSocketAddress inet)
        {
            value.setLength(0);
            writeValue(append(value, inet));
        }
        else
            json.writeString(address.toString());
    }

    /** Writes {@code text} as a JSON string (escaped by Jackson like any other) without making a String of it. */
    private void writeValue(StringBuilder text) throws IOException
    {
        int length = text.length();
        if (length > chars.length)
            chars = new char[Math.max(length, 2 * chars.length)];
        text.getChars(0, length, chars, 0);
        json.writeString(chars, 0, length);
    }

    /**
     * Appends {@code ip:port}, {@code [v6]:port} with the IPv6 address in RFC 5952 text (as Envoy
     * prints it, no scope id): {@link Authority}'s text, without building one. An address without
     * an IP (unresolved) or without a port is printed by its host string.
     *
     * @return {@code out}
     */
    static StringBuilder append(StringBuilder out, InetSocketAddress address)
    {
        InetAddress ip = address.getAddress();
        if (ip != null && address.getPort() > 0)
            return Authority.appendTo(out, ip, address.getPort());
        String host = address.getHostString();
        if (host.indexOf(':') >= 0)
            out.append('[').append(host).append(']');
        else
            out.append(host);
        return out.append(':').append(address.getPort());
    }
}
