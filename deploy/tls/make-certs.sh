#!/usr/bin/env bash
# Makes a private certificate authority and a certificate for each NAME, for
# mutual TLS between SCIR services:
#
#   deploy/tls/make-certs.sh DIR NAME...
#
# DIR/ca.pem and DIR/ca.key are the authority (made once, reused when present).
# DIR/NAME/ holds what NAME needs and nothing else, to be mounted as it is:
# cert.pem and key.pem, its certificate (valid as server and as client, naming
# NAME, scir-NAME, localhost and 127.0.0.1) and key, and ca.pem, the authority's
# certificate. An existing certificate is kept unless RENEW=1; then it is issued
# again by the same authority and renamed into place, so that services pick it
# up without restarting.
#
# Keys are ECDSA P-256. DAYS (default 397) sets how long a certificate lasts.
# For development and tests; production certificates come from the platform's
# issuer (cert-manager and the like; deploy/k8s/README.md).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 DIR NAME..." >&2
  exit 2
fi
dir=$1
shift
days=${DAYS:-397}
command -v openssl >/dev/null || { echo "$0: openssl is needed" >&2; exit 1; }
mkdir -p "$dir"
umask 022

if [[ ! -s $dir/ca.pem || ! -s $dir/ca.key ]]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days $((days * 3)) \
    -subj "/CN=SCIR development authority" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem"
fi

for name in "$@"; do
  if [[ ! $name =~ ^[a-z0-9][a-z0-9.-]*$ ]]; then
    echo "$0: '$name' is not a host name" >&2
    exit 2
  fi
  if [[ -s $dir/$name/cert.pem && ${RENEW:-0} != 1 ]]; then
    continue
  fi
  mkdir -p "$dir/$name"
  tmp=$(mktemp -d)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key" 2>/dev/null
  openssl req -new -key "$tmp/key" -subj "/CN=$name" -out "$tmp/csr"
  cat >"$tmp/ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:$name,DNS:scir-$name,DNS:localhost,IP:127.0.0.1
EXT
  openssl x509 -req -in "$tmp/csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -CAserial "$tmp/serial" -sha256 -days "$days" \
    -extfile "$tmp/ext" -out "$tmp/pem" 2>/dev/null
  cp "$dir/ca.pem" "$tmp/ca"
  # Renamed into place so that a service reloading never reads half a file.
  for part in key:key.pem pem:cert.pem ca:ca.pem; do
    mv "$tmp/${part%%:*}" "$dir/$name/.${part#*:}.new"
  done
  for file in key.pem cert.pem ca.pem; do
    mv "$dir/$name/.$file.new" "$dir/$name/$file"
  done
  rm -rf "$tmp"
done
