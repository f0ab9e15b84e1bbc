#!/usr/bin/env bash
# bench/run.sh - the spine benchmark in one command (docs/performance.md).
#
# Builds a Release tree (if needed), starts a gateway with a temporary config
# on free loopback ports and its state in a temporary folder, starts nginx on
# another loopback port as the HTTP ceiling (`return 200;`), then runs
#   (a) maximum throughput: BENCH_N messages with BENCH_CLIENTS clients,
#       and the same load against nginx first;
#   (b) a steady BENCH_RATE messages/s for BENCH_STEADY_SECONDS, for the
#       accept-to-bus latency;
# prints every figure and stops everything it started.
#
# Parameters (environment):
#   BENCH_N=50000 BENCH_CLIENTS=64 BENCH_WARMUP=2000
#   BENCH_RATE=5000 BENCH_STEADY_SECONDS=10 BENCH_STEADY_CLIENTS=64
#   BENCH_TEXT_BYTES=64 BENCH_SENDERS=1000 BENCH_BATCH_MAX=1024
#   BENCH_ROUTER_NICE=5     router.nice (0: the router as urgent as the connectors)
#   BENCH_REPEAT=1          run (a) and (b) this many times each (same gateway)
#   BENCH_ROUTING=default   routing section of the gateway's config: "default"
#                           (none: the built-in defaults) or "full" (queues
#                           with keyword and language rules, agents with
#                           capacity and working hours, SLA rows: every
#                           routing rule at work; docs/routing.md)
#   BENCH_TMPDIR=/var/tmp   where the state folder goes (its disk sets the fsync cost)
#   BENCH_BUILD_DIR=<repo>/build-release
#   BENCH_JSON=0            1: bench-api prints JSON
#   BENCH_PERF=1            count fsync-family syscalls per process in run (a)
#                           with `perf stat` when perf can (0: don't)
#   BENCH_KEEP=0            1: keep the temporary folder (logs, state)
#   BENCH_NGINX=/usr/sbin/nginx
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-release}
N=${BENCH_N:-50000}
CLIENTS=${BENCH_CLIENTS:-64}
WARMUP=${BENCH_WARMUP:-2000}
RATE=${BENCH_RATE:-5000}
STEADY_S=${BENCH_STEADY_SECONDS:-10}
STEADY_CLIENTS=${BENCH_STEADY_CLIENTS:-64}
TEXT_BYTES=${BENCH_TEXT_BYTES:-64}
SENDERS=${BENCH_SENDERS:-1000}
BATCH_MAX=${BENCH_BATCH_MAX:-1024}
ROUTER_NICE=${BENCH_ROUTER_NICE:-5}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
NGINX=${BENCH_NGINX:-/usr/sbin/nginx}
JSON=${BENCH_JSON:-0}
PERF=${BENCH_PERF:-1}
KEEP=${BENCH_KEEP:-0}
REPEAT=${BENCH_REPEAT:-1}
ROUTING=${BENCH_ROUTING:-default}

log() { printf '== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- build -----------------------------------------------------------------
build() {
	log "building Release in $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target gatewayd gateway-router \
		gateway-connector bench-api bench-fsync >/dev/null
}

# free_ports, wait_for
. "$(dirname "$0")/lib.sh"

# ---- nginx, the ceiling ----------------------------------------------------
start_nginx() {
	local d=$WORK/nginx
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	keepalive_requests 10000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$P_NGINX;
		location / { return 200; }
	}
}
EOF
	"$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" &
	NGINX_PID=$!
	wait_for "nginx on port $P_NGINX" 10 curl -sf --noproxy '*' --max-time 1 -o /dev/null \
		"http://127.0.0.1:$P_NGINX/"
}

# ---- the gateway -----------------------------------------------------------
gateway_ready() {
	# Any HTTP answer will do (401 here: no token); 000 means none yet.
	[ -s "$STATE/run/router.json" ] && [ -s "$STATE/run/api.json" ] &&
		[ "$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' \
			-X POST -d '{}' "http://127.0.0.1:$P_API/v1/messages")" != 000 ]
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
$(routing_section)
connectors:
  - name: api
    type: api
    listen: 127.0.0.1:$P_API
    token: \${GATEWAY_API_TOKEN}
    # every client from one address: no limits per address
    requests_per_minute: 0
    max_connections_per_ip: 0
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
	if [ -n "${NGINX_PID:-}" ]; then
		kill -QUIT "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then
			echo "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# ---- the machine -----------------------------------------------------------
describe() {
	log "machine"
	echo "  cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "  kernel: $(uname -r); load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "  state dir: $STATE on $(df -T "$WORK" | awk 'NR==2 {print $2 " (" $1 ", mounted on " $7 ")"}')"
	"$BUILD/bin/bench-fsync" -n 1000 "$WORK" | sed 's/^/  /'
}

# perf_wrap CMD...: runs CMD while `perf stat` counts, per gateway process,
# the system calls that make data durable (LMDB: one fdatasync per commit,
# then the meta page through a pwrite on an O_DSYNC descriptor).
PERF_EVENTS='syscalls:sys_enter_fdatasync,syscalls:sys_enter_msync,syscalls:sys_enter_pwrite64,context-switches'
perf_wrap() {
	if [ "$PERF" != 1 ] || ! command -v perf >/dev/null ||
		! perf stat -e syscalls:sys_enter_fdatasync true >/dev/null 2>&1; then
		"$@"
		return
	fi
	local rc=0 name pid perfs=() names=()
	while read -r name pid; do
		perf stat -x, -e "$PERF_EVENTS" -p "$pid" -o "$WORK/perf-$name.csv" &
		perfs+=($!)
		names+=("$name")
	done < <(python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["children"]:
    if c.get("pid"): print(c["name"], c["pid"])' "$STATE/run/gatewayd.json")
	"$@" || rc=$?
	kill -INT "${perfs[@]}" 2>/dev/null || true
	wait "${perfs[@]}" 2>/dev/null || true
	for name in "${names[@]}"; do
		awk -F, -v n="$name" '$3 ~ /syscalls|context/ {
			sub(/syscalls:sys_enter_/, "", $3); printf "%s %s=%s", (c++ ? "," : "  perf " n ":"), $3, $1 }
			END { print "" }' "$WORK/perf-$name.csv"
	done
	return $rc
}

main() {
	[ -x "$NGINX" ] || die "$NGINX not found (Debian package nginx-light)"
	build
	WORK=$(mktemp -d "$TMPBASE/omnigate-bench.XXXXXX")
	STATE=$WORK/state
	trap stop_all EXIT
	trap 'exit 130' INT TERM
	read -r P_API P_INGEST P_PUB P_CMD P_NGINX <<<"$(free_ports 5)"
	export GATEWAY_API_TOKEN="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	describe
	start_nginx
	start_gateway
	local common=(--url "http://127.0.0.1:$P_API/v1/messages" --bus "tcp://127.0.0.1:$P_PUB"
		--command "tcp://127.0.0.1:$P_CMD" --state-dir "$STATE" --warmup "$WARMUP"
		--text-bytes "$TEXT_BYTES" --senders "$SENDERS")
	[ "$JSON" = 1 ] && common+=(--json)
	local rc=0 i
	for ((i = 1; i <= REPEAT; i++)); do
		log "(a) maximum throughput: $N messages, $CLIENTS clients (run $i of $REPEAT)"
		perf_wrap "$BUILD/bin/bench-api" "${common[@]}" -n "$N" -c "$CLIENTS" \
			--ceiling-url "http://127.0.0.1:$P_NGINX/v1/messages" || rc=1
	done
	for ((i = 1; i <= REPEAT; i++)); do
		log "(b) steady $RATE msgs/s for ${STEADY_S}s, $STEADY_CLIENTS clients (run $i of $REPEAT)"
		perf_wrap "$BUILD/bin/bench-api" "${common[@]}" -n "$((RATE * STEADY_S))" \
			-c "$STEADY_CLIENTS" --rate "$RATE" || rc=1
	done
	log "router status after all runs"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  ", d.get("counters"))' \
		"$STATE/run/router.json" || true
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("   api:", d.get("counters"))' \
		"$STATE/run/api.json" || true
	log "gateway warnings and errors: $(grep -cE ' (warn|error) ' "$WORK/gatewayd.log" || true)"
	grep -E ' (warn|error) ' "$WORK/gatewayd.log" | head -5 | cut -c1-200 | sed 's/^/  /' || true
	return $rc
}

main "$@"
