# setup-lib.sh - what scripts/setup.sh and scripts/setup-tests.sh share.
# Sourced, not run. Debian 12 packages only, installed with apt (through
# sudo when not root); a package already installed is not touched.

if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; else sudo_cmd=""; fi

# apt_install PACKAGE... - installs the packages that are missing. The
# package lists are refreshed once per set-up (GW_SETUP_APT_UPDATED is
# exported for a set-up script that runs another).
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	echo "setup: installing ${missing[*]}"
	if [ "${GW_SETUP_APT_UPDATED:-0}" != 1 ]; then
		$sudo_cmd apt-get update -qq
		export GW_SETUP_APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
		"${missing[@]}"
}
