#!/usr/bin/env bats
# ni-filter: the expression language against an independent oracle (awk on the same CSV).
bats_require_minimum_version 1.5.0

setup_file() {
	load test_helper
	export FLOWS=$BATS_FILE_TMPDIR/flows.csv
	ni-capture -r "$(data pcap/nDPI/1kxun.pcap)" "$(data pcap/zeek/communityid/ipv6.pcap)" \
	    "$(data pcap/nDPI/synscan.pcap)" "$(data pcap/zeek/var-services-std-ports.pcap)" \
	    "$(data pcap/zeek/communityid/icmp.pcap)" "$(data pcap/zeek/linux_dlt_sll2.pcap)" > "$FLOWS"
}

setup() {
	load test_helper
}

# ni-filter -c EXPR must count what the awk condition counts.
same_count() {
	local want got
	want=$(awk -F, "NR > 1 && ($2)" "$FLOWS" | wc -l)
	got=$(ni-filter -c "$1" "$FLOWS")
	[ "$got" = "$want" ] || fail "\"$1\": $got flows, awk says $want"
	[ "$want" -gt 0 ] || [ "${3:-}" = zero ] || fail "\"$1\": the oracle matched nothing; pick a better case"
}

@test "addresses: host, src, dst, net, IPv4 and IPv6" {
	same_count 'host 192.168.2.126' '$4 == "192.168.2.126" || $6 == "192.168.2.126"'
	same_count 'src host 172.16.0.8' '$4 == "172.16.0.8"'
	same_count 'dst 64.13.134.52' '$6 == "64.13.134.52"'
	same_count 'net 192.168.0.0/16' '$4 ~ /^192\.168\./ || $6 ~ /^192\.168\./'
	same_count 'src net 172.16.0.0/12 and not dst net 172.16.0.0/12' '$4 ~ /^172\.(1[6-9]|2[0-9]|3[01])\./ && $6 !~ /^172\.(1[6-9]|2[0-9]|3[01])\./'
	same_count 'net 2001:470::/32' '$4 ~ /^2001:470:/ || $6 ~ /^2001:470:/'
	same_count 'host 2607:f8b0:400c:c03::1a' '$6 == "2607:f8b0:400c:c03::1a" || $4 == "2607:f8b0:400c:c03::1a"'
}

@test "ports, ranges and protocols" {
	same_count 'port 80' '$5 == 80 || $7 == 80'
	same_count 'dport 1-1024 and tcp' '$7 >= 1 && $7 <= 1024 && $3 == "tcp"'
	same_count 'src port 5353' '$5 == 5353'
	same_count 'proto udp and dst port 53' '$3 == "udp" && $7 == 53'
	same_count 'icmp or icmp6' '$3 == "icmp" || $3 == "icmp6"'
	same_count 'dport > 1024' '$7 > 1024'
}

@test "state, TCP flags, and not / or / parentheses" {
	same_count 'state rejected' '$14 == "rejected"'
	same_count 'flags S and not flags A' '$12 ~ /S/ && $12 !~ /A/'
	same_count 'rflags RA' '$13 ~ /R/ && $13 ~ /A/'
	same_count '(state attempted or state rejected) and not dport 80' '($14 == "attempted" || $14 == "rejected") && $7 != 80'
	same_count '! tcp && ! udp' '$3 != "tcp" && $3 != "udp"'
	same_count 'not (udp or icmp) or bytes >= 1000' '!($3 == "udp" || $3 == "icmp") || $9 >= 1000'
}

@test "numbers with units, duration and time ranges" {
	same_count 'bytes > 1k' '$9 > 1000'
	same_count 'rbytes >= 1.5k' '$11 >= 1500'
	same_count 'tbytes > 64Ki' '$9 + $11 > 65536'
	same_count 'pkts = 1 and rpkts = 0' '$8 == 1 && $10 == 0'
	same_count 'tpkts > 20' '$8 + $10 > 20'
	same_count 'start >= 2016-08-02T02:20Z' '$1 >= "2016-08-02T02:20"'
	same_count 'start >= 2011-06-24 and end < 2011-06-25' '$1 >= "2011-06-24" && $2 < "2011-06-25"'
}

@test "any column by name: strings and regular expressions" {
	same_count 'app ~ "^dns:"' '$16 ~ /^dns:/'
	same_count 'app ~ "\.com$"' '$16 ~ /\.com$/'
	same_count 'app !~ "^dns:" and app != ""' '$16 !~ /^dns:/ && $16 != ""'
	same_count 'app >= "http:"' '$16 >= "http:"'
	same_count 'vlan = ""' '$15 == ""'
}

@test "durations against an oracle in seconds" {
	run ni-filter -c 'duration > 5s' "$FLOWS"
	want=$(awk -F, 'NR > 1 { s = substr($1, 12, 15); e = substr($2, 12, 15)
	    split(s, a, ":"); split(e, b, ":")
	    d = (b[1] * 3600 + b[2] * 60 + b[3]) - (a[1] * 3600 + a[2] * 60 + a[3])
	    if (substr($1, 1, 10) == substr($2, 1, 10) && d > 5) n++ } END { print n + 0 }' "$FLOWS")
	assert_output "$want"
	[ "$want" -gt 0 ]
	run ni-filter -c 'duration <= 250ms' "$FLOWS"
	assert [ "$output" -gt 0 ]
}

@test "dst in @file: an address list of 100k entries" {
	{ echo "# a block list"; for i in $(seq 0 99999); do echo "10.$((i / 65536)).$((i / 256 % 256)).$((i % 256))"; done
	  echo "64.13.134.0/24 ; the scanned host"; echo "2607:f8b0::/32"; } > "$BATS_TEST_TMPDIR/list.txt"
	same_count "dst in @$BATS_TEST_TMPDIR/list.txt" '$6 ~ /^64\.13\.134\./ || $6 ~ /^2607:f8b0:/ || $6 ~ /^10\.[01]\./'
	same_count "not src in @$BATS_TEST_TMPDIR/list.txt" '!($4 ~ /^64\.13\.134\./ || $4 ~ /^2607:f8b0:/ || $4 ~ /^10\.[01]\./)'
}

@test "the header is kept, unknown columns pass through, -v inverts" {
	sed '1s/$/,note/; 2,$s/$/,x/' "$FLOWS" > "$BATS_TEST_TMPDIR/extra.csv"
	run ni-filter 'port 80' "$BATS_TEST_TMPDIR/extra.csv"
	assert_success
	assert_line --index 0 "$(head -1 "$BATS_TEST_TMPDIR/extra.csv")"
	refute_line --regexp '^[0-9].*[^x]$'
	n=$(( ${#lines[@]} - 1 ))
	m=$(ni-filter -v -c 'port 80' "$FLOWS")
	assert_equal $((n + m)) $(( $(wc -l < "$FLOWS") - 1 ))
	# no match at all: still the header
	run ni-filter 'port 1 and port 2 and not port 1' "$FLOWS"
	assert_output "$(head -1 "$FLOWS")"
}

@test "syntax errors name the column of the mistake" {
	run --separate-stderr ni-filter 'tcp and hots 10.0.0.1' "$FLOWS"
	assert_failure 1
	assert_equal "$stderr" 'ni-filter: expression, column 9: unknown word "hots" (a column needs = != < > ~ and a value)'
	run --separate-stderr ni-filter 'port 99999' "$FLOWS"
	assert_equal "$stderr" 'ni-filter: expression, column 6: expected a port or range (80, 8000-8999), found "99999"'
	run --separate-stderr ni-filter '(tcp or udp' "$FLOWS"
	assert_equal "$stderr" 'ni-filter: expression, column 12: expected ")"'
	run --separate-stderr ni-filter 'bytes > lots' "$FLOWS"
	assert_equal "$stderr" 'ni-filter: expression, column 9: expected a number (1500, 10k, 2M), found "lots"'
	run --separate-stderr ni-filter 'app ~ "[a-"' "$FLOWS"
	assert_regex "$stderr" '^ni-filter: expression, column 7: regular expression "\[a-": '
	run --separate-stderr ni-filter 'nosuchcol = 1' "$FLOWS"
	assert_failure 1
	assert_equal "$stderr" "ni-filter: $FLOWS: no column \"nosuchcol\" for the filter"
}

@test "-f reads the expression from a file, with comments" {
	printf '# refused or unanswered\n(state rejected or state attempted)\nand tcp  # TCP only\n' > "$BATS_TEST_TMPDIR/e"
	run ni-filter -c -f "$BATS_TEST_TMPDIR/e" "$FLOWS"
	assert_output "$(awk -F, 'NR > 1 && ($14 == "rejected" || $14 == "attempted") && $3 == "tcp"' "$FLOWS" | wc -l)"
}

@test "a bad field is reported with its line and does not match" {
	{ head -3 "$FLOWS"; head -2 "$FLOWS" | tail -1 | sed 's/,tcp,[0-9.]*,/,tcp,999.1.1.1,/'; } > "$BATS_TEST_TMPDIR/bad.csv"
	run --separate-stderr ni-filter 'src net 0.0.0.0/0' "$BATS_TEST_TMPDIR/bad.csv"
	assert_failure 1
	assert_regex "$stderr" "bad.csv:4: bad src \"999.1.1.1\""
	assert_equal "${#lines[@]}" 3
}
