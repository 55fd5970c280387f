#!/usr/bin/env bash
# Installs Debian's podman for the container test (test/container/containerfile.test.ts), which
# builds the Containerfile from a local base with no registry. Idempotent; needs root. Runs after
# 00-apt-update.sh.
set -euo pipefail
# --check: verify only, install nothing; exit 1 when missing (scripts/test-deps.mjs runs this first).
if [ "${1:-}" = --check ]; then
  podman --version >/dev/null 2>&1 || { echo "podman.sh: podman is not installed" >&2; exit 1; }
  exit 0
fi
if ! command -v podman >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman
fi
if ! version="$(podman --version 2>&1)"; then
  echo "podman.sh: FAILED: podman is installed but does not run: $version" >&2
  exit 1
fi
echo "podman.sh: $version"
