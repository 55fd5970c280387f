#!/usr/bin/env bash
# Refresh Debian's package lists once per machine-day, so later apt-get installs find packages.
set -euo pipefail
# --check (used by scripts/test-deps.mjs): nothing to verify; the package lists are not a tool.
if [ "${1:-}" = --check ]; then exit 0; fi
stamp=/var/lib/apt/periodic/kadmium-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
