package dev.adit.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The blocks of a PEM file (RFC 7468): a label and the DER bytes between
 * {@code -----BEGIN label-----} and {@code -----END label-----}. Text outside blocks (openssl's
 * "Bag Attributes", comments) is ignored.
 */
final class Pem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

    /** One PEM block; {@code encrypted} is set for RFC 1421 blocks carrying {@code Proc-Type}. */
    record Block(String label, byte[] der, boolean encrypted) {}

    private Pem() {}

    static List<Block> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + e + ")", e);
        }
        List<Block> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String body = m.group(2);
            // Traditional (pre-PKCS#8) encrypted keys carry headers such as
            // "Proc-Type: 4,ENCRYPTED" and "DEK-Info: ..." before the base64 (RFC 1421 §4.6).
            boolean encrypted = body.contains("Proc-Type:") && body.contains("ENCRYPTED");
            if (encrypted) {
                blocks.add(new Block(m.group(1), new byte[0], true));
                continue;
            }
            try {
                blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(body), false));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        file + ": invalid base64 in " + m.group(1) + " block", e);
            }
        }
        return blocks;
    }
}
