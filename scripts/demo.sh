#!/usr/bin/env bash
# The quickstart of seed 001, end to end: installs and starts the dev broker, builds Sluice,
# runs `sluice standalone` with the seed's worker, file source and file sink configs, and
# echoes lines into source.txt that appear on the topic and in sink.txt.
#
#   scripts/demo.sh            run until Ctrl-C (type more lines into $DEMO_DIR/source.txt)
#   scripts/demo.sh --once     move the demo lines, show the result, stop everything
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=${1:-}
PORT=${SLUICE_DEMO_BROKER_PORT:-19092}
REST_PORT=${SLUICE_DEMO_REST_PORT:-8083}
DEMO_DIR=${DEMO_DIR:-/tmp/sluice-demo}

scripts/broker.sh install
echo "Building Sluice (release)..." >&2
cargo build --release --quiet -p sluice

mkdir -p "$DEMO_DIR"
rm -f "$DEMO_DIR"/source.txt "$DEMO_DIR"/sink.txt "$DEMO_DIR"/connect.offsets
touch "$DEMO_DIR/source.txt"

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

scripts/broker.sh start "$PORT" >/dev/null
target/release/sluice standalone "$DEMO_DIR/connect-standalone.properties" \
  "$DEMO_DIR/connect-file-source.properties" "$DEMO_DIR/connect-file-sink.properties" \
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

if [ "$ONCE" = "--once" ]; then
  exit 0
fi
echo "Sluice is running. Append lines to $DEMO_DIR/source.txt and watch $DEMO_DIR/sink.txt; Ctrl-C stops it."
wait "$WORKER"
