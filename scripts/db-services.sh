#!/usr/bin/env bash
# Makes sure the local services the connector tests use are up: PostgreSQL (127.0.0.1:5432) and
# MariaDB (3306) for JDBC, RabbitMQ (5672) for the RabbitMQ connectors, Mosquitto (1883) for
# MQTT. Starts a stopped one with the machine's own start command, and fails with a clear message
# if it still does not answer.
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
if ! up 5672; then
  echo "RabbitMQ is down; starting it..." >&2
  rabbitmq-server -detached ||
    { echo "error: could not start RabbitMQ (rabbitmq-server -detached failed)" >&2; exit 1; }
  wait_up RabbitMQ 5672
fi
if ! up 1883; then
  echo "Mosquitto is down; starting it..." >&2
  mosquitto -d -c /etc/mosquitto/mosquitto.conf ||
    { echo "error: could not start Mosquitto" >&2; exit 1; }
  wait_up Mosquitto 1883
fi
