#!/usr/bin/env bash
# Compile the FSH sources of the implementation guide with SUSHI, offline, and build the
# FHIR npm package.
#
#   bash profiles/build.sh           compile into profiles/fsh-generated/, build
#                                    build/ig/<id>-<version>.tgz (+ build/ig/package/) and
#                                    regenerate the documentation in docs/ig/
#   bash profiles/build.sh --check   compile into a temporary folder and compare with the
#                                    committed profiles/fsh-generated/ (CI); nothing is written
#
# Steps: (1) make sure the FHIR R4 core package is in the local FHIR package cache
# (.cache/fhir-home/.fhir/packages/hl7.fhir.r4.core#4.0.1); (2) install the pinned SUSHI into
# .cache/sushi/ if it is not there; (3) run SUSHI with HOME=.cache/fhir-home so that it reads
# that cache, after generating the case file's logical model (input/fsh/casefile-model.fsh) from
# mappings/casefile.schema.json; (4) package the generated resources; (5) generate docs/ig/. Exits non-zero on any SUSHI error, and in
# --check mode also on any warning that sushi-ignoreWarnings.txt does not explain, or on any
# difference with the committed JSON or documentation.
set -euo pipefail

SUSHI_VERSION="3.21.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILES="$ROOT/profiles"
CACHE="$ROOT/.cache"
FHIR_HOME="$CACHE/fhir-home"
SUSHI_PREFIX="$CACHE/sushi"
SUSHI_BIN="$SUSHI_PREFIX/node_modules/.bin/sushi"
OUT_DIR="$ROOT/build/ig"
DOCS_DIR="$ROOT/docs/ig"
CORE_DIR="$FHIR_HOME/.fhir/packages/hl7.fhir.r4.core#4.0.1/package"

MODE="build"
case "${1:-}" in
  "") ;;
  --check) MODE="check" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

cd "$ROOT"
if [ -x "$ROOT/.venv/bin/python" ]; then
  PY=("$ROOT/.venv/bin/python")
else
  PY=(env "PYTHONPATH=$ROOT" python3)
fi

# (1) FHIR R4 core package (idempotent: does nothing when already unpacked and verified).
"${PY[@]}" -m fhir_service.conformance.package

# (2) SUSHI, pinned. Installed by its package name with npm's configured registry.
installed_version() {
  local manifest="$SUSHI_PREFIX/node_modules/fsh-sushi/package.json"
  [ -f "$manifest" ] || return 0
  "${PY[@]}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$manifest"
}
if [ "$(installed_version)" != "$SUSHI_VERSION" ] || [ ! -x "$SUSHI_BIN" ]; then
  echo "Installing fsh-sushi@$SUSHI_VERSION into $SUSHI_PREFIX"
  mkdir -p "$SUSHI_PREFIX"
  npm install --prefix "$SUSHI_PREFIX" --no-package-lock --no-save --no-audit --no-fund \
    "fsh-sushi@$SUSHI_VERSION" >&2
fi

# (2b) The case file's logical model is generated from its JSON Schema (one source of truth).
CASEFILE_MODEL=("${PY[@]}" "$PROFILES/scripts/casefile_model.py"
                "$ROOT/mappings/casefile.schema.json" "$PROFILES/input/fsh/casefile-model.fsh")
if [ "$MODE" = "check" ]; then
  "${CASEFILE_MODEL[@]}" --check
else
  "${CASEFILE_MODEL[@]}"
fi

# (3) Compile.
run_sushi() {  # $1 = SUSHI project folder (holds sushi-config.yaml and input/fsh)
  local log status=0
  log="$(mktemp)"
  HOME="$FHIR_HOME" "$SUSHI_BIN" build "$1" >"$log" 2>&1 || status=$?
  # Keep the log readable: warnings, errors and the summary, not the info lines.
  grep -v '^info ' "$log" || true
  local errors warnings
  errors="$(sed -n 's/.* \([0-9][0-9]*\) Errors\{0,1\} .*/\1/p' "$log" | tail -1)"
  warnings="$(sed -n 's/.* \([0-9][0-9]*\) Warnings\{0,1\} *|.*/\1/p' "$log" | tail -1)"
  rm -f "$log"
  if [ "$status" -ne 0 ] || [ -z "$errors" ] || [ "$errors" -ne 0 ]; then
    echo "SUSHI failed (exit $status, errors: ${errors:-unknown})" >&2
    return 1
  fi
  SUSHI_WARNINGS="${warnings:-0}"
}

if [ "$MODE" = "check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cp "$PROFILES/sushi-config.yaml" "$PROFILES/sushi-ignoreWarnings.txt" "$tmp/"
  cp -r "$PROFILES/input" "$tmp/input"
  run_sushi "$tmp"
  if [ "$SUSHI_WARNINGS" -ne 0 ]; then
    echo "SUSHI reported $SUSHI_WARNINGS unexplained warning(s): fix them or explain them in profiles/sushi-ignoreWarnings.txt" >&2
    exit 1
  fi
  if [ ! -d "$PROFILES/fsh-generated" ]; then
    echo "profiles/fsh-generated/ is missing: run 'make ig' and commit it" >&2
    exit 1
  fi
  if ! diff -r "$tmp/fsh-generated" "$PROFILES/fsh-generated" >"$tmp/diff.txt"; then
    head -50 "$tmp/diff.txt" >&2
    echo "profiles/fsh-generated/ is not what the FSH sources compile to: run 'make ig' and commit the result" >&2
    exit 1
  fi
  "${PY[@]}" "$PROFILES/scripts/make_package.py" --check "$tmp/fsh-generated/resources"
  "${PY[@]}" "$PROFILES/scripts/make_docs.py" "$tmp/fsh-generated/resources" "$tmp/docs" "$CORE_DIR" >/dev/null
  if ! diff -r "$tmp/docs" "$DOCS_DIR" >"$tmp/diff.txt"; then
    head -50 "$tmp/diff.txt" >&2
    echo "docs/ig/ is not what the definitions generate: run 'make ig' and commit the result" >&2
    exit 1
  fi
  echo "IG check passed: committed JSON matches a fresh SUSHI $SUSHI_VERSION compile (0 errors, 0 unexplained warnings)"
  exit 0
fi

rm -rf "$PROFILES/fsh-generated"
run_sushi "$PROFILES"

# (4) Package.
"${PY[@]}" "$PROFILES/scripts/make_package.py" \
  --resources "$PROFILES/fsh-generated/resources" \
  --manifest "$PROFILES/package-manifest.json" \
  --sushi-config "$PROFILES/sushi-config.yaml" \
  --out "$OUT_DIR" \
  --fhir-home "$FHIR_HOME"
# (5) Readable documentation, generated from the definitions (committed in docs/ig/).
"${PY[@]}" "$PROFILES/scripts/make_docs.py" "$PROFILES/fsh-generated/resources" "$DOCS_DIR" "$CORE_DIR"
echo "SUSHI $SUSHI_VERSION: 0 errors, $SUSHI_WARNINGS unexplained warning(s)"
