#!/usr/bin/env bash
# Debian's python3-cryptography, an independent secp256k1 ECDSA (OpenSSL underneath) that
# test/protocols/overlay-vectors.test.ts runs to check the overlay's item signatures. Idempotent;
# needs root; runs after 00-apt-update.sh. Always Debian's /usr/bin/python3 (a pyenv python3 may
# come first on PATH and lack the package).
set -euo pipefail
py=/usr/bin/python3
check='from cryptography.hazmat.primitives.asymmetric import ec; ec.generate_private_key(ec.SECP256K1())'
if ! "$py" -c "$check" >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography
fi
if ! err=$("$py" -c "$check" 2>&1); then
  echo "python-cryptography.sh: FAILED: $py cannot make a secp256k1 key with python3-cryptography:" >&2
  echo "$err" >&2
  exit 1
fi
echo "python-cryptography.sh: $("$py" -c 'import cryptography; print(cryptography.__version__)') under $py"
