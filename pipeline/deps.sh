#!/bin/sh
# deps.sh - install the Debian packages mlaudit needs to build, test and run.
# Does nothing when everything is present; as root it installs what is missing
# (apt-get), otherwise it prints the command to run. Called by `make test`,
# `make check` and `make demo`, so a fresh Debian 12 needs nothing by hand.
set -eu

packages="gcc make pkg-config zlib1g-dev libjansson-dev libxlsxwriter-dev libcmark-gfm-dev
libcmark-gfm-extensions-dev gnuplot-nox check libsubunit-dev unzip chromium libxml2-utils"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "mlaudit needs these Debian packages:$missing" >&2
	echo "install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
