package dev.adit.core;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The record check that decides whether {@link DrainFirstSslConnection} may skip a read. A
 * false "whole" would leave the engine waiting for bytes no one reads, so anything that is
 * not clearly a whole TLS record must say no.
 */
class DrainFirstSslConnectionTest
{
    /** An application_data record header (TLS 1.2 / 1.3 legacy version) with {@code length}, then {@code body} bytes. */
    private static ByteBuffer record(int type, int length, int body)
    {
        ByteBuffer buffer = ByteBuffer.allocate(5 + body);
        buffer.put((byte)type).put((byte)3).put((byte)3).putShort((short)length);
        buffer.position(buffer.limit());
        return buffer.flip();
    }

    @Test
    void aWholeRecordIsWhole()
    {
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 100, 100))).isTrue();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(21, 2, 2))).isTrue();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 0, 0))).isTrue();
    }

    @Test
    void aWholeRecordFollowedByAPartialOneIsWhole()
    {
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 100, 150))).isTrue();
    }

    @Test
    void lengthsAboveAByteAreReadUnsigned()
    {
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 16_401, 16_401))).isTrue();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 16_401, 16_400))).isFalse();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 0x80FF, 0x80FE))).isFalse();
    }

    @Test
    void aPartialRecordOrHeaderIsNot()
    {
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(23, 100, 99))).isFalse();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(ByteBuffer.wrap(new byte[]{23, 3, 3, 0}))).isFalse();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(ByteBuffer.allocate(0))).isFalse();
    }

    @Test
    void whatIsNotATlsRecordHeaderIsNot()
    {
        // SSLv2-compatible ClientHello: high bit set, a different length format.
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(0x80, 0, 10))).isFalse();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(0, 0, 10))).isFalse();
        assertThat(DrainFirstSslConnection.holdsWholeRecord(record(25, 0, 10))).isFalse();
    }

    @Test
    void theCheckStartsAtThePositionAndMovesNothing()
    {
        ByteBuffer buffer = ByteBuffer.allocate(3 + 5 + 10);
        buffer.put(new byte[]{1, 2, 3}).put((byte)23).put((byte)3).put((byte)3).putShort((short)10);
        buffer.position(buffer.limit()).flip().position(3);
        assertThat(DrainFirstSslConnection.holdsWholeRecord(buffer)).isTrue();
        assertThat(buffer.position()).isEqualTo(3);
        assertThat(buffer.remaining()).isEqualTo(15);
    }
}
