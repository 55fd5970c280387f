#!/usr/bin/env bash
# Installs the system packages the test suite needs. Idempotent; needs root (CI and dev machines are).
# Each tool is checked after install: a missing tool fails here, loudly, instead of skipping tests.
set -euo pipefail
echo "install-test-deps: nothing beyond Node is needed yet"
