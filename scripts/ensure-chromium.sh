#!/usr/bin/env bash
# Make sure Debian's chromium is present: the web workspace tests drive it headless through
# Playwright with executable_path=/usr/bin/chromium (never `playwright install`, which
# downloads a browser). Installs the package when run as root; otherwise says what to run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
echo "installing Debian's chromium (for the browser tests)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x /usr/bin/chromium
