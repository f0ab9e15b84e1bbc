#!/usr/bin/env bash
# bench/email_reply_bench.sh - the email reply (SMTP) benchmark in one
# command (docs/performance.md, "Email replies").
#
# Builds a Release tree (if needed), then runs bench/email_reply_bench.py:
# a throw-away Dovecot (IMAP, LMTP) and Postfix on loopback, and a gateway
# whose email connector sends replies through that Postfix into the
# customer's mailbox. Prints (a) replies/s for a burst of commands and (b)
# the command-to-provider latency (command -> `sent` on the bus) p50/p99 at
# a steady rate. Needs Debian's postfix and dovecot-lmtpd (scripts/
# setup.sh) and root (Postfix's master starts as root).
#
# Parameters (environment):
#   BENCH_REPLY_N=1000           replies in (a)
#   BENCH_REPLY_CLIENTS=4        command clients in (a)
#   BENCH_REPLY_RATE=50          replies/s in (b)
#   BENCH_REPLY_SECONDS=10       length of (b)
#   BENCH_REPLY_CONCURRENCY=4    smtp.send_concurrency of the connector
#   BENCH_REPLY_RATE_LIMIT=0     smtp.send_rate_per_s (0: no limit; 20 as shipped)
#   BENCH_TMPDIR=/var/tmp        where the state, queue and mailboxes go
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_KEEP=0                 1: keep the temporary folder (logs, state)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
export BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}

echo "== building Release in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target gatewayd gateway-router gateway-connector \
	gatewayctl >/dev/null

# Debian's python3 has python3-zmq and python3-msgpack.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
GW_BIN_DIR="$BUILD/bin" PYTHONDONTWRITEBYTECODE=1 exec "$PY" "$ROOT/bench/email_reply_bench.py"
