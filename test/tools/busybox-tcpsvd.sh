#!/bin/sh
# test/tools/busybox-tcpsvd.sh DIR
#
# The tests run tlswrapper under `busybox tcpsvd` too, but Debian builds its
# busybox without the tcpsvd applet. This makes one that has it, from the
# busybox source package of the Debian release this machine runs, and puts it
# at DIR/busybox (with DIR/tcpsvd linking to it). test/lib/superserver.ts
# looks in /usr/local/lib/tlswrapper-test, or where TLSWRAPPER_TEST_BUSYBOX
# says. Needs root (apt-get), a C compiler, make and bzip2; 10-30 s; does
# nothing when DIR/busybox already runs tcpsvd.
set -eu

dest=${1:?usage: busybox-tcpsvd.sh DIR}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

runs_tcpsvd() {
	[ -x "$dest/busybox" ] && ! "$dest/busybox" tcpsvd 2>&1 | grep -q 'applet not found'
}
runs_tcpsvd && exit 0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# apt-get source needs a deb-src entry: make one, in a scratch apt state, from
# the machine's own Debian entry (its mirror and its key), so nothing of the
# machine's apt configuration changes.
deb_src_entry() {
	mirror=$(sed -n '/^Types: deb$/,/^$/s/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	key=$(sed -n 's/^\(Signed-By:.*\)/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	release=$(. /etc/os-release && echo "$VERSION_CODENAME")
	if [ -z "$mirror" ]; then
		echo "busybox-tcpsvd.sh: no Debian entry in /etc/apt/sources.list.d to take the mirror from" >&2
		exit 1
	fi
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' "$mirror" "$release" "$key"
}
deb_src_entry >"$scratch/deb-src.sources"
mkdir -p "$scratch/lists/partial"
apt_scratch() {
	apt-get -o Dir::Etc::SourceList="$scratch/deb-src.sources" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$scratch/lists" -o Debug::NoLocking=1 "$@"
}
command -v bzip2 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bzip2 >/dev/null
apt_scratch update -qq >/dev/null 2>&1
(cd "$scratch" && apt_scratch source --download-only busybox >/dev/null 2>&1)

# The smallest busybox that is one: no applets, then tcpsvd (with IPv6 and its usage text).
cd "$scratch"
tar -xjf busybox_*.orig.tar.bz2
cd busybox-*/
make allnoconfig >/dev/null 2>&1
for option in BUSYBOX TCPSVD FEATURE_IPV6 SHOW_USAGE; do
	sed -i "s/^# CONFIG_$option is not set\$/CONFIG_$option=y/" .config
done
yes '' | make oldconfig >/dev/null 2>&1 || true
make -j"$(nproc)" busybox >/dev/null 2>&1
install -m 0755 busybox "$dest/busybox"
ln -sf busybox "$dest/tcpsvd"
runs_tcpsvd
echo "busybox with tcpsvd in $dest"
