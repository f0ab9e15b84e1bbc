#!/usr/bin/env bash
# build-deb.sh [OUTDIR] - builds the Debian package omnigate_VERSION_ARCH.deb
# from this source tree with dpkg-buildpackage -us -uc -b, into OUTDIR
# (default: packaging/out). The tree is copied to a temporary folder with
# packaging/debian/ as its debian/ (the top level holds only the product's
# folders), so the working tree is left as it is.
# Needs: dpkg-dev, debhelper, ninja-build (scripts/setup-tests.sh installs
# them) and the Build-Depends of packaging/debian/control.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$src/packaging/out}" && cd "${1:-$src/packaging/out}" && pwd)"
work="$(mktemp -d /tmp/omnigate-deb.XXXXXX)"
trap 'rm -rf "$work"' EXIT

mkdir "$work/omnigate"
# The sources alone: no build folders, no VCS data, no earlier packages.
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./packaging/out \
    --exclude=node_modules -cf - . | tar -C "$work/omnigate" -xf -
cp -r "$src/packaging/debian" "$work/omnigate/debian"
# DEB_BUILD_OPTIONS from the environment are added ("noautodbgsym": no
# -dbgsym package beside it).
(cd "$work/omnigate" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
    dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
    tail -n 60 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
mv "$work"/*.deb "$out/"
ls "$out"/*.deb
