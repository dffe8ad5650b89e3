package dev.adit.testing;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Random test payloads and SHA-256 digests.
 *
 * <p>Payloads are deterministic from one run-wide master seed: set {@code -Dadit.test.seed=N} to
 * replay a failing run, and put {@link #seedNote()} in assertion descriptions so the seed is
 * printed when an assertion fails. Each call to {@link #random(int)} takes the next seed in a
 * sequence derived from the master seed, so the whole run is reproducible when tests run in the
 * same order. All methods are thread-safe.
 */
public final class Payloads {
    private static final long MASTER_SEED = Long.getLong("adit.test.seed", System.nanoTime());
    private static final AtomicLong NEXT = new AtomicLong(MASTER_SEED);

    private Payloads() {
    }

    /** The master seed of this run. */
    public static long seed() {
        return MASTER_SEED;
    }

    /** A description for assertions: {@code "payload seed N (replay with -Dadit.test.seed=N)"}. */
    public static String seedNote() {
        return "payload seed " + MASTER_SEED + " (replay with -Dadit.test.seed=" + MASTER_SEED + ")";
    }

    /** {@code n} pseudo-random bytes from the next seed of the run. */
    public static byte[] random(int n) {
        return random(n, NEXT.getAndAdd(0x9E3779B97F4A7C15L));
    }

    /** {@code n} pseudo-random bytes, deterministic from {@code seed}. */
    public static byte[] random(int n, long seed) {
        byte[] bytes = new byte[n];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    /** Lower-case hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        return new Sha256().update(bytes).hex();
    }

    /** Lower-case hex SHA-256 of {@code bytes[offset, offset + length)}. */
    public static String sha256(byte[] bytes, int offset, int length) {
        return new Sha256().update(bytes, offset, length).hex();
    }

    /**
     * An incremental SHA-256 that also counts bytes. Not thread-safe: one owner feeds it, then
     * calls {@link #hex()} once.
     */
    public static final class Sha256 {
        private final MessageDigest digest;
        private long count;

        public Sha256() {
            try {
                digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException x) {
                throw new IllegalStateException(x);
            }
        }

        public Sha256 update(byte[] bytes) {
            return update(bytes, 0, bytes.length);
        }

        public Sha256 update(byte[] bytes, int offset, int length) {
            digest.update(bytes, offset, length);
            count += length;
            return this;
        }

        /** Bytes fed so far. */
        public long count() {
            return count;
        }

        /** Completes the digest: lower-case hex. The instance must not be used afterwards. */
        public String hex() {
            return HexFormat.of().formatHex(digest.digest());
        }
    }
}
