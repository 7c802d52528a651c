#!/usr/bin/env bats
# Manual pages: lint clean, one for every tool, and every EXAMPLES line runs.
bats_require_minimum_version 1.5.0

setup_file() {
	load test_helper
	s3_start
}

teardown_file() {
	load test_helper
	s3_stop
}

setup() {
	load test_helper
}

teardown() {
	netns_cleanup
}

@test "every page is lint-clean (mandoc -Tlint)" {
	need mandoc
	run mandoc -Tlint -Wwarning "$NI_SRCDIR"/man/*.[1-9]
	assert_success
	assert_output ""
}

@test "every tool has a page, and its usage matches the SYNOPSIS options" {
	local src name
	for src in "$NI_SRCDIR"/tools/ni-*.c; do
		name=$(basename "$src" .c)
		[ -f "$NI_SRCDIR/man/$name.1" ] || fail "$name has no man/$name.1"
		# every option letter of the usage message is in the SYNOPSIS
		run "$name" --help
		assert_success
		for opt in $(grep -o '\[-[A-Za-z]*\]\|-[a-zA-Z] ' <<< "$output" | tr -d '[]- ' | fold -w1 | sort -u); do
			grep -q -- "^\.Op Fl [A-Za-z]*$opt\|^\.Fl $opt\|^\.Op Fl $opt" "$NI_SRCDIR/man/$name.1" ||
			    fail "$name: option -$opt of usage() is not in the SYNOPSIS"
		done
	done
}

# The ".Dl $ command" lines of a page's EXAMPLES section.
examples() {
	awk '/^\.Sh EXAMPLES/ { on = 1; next } /^\.Sh / { on = 0 }
	    on && /^\.Dl \$ / { sub(/^\.Dl \$ /, ""); gsub(/\\-/, "-"); gsub(/\\&/, "")
	    gsub(/\\\(dq/, "\""); gsub(/\\e/, "\\"); print }' "$1"
}

@test "every EXAMPLES command of every page runs" {
	local page cmd n=0
	cd "$BATS_TEST_TMPDIR"
	cp "$NI_SRCDIR/examples/sample.pcap" capture.pcap
	gzip -c capture.pcap > capture.pcap.gz
	cp capture.pcap x.pcap
	printf '# a block list\n192.168.2.22\n2001:db8::/32\n' > blocklist.txt
	mkdir feeds
	printf 'scanner %s/intel/ipsum/ipsum.txt ipsum\nanonymizer %s/intel/Tor-IP-Addresses/tor-nodes.lst tor\n' \
	    "$NI_DATA" "$NI_DATA" > feeds/feeds.conf
	# what the ni-replay examples read
	export XDG_CACHE_HOME=$BATS_TEST_TMPDIR/cache
	ni-capture -r capture.pcap | ni-upload flows-archive 2>/dev/null
	if [ -z "${NI_S3_SKIP:-}" ]; then
		ni-capture -r capture.pcap | ni-upload -c prod s3://flows/netinsights 2>/dev/null
	fi
	for page in "$NI_SRCDIR"/man/*.[1-9]; do
		while IFS= read -r cmd; do
			n=$((n + 1))
			case $cmd in
			*" -i eth0"*)
				# live: inside a namespace whose interface is eth0
				need_root
				[ -n "${NS_A:-}" ] || {
					netns_pair 9
					ip -n "$NS_A" link set "$IF_A" down
					ip -n "$NS_A" link set "$IF_A" name eth0
					ip -n "$NS_A" link set eth0 up
				}
				run -0 --separate-stderr ip netns exec "$NS_A" timeout --preserve-status -s INT 2 bash -c "trap '' INT; $cmd"
				assert_line --index 0 --regexp "^(start,end,proto|proto,src|time,card),"
				;;
			*s3://*)
				need_s3
				run bash -c "set -o pipefail; $cmd"
				[ "$status" = 0 ] || [ "$status" = 141 ] ||
				    fail "$(basename "$page"): \"$cmd\" exited $status: $output"
				;;
			*)
				run bash -c "set -o pipefail; $cmd"
				[ "$status" = 0 ] || [ "$status" = 141 ] ||
				    fail "$(basename "$page"): \"$cmd\" exited $status: $output"
				;;
			esac
		done < <(examples "$page")
	done
	[ $n -ge 5 ] || fail "only $n examples found"
}
