#!/usr/bin/env bash
# Builds the HAPI FHIR JPA test partner (our Spring Boot app on hapi-fhir-jpaserver-base, see
# README.md beside this file) into one runnable jar, entirely under the project's git-ignored
# cache folder (.cache/ by default, or $CM_FHIR_CACHE_DIR):
#
#   .cache/m2/                  Maven local repository (HAPI, Spring Boot, H2, PostgreSQL driver)
#   .cache/hapi-jpa/build/      Maven's build folder
#   .cache/hapi-jpa/hapi-jpa.jar, .stamp, mvn.log
#
# Idempotent: a second run with nothing changed returns at once and prints the jar's path.
# A cold build downloads ~450 MB and takes a few minutes; then it is offline.
# Needs: java + javac (17+), mvn.
# Options: --check   only report whether the jar is built and current (exit 0/1), change nothing.
#          --force   rebuild (the downloads stay cached).
# Run:   java -jar .cache/hapi-jpa/hapi-jpa.jar --port 8080 [--jdbc-url jdbc:postgresql://...]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${CM_FHIR_CACHE_DIR:-$ROOT/.cache}"
M2="$CACHE/m2"
OUT="$CACHE/hapi-jpa"
JAR="$OUT/hapi-jpa.jar"
MODE="${1:-}"
log() { printf 'hapi-jpa setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stamp_value() {
  # everything that determines the jar
  { cat "$HERE/pom.xml" "$HERE/setup.sh"; find "$HERE/src" -type f | LC_ALL=C sort | xargs cat;
    java -version 2>&1; } | sha256sum | cut -d' ' -f1
}
complete() {
  [ -f "$JAR" ] && [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$(stamp_value)" ]
}

command -v java >/dev/null || die "java not found (install a JDK 17+, e.g. Debian's openjdk-17-jdk-headless)"
if [ "$MODE" = "--check" ]; then
  if complete; then echo "ready"; exit 0; else echo "incomplete"; exit 1; fi
fi
if [ "$MODE" != "--force" ] && complete; then
  log "ready (cached)"
  echo "$JAR"
  exit 0
fi
command -v javac >/dev/null || die "javac not found (install a JDK 17+, e.g. openjdk-17-jdk-headless)"
command -v mvn >/dev/null || die "mvn not found (install Maven, e.g. Debian's maven)"
mkdir -p "$M2" "$OUT"
rm -f "$OUT/.stamp"
t0=$(date +%s)
log "building with Maven (local repository $M2; log $OUT/mvn.log)"
build() {
  mvn -B "$@" -f "$HERE/pom.xml" -Dmaven.repo.local="$M2" -Dhapi.jpa.build="$OUT/build" \
    -DskipTests package
}
# offline first (fast when everything is cached), then online
if ! build -o >"$OUT/mvn.log" 2>&1; then
  build >"$OUT/mvn.log" 2>&1 || { tail -40 "$OUT/mvn.log" >&2; die "Maven could not build the server (log: $OUT/mvn.log)"; }
fi
[ -f "$OUT/build/hapi-jpa.jar" ] || die "Maven produced no jar"
mv -f "$OUT/build/hapi-jpa.jar" "$JAR.tmp"
mv -f "$JAR.tmp" "$JAR"
stamp_value >"$OUT/.stamp"
log "ready in $(( $(date +%s) - t0 )) s"
echo "$JAR"
