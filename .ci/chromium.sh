#!/usr/bin/env bash
# Debian's chromium and chromedriver for the care-plan page's browser tests (tests/app/):
# selenium drives them; nothing downloads a browser. Installed when missing and root.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "chromium and chromedriver present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is absent and this is not root: the browser tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
