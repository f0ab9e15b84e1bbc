#!/usr/bin/env bash
# bench/nats_bench.sh - events/s into NATS JetStream in one command
# (docs/performance.md, "JetStream").
#
# Builds a Release tree (if needed), then runs bench/nats_bench.py: a
# nats-server with JetStream (Debian's nats-server; a cluster of three for
# BENCH_NATS_REPLICAS=3) and a gateway whose gateway-nats publishes every
# event into a stream, on free loopback ports. Prints (a) the drain rate of
# a backlog and (b) events/s of a live burst.
#
# Parameters (environment):
#   BENCH_NATS_N=5000          messages in (a) and again in (b)
#   BENCH_NATS_CLIENTS=8       HTTP clients posting them
#   BENCH_NATS_REPLICAS=1      1, or 3 (three servers, an R3 stream)
#   BENCH_NATS_WINDOW=256      nats.window
#   BENCH_NATS_PAYLOAD=json    nats.payload (json or msgpack)
#   BENCH_TMPDIR=/var/tmp      where the state and the JetStream store go
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_KEEP=0               1: keep the temporary folder (logs, stores)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
export BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}

echo "== building Release in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target gatewayd gateway-router gateway-connector \
	gatewayctl gateway-nats >/dev/null

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GW_BIN_DIR="$BUILD/bin" PYTHONDONTWRITEBYTECODE=1 exec "$PY" "$ROOT/bench/nats_bench.py"
