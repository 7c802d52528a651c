#!/usr/bin/env bats
# ni-stats, and ni-filter with it, beside nfdump on the same captures.
bats_require_minimum_version 1.5.0

setup_file() {
	load test_helper
	local f
	export FLOWS=$BATS_FILE_TMPDIR/flows.csv NFDIR=$BATS_FILE_TMPDIR/nf
	mkdir -p "$NFDIR"
	# nfpcapd writes one file a capture; nfdump -R reads them all
	for f in pcap/nDPI/1kxun.pcap pcap/nDPI/gnutella.pcap \
	    pcap/zeek/var-services-std-ports.pcap pcap/bro-simple-scan/backscatter.trace; do
		mkdir -p "$NFDIR/$(basename "$f")"
		nfpcapd -r "$(data "$f")" -w "$NFDIR/$(basename "$f")" >/dev/null 2>&1
		ni-capture -r "$(data "$f")" | tail -n +2
	done | sed "1i $(ni-capture -r "$(data pcap/zeek/empty.pcap)")" > "$FLOWS"
}

setup() {
	load test_helper
	need nfdump
}

nfsum() {	# packets and bytes of the nfdump records a filter keeps
	for d in "$NFDIR"/*; do
		nfdump -R "$d" -q -o 'fmt:%pkt %byt' "$1"
	done | awk '{ p += $1; b += $2 } END { printf "%d,%d\n", p, b }'
}

@test "totals of a dozen filters are nfdump's (both directions of each conversation)" {
	local e n=0
	while IFS= read -r e; do
		ours=$(ni-filter "$e" "$FLOWS" | ni-stats -v tpkts,tbytes | tail -1)
		theirs=$(nfsum "$e")
		[ "$ours" = "$theirs" ] || fail "\"$e\": ni-filter | ni-stats says $ours, nfdump $theirs"
		[ "$theirs" != 0,0 ] || fail "\"$e\" matches nothing: pick a better case"
		n=$((n + 1))
	done <<'Q'
proto tcp
proto udp
proto icmp
port 53
port 80 or port 443
net 192.168.0.0/16
host 8.8.8.8
not proto tcp
proto tcp and not port 80
(proto tcp or proto udp) and port > 1024
net 10.0.0.0/8 or net 172.16.0.0/12
(proto udp or proto icmp) and not host 8.8.8.8
Q
	assert_equal "$n" 12
}

@test "bytes and packets per address are nfdump's -s ip" {
	for d in "$NFDIR"/*; do
		nfdump -R "$d" -q -n 0 -s ip/bytes -o csv | tail -n +2 | cut -d, -f5,8,10
	done | awk -F, '$1 != "" { p[$1] += $2; b[$1] += $3 } END { for (a in p) print a "," p[a] "," b[a] }' |
	    sort > "$BATS_TEST_TMPDIR/nfdump"
	# each end of a flow sent or received all of its packets
	{ ni-stats -k src -v tpkts,tbytes "$FLOWS" | tail -n +2
	  ni-stats -k dst -v tpkts,tbytes "$FLOWS" | tail -n +2; } |
	    awk -F, '{ if ($1 == "::") $1 = "0.0.0.0"	# nfdump prints :: so
	        p[$1] += $2; b[$1] += $3 } END { for (a in p) print a "," p[a] "," b[a] }' |
	    sort > "$BATS_TEST_TMPDIR/ours"
	assert [ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -gt 500 ]
	diff "$BATS_TEST_TMPDIR/nfdump" "$BATS_TEST_TMPDIR/ours"
}

@test "bytes per port are nfdump's -s port (TCP and UDP)" {
	for d in "$NFDIR"/*; do
		nfdump -R "$d" -q -n 0 -s port/bytes -o csv 'proto tcp or proto udp' | tail -n +2 | cut -d, -f5,10
	done | awk -F, '$1 != "" { b[$1] += $2 } END { for (a in b) print a "," b[a] }' | sort > "$BATS_TEST_TMPDIR/nfdump"
	ni-filter 'tcp or udp' "$FLOWS" > "$BATS_TEST_TMPDIR/tu.csv"
	{ ni-stats -k sport -v tbytes "$BATS_TEST_TMPDIR/tu.csv" | tail -n +2
	  ni-stats -k dport -v tbytes "$BATS_TEST_TMPDIR/tu.csv" | tail -n +2; } |
	    awk -F, '{ b[$1] += $2 } END { for (a in b) print a "," b[a] }' | sort > "$BATS_TEST_TMPDIR/ours"
	diff "$BATS_TEST_TMPDIR/nfdump" "$BATS_TEST_TMPDIR/ours"
}

@test "group, sort and top N; the values add up to the totals" {
	run ni-stats -k dst,dport -v flows,tbytes,distinct:src -s tbytes -n 3 "$FLOWS"
	assert_success
	assert_line --index 0 "dst,dport,flows,tbytes,distinct:src"
	assert_equal "${#lines[@]}" 4
	# the first row is the largest by the oracle too
	want=$(awk -F, 'NR > 1 { b[$6 "," $7] += $9 + $11 } END { for (k in b) print b[k] "," k }' "$FLOWS" | sort -t, -k1,1nr | head -1)
	assert_equal "$(cut -d, -f1,2,4 <<< "${lines[1]}")" "$(awk -F, '{ print $2 "," $3 "," $1 }' <<< "$want")"
	# every flow counted once: the sum of flows over all groups
	total=$(ni-stats -k src -v flows "$FLOWS" | tail -n +2 | awk -F, '{ n += $2 } END { print n }')
	assert_equal "$total" "$(( $(wc -l < "$FLOWS") - 1 ))"
}

@test "distinct counts and first/last seen against awk" {
	run ni-stats -k src -v distinct:dport,first,last -s distinct:dport -n 1 "$FLOWS"
	# the SYN scanner of gnutella? no: the most ports from one source
	want=$(awk -F, 'NR > 1 && !seen[$4 "," $7]++ { n[$4]++ } END { for (a in n) print n[a], a }' "$FLOWS" | sort -k1,1nr | head -1)
	assert_equal "$(cut -d, -f1,2 <<< "${lines[1]}")" "$(awk '{ print $2 "," $1 }' <<< "$want")"
	src=${want#* }
	assert_equal "$(cut -d, -f3 <<< "${lines[1]}")" "$(awk -F, -v s="$src" 'NR > 1 && $4 == s { print $1 }' "$FLOWS" | sort | head -1)"
	assert_equal "$(cut -d, -f4 <<< "${lines[1]}")" "$(awk -F, -v s="$src" 'NR > 1 && $4 == s { print $2 }' "$FLOWS" | sort | tail -1)"
}

@test "time bins" {
	run ni-stats -b 1h -v flows "$FLOWS"
	assert_success
	assert_line --index 0 "bin,flows"
	want=$(awk -F, 'NR > 1 { n[substr($1, 1, 13)]++ } END { for (h in n) print h ":00:00.000000Z," n[h] }' "$FLOWS" | sort)
	assert_equal "$(tail -n +2 <<< "$output" | sort)" "$want"
}

@test "past --max-keys: Space-Saving keeps the heavy hitters, within the error it reports" {
	run --separate-stderr ni-stats -k src -v flows -m 20 -n 5 "$FLOWS"
	assert_success
	assert_regex "$stderr" "more than 20 keys: an approximate ranking \(Space-Saving, [0-9]+ evictions\)"
	assert_line --index 0 "src,flows,error"
	# the true counts lie in [count - error, count] for each row shown
	for i in 1 2 3; do
		IFS=, read -r a c e <<< "${lines[$i]}"
		true_n=$(awk -F, -v a="$a" 'NR > 1 && $4 == a' "$FLOWS" | wc -l)
		[ "$true_n" -le "$c" ] && [ "$true_n" -ge $((c - e)) ] ||
		    fail "$a: true $true_n outside [$((c - e)), $c]"
	done
	# and the heaviest source is still first
	assert_equal "${lines[1]%%,*}" "$(ni-stats -k src -v flows -n 1 "$FLOWS" | tail -1 | cut -d, -f1)"
}

@test "aligned text on a terminal, CSV in a pipe" {
	need script
	run script -qc "ni-stats -k proto -v flows,tbytes $FLOWS" /dev/null
	assert_line --index 0 --regexp '^proto +flows +tbytes'
	run ni-stats -k proto -v flows "$FLOWS"
	assert_line --index 0 "proto,flows"
}

@test "errors: unknown value, missing column" {
	run --separate-stderr ni-stats -v flows,nonsense "$FLOWS"
	assert_failure 1
	assert_regex "$stderr" 'unknown value "nonsense"'
	run --separate-stderr ni-stats -k nosuch "$FLOWS"
	assert_failure 1
	assert_equal "$stderr" "ni-stats: $FLOWS: no column \"nosuch\" to group by"
}

@test "DuckDB reads the bucket ni-upload wrote, in place, and counts what ni-stats counts" {
	need_duckdb
	XDG_CACHE_HOME=$BATS_TEST_TMPDIR/cache ni-upload -c lab -i 60 "$BATS_TEST_TMPDIR/bucket" < "$FLOWS" 2>/dev/null
	run duckdb_q "$BATS_TEST_TMPDIR/bucket" "SELECT count(*), sum(pkts + rpkts), sum(bytes + rbytes) FROM flows"
	assert_success
	assert_output "$(ni-stats -v flows,tpkts,tbytes "$FLOWS" | tail -1)"
	# a group-by, and the Hive partition columns as DuckDB sees them
	run duckdb_q "$BATS_TEST_TMPDIR/bucket" "SELECT proto, count(*), sum(bytes) FROM flows GROUP BY proto ORDER BY proto"
	assert_output "$(ni-stats -k proto -v flows,bytes "$FLOWS" | tail -n +2 | sort)"
	run duckdb_q "$BATS_TEST_TMPDIR/bucket" "SELECT DISTINCT cluster FROM flows"
	assert_output "lab"
	run duckdb_q "$BATS_TEST_TMPDIR/bucket" "SELECT count(DISTINCT date) FROM flows"
	assert_output "$(tail -n +2 "$FLOWS" | cut -c1-10 | sort -u | wc -l)"
}
