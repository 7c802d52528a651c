#!/usr/bin/env bats
# ni-intel: real feeds in their own formats, exact lookups, enrichment, fetch.
bats_require_minimum_version 1.5.0

setup_file() {
	load test_helper
	local i=$NI_DATA/intel
	export FEEDS=$BATS_FILE_TMPDIR/feeds.conf
	cat > "$FEEDS" <<CONF
# category   source                                                   name
scanner      $i/ipsum/ipsum.txt                                       ipsum
anonymizer   $i/Tor-IP-Addresses/tor-exit-nodes.lst                   tor-exit
anonymizer   $i/Tor-IP-Addresses/tor-nodes.lst                        tor
botnet       $i/intelmq/spamhaus/drop.txt                             spamhaus-drop
scanner      $i/intelmq/dshield/block.txt                             dshield
malware      $i/citizenlab-malware-indicators/201512_PackRAT/iocs.csv packrat
malware      $i/citizenlab-malware-indicators/201611_KeyBoy/misp.json keyboy
malware      $i/stix2/threat-reports/apt1.json                        apt1
malware      $i/stix2/threat-reports/poisonivy.json                   poisonivy
malware      $i/stix2/pymisp/stix2.json                               pymisp
CONF
}

setup() {
	load test_helper
}

teardown() {
	[ -z "${HTTPD:-}" ] || kill "$HTTPD" 2>/dev/null || true
}

@test "every published format: one entry of each is found, with its category and feed" {
	run ni-intel -c "$FEEDS" lookup 77.90.185.20 60.241.48.194 1.4.0.9 2a06:e480::1 \
	    43.229.53.7 201.52.24.126 45.125.12.147 223.167.1.1 219.76.208.163
	assert_success
	assert_output "addr,intel,feeds
77.90.185.20,scanner,ipsum
60.241.48.194,anonymizer,tor
1.4.0.9,botnet,spamhaus-drop
2a06:e480::1,botnet,spamhaus-drop
43.229.53.7,scanner,dshield
201.52.24.126,malware,packrat
45.125.12.147,malware,keyboy
223.167.1.1,malware,apt1
219.76.208.163,malware,poisonivy"
}

@test "a lookup is the union of every covering entry, not the longest prefix" {
	# in ipsum and in the Tor node list both
	a=$(comm -12 <(grep -v '^#' "$NI_DATA/intel/ipsum/ipsum.txt" | cut -f1 | sort) \
	    <(sort "$NI_DATA/intel/Tor-IP-Addresses/tor-nodes.lst") | head -1)
	[ -n "$a" ]
	run ni-intel -c "$FEEDS" lookup "$a"
	assert_line --index 1 "$a,scanner;anonymizer,ipsum;tor"
	# a /15 of APT1 and nothing narrower: the whole block
	run ni-intel -c "$FEEDS" lookup 223.166.0.0 223.167.255.255 223.168.0.0
	assert_line --index 1 "223.166.0.0,malware,apt1"
	assert_line --index 2 "223.167.255.255,malware,apt1"
	assert_line --index 3 "223.168.0.0,,"
}

@test "observed data is not an indicator, and private, loopback and cluster ranges never match" {
	# 8.8.8.8 is observed-data in the PyMISP STIX bundle; 10.0.0.0 is a
	# (documentation) indicator of two STIX examples and a private address
	printf 'malware %s/intel/stix2/indicator-for-c2-ip-address.json c2\n' "$NI_DATA" >> "$BATS_TEST_TMPDIR/f.conf"
	printf 'scanner %s/bad.txt bad\n' "$BATS_TEST_TMPDIR" >> "$BATS_TEST_TMPDIR/f.conf"
	printf '0.0.0.0/8\n10.0.0.0/8\n127.0.0.1\n203.0.113.5\n198.51.100.0/24\nfe80::1\n8.8.4.4\n' > "$BATS_TEST_TMPDIR/bad.txt"
	run --separate-stderr ni-intel -C 203.0.113.0/24,2001:db8::/32 -c "$BATS_TEST_TMPDIR/f.conf" \
	    lookup 10.0.0.0 10.1.2.3 127.0.0.1 203.0.113.5 198.51.100.7 8.8.4.4 fe80::1
	assert_success
	assert_equal "$stderr" "ni-intel: 6 entries dropped: they cover private, loopback, reserved or cluster addresses, which are never matched"
	assert_output "addr,intel,feeds
10.0.0.0,,
10.1.2.3,,
127.0.0.1,,
203.0.113.5,,
198.51.100.7,scanner,bad
8.8.4.4,scanner,bad
fe80::1,,"
	run ni-intel -c "$FEEDS" lookup 8.8.8.8
	assert_failure 1
	assert_line --index 1 "8.8.8.8,,"
}

@test "property: lookups agree with a naive scan, at prefix edges and anywhere" {
	need python3
	python3 "$NI_SRCDIR/tests/intel-naive.py" 42 "$BATS_TEST_TMPDIR"
	ni-intel -c "$BATS_TEST_TMPDIR/feeds.conf" lookup $(cat "$BATS_TEST_TMPDIR/queries") > "$BATS_TEST_TMPDIR/ours" || true
	assert [ "$(wc -l < "$BATS_TEST_TMPDIR/expected")" -gt 4000 ]
	diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/ours"
	python3 "$NI_SRCDIR/tests/intel-naive.py" 7 "$BATS_TEST_TMPDIR"
	ni-intel -c "$BATS_TEST_TMPDIR/feeds.conf" lookup $(cat "$BATS_TEST_TMPDIR/queries") > "$BATS_TEST_TMPDIR/ours" || true
	diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/ours"
}

@test "enrich: the real gnutella peers listed by ipsum and Tor are marked, nobody else" {
	ni-capture -r "$(data pcap/nDPI/gnutella.pcap)" > "$BATS_TEST_TMPDIR/f.csv"
	run ni-intel -c "$FEEDS" enrich "$BATS_TEST_TMPDIR/f.csv"
	assert_success
	assert_line --index 0 "$(head -1 "$BATS_TEST_TMPDIR/f.csv"),src_intel,dst_intel,src_intel_feeds,dst_intel_feeds"
	ni-filter 'src_intel != "" or dst_intel != ""' <<< "$output" | tail -n +2 |
	    awk -F, '{ print $4 "|" $6 "|" $17 "|" $18 "|" $19 "|" $20 }' | sort -u > "$BATS_TEST_TMPDIR/hits"
	# SOURCES.md: 193.32.126.214 in ipsum (2 TCP connections), 60.241.48.194
	# in the Tor node list (one UDP flow and one TCP connection); the peer
	# is marked on whichever side it is, and nobody else is
	run awk -F'|' '{ print ($3 != "" ? $1 "," $3 "," $5 : $2 "," $4 "," $6) }' "$BATS_TEST_TMPDIR/hits"
	assert_equal "$(sort -u <<< "$output")" "193.32.126.214,scanner,ipsum
60.241.48.194,anonymizer,tor"
	run ni-filter -c 'src_intel ~ "." or dst_intel ~ "."' <(ni-intel -c "$FEEDS" enrich "$BATS_TEST_TMPDIR/f.csv")
	assert_output 4
}

@test "enrich fills columns a flow already has, and passes others through" {
	printf 'start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state,dst_intel,note\n2026-12-04T10:00:00Z,2026-12-04T10:00:01Z,tcp,10.244.1.2,40000,193.32.126.214,443,3,180,2,120,SA,SA,established,stale,x\n' > "$BATS_TEST_TMPDIR/in.csv"
	run ni-intel -c "$FEEDS" enrich "$BATS_TEST_TMPDIR/in.csv"
	assert_line --index 0 "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state,dst_intel,note,src_intel,src_intel_feeds,dst_intel_feeds"
	assert_line --index 1 "2026-12-04T10:00:00Z,2026-12-04T10:00:01Z,tcp,10.244.1.2,40000,193.32.126.214,443,3,180,2,120,SA,SA,established,scanner,x,,,ipsum"
}

@test "fetch: conditional download from a local server, atomic replace, last good copy kept" {
	need python3
	mkdir -p "$BATS_TEST_TMPDIR/www" "$BATS_TEST_TMPDIR/conf"
	printf '198.51.100.7\n' > "$BATS_TEST_TMPDIR/www/list.txt"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 3>&- &
	HTTPD=$!
	for i in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/list.txt" && break; sleep 0.1; done
	printf 'scanner http://127.0.0.1:%s/list.txt remote\n' "$port" > "$BATS_TEST_TMPDIR/conf/feeds.conf"
	run --separate-stderr ni-intel -c "$BATS_TEST_TMPDIR/conf" fetch
	assert_success
	assert_equal "$stderr" "ni-intel: remote: 13 bytes"
	run ni-intel -c "$BATS_TEST_TMPDIR/conf" lookup 198.51.100.7
	assert_line --index 1 "198.51.100.7,scanner,remote"
	# unchanged on the server: 304, nothing written
	run --separate-stderr ni-intel -c "$BATS_TEST_TMPDIR/conf" fetch
	assert_equal "$stderr" "ni-intel: remote: not modified"
	# changed: the new copy replaces the old
	sleep 1.1
	printf '198.51.100.8\n' > "$BATS_TEST_TMPDIR/www/list.txt"
	ni-intel -c "$BATS_TEST_TMPDIR/conf" fetch 2>/dev/null
	run ni-intel -c "$BATS_TEST_TMPDIR/conf" lookup 198.51.100.8
	assert_success
	# the server gone: an error, exit 1, and the last good copy still serves
	kill "$HTTPD"; wait "$HTTPD" 2>/dev/null || true; HTTPD=
	run --separate-stderr ni-intel -c "$BATS_TEST_TMPDIR/conf" fetch
	assert_failure 1
	assert_regex "$stderr" "^ni-intel: remote: http://127.0.0.1:$port/list.txt: .*; the last good copy is kept$"
	run ni-intel -c "$BATS_TEST_TMPDIR/conf" lookup 198.51.100.8
	assert_success
}

@test "usage and errors: 2 for trouble" {
	run --separate-stderr ni-intel -c "$FEEDS" lookup not-an-address
	assert_failure 2
	assert_equal "$stderr" "ni-intel: not-an-address: not an IPv4 or IPv6 address"
	run --separate-stderr ni-intel -c /nonexistent.conf lookup 1.1.1.1
	assert_failure 2
	assert_equal "$stderr" "ni-intel: /nonexistent.conf: No such file or directory"
	run ni-intel --help
	assert_success
	assert_line --index 0 --partial "usage: ni-intel"
}
