#!/usr/bin/env bats
# ni-replay: a time range of a bucket back as flows, in event-time order.
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
	SPOOL=$BATS_TEST_TMPDIR/spool
}

# The flows of a file whose start is in [from, to), in start order.
expect_range() {
	awk -F, -v from="$2" -v to="$3" 'NR == 1 { print; next } $1 >= from && $1 < to' "$1" |
	    { IFS= read -r h; echo "$h"; sort -s -t, -k1,1; }
}

@test "--from/--to select by flow start; one header; event-time order (directory)" {
	ni-capture -r "$(data pcap/nDPI/1kxun.pcap)" > "$BATS_TEST_TMPDIR/in.csv"
	ni-upload -i 60 -s "$SPOOL" "$BATS_TEST_TMPDIR/b" < "$BATS_TEST_TMPDIR/in.csv" 2>/dev/null
	run ni-replay --from 2016-08-02T02:19:50Z --to 2016-08-02T02:20:10.5Z "$BATS_TEST_TMPDIR/b"
	assert_success
	assert_output "$(expect_range "$BATS_TEST_TMPDIR/in.csv" 2016-08-02T02:19:50 2016-08-02T02:20:10.5)"
	assert [ "${#lines[@]}" -gt 20 ]
	# the whole bucket: every flow, sorted by start
	run ni-replay "$BATS_TEST_TMPDIR/b"
	assert_output "$(expect_range "$BATS_TEST_TMPDIR/in.csv" 0 9)"
}

@test "the same through a real S3 server, and the same as the directory" {
	need_s3
	ni-capture -r "$(data pcap/nDPI/gnutella.pcap)" > "$BATS_TEST_TMPDIR/in.csv"
	ni-upload -i 60 -s "$SPOOL" s3://flows/range < "$BATS_TEST_TMPDIR/in.csv" 2>/dev/null
	ni-upload -i 60 -s "$SPOOL" "$BATS_TEST_TMPDIR/b" < "$BATS_TEST_TMPDIR/in.csv" 2>/dev/null
	from=$(tail -n +2 "$BATS_TEST_TMPDIR/in.csv" | cut -d, -f1 | sort | sed -n '100p')
	to=$(tail -n +2 "$BATS_TEST_TMPDIR/in.csv" | cut -d, -f1 | sort | sed -n '600p')
	run ni-replay -f "$from" -t "$to" s3://flows/range
	assert_success
	assert_output "$(expect_range "$BATS_TEST_TMPDIR/in.csv" "$from" "$to")"
	assert_equal "${#lines[@]}" 501
	assert_equal "$output" "$(ni-replay -f "$from" -t "$to" "$BATS_TEST_TMPDIR/b")"
}

@test "--cluster reads one cluster's partitions" {
	gen_flows 30 > "$BATS_TEST_TMPDIR/a.csv"
	gen_flows 20 1 5 > "$BATS_TEST_TMPDIR/b.csv"
	ni-upload -c prod -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/a.csv" 2>/dev/null
	ni-upload -c staging -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/b.csv" 2>/dev/null
	run ni-replay -c staging "$BATS_TEST_TMPDIR/bk"
	assert_output "$(cat "$BATS_TEST_TMPDIR/b.csv")"
	run ni-replay "$BATS_TEST_TMPDIR/bk"
	assert_equal "${#lines[@]}" 51
}

@test "only the days of the range are listed" {
	gen_flows 30 > "$BATS_TEST_TMPDIR/a.csv"
	ni-upload -c prod -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/a.csv" 2>/dev/null
	# an unreadable object on another day: listing that day would read it
	mkdir -p "$BATS_TEST_TMPDIR/bk/cluster=prod/date=2026-12-01/hour=00"
	echo garbage > "$BATS_TEST_TMPDIR/bk/cluster=prod/date=2026-12-01/hour=00/junk.csv.gz"
	run ni-replay -f 2026-12-04 -t 2026-12-05 "$BATS_TEST_TMPDIR/bk"
	assert_success
	assert_output "$(cat "$BATS_TEST_TMPDIR/a.csv")"
	run --separate-stderr ni-replay "$BATS_TEST_TMPDIR/bk"
	assert_failure 1
	assert_regex "$stderr" "junk.csv.gz:1: no \"start\" column"
}

@test "more than one page of listing (ListObjectsV2 continuation)" {
	need_s3
	gen_flows 1100 1 > "$BATS_TEST_TMPDIR/g.csv"
	ni-upload -i 1 -s "$SPOOL" s3://flows/pages < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	assert_equal "$(awss3 ls --recursive s3://flows/pages/ | wc -l)" 1100
	run ni-replay s3://flows/pages
	assert_success
	assert_output "$(cat "$BATS_TEST_TMPDIR/g.csv")"
}

@test "a corrupt object is an error naming its key; the others are still replayed" {
	gen_flows 120 1 > "$BATS_TEST_TMPDIR/g.csv"
	ni-upload -i 60 -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	f=$(find "$BATS_TEST_TMPDIR/bk" -name '*.csv.gz' | sort | head -1)
	head -c 100 "$f" > "$f.cut" && mv "$f.cut" "$f"
	run --separate-stderr ni-replay "$BATS_TEST_TMPDIR/bk"
	assert_failure 1
	assert_regex "$stderr" "^ni-replay: $BATS_TEST_TMPDIR/bk/${f#$BATS_TEST_TMPDIR/bk/}: compressed data cut short"
	assert [ "${#lines[@]}" -gt 60 ]
}

@test "an object changed in the store fails its SHA-256 check, named" {
	need_s3
	gen_flows 120 1 > "$BATS_TEST_TMPDIR/g.csv"
	ni-upload -i 60 -s "$SPOOL" s3://flows/tamper < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	key=$(awss3 ls --recursive s3://flows/tamper/ | awk 'NR == 1 {print $4}')
	sha=$(aws --endpoint-url "$S3_URL" s3api head-object --bucket flows --key "$key" --query Metadata.sha256 --output text)
	gen_flows 3 | gzip > "$BATS_TEST_TMPDIR/other.gz"
	awss3 cp --metadata "sha256=$sha" "$BATS_TEST_TMPDIR/other.gz" "s3://flows/$key" >/dev/null
	run --separate-stderr ni-replay s3://flows/tamper
	assert_failure 1
	assert_regex "$stderr" "ni-replay: s3://flows/tamper: $key: corrupt: SHA-256 [0-9a-f]{64}, stored as $sha"
	assert_equal "${#lines[@]}" 61
}

@test "an empty range gives the header alone" {
	gen_flows 10 > "$BATS_TEST_TMPDIR/g.csv"
	ni-upload -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	run ni-replay -f 2030-01-01 "$BATS_TEST_TMPDIR/bk"
	assert_success
	assert_output "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state"
	run --separate-stderr ni-replay -f yesterday "$BATS_TEST_TMPDIR/bk"
	assert_failure 1
	assert_equal "$stderr" "ni-replay: --from yesterday: not a time (2026-12-04, 2026-12-04T19:20Z or RFC 3339)"
}

@test "objects written with other columns are mapped by name" {
	gen_flows 5 > "$BATS_TEST_TMPDIR/a.csv"
	ni-upload -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/a.csv" 2>/dev/null
	# a later writer put an extra column first and dropped "state"
	gen_flows 5 1 100 | tail -n +2 | sed 's/^/x,/; s/,closed$//' |
	    sed '1i note,start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags' > "$BATS_TEST_TMPDIR/b.csv"
	ni-upload -s "$SPOOL" "$BATS_TEST_TMPDIR/bk" < "$BATS_TEST_TMPDIR/b.csv" 2>/dev/null
	run ni-replay "$BATS_TEST_TMPDIR/bk"
	assert_success
	assert_line --index 0 "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state"
	assert_line --index 6 --regexp '^2026-12-04T10:01:40\.[0-9]{6}Z,.*,SPA,SPA,$'
}
