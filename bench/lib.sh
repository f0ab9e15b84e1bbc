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
