#!/usr/bin/env bats
# The flow format, ni-flow(5), through libni's reader and writer (ni-flowcat).
bats_require_minimum_version 1.5.0

setup() {
	load test_helper
}

@test "quoted fields round-trip byte for byte, unknown columns included" {
	run ni-flowcat -r "$NI_FIXTURES/quoted.csv"
	assert_success
	assert_output "$(cat "$NI_FIXTURES/quoted.csv")"
}

@test "quoted values survive the typed reader and writer" {
	run ni-flowcat -t "$NI_FIXTURES/quoted.csv"
	assert_success
	assert_line --index 1 '2026-12-04T19:20:14.123456Z,2026-12-04T19:20:15.000001Z,tcp,10.244.1.5,43512,203.0.113.7,443,12,1850,10,9021,SPA,SPA,established,"http:a,b"'
	assert_line --index 2 '2026-12-04T19:20:16.000000Z,2026-12-04T19:20:16.000000Z,udp,2001:db8::1,5353,2001:db8::2,53,1,80,1,120,,,established,"dns:say ""hi"".example"'
}

@test "a short line is reported with file and line, skipped, and exits 1" {
	run --separate-stderr ni-flowcat -r "$NI_FIXTURES/short-line.csv"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" \
	    "ni-flowcat: $NI_FIXTURES/short-line.csv:3: 5 fields, header has 14"
	assert_equal "${stderr_lines[1]}" \
	    "ni-flowcat: $NI_FIXTURES/short-line.csv: 1 malformed line skipped"
	# the lines before and after it are kept
	assert_equal "${#lines[@]}" 3
	assert_line --index 2 --partial "10.244.1.6,5353"
}

@test "--strict stops at the first malformed line" {
	run --separate-stderr ni-flowcat -s -r "$NI_FIXTURES/short-line.csv"
	assert_failure 1
	assert_equal "${#lines[@]}" 2
	assert_equal "${stderr_lines[1]}" \
	    "ni-flowcat: $NI_FIXTURES/short-line.csv: stopped at the first malformed line (--strict)"
}

@test "bad values name the column, the value and the line" {
	run --separate-stderr ni-flowcat -t "$NI_FIXTURES/bad-values.csv"
	assert_failure 1
	f=$NI_FIXTURES/bad-values.csv
	assert_equal "$stderr" "ni-flowcat: $f:2: bad start \"yesterday\"
ni-flowcat: $f:3: bad sport \"70000\"
ni-flowcat: $f:4: bad src \"10.244.1.300\"
ni-flowcat: $f:5: bad flags \"SX\"
ni-flowcat: $f:6: bad state \"maybe\"
ni-flowcat: $f: 5 malformed lines skipped"
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --partial "10.244.1.7,5353"
}

@test "a quote that never closes is reported, not swallowed" {
	run --separate-stderr ni-flowcat -r "$NI_FIXTURES/open-quote.csv"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" \
	    "ni-flowcat: $NI_FIXTURES/open-quote.csv:2: malformed quoted field"
}

@test "timestamps: offsets and short fractions become UTC microseconds" {
	printf '%s\n' "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state" \
	    "2026-12-04T20:20:14.5+01:00,2026-12-04 19:20:15Z,6,10.0.0.1,1,10.0.0.2,2,1,40,0,0,S,,attempted" \
	    "1969-12-31T23:59:59.999999Z,2000-02-29T00:00:00.1234567Z,47,10.0.0.1,0,10.0.0.2,0,1,40,0,0,,,attempted" \
	    > "$BATS_TEST_TMPDIR/t.csv"
	run ni-flowcat -t "$BATS_TEST_TMPDIR/t.csv"
	assert_success
	assert_line --index 1 "2026-12-04T19:20:14.500000Z,2026-12-04T19:20:15.000000Z,tcp,10.0.0.1,1,10.0.0.2,2,1,40,0,0,S,,attempted"
	assert_line --index 2 "1969-12-31T23:59:59.999999Z,2000-02-29T00:00:00.123456Z,47,10.0.0.1,0,10.0.0.2,0,1,40,0,0,,,attempted"
}

@test "CRLF line ends and gzip input are read" {
	sed 's/$/\r/' "$NI_FIXTURES/short-line.csv" | sed '3d' | gzip > "$BATS_TEST_TMPDIR/crlf.csv.gz"
	run ni-flowcat -t "$BATS_TEST_TMPDIR/crlf.csv.gz"
	assert_success
	assert_equal "${#lines[@]}" 3
	refute_output --partial $'\r'
}

@test "a file that is not a flow file is refused by name of the missing column" {
	printf 'a,b\n1,2\n' > "$BATS_TEST_TMPDIR/x.csv"
	run --separate-stderr ni-flowcat -t "$BATS_TEST_TMPDIR/x.csv"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" \
	    "ni-flowcat: $BATS_TEST_TMPDIR/x.csv:1: no \"start\" column: not a flow file (see ni-flow(5))"
}

@test "a column named twice is an error" {
	printf 'src,src\n1,2\n' > "$BATS_TEST_TMPDIR/d.csv"
	run --separate-stderr ni-flowcat -r "$BATS_TEST_TMPDIR/d.csv"
	assert_failure 1
	assert_equal "$stderr" "ni-flowcat: $BATS_TEST_TMPDIR/d.csv:1: column \"src\" appears twice"
}

@test "real flows round-trip through the typed reader unchanged" {
	ni-capture -r "$(data pcap/nDPI/1kxun.pcap)" "$(data pcap/zeek/communityid/ipv6.pcap)" \
	    > "$BATS_TEST_TMPDIR/f.csv"
	run ni-flowcat -t "$BATS_TEST_TMPDIR/f.csv"
	assert_success
	assert_output "$(cat "$BATS_TEST_TMPDIR/f.csv")"
	assert [ "${#lines[@]}" -gt 150 ]
}

@test "stdin is read when no file or - is given" {
	run ni-flowcat -r - < "$NI_FIXTURES/quoted.csv"
	assert_success
	assert_output "$(cat "$NI_FIXTURES/quoted.csv")"
}

@test "gzip cut short or concatenated: reported, or read whole" {
	ni-capture -r "$(data pcap/nDPI/1kxun.pcap)" | gzip > "$BATS_TEST_TMPDIR/f.gz"
	head -c 4000 "$BATS_TEST_TMPDIR/f.gz" > "$BATS_TEST_TMPDIR/cut.gz"
	run --separate-stderr ni-flowcat -t "$BATS_TEST_TMPDIR/cut.gz"
	assert_failure 1
	assert_equal "$stderr" "ni-flowcat: $BATS_TEST_TMPDIR/cut.gz: compressed data cut short"
	assert [ "${#lines[@]}" -gt 10 ]
	# gzip members one after another are one stream (cat a.gz b.gz)
	cat "$BATS_TEST_TMPDIR/f.gz" "$BATS_TEST_TMPDIR/f.gz" | ni-flowcat -r > "$BATS_TEST_TMPDIR/two"
	# (the second header is a record here, as with any CSV that is concatenated)
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/two")" $(( 2 * $(zcat "$BATS_TEST_TMPDIR/f.gz" | wc -l) ))
}

