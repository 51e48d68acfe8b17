#!/usr/bin/env bash
# Resolves HAPI FHIR's validation stack with Maven into the project's cache and compiles the
# small checker (src/HapiPackageCheck.java). Idempotent; offline once cached.
#
#   bash tools/hapi-check/setup.sh     -> prints the classpath file on success
#
# Needs java + javac (17+) and mvn. Cached under .cache/ (ignored): m2/ (Maven repository)
# and hapi-check/ (classpath.txt, classes/).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
M2="$ROOT/.cache/m2"
OUT="$ROOT/.cache/hapi-check"
die() { echo "hapi-check setup: $*" >&2; exit 1; }
command -v java >/dev/null || die "java not found (install a JDK 17+)"
command -v javac >/dev/null || die "javac not found (install a JDK 17+)"
command -v mvn >/dev/null || die "mvn not found (install Maven)"
mkdir -p "$M2" "$OUT"
stamp="$(sha256sum "$HERE/pom.xml" "$HERE/src/HapiPackageCheck.java" | sha256sum | cut -c1-16)"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$stamp" ] && [ -s "$OUT/classpath.txt" ]; then
  ok=1; IFS=: read -ra jars < "$OUT/classpath.txt" || true
  for j in "${jars[@]}"; do [ -f "$j" ] || ok=0; done
  [ "$ok" = 1 ] && { echo "$OUT/classpath.txt"; exit 0; }
fi
rm -f "$OUT/.stamp"
mvn_cp() {
  mvn -B -q "$@" -f "$HERE/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$OUT/classpath.txt"
}
if ! mvn_cp -o >"$OUT/mvn.log" 2>&1; then
  mvn_cp >"$OUT/mvn.log" 2>&1 || { cat "$OUT/mvn.log" >&2; die "Maven could not resolve HAPI FHIR (log: $OUT/mvn.log)"; }
fi
rm -rf "$OUT/classes" && mkdir -p "$OUT/classes"
javac -nowarn -encoding UTF-8 -d "$OUT/classes" -cp "$(cat "$OUT/classpath.txt")" "$HERE/src/HapiPackageCheck.java"
echo "$stamp" > "$OUT/.stamp"
echo "$OUT/classpath.txt"
