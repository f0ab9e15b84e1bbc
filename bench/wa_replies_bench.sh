#!/usr/bin/env bash
# bench/wa_replies_bench.sh - replies through the WhatsApp path in one
# command (docs/performance.md, "WhatsApp replies").
#
# Builds a Release tree (if needed), then runs bench/wa_replies_bench.py: a
# gateway with one Meta connector whose graph_url is nginx on loopback (the
# Cloud API's answer, canned; nginx logs when each request arrived), customers
# writing first, then message.send commands from BENCH_CLIENTS clients:
#   (a) maximum throughput: BENCH_N replies;
#   (b) a steady BENCH_RATE replies/s for BENCH_STEADY_SECONDS;
# prints the disk's commit cost, replies/s, the command-to-provider latency
# (p50, p99, max), the CPU per reply and the other load on the machine.
# Needs Debian's nginx-light (scripts/setup.sh).
#
# Parameters (environment):
#   BENCH_N=5000 BENCH_CLIENTS=16 BENCH_CUSTOMERS=500
#   BENCH_RATE=100 BENCH_STEADY_SECONDS=10
#   BENCH_SEND_CONCURRENCY=16  the connector's send_concurrency
#   BENCH_TMPDIR=/var/tmp      where the state goes (its disk sets the fsync cost)
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_NGINX=/usr/sbin/nginx
#   BENCH_KEEP=0               1: keep the temporary folder (logs, state)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
export BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}

echo "== building Release in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target gatewayd gateway-router gateway-connector \
	gatewayctl bench-fsync >/dev/null

# Each reply is one synced commit of the router's (message.send): the disk's
# commit cost is the first thing to know.
echo "== the disk under $BENCH_TMPDIR"
"$BUILD/bin/bench-fsync" -n 300 "$BENCH_TMPDIR" | tail -2

# Debian's python3 has python3-zmq and python3-msgpack.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GW_BIN_DIR="$BUILD/bin" PYTHONDONTWRITEBYTECODE=1 exec "$PY" "$ROOT/bench/wa_replies_bench.py"
