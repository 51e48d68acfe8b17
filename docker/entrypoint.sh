#!/usr/bin/env bash
# Entry point of the cm-fhir image (docker/Dockerfile); tests/test_docker.py runs the same
# script on 127.0.0.1 without Docker.
#
#   entrypoint.sh serve [cm-fhir serve options]   upgrade the schema, then serve (the default)
#   entrypoint.sh sync-loop                        pull then push with the partner, every interval
#   entrypoint.sh healthcheck                      exit 0 when GET <base>/metadata answers 200
#   entrypoint.sh <cm-fhir command> [args]         any cm-fhir command (client add, token, db ...)
#
# Everything the service writes lives under CM_FHIR_DATA (the volume, default /data): the
# SQLite database when no CM_FHIR_DATABASE_URL is given, the signing keys (keys/), the audit
# journal (audit/), bulk export files (export/) and the sync state (sync/). Demo data is off
# unless CM_FHIR_DEMO=true. Started as root (docker run --user 0, a root-owned bind mount), it
# gives the volume to CM_FHIR_USER (default cmfhir) and drops to that user; it never serves as
# root.
set -euo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

: "${CM_FHIR_DATA:=/data}"
: "${CM_FHIR_DATABASE_URL:=sqlite:///$CM_FHIR_DATA/cm-fhir.db}"
: "${CM_FHIR_KEYS_DIR:=$CM_FHIR_DATA/keys}"
: "${CM_FHIR_AUDIT_JOURNAL:=$CM_FHIR_DATA/audit}"
: "${CM_FHIR_EXPORT_DIR:=$CM_FHIR_DATA/export}"
: "${CM_FHIR_SYNC_STATE:=$CM_FHIR_DATA/sync/state.json}"
: "${CM_FHIR_DEMO:=false}"
: "${CM_FHIR_BASE_PATH:=/fhir}"
: "${CM_FHIR_HOST:=0.0.0.0}"
: "${CM_FHIR_PORT:=8080}"
: "${CM_FHIR_WORKERS:=1}"
: "${CM_FHIR_DB_UPGRADE:=true}"
: "${CM_FHIR_CMD:=/app/.venv/bin/cm-fhir}"   # word-split: "python -m fhir_service.cli" works
export CM_FHIR_DATABASE_URL CM_FHIR_KEYS_DIR CM_FHIR_AUDIT_JOURNAL CM_FHIR_EXPORT_DIR \
  CM_FHIR_SYNC_STATE CM_FHIR_DEMO CM_FHIR_BASE_PATH
read -r -a CMD <<<"$CM_FHIR_CMD"

command="${1:-serve}"
[ $# -gt 0 ] && shift

if [ "$command" = healthcheck ]; then
  # no curl or python needed: one HTTP/1.0 request on bash's /dev/tcp
  exec timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s/metadata HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/fhir+json\r\n\r\n" "$2" >&3
    read -r status <&3
    case "$status" in "HTTP/"*" 200"*) exit 0;; *) exit 1;; esac' _ "$CM_FHIR_PORT" "$CM_FHIR_BASE_PATH"
fi

if [ "$(id -u)" = 0 ]; then
  user="${CM_FHIR_USER:-cmfhir}"
  uid="$(id -u "$user" 2>/dev/null)" || die "no user $user to run as (CM_FHIR_USER)"
  [ "$uid" != 0 ] || die "refusing to run as root (CM_FHIR_USER=$user)"
  gid="$(id -g "$user")"
  mkdir -p "$CM_FHIR_DATA"
  chown -R "$uid:$gid" "$CM_FHIR_DATA"
  for dir in "$CM_FHIR_KEYS_DIR" "$CM_FHIR_AUDIT_JOURNAL" "$CM_FHIR_EXPORT_DIR"; do
    case "$dir" in off|"$CM_FHIR_DATA"/*) ;; *) mkdir -p "$dir"; chown -R "$uid:$gid" "$dir";; esac
  done
  log "dropping root: running as $user ($uid:$gid)"
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$0" "$command" "$@"
fi

umask 077  # keys, journal, exports and state: private to the service's user
mkdir -p "$CM_FHIR_DATA" "$CM_FHIR_KEYS_DIR" "$(dirname "$CM_FHIR_SYNC_STATE")" "$CM_FHIR_EXPORT_DIR"
[ "$CM_FHIR_AUDIT_JOURNAL" = off ] || mkdir -p "$CM_FHIR_AUDIT_JOURNAL"

case "$command" in
  serve)
    if [ "$CM_FHIR_DB_UPGRADE" = true ]; then
      "${CMD[@]}" db upgrade
    fi
    exec "${CMD[@]}" serve --host "$CM_FHIR_HOST" --port "$CM_FHIR_PORT" --workers "$CM_FHIR_WORKERS" "$@"
    ;;
  sync-loop)
    # cm-fhir sync (docs/sync.md) reads CM_FHIR_SYNC_REMOTE (the partner's base URL) and
    # CM_FHIR_SYNC_STATE; this loop adds CM_FHIR_SYNC_CLIENT (the local client we sync as),
    # CM_FHIR_SYNC_PERSONS (people to push, space-separated; empty: pull only) and
    # CM_FHIR_SYNC_INTERVAL (seconds between rounds, default 300).
    [ -n "${CM_FHIR_SYNC_REMOTE:-}" ] || die "CM_FHIR_SYNC_REMOTE (the partner's FHIR base URL) is not set"
    [ -n "${CM_FHIR_SYNC_CLIENT:-}" ] || die "CM_FHIR_SYNC_CLIENT (a client registered with cm-fhir client add) is not set"
    read -r -a persons <<<"${CM_FHIR_SYNC_PERSONS:-}"
    while :; do
      # pull first: push refuses to overwrite what the partner changed since the last
      # exchange ("pull first"), so a change made there comes back before ours go out
      "${CMD[@]}" sync pull --client "$CM_FHIR_SYNC_CLIENT" || log "pull failed (next round retries)"
      if [ "${#persons[@]}" -gt 0 ]; then
        "${CMD[@]}" sync push --client "$CM_FHIR_SYNC_CLIENT" "${persons[@]}" || log "push failed (next round retries)"
      fi
      sleep "${CM_FHIR_SYNC_INTERVAL:-300}"
    done
    ;;
  *)
    exec "${CMD[@]}" "$command" "$@"
    ;;
esac
