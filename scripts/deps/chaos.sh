#!/usr/bin/env bash
# iproute2 (ip netns, veth) and iptables for the chaos suite (src/cli/chaos/, test/cli/chaos.test.ts).
# netem delay is optional: the harness reports it as skipped on kernels without sch_netem.
# Idempotent: installs only what is missing, then verifies, failing loudly.
set -euo pipefail
check() { command -v ip >/dev/null 2>&1 && command -v iptables >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; }
if [ "${1:-}" = --check ]; then
  check || { echo "chaos.sh: ip, tc or iptables is not on PATH" >&2; exit 1; }
  exit 0
fi
if ! check; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 iptables
fi
check || { echo "scripts/deps/chaos.sh: ip / tc / iptables still missing after install" >&2; exit 1; }
echo "scripts/deps/chaos.sh: $(ip -V 2>&1); $(iptables -V 2>&1)"
