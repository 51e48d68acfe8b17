#!/usr/bin/env bash
# Sets up the official HL7 FHIR validator engine as an offline test oracle, entirely under the
# project's git-ignored cache folder (.cache/ by default, or $CM_FHIR_CACHE_DIR):
#
#   .cache/m2/                       Maven local repository (the engine and its dependencies)
#   .cache/npm/                      FHIR packages as fetched with `npm pack` (sha256-checked)
#   .cache/hl7-validator/            classpath.txt, classes/ (our thin front end), run.sh, .stamp
#   .cache/hl7-validator-home/       HOME of the validator JVM; its FHIR package cache is
#                                    .fhir/packages/<id>#<version>/package/
#
# Idempotent: a second run with nothing changed returns in well under a second.
# Needs: java + javac (17+), mvn, python3; npm only while a FHIR package is missing.
# Options: --check   only report whether the set-up is complete (exit 0/1), change nothing.
#          --force   redo everything (the downloads stay cached).
# See tools/hl7-validator/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${CM_FHIR_CACHE_DIR:-$ROOT/.cache}"
M2="$CACHE/m2"
NPM_DIR="$CACHE/npm"
OUT="$CACHE/hl7-validator"
VHOME="$CACHE/hl7-validator-home"
PKGS="$VHOME/.fhir/packages"

# FHIR packages the validator asks for with `-version 4.0.1 -tx n/a` (read from its log), and
# where each comes from: <id#version in the cache>  <npm spec>  <sha256 of the npm tarball>.
# The engine asks for hl7.terminology.r4#6.2.0 and hl7.fhir.uv.extensions.r4#5.2.0 exactly
# (org.hl7.fhir.r5 Constants), for hl7.fhir.xver-extensions#0.1.0, and then for the latest
# hl7.terminology and hl7.fhir.uv.extensions found in the cache. The npm registry serves other
# versions (and, for the R5 extensions, the id hl7.fhir.uv.extensions.r5), which are installed
# under the id#version asked for (see README "Package cache").
PACKAGES=(
  "hl7.fhir.r4.core#4.0.1 hl7.fhir.r4.examples@4.0.1 dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"
  "hl7.terminology.r4#6.2.0 hl7.terminology.r4@7.0.1 170c546f761fb51b3355788ca500206f6b772b21c57348c29205de85a6612baa"
  "hl7.fhir.uv.extensions.r4#5.2.0 hl7.fhir.uv.extensions.r4@5.3.0-ballot-tc1 54f70616bbd444ba0259d5fc5a5c978d463971865f23dcef3103081f529ad213"
  "hl7.fhir.xver-extensions#0.1.0 hl7.fhir.xver-extensions@0.1.0 83122134f299c16262591a498cada83fad5206177166ee46750afad8e36b251f"
  "hl7.terminology#7.0.1 hl7.terminology@7.0.1 87b9ee75cdf8c61b0d90c11f36b2ac8c9ac3bd5f075d4fa87e96589227870598"
  "hl7.fhir.uv.extensions#5.3.0-ballot-tc1 hl7.fhir.uv.extensions.r5@5.3.0-ballot-tc1 33a55f290663f3f9d61c9dbdeb0be6ef10d0e64b54af539d1d557585c8f9e1c2"
)

MODE="${1:-}"
log() { printf 'hl7-validator setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stamp_value() {
  # everything that determines the result of the set-up
  { cat "$HERE/pom.xml" "$HERE/src/OracleValidator.java" "$HERE/setup.sh"; java -version 2>&1; } \
    | sha256sum | cut -d' ' -f1
}

complete() {
  [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$(stamp_value)" ] || return 1
  [ -f "$OUT/classpath.txt" ] && [ -f "$OUT/classes/OracleValidator.class" ] || return 1
  local spec
  for spec in "${PACKAGES[@]}"; do
    set -- $spec
    [ -f "$PKGS/$1/package/package.json" ] || return 1
  done
  [ -f "$VHOME/.fhir/fhir-settings.json" ] || return 1
  # every jar of the classpath still in the Maven cache
  local IFS=:
  local jar
  for jar in $(cat "$OUT/classpath.txt"); do [ -f "$jar" ] || return 1; done
}

command -v java >/dev/null || die "java not found (install a JDK 17+, e.g. Debian's openjdk-17-jdk-headless)"

if [ "$MODE" = "--check" ]; then
  if complete; then echo "ready"; exit 0; else echo "incomplete"; exit 1; fi
fi
if [ "$MODE" != "--force" ] && complete; then
  log "ready (cached in $OUT)"
  exit 0
fi

command -v javac >/dev/null || die "javac not found (install a JDK 17+, e.g. openjdk-17-jdk-headless)"
command -v mvn >/dev/null || die "mvn not found (install Maven, e.g. Debian's maven)"
command -v python3 >/dev/null || die "python3 not found"
mkdir -p "$M2" "$NPM_DIR" "$OUT" "$PKGS"
rm -f "$OUT/.stamp"
t0=$(date +%s)

# 1. the engine and its runtime dependencies, resolved into the project's Maven repository.
#    Try offline first (fast when cached), then online.
log "resolving the validator engine with Maven (local repository $M2)"
mvn_cp() {
  mvn -B -q "$@" -f "$HERE/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$OUT/classpath.txt"
}
if ! mvn_cp -o >"$OUT/mvn.log" 2>&1; then
  mvn_cp >"$OUT/mvn.log" 2>&1 || { cat "$OUT/mvn.log" >&2; die "Maven could not resolve the engine (log: $OUT/mvn.log)"; }
fi
[ -s "$OUT/classpath.txt" ] || die "Maven wrote no classpath"

# 2. our thin front end (the official CLI jar is not served by Maven Central; see README)
log "compiling the front end"
rm -rf "$OUT/classes"
mkdir -p "$OUT/classes"
javac -nowarn -encoding UTF-8 -d "$OUT/classes" -cp "$(cat "$OUT/classpath.txt")" \
  "$HERE/src/OracleValidator.java"

# 3. the FHIR package cache
fetch_tarball() {  # npm-spec sha256 -> path of the checked tarball
  local spec="$1" sha="$2" name version file
  name="${spec%@*}"
  version="${spec##*@}"
  file="$NPM_DIR/$name-$version.tgz"
  if [ ! -f "$file" ] || [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$sha" ]; then
    command -v npm >/dev/null || die "npm is needed once to fetch $spec"
    log "npm pack $spec"
    rm -f "$file"
    (cd "$NPM_DIR" && npm pack "$spec" --silent >/dev/null 2>"$OUT/npm.log") \
      || { cat "$OUT/npm.log" >&2; die "npm pack $spec failed"; }
  fi
  [ -f "$file" ] || die "npm pack did not produce $file"
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ] || die "sha256 mismatch for $file"
  printf '%s\n' "$file"
}

for spec in "${PACKAGES[@]}"; do
  set -- $spec
  asked="$1"; npmspec="$2"; sha="$3"
  dest="$PKGS/$asked"
  if [ -f "$dest/package/package.json" ] && [ -f "$dest/.cm-fhir-source" ] \
     && [ "$(cat "$dest/.cm-fhir-source")" = "$npmspec $sha" ] && [ "$MODE" != "--force" ]; then
    continue
  fi
  tarball="$(fetch_tarball "$npmspec" "$sha")"
  log "installing $asked from $npmspec"
  tmp="$(mktemp -d "$PKGS/.tmp.XXXXXX")"
  tar xzf "$tarball" -C "$tmp"
  python3 "$HERE/fix_package.py" "$tmp/package" "$asked" "$npmspec"
  printf '%s\n' "$npmspec $sha" >"$tmp/.cm-fhir-source"
  rm -rf "$dest"
  mv "$tmp" "$dest"
done
# No network for the engine: no package server, no web access (fails fast instead of waiting for
# DNS), whatever the machine allows.
printf '%s\n' '{ "prohibitNetworkAccess": true, "ignoreDefaultPackageServers": true, "servers": [] }' \
  >"$VHOME/.fhir/fhir-settings.json"
# No packages.ini here: the validator's package manager writes its own, and wipes the whole
# cache when it finds one with another cache version.

# 4. a launcher, for people (the Python harness builds the same command line itself)
cat >"$OUT/run.sh" <<EOF
#!/usr/bin/env bash
# Generated by tools/hl7-validator/setup.sh: runs the HL7 validator engine offline.
# Usage: run.sh [-version 4.0.1] [-tx n/a] [-ig PATH]... [-profile URL]... [-output FILE]
#               [-allow-example-urls true] [-option NAME=VALUE]... FILE...
export HOME="$VHOME"
exec java \${HL7_VALIDATOR_JAVA_OPTS:--Xmx3g -XX:+UseParallelGC -Xss4m -XX:TieredStopAtLevel=1} -Duser.home="$VHOME" \\
  -cp "$OUT/classes:\$(cat "$OUT/classpath.txt")" OracleValidator "\$@"
EOF
chmod +x "$OUT/run.sh"

stamp_value >"$OUT/.stamp"
log "ready in $(( $(date +%s) - t0 )) s: $OUT/run.sh"
