package dev.adit.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Set;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed certificate for trying the standalone launcher without any PKI. <b>For
 * development only</b>: no client trusts it unless told to (e.g. {@code curl --cacert
 * server.pem}), and its key sits unencrypted on disk. Production configures
 * {@code adit.tls.cert-chain} and {@code adit.tls.private-key}; {@code certs/gen-certs.sh}
 * makes a proper dev CA when mutual TLS is wanted.
 *
 * <p>The certificate is EC P-256, CN=localhost with SANs localhost, 127.0.0.1 and ::1, valid
 * 365 days; the key is unencrypted PKCS#8 PEM, owner-readable only where the file system is
 * POSIX. Blocking file I/O: call at startup.
 */
public final class DevCertificate {
    static final String CERT_FILE = "server.pem";
    static final String KEY_FILE = "server.key";
    private static final Duration VALIDITY = Duration.ofDays(365);
    // Tolerates clocks of clients that run slightly behind ours.
    private static final Duration BACKDATE = Duration.ofHours(1);

    /** Where the PEM certificate and PEM private key are. */
    public record Paths(Path certChain, Path privateKey) {}

    private DevCertificate() {}

    /**
     * Returns {@code dir/server.pem} and {@code dir/server.key} if both exist, otherwise
     * creates {@code dir} as needed and writes a fresh self-signed pair there (replacing a
     * lone leftover of either file).
     */
    public static Paths findOrCreate(Path dir) {
        Paths paths = new Paths(dir.resolve(CERT_FILE), dir.resolve(KEY_FILE));
        if (Files.isRegularFile(paths.certChain()) && Files.isRegularFile(paths.privateKey())) {
            return paths;
        }
        try {
            Files.createDirectories(dir);
            KeyPair keyPair = newKeyPair();
            X509Certificate certificate = selfSign(keyPair);
            // Key first: a crash in between leaves no certificate without its key.
            write(paths.privateKey(), pem("PRIVATE KEY", keyPair.getPrivate().getEncoded()), true);
            write(paths.certChain(), pem("CERTIFICATE", certificate.getEncoded()), false);
            return paths;
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write the development certificate", e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the development certificate", e);
        }
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate selfSign(KeyPair keyPair)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        X500Name subject = new X500Name("CN=localhost");
        Instant now = Instant.now();
        BigInteger serial = new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial,
                Date.from(now.minus(BACKDATE)), Date.from(now.plus(VALIDITY)), subject,
                keyPair.getPublic());
        GeneralNames names = new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.dNSName, "localhost"),
            ipAddress("127.0.0.1"),
            ipAddress("::1"),
        });
        builder.addExtension(Extension.subjectAlternativeName, false, names);
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static GeneralName ipAddress(String literal) throws IOException {
        // A literal never triggers a DNS lookup.
        return new GeneralName(GeneralName.iPAddress,
                new DEROctetString(InetAddress.getByName(literal).getAddress()));
    }

    private static String pem(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
    }

    /** Writes via a sibling temporary file and a rename, so readers never see half a file. */
    private static void write(Path target, String content, boolean secret) throws IOException {
        boolean posix = target.getFileSystem().supportedFileAttributeViews().contains("posix");
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--");
        FileAttribute<?>[] attributes = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)}
                : new FileAttribute<?>[0];
        Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp",
                attributes);
        try {
            Files.writeString(temp, content, StandardCharsets.US_ASCII);
            if (posix) {
                Files.setPosixFilePermissions(temp, mode); // the umask may have narrowed it
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
