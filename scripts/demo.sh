#!/usr/bin/env bash
# The quickstart of seed 001, end to end: installs and starts the dev broker, builds Sluice,
# runs `sluice standalone` with the seed's worker, file source and file sink configs, and
# echoes lines into source.txt that appear on the topic and in sink.txt.
#
# The same worker also runs a SQLite pipeline with no database server: Confluent's JDBC source
# reads the table `orders` of $DEMO_DIR/shop.db (mode=incrementing) into the topic
# `sqlite-orders`, and the JDBC sink writes that topic into $DEMO_DIR/warehouse.db
# (auto.create, upsert). Rows inserted into shop.db show up in warehouse.db.
#
#   scripts/demo.sh            run until Ctrl-C (type more lines into $DEMO_DIR/source.txt)
#   scripts/demo.sh --once     move the demo lines, show the result, stop everything
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=${1:-}
PORT=${SLUICE_DEMO_BROKER_PORT:-19092}
REST_PORT=${SLUICE_DEMO_REST_PORT:-8083}
DEMO_DIR=${DEMO_DIR:-/tmp/sluice-demo}

# The broker's install (a cargo install, once) and Sluice's build run side by side: each has
# long single-threaded stretches (linking, the biggest crates), so together they take less
# wall time than one after the other.
scripts/broker.sh install &
BROKER_INSTALL=$!
echo "Building Sluice (release)..." >&2
cargo build --release --quiet -p sluice
wait "$BROKER_INSTALL" || { echo "installing the dev broker failed (see above)" >&2; exit 1; }

mkdir -p "$DEMO_DIR"
rm -f "$DEMO_DIR"/source.txt "$DEMO_DIR"/sink.txt "$DEMO_DIR"/connect.offsets \
  "$DEMO_DIR"/shop.db "$DEMO_DIR"/warehouse.db
touch "$DEMO_DIR/source.txt"

# SQL on a SQLite file through Python's built-in sqlite3 (no sqlite3 CLI needed); prints rows.
sqlite() {
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
try:
    for row in con.execute(sys.argv[2]):
        print(" | ".join("NULL" if v is None else str(v) for v in row))
except sqlite3.OperationalError as e:
    if "no such table" not in str(e):
        raise
con.commit()
PY
}
sqlite "$DEMO_DIR/shop.db" "CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, amount REAL NOT NULL)"

# Seed 001's files; only the paths and the bootstrap address differ.
cat >"$DEMO_DIR/connect-standalone.properties" <<PROPS
# 配置与 Kafka 集群连接的地址
bootstrap.servers=127.0.0.1:$PORT
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
# 指定 JSON 消息中是否可以包含 schema
key.converter.schemas.enable=true
value.converter.schemas.enable=true
# 指定保存偏移量的文件路径
offset.storage.file.filename=$DEMO_DIR/connect.offsets
# 设定提交偏移量的频率
offset.flush.interval.ms=10000
listeners=http://127.0.0.1:$REST_PORT
PROPS
cat >"$DEMO_DIR/connect-file-source.properties" <<PROPS
# 连接器的名称
name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=$DEMO_DIR/source.txt
topic=topic-connect
PROPS
cat >"$DEMO_DIR/connect-file-sink.properties" <<PROPS
name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=$DEMO_DIR/sink.txt
topics=topic-connect
PROPS

# The SQLite pipeline: Confluent's JDBC connector configs, only the URLs are files.
cat >"$DEMO_DIR/connect-sqlite-source.properties" <<PROPS
name=sqlite-source
connector.class=io.confluent.connect.jdbc.JdbcSourceConnector
connection.url=jdbc:sqlite:$DEMO_DIR/shop.db
mode=incrementing
incrementing.column.name=id
table.whitelist=orders
topic.prefix=sqlite-
poll.interval.ms=500
PROPS
cat >"$DEMO_DIR/connect-sqlite-sink.properties" <<PROPS
name=sqlite-sink
connector.class=io.confluent.connect.jdbc.JdbcSinkConnector
connection.url=jdbc:sqlite:$DEMO_DIR/warehouse.db
topics=sqlite-orders
table.name.format=orders
insert.mode=upsert
pk.mode=record_value
pk.fields=id
auto.create=true
PROPS

scripts/broker.sh start "$PORT" >/dev/null
target/release/sluice standalone "$DEMO_DIR/connect-standalone.properties" \
  "$DEMO_DIR/connect-file-source.properties" "$DEMO_DIR/connect-file-sink.properties" \
  "$DEMO_DIR/connect-sqlite-source.properties" "$DEMO_DIR/connect-sqlite-sink.properties" \
  2>"$DEMO_DIR/worker.log" &
WORKER=$!
cleanup() {
  kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true
  scripts/broker.sh stop "$PORT"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$REST_PORT/connectors" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "REST API: http://127.0.0.1:$REST_PORT/  connectors: $(curl -s "http://127.0.0.1:$REST_PORT/connectors")"

echo "hello kafka connect" >>"$DEMO_DIR/source.txt"
echo "hello kafka streams" >>"$DEMO_DIR/source.txt"
echo "你好，Sluice" >>"$DEMO_DIR/source.txt"

for _ in $(seq 1 100); do
  [ "$(wc -l <"$DEMO_DIR/sink.txt" 2>/dev/null || echo 0)" -ge 3 ] && break
  sleep 0.1
done
echo "--- $DEMO_DIR/sink.txt:"
cat "$DEMO_DIR/sink.txt"
echo "--- status of local-file-source:"
curl -s "http://127.0.0.1:$REST_PORT/connectors/local-file-source/status"; echo

sqlite "$DEMO_DIR/shop.db" "INSERT INTO orders (customer, amount) VALUES ('ada', 12.5), ('grace', 7.25), ('李雷', 30.0)"
for _ in $(seq 1 300); do
  [ "$(sqlite "$DEMO_DIR/warehouse.db" "SELECT count(*) FROM orders")" = 3 ] && break
  sleep 0.1
done
echo "--- $DEMO_DIR/warehouse.db, table orders (from shop.db through the topic sqlite-orders):"
sqlite "$DEMO_DIR/warehouse.db" "SELECT id, customer, amount FROM orders ORDER BY id"
if [ "$(sqlite "$DEMO_DIR/warehouse.db" "SELECT count(*) FROM orders")" != 3 ]; then
  echo "demo: the SQLite rows did not reach warehouse.db; see $DEMO_DIR/worker.log" >&2
  exit 1
fi

if [ "$ONCE" = "--once" ]; then
  exit 0
fi
echo "Sluice is running. Append lines to $DEMO_DIR/source.txt and watch $DEMO_DIR/sink.txt;"
echo "insert rows into the table orders of $DEMO_DIR/shop.db and watch $DEMO_DIR/warehouse.db. Ctrl-C stops it."
wait "$WORKER"
