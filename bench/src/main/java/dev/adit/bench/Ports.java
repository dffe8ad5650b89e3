package dev.adit.bench;

/** Where Adit listens: the plain listener (HTTP/1.1 and h2c) and the TLS one (h2, http/1.1). */
record Ports(int http, int https) {
}
