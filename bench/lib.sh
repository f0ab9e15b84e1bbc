# lib.sh - shell helpers shared by the benchmark scripts (sourced). The
# sourcing script defines die().

# free_ports N: prints N free loopback TCP ports.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_for DESC SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_for() {
	local desc=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "timed out after ${secs}s waiting for $desc"
}

# routing_section - the `routing:` part of a benchmark gateway's config, by
# $ROUTING: "default" prints nothing (the built-in defaults: language
# detection, one queue without agents); "full" sets every rule to work:
# queues matched by keyword and language, agents with capacity and hours,
# SLA rows, a per-channel policy.
routing_section() {
	[ "${ROUTING:-default}" = full ] || return 0
	cat <<'YAML'
routing:
  default_region: US
  languages: [en, fr, de, es, pt, it, nl]
  duplicate_window_s: 600
  channels:
    - channel: email
      reopen_window_h: 72
  business_hours:
    - name: office
      timezone: Europe/Paris
      hours: "mon-sun 00:00-24:00"
  queues:
    - name: billing
      keywords: [invoice, refund, payment]
      strategy: least_open
      business_hours: office
      agents: [a1, a2, a3, a4]
    - name: french
      languages: [fr]
      strategy: sticky
      agents: [a5, a6]
    - name: general
      strategy: round_robin
      business_hours: office
      agents: [a1, a2, a3, a4, a5, a6, a7, a8]
  agents:
    - {id: a1, capacity: 500, languages: [en]}
    - {id: a2, capacity: 500, languages: [en, fr]}
    - {id: a3, capacity: 500, timezone: America/New_York, hours: "mon-sun 00:00-24:00"}
    - {id: a4, capacity: 500}
    - {id: a5, capacity: 500, languages: [fr]}
    - {id: a6, capacity: 500, languages: [fr, en]}
    - {id: a7, capacity: 500}
    - {id: a8, capacity: 500}
  sla:
    - channel: livechat
      first_response_min: 5
      resolution_min: 480
    - first_response_min: 60
      resolution_min: 1440
YAML
}
