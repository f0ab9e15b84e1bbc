#!/usr/bin/env bash
# bench/email_bench.sh - the email ingestion benchmark in one command
# (docs/performance.md, "Email ingestion").
#
# Builds a Release tree (if needed), then runs bench/email_bench.py: a
# throw-away Dovecot on loopback whose mailbox is filled with BENCH_EMAIL_N
# generated messages (varied sizes, HTML, attachments), and a gateway with
# one email connector reading it. Prints messages/s (connector and end to
# end) and the connector's peak RSS. Needs Debian's dovecot-imapd
# (scripts/setup-tests.sh) and, for Dovecot, root or a user that may run it.
#
# Parameters (environment):
#   BENCH_EMAIL_N=10000      messages in the mailbox
#   BENCH_EMAIL_BATCH=100    the connector's fetch_batch
#   BENCH_EMAIL_SEED=1       the generator's seed
#   BENCH_TMPDIR=/var/tmp    where the mailbox and the state go
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_KEEP=0             1: keep the temporary folder (logs, state)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
export BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}

echo "== building Release in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target gatewayd gateway-router gateway-connector \
	gatewayctl >/dev/null

# Debian's python3 has python3-zmq and python3-msgpack.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GW_BIN_DIR="$BUILD/bin" PYTHONDONTWRITEBYTECODE=1 exec "$PY" "$ROOT/bench/email_bench.py"
