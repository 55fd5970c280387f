#!/usr/bin/env bash
# Installs libtorrent's Python bindings for the interop harness (test/interop/lt_node.py) and
# verifies they import. Also python3-cryptography: the 2.0 bindings do not export ed25519 key
# derivation, which lt_node.py needs for mutable items. Idempotent; needs root. Runs after 00-apt-update.sh.
# The bindings are a Debian package, so they import only under Debian's /usr/bin/python3 (a pyenv
# python3 may come first on PATH): always use the absolute path.
set -euo pipefail
py=/usr/bin/python3
# --check: verify only, install nothing; exit 1 when missing (scripts/test-deps.mjs runs this first).
if [ "${1:-}" = --check ]; then
  if ! "$py" -c 'import libtorrent; from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey' >/dev/null 2>&1; then
    echo "libtorrent.sh: $py cannot import libtorrent and cryptography's ed25519" >&2
    exit 1
  fi
  exit 0
fi
if ! "$py" -c 'import libtorrent, cryptography' >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libtorrent python3-cryptography
fi
if ! version=$("$py" -c 'import libtorrent; print(libtorrent.__version__)' 2>&1); then
  echo "libtorrent.sh: FAILED: $py cannot import libtorrent after installing python3-libtorrent:" >&2
  echo "$version" >&2
  exit 1
fi
if ! err=$("$py" -c 'from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey' 2>&1); then
  echo "libtorrent.sh: FAILED: $py cannot import cryptography's ed25519 (python3-cryptography):" >&2
  echo "$err" >&2
  exit 1
fi
echo "libtorrent.sh: python3-libtorrent OK, libtorrent $version under $py"
