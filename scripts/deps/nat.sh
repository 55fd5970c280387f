#!/usr/bin/env bash
# Tools for the NAT test bed (test/nat/): network namespaces and veth pairs (iproute2), NAT rules
# (iptables, with nftables as its backend), conntrack (flushing a NAT box's state between pairs)
# and coturn's turnserver (the real STUN/TURN server on the public segment). Idempotent: installs
# only what is missing, then verifies, failing loudly.
set -euo pipefail
missing() {
  local out=""
  command -v ip >/dev/null 2>&1 || out="$out iproute2"
  command -v iptables >/dev/null 2>&1 || out="$out iptables"
  command -v nft >/dev/null 2>&1 || out="$out nftables"
  command -v conntrack >/dev/null 2>&1 || out="$out conntrack"
  command -v turnserver >/dev/null 2>&1 || out="$out coturn"
  echo "$out"
}
# --check: verify only, install nothing; exit 1 when missing (scripts/test-deps.mjs runs this first).
if [ "${1:-}" = --check ]; then
  m="$(missing)"
  [ -z "$m" ] || { echo "nat.sh: missing Debian packages:$m" >&2; exit 1; }
  exit 0
fi
m="$(missing)"
if [ -n "$m" ]; then
  # shellcheck disable=SC2086 # the list is package names, split on purpose
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $m
  # The package may start a system-wide turnserver; the tests start their own inside a namespace.
  if command -v service >/dev/null 2>&1; then service coturn stop >/dev/null 2>&1 || true; fi
fi
m="$(missing)"
if [ -n "$m" ]; then
  echo "scripts/deps/nat.sh: still missing after install:$m" >&2
  exit 1
fi
echo "scripts/deps/nat.sh: $(ip -V 2>&1), $(iptables --version), $(conntrack --version 2>&1), turnserver $(turnserver --version 2>&1 | head -1)"
