#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's end-to-end test (test/daemon/dashboard.e2e.test.ts),
# which drives it with playwright-core at /usr/bin/chromium. `npx playwright install` downloads a
# browser build of its own and cannot work here; Debian's package can. Idempotent; needs root.
# Runs after 00-apt-update.sh.
set -euo pipefail
bin=/usr/bin/chromium
# --check: verify only, install nothing; exit 1 when missing (scripts/test-deps.mjs runs this first).
if [ "${1:-}" = --check ]; then
  "$bin" --version >/dev/null 2>&1 || { echo "chromium.sh: $bin is missing or does not run" >&2; exit 1; }
  exit 0
fi
if [ ! -x "$bin" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if ! version=$("$bin" --version 2>&1); then
  echo "chromium.sh: FAILED: $bin --version did not run after installing chromium:" >&2
  echo "$version" >&2
  exit 1
fi
echo "chromium.sh: $version at $bin"
