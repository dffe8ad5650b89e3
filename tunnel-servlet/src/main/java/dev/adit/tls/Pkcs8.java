package dev.adit.tls;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * Just enough DER (X.690) to turn the traditional openssl key formats into PKCS#8
 * (RFC 5208 {@code PrivateKeyInfo}), which is all the JDK's {@code KeyFactory} reads, and to
 * find the key algorithm of a PKCS#8 blob.
 */
final class Pkcs8 {
    private static final int INTEGER = 0x02;
    private static final int OCTET_STRING = 0x04;
    private static final int NULL = 0x05;
    private static final int OID = 0x06;
    private static final int SEQUENCE = 0x30;
    private static final int EC_PARAMETERS_TAG = 0xA0; // [0] EXPLICIT in ECPrivateKey

    private static final String RSA_OID = "1.2.840.113549.1.1.1";
    private static final String EC_OID = "1.2.840.10045.2.1";
    private static final Map<String, String> ALGORITHMS = Map.of(
            RSA_OID, "RSA",
            "1.2.840.113549.1.1.10", "RSASSA-PSS",
            EC_OID, "EC",
            "1.2.840.10040.4.1", "DSA",
            "1.3.101.110", "X25519",
            "1.3.101.111", "X448",
            "1.3.101.112", "Ed25519",
            "1.3.101.113", "Ed448");

    private Pkcs8() {}

    /** The JCA algorithm name of a PKCS#8 {@code PrivateKeyInfo}, if the OID is one we know. */
    static Optional<String> algorithm(byte[] pkcs8) {
        try {
            Reader info = new Reader(pkcs8).enter(SEQUENCE);
            info.next(INTEGER);
            Reader algorithmIdentifier = info.enter(SEQUENCE);
            return Optional.ofNullable(ALGORITHMS.get(oidToString(algorithmIdentifier.next(OID))));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Wraps a PKCS#1 {@code RSAPrivateKey} (RFC 8017 §A.1.2) into PKCS#8. */
    static byte[] fromPkcs1(byte[] rsaPrivateKey) {
        byte[] algorithm = tlv(SEQUENCE, tlv(OID, oid(RSA_OID)), tlv(NULL));
        return privateKeyInfo(algorithm, rsaPrivateKey);
    }

    /**
     * Wraps a SEC1 {@code ECPrivateKey} (RFC 5915 §3) into PKCS#8. The curve comes from the
     * key's own {@code parameters [0]}, or else from a separate "EC PARAMETERS" block.
     */
    static byte[] fromSec1(byte[] ecPrivateKey, byte[] separateParameters) {
        byte[] parameters = sec1Parameters(ecPrivateKey).orElse(separateParameters);
        if (parameters == null) {
            throw new IllegalArgumentException("EC PRIVATE KEY names no curve (no parameters)");
        }
        byte[] algorithm = tlv(SEQUENCE, tlv(OID, oid(EC_OID)), parameters);
        return privateKeyInfo(algorithm, ecPrivateKey);
    }

    /** The encoded {@code ECParameters} (usually a named-curve OID) inside an ECPrivateKey. */
    private static Optional<byte[]> sec1Parameters(byte[] ecPrivateKey) {
        Reader key = new Reader(ecPrivateKey).enter(SEQUENCE);
        key.next(INTEGER);
        key.next(OCTET_STRING);
        if (key.hasMore() && key.peekTag() == EC_PARAMETERS_TAG) {
            return Optional.of(key.next(EC_PARAMETERS_TAG));
        }
        return Optional.empty();
    }

    private static byte[] privateKeyInfo(byte[] algorithmIdentifier, byte[] privateKey) {
        return tlv(SEQUENCE, tlv(INTEGER, new byte[] {0}), algorithmIdentifier,
                tlv(OCTET_STRING, privateKey));
    }

    static byte[] tlv(int tag, byte[]... contents) {
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        for (byte[] c : contents) {
            value.writeBytes(c);
        }
        int length = value.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(value.toByteArray());
        return out.toByteArray();
    }

    static byte[] oid(String dotted) {
        String[] arcs = dotted.split("\\.");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeBase128(out, Long.parseLong(arcs[0]) * 40 + Long.parseLong(arcs[1]));
        for (int i = 2; i < arcs.length; i++) {
            writeBase128(out, Long.parseLong(arcs[i]));
        }
        return out.toByteArray();
    }

    private static void writeBase128(ByteArrayOutputStream out, long value) {
        int groups = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 6) / 7);
        for (int i = groups - 1; i >= 0; i--) {
            int b = (int) (value >>> (7 * i)) & 0x7F;
            out.write(i == 0 ? b : b | 0x80);
        }
    }

    static String oidToString(byte[] encoded) {
        StringBuilder s = new StringBuilder();
        long value = 0;
        boolean first = true;
        for (byte b : encoded) {
            value = (value << 7) | (b & 0x7F);
            if ((b & 0x80) == 0) {
                if (first) {
                    long top = Math.min(value / 40, 2);
                    s.append(top).append('.').append(value - top * 40);
                    first = false;
                } else {
                    s.append('.').append(value);
                }
                value = 0;
            }
        }
        return s.toString();
    }

    /** Reads consecutive TLVs from a byte range; single-byte tags only, which is all we need. */
    private static final class Reader {
        private final byte[] data;
        private final int end;
        private int pos;

        Reader(byte[] data) {
            this(data, 0, data.length);
        }

        private Reader(byte[] data, int from, int to) {
            this.data = data;
            this.pos = from;
            this.end = to;
        }

        boolean hasMore() {
            return pos < end;
        }

        int peekTag() {
            return data[pos] & 0xFF;
        }

        /** The contents of the next TLV, which must have the given tag. */
        byte[] next(int tag) {
            int[] range = advance(tag);
            return Arrays.copyOfRange(data, range[0], range[1]);
        }

        Reader enter(int tag) {
            int[] range = advance(tag);
            return new Reader(data, range[0], range[1]);
        }

        private int[] advance(int tag) {
            if (pos + 2 > end || (data[pos] & 0xFF) != tag) {
                throw new IllegalArgumentException(String.format(
                        "malformed DER at offset %d (expected: tag 0x%02x)", pos, tag));
            }
            pos++;
            int length = data[pos++] & 0xFF;
            if (length >= 0x80) {
                int bytes = length & 0x7F;
                if (bytes == 0 || bytes > 3 || pos + bytes > end) {
                    throw new IllegalArgumentException("malformed DER length at offset " + pos);
                }
                length = 0;
                for (int i = 0; i < bytes; i++) {
                    length = (length << 8) | (data[pos++] & 0xFF);
                }
            }
            if (pos + length > end) {
                throw new IllegalArgumentException("truncated DER at offset " + pos);
            }
            int start = pos;
            pos += length;
            return new int[] {start, pos};
        }
    }
}
