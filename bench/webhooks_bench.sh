#!/usr/bin/env bash
# bench/webhooks_bench.sh - events/s delivered by the webhooks to one and to
# ten receivers, in one command (docs/performance.md, "Webhooks").
#
# Builds a Release tree (if needed), then runs bench/webhooks_bench.py:
# BENCH_N messages routed first, then the subscriptions resumed at once and
# timed until every cursor is at the head. Receivers: nginx on loopback.
#
# Parameters (environment):
#   BENCH_N=2000 BENCH_RECEIVERS="1 10"
#   BENCH_TMPDIR=/var/tmp      where the state goes (its disk sets the fsync cost)
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_NGINX=/usr/sbin/nginx
#   BENCH_KEEP=0               1: keep the temporary folder
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
export BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}

echo "== building Release in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target gatewayd gateway-router gateway-connector \
	gateway-integration gatewayctl bench-fsync >/dev/null

# Each delivery is one synced commit of its cursor.
echo "== the disk under $BENCH_TMPDIR"
"$BUILD/bin/bench-fsync" -n 300 "$BENCH_TMPDIR" | tail -2

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GW_BIN_DIR="$BUILD/bin" PYTHONDONTWRITEBYTECODE=1 exec "$PY" "$ROOT/bench/webhooks_bench.py"
