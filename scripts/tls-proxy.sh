#!/usr/bin/env bash
# A TLS terminator for the test broker: tansu does not terminate TLS itself, so the security
# tests put stunnel (Debian's stunnel4) in front of it. Installed here when missing, never by hand.
#
#   scripts/tls-proxy.sh install     install stunnel4 (apt-get) when no stunnel is on PATH
#   scripts/tls-proxy.sh path        print the stunnel binary path (installing it if missing)
#
# The tests write their own stunnel configuration (certificates made per test) and run
# `stunnel <conf>` in the foreground, so the process dies with the test.
set -euo pipefail

find_bin() {
  command -v stunnel4 2>/dev/null || command -v stunnel 2>/dev/null || true
}

install() {
  if [ -n "$(find_bin)" ]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "stunnel is missing and apt-get is not available: install stunnel (stunnel4) with your package manager" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
  fi
  echo "Installing stunnel4 (TLS terminator for the security tests)..." >&2
  (
    # One install at a time when several test binaries ask at once.
    flock 9
    if [ -z "$(find_bin)" ]; then
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq stunnel4 >&2
    fi
  ) 9>"${TMPDIR:-/tmp}/sluice-stunnel-install.lock"
  if [ -z "$(find_bin)" ]; then
    echo "stunnel4 was installed but no stunnel binary is on PATH" >&2
    return 1
  fi
}

case "${1:-}" in
  install) install ;;
  path) install; find_bin ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
