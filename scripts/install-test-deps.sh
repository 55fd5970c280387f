#!/usr/bin/env bash
# Installs the system packages the test suite needs by running every scripts/deps/*.sh.
# Each script is idempotent, needs root (CI and dev machines are), and verifies its tool after
# installing: a missing tool fails here, loudly, instead of a test skipping.
set -euo pipefail
cd "$(dirname "$0")"
shopt -s nullglob
for script in deps/*.sh; do
  echo "install-test-deps: $script"
  bash "$script"
done
