#!/usr/bin/env bash
# redis-server for the Redis storage backend's tests (test/storage/redis-server.ts starts one on a
# loopback port per run). Idempotent: installs only when missing, then verifies, failing loudly.
set -euo pipefail
# --check: verify only, install nothing; exit 1 when missing (scripts/test-deps.mjs runs this first).
if [ "${1:-}" = --check ]; then
  redis-server --version >/dev/null 2>&1 || { echo "redis.sh: redis-server is not on PATH or does not run" >&2; exit 1; }
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  # The package starts a system-wide server on 6379; the tests never use it, so stop it if it runs.
  if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
fi
if ! version="$(redis-server --version 2>&1)"; then
  echo "scripts/deps/redis.sh: redis-server is installed but does not run: $version" >&2
  exit 1
fi
echo "scripts/deps/redis.sh: $version"
