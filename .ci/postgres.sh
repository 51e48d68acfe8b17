#!/usr/bin/env bash
# Make PostgreSQL server binaries available for the test suite (tests/pg.py starts a private
# throwaway cluster on a free loopback port). Installs Debian's postgresql when missing.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL server binaries present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "PostgreSQL is absent and this is not root: its tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
# the Debian package starts a cluster of its own; the tests do not use it
service postgresql stop >/dev/null 2>&1 || true
echo "PostgreSQL installed: $(ls /usr/lib/postgresql/)"
