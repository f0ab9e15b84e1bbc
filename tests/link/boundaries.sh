#!/bin/sh
# Each process links only what it uses (docs/architecture.md, "Link
# boundaries"): gatewayd, gateway-router and gatewayctl read every
# connector's config through the light registry and must not load a
# channel's libraries; gateway-connector runs every channel and loads them
# all. libnats is gateway-nats' alone (the optional JetStream publisher);
# gateway-integration loads libwebsockets and libcurl only; gateway-metrics
# serves HTTP with libwebsockets and loads none of the others. Checked on
# the built binaries with ldd.
#   boundaries.sh BIN_DIR
set -u
bin="$1"
channel_libs="libwebsockets libcurl libgmime libxml2"
fail=0

libs_of() {
	ldd "$bin/$1" 2>/dev/null | awk '{print $1}'
}

for exe in gatewayd gateway-router gatewayctl; do
	if [ ! -x "$bin/$exe" ]; then echo "FAIL: $bin/$exe missing"; fail=1; continue; fi
	for lib in $channel_libs; do
		if libs_of "$exe" | grep -q "^$lib[.-]"; then
			echo "FAIL: $exe links $lib"
			fail=1
		fi
	done
done
for lib in $channel_libs; do
	if ! libs_of gateway-connector | grep -q "^$lib[.-]"; then
		echo "FAIL: gateway-connector does not link $lib"
		fail=1
	fi
done
# gateway-integration serves HTTP (libwebsockets) and posts webhooks
# (libcurl), and parses no mail.
for lib in libgmime libxml2; do
	if libs_of gateway-integration | grep -q "^$lib[.-]"; then
		echo "FAIL: gateway-integration links $lib"
		fail=1
	fi
done
for exe in gatewayd gateway-router gatewayctl gateway-connector; do
	if [ -x "$bin/$exe" ] && libs_of "$exe" | grep -q "^libnats[.]"; then
		echo "FAIL: $exe links libnats"
		fail=1
	fi
done
if [ ! -x "$bin/gateway-nats" ]; then
	echo "FAIL: $bin/gateway-nats missing"
	fail=1
elif ! libs_of gateway-nats | grep -q "^libnats[.]"; then
	echo "FAIL: gateway-nats does not link libnats"
	fail=1
else
	for lib in $channel_libs; do
		if libs_of gateway-nats | grep -q "^$lib[.-]"; then
			echo "FAIL: gateway-nats links $lib"
			fail=1
		fi
	done
fi
if [ ! -x "$bin/gateway-metrics" ]; then echo "FAIL: $bin/gateway-metrics missing"; fail=1; fi
if ! libs_of gateway-metrics | grep -q "^libwebsockets[.-]"; then
	echo "FAIL: gateway-metrics does not link libwebsockets"
	fail=1
fi
for lib in libcurl libgmime libxml2; do
	if libs_of gateway-metrics | grep -q "^$lib[.-]"; then
		echo "FAIL: gateway-metrics links $lib"
		fail=1
	fi
done
[ "$fail" -eq 0 ] && echo "link boundaries hold: $channel_libs only in gateway-connector," \
	"libnats only in gateway-nats, libwebsockets alone in gateway-metrics"
exit "$fail"
