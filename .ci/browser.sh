#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (Playwright drives it; it never
# downloads a browser of its own). Installs it only when /usr/bin/chromium is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "browser: /usr/bin/chromium is missing and cannot be installed here; the browser tests will say so" >&2
fi
