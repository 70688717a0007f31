#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries are present; the test suite starts its own
# throwaway server on 127.0.0.1 from them (tests/pgserver.py). Installs the package when run
# as root; otherwise says what to run.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL server binaries are missing: run 'sudo apt-get install -y postgresql'" >&2
  exit 1
fi
echo "installing Debian's postgresql (for the PostgreSQL half of the test suite)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The Debian package starts a cluster of its own; the tests don't use it.
(command -v service >/dev/null && service postgresql stop >/dev/null 2>&1) || true
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
