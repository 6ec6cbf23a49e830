#!/usr/bin/env bash
# Makes sure the local PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) the JDBC tests
# use are up: starts a stopped one with the machine's own start command, and fails with a clear
# message if it still does not answer.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    up "$port" && return 0
    sleep 1
  done
  echo "error: $name does not answer on 127.0.0.1:$port after starting it" >&2
  exit 1
}

if ! up 5432; then
  echo "PostgreSQL is down; starting it..." >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start ||
    { echo "error: could not start PostgreSQL (pg_ctlcluster failed)" >&2; exit 1; }
  wait_up PostgreSQL 5432
fi
if ! up 3306; then
  echo "MariaDB is down; starting it..." >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd ||
    { echo "error: could not start MariaDB (start-stop-daemon failed)" >&2; exit 1; }
  wait_up MariaDB 3306
fi
