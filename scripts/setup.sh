#!/usr/bin/env bash
# Installs everything the gateway needs to build, run, test and benchmark,
# from Debian 12 packages only. Safe to run again: apt skips what is there.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # runtime libraries
  libwebsockets-dev libzmq3-dev libmsgpack-dev liblmdb-dev libjansson-dev
  libyaml-dev libssl-dev libcurl4-openssl-dev libgmime-3.0-dev libxml2-dev
  libphonenumber-dev libexttextcat-dev libcsv-dev
  # tests and tools
  libcmocka-dev lmdb-utils python3 python3-zmq python3-msgpack python3-websocket
  # time zone database read by the working-hours calendars (gateway/calendar.c)
  tzdata
  # email tests: a throw-away IMAP server, and openssl for its certificate
  dovecot-core dovecot-imapd openssl
  # tests (email replies): a throw-away SMTP server (Postfix, which replaces
  # another MTA package such as exim4) delivering into that Dovecot over
  # LMTP (tests/integration/smtp.py)
  dovecot-lmtpd postfix
  # benchmarks: the ceiling (an idle HTTP server on loopback) and the
  # Meta benchmark's load generator
  nginx-light wrk
  # browser tests of the live-chat widget (tests/browser)
  chromium nodejs
)

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Postfix's own configuration is not used (the tests write theirs): "No
  # configuration" leaves the system without a main.cf and its service off.
  echo "postfix postfix/main_mailer_type select No configuration" |
    $sudo_cmd debconf-set-selections
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The email tests start their own Dovecot (tests/integration/dovecot.py);
# the package's system service is not used. Where installing started it,
# stop it and keep it from starting at boot (systemd may not exist here).
if [ -e /run/dovecot/master.pid ] && [ -x /usr/sbin/dovecot ]; then
  $sudo_cmd /usr/sbin/dovecot stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo_cmd systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
# Likewise Postfix: the email reply tests start their own (tests/
# integration/smtp.py), never the system's.
if [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; then
  $sudo_cmd /usr/sbin/postfix stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo_cmd systemctl disable --now postfix.service >/dev/null 2>&1 || true
fi

# Build. BUILD_DIR and GW_SANITIZE=1 (AddressSanitizer + UBSan) select the
# variant; the default is a RelWithDebInfo build in ./build.
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
sanitize="OFF"
if [ "${GW_SANITIZE:-0}" = "1" ]; then sanitize="ON"; fi
cmake -S . -B "$build_dir" -DGW_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built into $build_dir (binaries in $build_dir/bin)"

# The browser tests' driver (playwright-core, pinned by package-lock.json).
# Debian's npm only when none came with nodejs (other nodejs builds bundle it).
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends npm
fi
npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
echo "setup: browser test dependencies in tests/browser/node_modules"
