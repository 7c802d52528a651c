#!/bin/sh
# setup.sh -- on Debian 12: install what is missing, build, then run the sample
# job (demo) or every test (check).
#
# usage: ./setup.sh demo | ./setup.sh check
set -eu
cd "$(dirname "$0")"
what=${1:-}

build_deps="build-essential autoconf automake pkg-config libpcap-dev libcsv-dev
	libcurl4-openssl-dev zlib1g-dev uthash-dev"
test_deps="bats bats-assert bats-support tshark mandoc iproute2 curl
	iputils-ping python3 gzip radosgw ceph-mon ceph-osd awscli nfdump
	bsdutils"

install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		    missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "setup.sh: installing$missing" >&2
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {	# build DIR [configure options]
	dir=$1
	shift
	[ -x configure ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || ../configure -q "$@"; } && make -s -j"$(nproc)")
}

case $what in
demo)
	install $build_deps
	build build
	echo "== ni-capture -S -r examples/sample.pcap" >&2
	build/tools/ni-capture -S -r examples/sample.pcap
	echo "== examples/refused.sh: sources refused most often" >&2
	PATH=$PWD/build/tools:$PATH examples/refused.sh
	;;
check)
	install $build_deps $test_deps
	# DuckDB's engine, from npm, for the test that queries a bucket in place
	command -v npm >/dev/null || install nodejs npm
	duck=${NI_DUCKDB:-$HOME/.cache/netinsights/duckdb}
	[ -d "$duck/node_modules/@duckdb/node-api" ] ||
	    npm install --prefix "$duck" --no-audit --no-fund --silent \
	    @duckdb/node-api@1.5.6-r.1 >/dev/null
	# distcheck: a tarball that builds and passes in a separate tree
	build build
	dist=0
	(cd build && make -s distcheck >distcheck.log 2>&1) || {
		dist=1
		tail -30 build/distcheck.log >&2
		echo "setup.sh: make distcheck failed (build/distcheck.log)" >&2
	}
	# every test, built with AddressSanitizer and UBSan
	build build-check --enable-sanitizers
	(cd build-check && make -s check >/dev/null 2>&1) || true
	grep -h '^\(FAIL\|ERROR\|SKIP\)' build-check/tests/*.log >&2 || true
	tests/summary.sh build-check "$((1 - dist))" "$dist"
	;;
*)
	echo "usage: ./setup.sh demo | ./setup.sh check" >&2
	exit 1
	;;
esac
