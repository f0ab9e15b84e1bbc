#!/usr/bin/env bash
# Installs what the tests need besides what scripts/setup.sh installs, then
# runs scripts/setup.sh (which builds, now with the unit tests) and installs
# the browser tests' driver: the README's test command. Debian 12 packages
# only, and the npm packages pinned by tests/browser/package-lock.json.
# Safe to run again: nothing that is there is installed again.
#
#   BUILD_DIR, GW_SANITIZE  as for scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup-lib.sh

packages=(
  # unit tests
  libcmocka-dev
  # integration tests: Debian's python3 with its ZeroMQ, msgpack and
  # websocket modules; mdb_dump to look into a store
  python3 python3-zmq python3-msgpack python3-websocket lmdb-utils
  # the metrics test: Prometheus' own parser of the text format
  python3-prometheus-client
  # the OpenAPI test: answers checked against docs/api/openapi.yaml's schemas
  python3-jsonschema python3-yaml
  # email tests: a throw-away IMAP server, and openssl for its certificate
  dovecot-core dovecot-imapd openssl
  # email reply tests: a throw-away SMTP server (Postfix, which replaces
  # another MTA package such as exim4) delivering into that Dovecot over
  # LMTP (tests/integration/smtp.py)
  dovecot-lmtpd postfix
  # the benchmark's test: the ceiling (an idle HTTP server on loopback) and
  # the Meta benchmark's load generator
  nginx-light wrk
  # fuzzing (scripts/fuzz-ci.sh): clang and its libFuzzer runtime
  clang libclang-rt-14-dev
  # browser tests of the live-chat widget (tests/browser), and the Node.js
  # examples (examples/node)
  chromium nodejs
  # the JetStream tests (tests/integration/test_nats.py) and the NATS example
  nats-server
  # the Debian package's test (packaging/build-deb.sh) and the systemd
  # unit's (systemd-analyze verify, man for its Documentation=)
  dpkg-dev debhelper ninja-build systemd man-db
)
# Postfix's own configuration is not used (the tests write theirs): "No
# configuration" leaves the system without a main.cf and its service off.
if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
  echo "postfix postfix/main_mailer_type select No configuration" |
    $sudo_cmd debconf-set-selections
fi
apt_install "${packages[@]}"
# Debian's npm only when none came with nodejs (other nodejs builds bundle it).
if ! command -v npm >/dev/null; then
  apt_install npm
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

# nats-server: the JetStream tests start their own servers (tests/
# integration/natsutil.py), never the system's service.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo_cmd systemctl disable --now nats-server.service >/dev/null 2>&1 || true
fi

./scripts/setup.sh

# The browser tests' driver (playwright-core), as package-lock.json pins it;
# not again while node_modules was installed from this very lock file.
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.gw-package-lock.sha256
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: browser test dependencies up to date in tests/browser/node_modules"
else
  npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
  echo "$want" >"$stamp"
  echo "setup: browser test dependencies in tests/browser/node_modules"
fi

# The Node.js example's packages (zeromq, whose npm tarball carries its
# prebuilt binary, and @msgpack/msgpack), as examples/node/package-lock.json
# pins them; not again while node_modules came from this very lock file.
lock=examples/node/package-lock.json
stamp=examples/node/node_modules/.gw-package-lock.sha256
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: example dependencies up to date in examples/node/node_modules"
else
  npm ci --prefix examples/node --no-audit --no-fund >/dev/null
  echo "$want" >"$stamp"
  echo "setup: example dependencies in examples/node/node_modules"
fi
