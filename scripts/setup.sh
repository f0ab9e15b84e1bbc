#!/usr/bin/env bash
# Installs what the gateway needs to build and run, from Debian 12 packages
# only, and builds it: the README's first command. The test tools are
# scripts/setup-tests.sh's. Safe to run again: installed packages are left
# alone, and a build that is up to date compiles nothing.
#
#   BUILD_DIR    the build folder (default: build)
#   GW_SANITIZE  1: AddressSanitizer + UndefinedBehaviorSanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup-lib.sh

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # the libraries the programs link, with their headers
  libwebsockets-dev libzmq3-dev libmsgpack-dev liblmdb-dev libjansson-dev
  libyaml-dev libssl-dev libcurl4-openssl-dev libgmime-3.0-dev libxml2-dev
  libphonenumber-dev libexttextcat-dev libcsv-dev libsystemd-dev
  # gateway-nats, the optional JetStream publisher (docs/nats.md)
  libnats-dev
  # time zone database read by the working-hours calendars (core/calendar.c)
  tzdata
)
apt_install "${packages[@]}"

build_dir="${BUILD_DIR:-build}"
sanitize="OFF"
if [ "${GW_SANITIZE:-0}" = "1" ]; then sanitize="ON"; fi
# Ninja for a new build folder: a build with nothing to do takes a tenth of
# a second where Make's takes five (a folder configured before keeps its
# generator). Configuring again changes no file whose content is the same,
# so an up-to-date build stays up to date.
generator=()
if [ ! -f "$build_dir/CMakeCache.txt" ]; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DGW_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built into $build_dir (binaries in $build_dir/bin)"
