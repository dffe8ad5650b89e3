package dev.adit.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Loads TLS credentials from PEM files, the format openssl, cert-manager and ACME clients write,
 * so that operators need no keytool step. JDK only.
 *
 * <p>Private keys may be PKCS#8 ({@code PRIVATE KEY}: RSA, EC, EdDSA), PKCS#1
 * ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}); encrypted keys are rejected.
 *
 * <p>All methods are stateless and thread-safe; they read files, so call them while
 * configuring, never on an I/O thread. Problems are reported as
 * {@link IllegalArgumentException} (bad content) or {@link java.io.UncheckedIOException}
 * (unreadable file), with a message that starts with the file name.
 */
public final class PemCredentials {
    /** The alias of the single key entry in {@link #keyStore}. */
    public static final String KEY_ALIAS = "adit";

    private static final List<String> KEY_ALGORITHMS =
            List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA");

    private PemCredentials() {}

    /**
     * An in-memory PKCS12 key store with one entry, alias {@value #KEY_ALIAS}, holding the
     * private key protected by {@code password} and the certificate chain, leaf first.
     *
     * @throws IllegalArgumentException if a file holds no usable block, the key is encrypted,
     *     or the key does not belong to the first certificate of the chain
     */
    public static KeyStore keyStore(Path certChainPem, Path privateKeyPem, char[] password) {
        Objects.requireNonNull(password, "password");
        List<X509Certificate> chain = certificates(certChainPem);
        PrivateKey key = privateKey(privateKeyPem);
        checkMatches(key, chain.get(0), privateKeyPem, certChainPem);
        try {
            KeyStore store = emptyStore();
            store.setKeyEntry(KEY_ALIAS, key, password, chain.toArray(new Certificate[0]));
            return store;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(privateKeyPem + ": cannot store key (" + e + ")", e);
        }
    }

    /** An in-memory PKCS12 key store trusting every certificate in {@code caPem}. */
    public static KeyStore trustStore(Path caPem) {
        return trustStore(List.of(caPem));
    }

    /**
     * An in-memory PKCS12 key store trusting every certificate in every file of {@code caPems},
     * e.g. the CAs of two trust domains during a rotation.
     */
    public static KeyStore trustStore(List<Path> caPems) {
        try {
            KeyStore store = emptyStore();
            int n = 0;
            for (Path caPem : caPems) {
                for (X509Certificate certificate : certificates(caPem)) {
                    try {
                        store.setCertificateEntry("ca-" + n++, certificate);
                    } catch (GeneralSecurityException e) {
                        throw new IllegalArgumentException(caPem + ": cannot store certificates (" + e + ")", e);
                    }
                }
            }
            return store;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot initialise an empty PKCS12 key store", e);
        }
    }

    /**
     * The X.509 certificates of all {@code CERTIFICATE} blocks in {@code pem}, in file order;
     * never empty.
     */
    public static List<X509Certificate> certificates(Path pem) {
        List<X509Certificate> certificates = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 certificate factory missing", e);
        }
        for (Pem.Block block : Pem.read(pem)) {
            if (!block.label().equals("CERTIFICATE")) {
                continue;
            }
            try {
                certificates.add((X509Certificate) factory.generateCertificate(
                        new ByteArrayInputStream(block.der())));
            } catch (CertificateException e) {
                throw new IllegalArgumentException(pem + ": invalid CERTIFICATE block #"
                        + (certificates.size() + 1) + " (" + e.getMessage() + ")", e);
            }
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException(pem + ": no CERTIFICATE block");
        }
        return certificates;
    }

    /** The first private key in {@code privateKeyPem}. */
    public static PrivateKey privateKey(Path privateKeyPem) {
        List<Pem.Block> blocks = Pem.read(privateKeyPem);
        byte[] ecParameters = blocks.stream()
                .filter(b -> b.label().equals("EC PARAMETERS"))
                .map(Pem.Block::der)
                .findFirst()
                .orElse(null);
        for (Pem.Block block : blocks) {
            String label = block.label();
            boolean isKey = label.equals("PRIVATE KEY") || label.equals("RSA PRIVATE KEY")
                    || label.equals("EC PRIVATE KEY");
            if (label.equals("ENCRYPTED PRIVATE KEY") || (isKey && block.encrypted())) {
                throw new IllegalArgumentException(privateKeyPem
                        + ": encrypted private keys are not supported yet"
                        + " (expected: an unencrypted PRIVATE KEY, e.g. from 'openssl pkcs8 -nocrypt')");
            }
            if (!isKey) {
                continue;
            }
            byte[] pkcs8;
            try {
                pkcs8 = switch (label) {
                    case "RSA PRIVATE KEY" -> Pkcs8.fromPkcs1(block.der());
                    case "EC PRIVATE KEY" -> Pkcs8.fromSec1(block.der(), ecParameters);
                    default -> block.der();
                };
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        privateKeyPem + ": invalid " + label + " block (" + e.getMessage() + ")", e);
            }
            return decode(privateKeyPem, label, pkcs8);
        }
        throw new IllegalArgumentException(privateKeyPem + ": no private key block"
                + " (expected: PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    private static PrivateKey decode(Path file, String label, byte[] pkcs8) {
        List<String> candidates = Pkcs8.algorithm(pkcs8).map(List::of).orElse(KEY_ALGORITHMS);
        GeneralSecurityException last = null;
        for (String algorithm : candidates) {
            try {
                return KeyFactory.getInstance(algorithm)
                        .generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new IllegalArgumentException(file + ": unsupported or malformed " + label
                + " (tried " + String.join(", ", candidates) + ": " + last + ")", last);
    }

    private static void checkMatches(PrivateKey key, X509Certificate leaf, Path keyFile,
            Path certFile) {
        PublicKey publicKey = leaf.getPublicKey();
        boolean matches;
        if (key instanceof RSAKey rsa) {
            matches = publicKey instanceof RSAKey rsaPublic
                    && rsa.getModulus().equals(rsaPublic.getModulus());
        } else {
            matches = signatureVerifies(key, publicKey, keyFile);
        }
        if (!matches) {
            throw new IllegalArgumentException(keyFile + ": key does not match certificate "
                    + leaf.getSubjectX500Principal().getName() + " in " + certFile);
        }
    }

    /** Signs a random nonce with the private key and verifies it with the certificate's key. */
    private static boolean signatureVerifies(PrivateKey key, PublicKey publicKey, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
            case "DSA" -> "SHA256withDSA";
            default -> throw new IllegalArgumentException(keyFile + ": cannot use a "
                    + key.getAlgorithm() + " key for TLS (expected: RSA, EC or EdDSA)");
        };
        byte[] nonce = new byte[32];
        new SecureRandom().nextBytes(nonce);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(nonce);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(nonce);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            // Typically InvalidKeyException: the certificate's key is of another type or curve.
            return false;
        }
    }

    private static KeyStore emptyStore() throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new IllegalStateException("cannot initialise an empty PKCS12 key store", e);
        }
        return store;
    }
}
