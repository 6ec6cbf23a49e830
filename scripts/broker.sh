#!/usr/bin/env bash
# The dev/test broker: tansu 0.6.0, a Kafka-compatible broker, installed into a cache outside the
# repository (only when missing) and run on a chosen port.
#
#   scripts/broker.sh install                 install tansu into $SLUICE_CACHE (default ~/.cache/sluice)
#   scripts/broker.sh path                    print the tansu binary path (installing it if missing)
#   scripts/broker.sh start PORT [STORAGE]    start a broker on 127.0.0.1:PORT in the background
#                                             (STORAGE defaults to memory://sluice-PORT/); prints its pid
#   scripts/broker.sh stop PORT               stop the broker started on PORT
#
# Everything the README demo, the tests and CI need comes from here: nothing is installed by hand.
set -euo pipefail

TANSU_VERSION=0.6.0
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
ROOT="$CACHE/tansu-$TANSU_VERSION"
BIN="$ROOT/bin/tansu"
RUN="$CACHE/run"

install() {
  if [ -x "$BIN" ]; then
    return 0
  fi
  mkdir -p "$ROOT"
  # One install at a time: a second caller (parallel tests) waits for the first.
  exec 9>"$ROOT.lock"
  flock 9
  if [ -x "$BIN" ]; then
    return 0
  fi
  echo "Installing tansu $TANSU_VERSION into $ROOT (several minutes, once)..." >&2
  # Without dynostore and libsql neither memory:// nor sqlite:// storage works.
  # A test broker needs no link-time optimisation or full optimisation: opt-level 1 with many
  # codegen units compiles in a fraction of the time and still serves the tests and benches.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
    --root "$ROOT.partial" >&2
  mv "$ROOT.partial/bin/tansu" "$BIN.tmp" 2>/dev/null || { mkdir -p "$ROOT/bin"; mv "$ROOT.partial/bin/tansu" "$BIN.tmp"; }
  mkdir -p "$ROOT/bin"
  mv "$BIN.tmp" "$BIN"
  rm -rf "$ROOT.partial"
}

wait_port() {
  local port=$1 deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "tansu did not listen on 127.0.0.1:$port within 30 s; see $RUN/tansu-$port.log" >&2
  return 1
}

start() {
  local port=${1:?usage: broker.sh start PORT [STORAGE]}
  local storage=${2:-memory://sluice-$port/}
  install
  mkdir -p "$RUN"
  "$BIN" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "$storage" \
    >"$RUN/tansu-$port.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$RUN/tansu-$port.pid"
  wait_port "$port"
  echo "$pid"
}

stop() {
  local port=${1:?usage: broker.sh stop PORT}
  local pidfile="$RUN/tansu-$port.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$BIN" ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
