#!/usr/bin/env bash
# bench/run_sms.sh - the SMS webhook benchmark in one command
# (docs/performance.md, "SMS webhooks").
#
# Builds a Release tree (if needed), starts a gateway with one SMS connector
# on free loopback ports and its state in a temporary folder, then runs
# bench-sms: BENCH_N signed Twilio webhooks with BENCH_CLIENTS connections,
# sent by wrk (Debian package wrk) as fast as they are answered, each
# watched arriving on the bus; and stops everything it started.
#
# Parameters (environment):
#   BENCH_N=50000 BENCH_CLIENTS=64 BENCH_WARMUP=2000
#   BENCH_TEXT_BYTES=64 BENCH_SENDERS=1000 BENCH_BATCH_MAX=1024
#   BENCH_ROUTER_NICE=5     router.nice
#   BENCH_REPEAT=1          run it this many times (same gateway)
#   BENCH_TMPDIR=/var/tmp   where the state folder goes (its disk sets the fsync cost)
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_KEEP=0            1: keep the temporary folder (logs, state)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
N=${BENCH_N:-50000}
CLIENTS=${BENCH_CLIENTS:-64}
WARMUP=${BENCH_WARMUP:-2000}
TEXT_BYTES=${BENCH_TEXT_BYTES:-64}
SENDERS=${BENCH_SENDERS:-1000}
BATCH_MAX=${BENCH_BATCH_MAX:-1024}
ROUTER_NICE=${BENCH_ROUTER_NICE:-5}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPEAT=${BENCH_REPEAT:-1}

log() { printf '== %s\n' "$*"; }
die() { printf 'run_sms.sh: %s\n' "$*" >&2; exit 1; }

build() {
	log "building Release in $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target gatewayd gateway-router \
		gateway-connector bench-sms >/dev/null
}

# free_ports, wait_for
. "$(dirname "$0")/lib.sh"

gateway_ready() {
	[ -s "$STATE/run/router.json" ] && [ -s "$STATE/run/sms.json" ] &&
		curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$P_SMS/healthz"
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
  batch_max: $BATCH_MAX
  nice: $ROUTER_NICE
connectors:
  - name: sms
    type: sms
    listen: 127.0.0.1:$P_SMS
    public_url: http://127.0.0.1:$P_SMS
    account_sid: \${GATEWAY_TWILIO_ACCOUNT_SID}
    auth_token: \${GATEWAY_TWILIO_AUTH_TOKEN}
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
	if [ -n "${GATEWAYD_PID:-}" ]; then
		kill -TERM "$GATEWAYD_PID" 2>/dev/null || true
		wait "$GATEWAYD_PID" 2>/dev/null || true
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	fi
	exit "$rc"
}

main() {
	build
	WORK=$(mktemp -d "$TMPBASE/omnigate-bench-sms.XXXXXX")
	STATE=$WORK/state
	trap stop_all EXIT
	trap 'exit 130' INT TERM
	read -r P_SMS P_INGEST P_PUB P_CMD <<<"$(free_ports 4)"
	GATEWAY_TWILIO_ACCOUNT_SID="AC$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	GATEWAY_TWILIO_AUTH_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	export GATEWAY_TWILIO_ACCOUNT_SID GATEWAY_TWILIO_AUTH_TOKEN
	log "machine: $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "  state dir: $STATE on $(df -T "$WORK" | awk 'NR==2 {print $2 " (" $1 ", mounted on " $7 ")"}')"
	start_gateway
	local rc=0 i
	for ((i = 1; i <= REPEAT; i++)); do
		log "maximum throughput: $N webhooks, $CLIENTS connections (run $i of $REPEAT)"
		"$BUILD/bin/bench-sms" --url "http://127.0.0.1:$P_SMS/webhooks/sms" \
			--bus "tcp://127.0.0.1:$P_PUB" --warmup "$WARMUP" --text-bytes "$TEXT_BYTES" \
			--senders "$SENDERS" --state-dir "$STATE" -n "$N" -c "$CLIENTS" || rc=1
	done
	log "status after all runs (warmups included)"
	python3 -c 'import json,sys
for f in sys.argv[1:]:
    d = json.load(open(f)); print("  ", d.get("name"), d.get("counters"))' \
		"$STATE/run/router.json" "$STATE/run/sms.json" || true
	return $rc
}

main "$@"
