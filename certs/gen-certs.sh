#!/usr/bin/env bash
# Generates a development PKI for Adit: a CA, a server certificate and a client certificate.
#
#   certs/gen-certs.sh [--force] [--spiffe TRUST_DOMAIN] [OUT_DIR]
#
# OUT_DIR defaults to certs/out next to this script (git-ignored). Without --force an existing
# complete set is left alone. All keys are EC P-256, PEM, unencrypted PKCS#8, mode 600.
# --spiffe makes X.509 SVIDs as Istio ambient (HBONE) uses them: the server certificate gets
# the URI SAN spiffe://TRUST_DOMAIN/ns/default/sa/server, the client certificate
# spiffe://TRUST_DOMAIN/ns/default/sa/client. An SVID has exactly one URI SAN: do not add
# another one with ADIT_*_SANS.
#
# Environment:
#   ADIT_CERT_DAYS     validity in days (default 825)
#   ADIT_SERVER_SANS   extra subjectAltName entries for the server, openssl syntax,
#                      comma-separated, e.g. "URI:spiffe://adit.dev/server,DNS:proxy.test"
#   ADIT_CLIENT_SANS   extra subjectAltName entries for the client, same syntax
set -euo pipefail

usage() {
  echo "usage: $0 [--force] [--spiffe TRUST_DOMAIN] [OUT_DIR]" >&2
  exit 2
}

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=false
out_dir=""
trust_domain=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=true ;;
    --spiffe)
      [[ $# -ge 2 ]] || usage
      trust_domain="$2"
      shift
      # SPIFFE-ID standard: lower-case letters, digits, '.', '-' and '_' only.
      if ! [[ "$trust_domain" =~ ^[a-z0-9._-]+$ ]]; then
        echo "--spiffe: $trust_domain (expected: a trust domain of a-z, 0-9, '.', '-' and '_', e.g. cluster.local)" >&2
        exit 2
      fi
      ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [[ -z "$out_dir" ]] || usage; out_dir="$1" ;;
  esac
  shift
done
out_dir="${out_dir:-$script_dir/out}"

days="${ADIT_CERT_DAYS:-825}"
if ! [[ "$days" =~ ^[1-9][0-9]*$ ]]; then
  echo "ADIT_CERT_DAYS: $days (expected: a positive number of days)" >&2
  exit 2
fi

command -v openssl >/dev/null || { echo "openssl not found on PATH" >&2; exit 1; }

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

files=(ca.pem ca.key server.pem server.key client.pem client.key)
complete=true
for f in "${files[@]}"; do
  [[ -s "$out_dir/$f" ]] || complete=false
done
if $complete && ! $force; then
  echo "certificates already present in $out_dir (use --force to regenerate)"
  exit 0
fi

# Work in a private scratch directory next to the output so that the final mv is a rename and
# an interrupted run never leaves a half-written set behind.
work="$(mktemp -d "$out_dir/.gen-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
umask 077

san_list() { # default SANs, then the extra ones from the environment, without blanks
  local all="${1},${2}"
  all="${all// /}"
  all="${all#,}"
  echo "${all%,}"
}
server_sans="$(san_list "DNS:localhost,IP:127.0.0.1,IP:::1" "${ADIT_SERVER_SANS:-}")"
client_sans="$(san_list "" "${ADIT_CLIENT_SANS:-}")"
if [[ -n "$trust_domain" ]]; then
  server_sans="$(san_list "$server_sans" "URI:spiffe://$trust_domain/ns/default/sa/server")"
  client_sans="$(san_list "$client_sans" "URI:spiffe://$trust_domain/ns/default/sa/client")"
fi

# Our own config so the result does not depend on the distribution's openssl.cnf.
cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $server_sans
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
${client_sans:+subjectAltName = $client_sans}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

new_key() { # genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key" 2>/dev/null
}

serial() {
  echo "0x$(openssl rand -hex 16)"
}

new_ca() {
  new_key ca
  openssl req -new -x509 -config "$work/openssl.cnf" -extensions ca_ext \
    -key "$work/ca.key" -subj "/CN=Adit dev CA" -days "$days" -sha256 \
    -set_serial "$(serial)" -out "$work/ca.pem"
}

new_leaf() { # name, CN, extension section; writes name.pem as leaf followed by the CA
  local name="$1" cn="$2" ext="$3"
  new_key "$name"
  openssl req -new -config "$work/openssl.cnf" -key "$work/$name.key" -subj "/CN=$cn" \
    -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -set_serial "$(serial)" -days "$days" -sha256 \
    -extfile "$work/openssl.cnf" -extensions "$ext" -out "$work/$name.crt" 2>/dev/null
  openssl verify -CAfile "$work/ca.pem" "$work/$name.crt" >/dev/null
  cat "$work/$name.crt" "$work/ca.pem" >"$work/$name.pem"
}

new_ca
new_leaf server localhost server_ext
new_leaf client adit-client client_ext

for f in "${files[@]}"; do
  case "$f" in
    *.key) chmod 600 "$work/$f" ;;
    *) chmod 644 "$work/$f" ;;
  esac
  mv -f "$work/$f" "$out_dir/$f"
done

echo "wrote to $out_dir (valid $days days):"
echo "  ca.pem      dev CA certificate (CN=Adit dev CA): trust this in clients"
echo "  ca.key      dev CA private key"
echo "  server.pem  server chain (CN=localhost, SAN $server_sans), then the CA"
echo "  server.key  server private key"
echo "  client.pem  client chain (CN=adit-client${client_sans:+, SAN $client_sans}), then the CA"
echo "  client.key  client private key"
