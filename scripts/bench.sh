#!/usr/bin/env bash
# Sluice against the raw librdkafka client, side by side on one broker, in one command.
#
#   scripts/bench.sh                 # 1 GB of 100-byte lines (BENCH_BYTES=1G)
#   BENCH_BYTES=100M scripts/bench.sh  # a quick run
#
# Knobs (environment):
#   BENCH_BYTES        main input file size (default 1G; K/M/G suffixes)
#   BENCH_SWEEP_BYTES  input size per record size of the sweep (default 100M)
#   BENCH_SIZES        record sizes of the sweep (default 100,1000,10000,100000; "" skips it)
#   BENCH_REPEAT       runs per side and scenario, best reported (default 1)
#   BENCH_PORT         broker port (default 19392)
#   BENCH_MICRO=0      skip the criterion micro-benchmarks
#   BENCH_SCALE=0      skip the scale scenario (BENCH_SCALE_CONNECTORS, BENCH_SCALE_TASKS)
#   BENCH_TDENGINE_POINTS  points of the TDengine sink benchmark (default 1000000; 0 skips it)
#   BENCH_JDBC_ROWS    rows of the JDBC sink/source benchmarks against raw PostgreSQL clients
#                      (default 1000000; 0 skips them; needs PostgreSQL on BENCH_PG, default
#                      127.0.0.1:5432, trust auth, database `test`)
#   BENCH_CDC_EVENTS   inserts of the PostgreSQL CDC benchmark (default 1000000; 0 skips it and
#                      the latency probe; needs the PostgreSQL 15 server binaries, as the tests)
#   BENCH_MESSAGING_MESSAGES  1 KB messages per RabbitMQ scenario and side (default 200000; 0
#                      skips the RabbitMQ and webhook benchmarks; needs RabbitMQ on 5672)
#   BENCH_WEBHOOK_REQUESTS  webhook POSTs from 50 clients (default 20000)
#   BENCH_WORK         scratch directory (default /tmp/sluice-bench)
#
# It installs and starts the dev broker (scripts/broker.sh, in-memory storage), builds the
# release binaries, runs every scenario, prints the tables, and rewrites the results section of
# docs/performance.md (between the BENCH-RESULTS markers) and docs/performance-record-size.png.
set -euo pipefail
cd "$(dirname "$0")/.."

size() { numfmt --from=iec "$1"; }
BYTES=$(size "${BENCH_BYTES:-1G}")
SWEEP_BYTES=$(size "${BENCH_SWEEP_BYTES:-100M}")
SIZES=${BENCH_SIZES-100,1000,10000,100000}
REPEAT=${BENCH_REPEAT:-1}
PORT=${BENCH_PORT:-19392}
WORK=${BENCH_WORK:-/tmp/sluice-bench}
TARGET=${CARGO_TARGET_DIR:-target}

# The broker keeps every topic in memory: make sure the machine can hold them (about 4x the
# input: the raw and Sluice copies, the JSON envelopes, tansu's own overhead).
avail_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
need_kib=$(( BYTES * 5 / 1024 ))
if [ "$need_kib" -gt "$avail_kib" ]; then
  echo "bench: BENCH_BYTES=$BYTES needs about $((need_kib / 1024)) MiB of memory for the in-memory broker; $((avail_kib / 1024)) MiB available. Use a smaller BENCH_BYTES." >&2
  exit 1
fi

# CPU time the hypervisor gave to other guests while this VM wanted to run ("steal" in
# /proc/stat, all CPUs) and all CPU time, in clock ticks. On a shared host this moves every
# figure: a run with much steal is slow on both sides, and criterion's times grow with it.
cpu_ticks() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
steal_since() {
  read -r s0 t0 <<<"$1"
  read -r s1 t1 <<<"$(cpu_ticks)"
  awk -v s=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }'
}

scripts/broker.sh install
cargo build --release -p sluice -p sluice-bench
rm -rf "$WORK"
mkdir -p "$WORK"
scripts/broker.sh stop "$PORT"
scripts/broker.sh start "$PORT" >/dev/null
trap 'scripts/broker.sh stop "$PORT"' EXIT

ticks=$(cpu_ticks)
"$TARGET/release/sluice-bench" run \
  --sluice "$TARGET/release/sluice" \
  --bootstrap "127.0.0.1:$PORT" \
  --work "$WORK" \
  --bytes "$BYTES" \
  --sweep-bytes "$SWEEP_BYTES" \
  --sizes "$SIZES" \
  --repeat "$REPEAT" \
  --out-json "$WORK/results.json" \
  --out-md "$WORK/results.md"
{
  echo
  echo "CPU time the hypervisor took from this VM during the runs above (steal, /proc/stat): $(steal_since "$ticks")%."
} >>"$WORK/results.md"

# Scale (issue 15): 1,000 connectors on one worker, 1,000 tasks on a three-worker cluster.
if [ "${BENCH_SCALE:-1}" != 0 ]; then
  echo "Scale: ${BENCH_SCALE_CONNECTORS:-1000} connectors on one worker, ${BENCH_SCALE_TASKS:-1000} tasks on three workers..." >&2
  {
    echo
    echo "Scale (scripts/bench-scale.py, a broker of its own for each part):"
    echo
    python3 scripts/bench-scale.py --sluice "$TARGET/release/sluice" \
      --tansu "$(scripts/broker.sh path)" --work "$WORK/scale" \
      --connectors "${BENCH_SCALE_CONNECTORS:-1000}" --tasks "${BENCH_SCALE_TASKS:-1000}"
  } >>"$WORK/results.md"
fi

# The TDengine sink against a raw HTTP client posting the same batches, both into the TDengine
# test server (Sluice's overhead, not TDengine's speed; see docs/connectors/tdengine.md).
if [ "${BENCH_TDENGINE_POINTS:-1000000}" != 0 ]; then
  "$TARGET/release/sluice-bench" tdengine-sink \
    --sluice "$TARGET/release/sluice" \
    --bootstrap "127.0.0.1:$PORT" \
    --work "$WORK" \
    --points "${BENCH_TDENGINE_POINTS:-1000000}" \
    --out-md "$WORK/results.md"
fi

# The JDBC connectors against raw tokio-postgres clients on the same PostgreSQL server
# (issue 16): sink insert/upsert, source bulk/incrementing.
if [ "${BENCH_JDBC_ROWS:-1000000}" != 0 ]; then
  "$TARGET/release/sluice-bench" jdbc \
    --sluice "$TARGET/release/sluice" \
    --bootstrap "127.0.0.1:$PORT" \
    --work "$WORK" \
    --pg "${BENCH_PG:-127.0.0.1:5432}" \
    --rows "${BENCH_JDBC_ROWS:-1000000}" \
    --out-md "$WORK/results.md"
fi

# PostgreSQL CDC against a raw pgoutput reader, and commit-to-Kafka latency (issue 17).
if [ "${BENCH_CDC_EVENTS:-1000000}" != 0 ]; then
  "$TARGET/release/sluice-bench" cdc \
    --sluice "$TARGET/release/sluice" \
    --bootstrap "127.0.0.1:$PORT" \
    --work "$WORK" \
    --events "${BENCH_CDC_EVENTS:-1000000}" \
    --out-md "$WORK/results.md"
fi

# RabbitMQ source and sink against a raw lapin + rdkafka client on the machine's RabbitMQ, and
# the webhook source's requests/s and latency at 50 clients (issue 18).
if [ "${BENCH_MESSAGING_MESSAGES:-200000}" != 0 ]; then
  "$TARGET/release/sluice-bench" messaging \
    --sluice "$TARGET/release/sluice" \
    --bootstrap "127.0.0.1:$PORT" \
    --work "$WORK" \
    --messages "${BENCH_MESSAGING_MESSAGES:-200000}" \
    --requests "${BENCH_WEBHOOK_REQUESTS:-20000}" \
    --clients 50 \
    --out-md "$WORK/results.md"
fi

if [ "${BENCH_MICRO:-1}" != 0 ]; then
  echo "Micro-benchmarks (criterion, one thread: records/s per core)..." >&2
  {
    echo
    echo "Micro-benchmarks (criterion, one thread, so records/s per core):"
    echo
    echo "| Benchmark | Time per record | Records/s per core |"
    echo "|---|---:|---:|"
  } >>"$WORK/results.md"
  ticks=$(cpu_ticks)
  for b in "sluice-converters json" "sluice-transforms chain"; do
    set -- $b
    cargo bench -p "$1" --bench "$2" -- --noplot 2>/dev/null | tee "$WORK/bench-$2.txt" >&2
  done
  python3 scripts/bench-report.py micro "$WORK"/bench-json.txt "$WORK"/bench-chain.txt >>"$WORK/results.md"
  {
    echo
    echo "CPU time the hypervisor took from this VM during the micro-benchmarks (steal): $(steal_since "$ticks")%."
  } >>"$WORK/results.md"
  tail -n +1 "$WORK/results.md" | sed -n '/Micro-benchmarks/,$p'
fi

# The plot needs matplotlib: a virtualenv in the cache, made once (PyPI), so the bench runs on a
# fresh machine.
VENV=${SLUICE_CACHE:-$HOME/.cache/sluice}/bench-venv
if ! "$VENV/bin/python3" -c 'import matplotlib' 2>/dev/null; then
  echo "Installing matplotlib for the plot into $VENV (once)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python3" -m pip install --quiet matplotlib
fi
"$VENV/bin/python3" scripts/bench-report.py doc "$WORK/results.json" "$WORK/results.md" docs/performance.md docs/performance-record-size.png
echo "bench: results in $WORK/results.md; docs/performance.md and docs/performance-record-size.png updated." >&2
