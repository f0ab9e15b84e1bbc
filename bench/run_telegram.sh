#!/usr/bin/env bash
# bench/run_telegram.sh - the Telegram webhook benchmark in one command
# (docs/performance.md, "Telegram webhook").
#
# Builds a Release tree (if needed), starts a gateway with one Telegram
# connector in webhook mode on free loopback ports (state in a temporary
# folder), sends BENCH_N updates with BENCH_CLIENTS keep-alive clients with
# wrk (bench/telegram_wrk.lua: one text message per Update, the secret
# token header on each), waits until the router has stored them all, prints
# the figures and stops everything it started.
#
# Figures:
#   accepted updates/s   200 answers / (first request -> last answer)
#   HTTP accept p50/p99  wrk's latencies (request written -> answer read)
#   stored updates/s     updates / (first request -> the router's `stored`
#                        counter covering all of them), end to end
#   non-200              answers other than 200, and wrk's socket errors
#   CPU per update       utime+stime of the connector and the router over
#                        wrk's run / updates answered 200
#   machine CPU          all CPUs busy (/proc/stat) over wrk's run, and the
#                        part the gateway did not use (wrk's own among it)
#
# Parameters (environment):
#   BENCH_N=50000 BENCH_CLIENTS=64 BENCH_SENDERS=1000 BENCH_TEXT_BYTES=64
#   BENCH_REPEAT=1          runs on the same gateway
#   BENCH_TMPDIR=/var/tmp   where the state folder goes (its disk sets the fsync cost)
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_KEEP=0            1: keep the temporary folder (logs, state)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
N=${BENCH_N:-50000}
CLIENTS=${BENCH_CLIENTS:-64}
SENDERS=${BENCH_SENDERS:-1000}
TEXT_BYTES=${BENCH_TEXT_BYTES:-64}
REPEAT=${BENCH_REPEAT:-1}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}

log() { printf '== %s\n' "$*"; }
die() { printf 'run_telegram.sh: %s\n' "$*" >&2; exit 1; }

# free_ports, wait_for
. "$(dirname "$0")/lib.sh"

build() {
	log "building in $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target gatewayd gateway-router \
		gateway-connector >/dev/null
}

gateway_ready() {
	[ -s "$STATE/run/router.json" ] && [ -s "$STATE/run/telegram.json" ] &&
		curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$P_TG/healthz"
}

start_gateway() {
	cat >"$WORK/gateway.yaml" <<EOF
state_dir: $STATE
log_level: warn
router:
  ingest: tcp://127.0.0.1:$P_INGEST
  publish: tcp://127.0.0.1:$P_PUB
  command: tcp://127.0.0.1:$P_CMD
  plain_loopback: true
connectors:
  - name: telegram
    type: telegram
    mode: webhook
    token: \${GATEWAY_TELEGRAM_TOKEN}
    secret_token: \${GATEWAY_TELEGRAM_SECRET}
    api_url: http://127.0.0.1:$P_API
    listen: 127.0.0.1:$P_TG
    path: /webhooks/telegram
    max_connections: 1024
    # every client from one address: no limits per address
    requests_per_minute: 0
    max_connections_per_ip: 0
    # $SENDERS senders repeating one text at full speed: no limits per
    # sender, no loop detection (it would hold them in the quarantine)
    sender_rate_per_minute: 0
    loop_repeats: 0
EOF
	"$BUILD/bin/gatewayd" --config "$WORK/gateway.yaml" >"$WORK/gatewayd.log" 2>&1 &
	GATEWAYD_PID=$!
	wait_for "the gateway (log: $WORK/gatewayd.log)" 20 gateway_ready
}

stop_all() {
	local rc=$?
	if [ -n "${WRK_PID:-}" ]; then
		kill -INT "$WRK_PID" 2>/dev/null || true
		wait "$WRK_PID" 2>/dev/null || true
	fi
	if [ -n "${GATEWAYD_PID:-}" ]; then
		kill -TERM "$GATEWAYD_PID" 2>/dev/null || true
		wait "$GATEWAYD_PID" 2>/dev/null || true
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	fi
	exit "$rc"
}

# Debian's python3, with python3-zmq and python3-msgpack (scripts/setup-tests.sh).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# stored - the router's `stored` counter, from its status command.
stored() {
	"$PY" - "tcp://127.0.0.1:$P_CMD" <<'PY'
import sys, msgpack, zmq
s = zmq.Context().socket(zmq.REQ)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, 5000)
s.connect(sys.argv[1])
s.send_multipart([b"status", msgpack.packb({})])
print(msgpack.unpackb(s.recv_multipart()[1])["counters"]["stored"])
PY
}

# cpu_snap - "<machine busy> <machine total> <connector> <router>" in clock
# ticks (/proc/stat and each process's utime + stime).
cpu_snap() {
	"$PY" - "$STATE/run" <<'PY'
import json, sys
def ticks(name):
    pid = json.load(open(f"{sys.argv[1]}/{name}.json"))["pid"]
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
cpu = [int(x) for x in open("/proc/stat").readline().split()[1:]]
idle = cpu[3] + cpu[4]
print(sum(cpu) - idle, sum(cpu), ticks("telegram"), ticks("router"))
PY
}

# one_run BASE: N updates from update_id BASE; prints the figures.
one_run() {
	local base=$1 before out line snap
	before=$(stored)
	snap=$(cpu_snap)
	BENCH_SECRET=$GATEWAY_TELEGRAM_SECRET BENCH_BASE=$base BENCH_N=$N \
		BENCH_SENDERS=$SENDERS BENCH_TEXT_BYTES=$TEXT_BYTES \
		wrk -t1 -c"$CLIENTS" -d600s -s "$ROOT/bench/telegram_wrk.lua" \
		"http://127.0.0.1:$P_TG/webhooks/telegram" >"$WORK/wrk.out" 2>&1 &
	WRK_PID=$!
	wait_for "wrk's $N answers" 300 grep -q '^telegram-wrk-stopped' "$WORK/wrk.out"
	kill -INT "$WRK_PID"
	wait "$WRK_PID" || true
	WRK_PID=
	out=$(cat "$WORK/wrk.out")
	line=$(printf '%s\n' "$out" | grep '^telegram-wrk ') || die "no summary from wrk: $out"
	"$PY" - "$line" "tcp://127.0.0.1:$P_CMD" "$before" "$N" "$snap" "$(cpu_snap)" <<'PY'
import os, sys, time, msgpack, zmq
kv = dict(x.split("=") for x in sys.argv[1].split()[1:])
ep, before, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s0, s1 = ([int(x) for x in a.split()] for a in sys.argv[5:7])
ok = int(kv["ok"])  # n and those in flight when wrk stopped
s = zmq.Context().socket(zmq.REQ)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, 5000)
s.connect(ep)
deadline = time.monotonic() + 60
while True:
    s.send_multipart([b"status", msgpack.packb({})])
    st = msgpack.unpackb(s.recv_multipart()[1])["counters"]["stored"]
    t_stored = time.monotonic() * 1e6
    if st >= before + ok or time.monotonic() > deadline:
        break
    time.sleep(0.005)
t0, t1 = int(kv["t0_us"]), int(kv["t1_us"])
print(f"  accepted updates/s  {ok / ((t1 - t0) / 1e6):,.0f}  ({ok} answered 200 in "
      f"{(t1 - t0) / 1e6:.2f} s; non-200 {int(kv['answered']) - ok}, socket errors "
      f"{kv['errors']})")
print(f"  HTTP accept         p50 {int(kv['p50_us']) / 1000:.2f} ms, p99 "
      f"{int(kv['p99_us']) / 1000:.2f} ms, max {int(kv['max_us']) / 1000:.2f} ms")
print(f"  stored updates/s    {(st - before) / ((t_stored - t0) / 1e6):,.0f}  "
      f"({st - before} of {ok} stored by the router)")
hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count()
us = lambda i: (s1[i] - s0[i]) / hz * 1e6 / ok
busy = (s1[0] - s0[0]) / max(1, s1[1] - s0[1]) * 100 * ncpu
ours = (s1[2] - s0[2] + s1[3] - s0[3]) / max(1, s1[1] - s0[1]) * 100 * ncpu
print(f"  CPU per update      connector {us(2):.1f} us, router {us(3):.1f} us (to the end of "
      f"wrk's run)")
print(f"  machine CPU         {busy:.0f}% busy of {100 * ncpu}%; other load (not the "
      f"gateway's) {max(0.0, busy - ours):.0f}%")
sys.exit(0 if ok >= n and st - before >= ok else 1)
PY
}

main() {
	command -v wrk >/dev/null || die "wrk not found (Debian package wrk; scripts/setup-tests.sh)"
	build
	WORK=$(mktemp -d "$TMPBASE/omnigate-bench-telegram.XXXXXX")
	STATE=$WORK/state
	trap stop_all EXIT
	trap 'exit 130' INT TERM
	read -r P_TG P_INGEST P_PUB P_CMD P_API <<<"$(free_ports 5)"
	GATEWAY_TELEGRAM_TOKEN="4242:bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	GATEWAY_TELEGRAM_SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	export GATEWAY_TELEGRAM_TOKEN GATEWAY_TELEGRAM_SECRET
	log "machine: $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "  state dir: $STATE on $(df -T "$WORK" | awk 'NR==2 {print $2 " (" $1 ", mounted on " $7 ")"}')"
	start_gateway
	local rc=0 i
	for ((i = 1; i <= REPEAT; i++)); do
		log "webhook: $N updates, $CLIENTS clients (run $i of $REPEAT)"
		one_run $((1000000 * i)) || rc=1
	done
	log "connector counters"
	python3 -c 'import json,sys; print("  ", json.load(open(sys.argv[1]))["counters"])' \
		"$STATE/run/telegram.json" || true
	return $rc
}

main "$@"
