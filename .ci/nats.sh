#!/usr/bin/env bash
# Installs Debian's nats-server when absent, starts it with JetStream on a
# loopback port in a scratch directory, and prints its URL as the last line
# (for TANSA_TEST_NATS_URL). Running it again reuses a server that answers.
set -euo pipefail
port=${TANSA_NATS_PORT:-54222}
dir=${TANSA_NATS_DIR:-/tmp/tansa-ci-nats}
if ! command -v nats-server >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi
# Debian's package starts a system service on 4222; the tests use their own.
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  mkdir -p "$dir"
  nohup nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir" >"$dir/server.log" 2>&1 &
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
fi
echo "nats://127.0.0.1:$port"
