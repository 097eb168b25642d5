#!/bin/sh
# The Debian 12 packages docket builds and runs with. As root, installs the
# missing ones; otherwise prints the one apt-get line that would.
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libglib2.0-dev libpoppler-glib-dev libxml2-dev libmagic-dev libarchive-dev
libgmime-3.0-dev libicu-dev libsqlite3-dev libseccomp-dev libopenblas-dev
libcld2-dev libexttextcat-dev libcairo2-dev libjson-glib-dev sqlite3 poppler-utils
libfontconfig-dev zlib1g-dev libssl-dev fonts-dejavu-core procps"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ echo "deps: apt-get install failed" >&2; exit 1; }
else
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
