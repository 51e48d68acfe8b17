#!/bin/sh
# Runs once, when the PostgreSQL volume is created: a database and a user for HAPI beside the
# service's own (POSTGRES_DB / POSTGRES_USER).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v hapi_password="$HAPI_DB_PASSWORD" <<'SQL'
CREATE USER hapi WITH PASSWORD :'hapi_password';
CREATE DATABASE hapi OWNER hapi;
SQL
