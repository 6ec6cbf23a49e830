#!/usr/bin/env bash
# PostgreSQL 15 server binaries for the change data capture tests, which run private clusters
# (initdb + pg_ctl as the postgres user, wal_level=logical; crates/sluice/tests/it/services/).
#   scripts/postgres.sh install   installs postgresql-15 from the distribution if missing
#   scripts/postgres.sh path      prints the binaries' directory
set -euo pipefail
BIN="${SLUICE_PG_BIN:-/usr/lib/postgresql/15/bin}"

install() {
  if [ -x "$BIN/initdb" ] && [ -x "$BIN/pg_ctl" ] && id postgres >/dev/null 2>&1; then
    return 0
  fi
  echo "Installing PostgreSQL 15 (postgresql-15) for the CDC tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql-15 >&2
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$BIN" ;;
  *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac
