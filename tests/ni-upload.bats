#!/usr/bin/env bats
# ni-upload: flows into a real S3 server (Ceph RGW on loopback) or a directory, nothing lost or doubled.
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
	ni-capture -r "$(data pcap/nDPI/1kxun.pcap)" "$(data pcap/zeek/echo-connections.pcap.gz)" \
	    > "$BATS_TEST_TMPDIR/in.csv"
}

teardown() {
	netns_cleanup
	[ -z "${TMPFS:-}" ] || umount "$TMPFS" 2>/dev/null || true
}

@test "a directory bucket: Hive partitions, gzip objects named by time range and count" {
	run --separate-stderr ni-upload -s "$SPOOL" "$BATS_TEST_TMPDIR/bucket" < "$BATS_TEST_TMPDIR/in.csv"
	assert_success
	assert_regex "$stderr" "^ni-upload: [0-9]+ objects, 697 flows, [0-9]+ bytes stored in $BATS_TEST_TMPDIR/bucket \(0 retries\)$"
	local total=0 f n
	cd "$BATS_TEST_TMPDIR/bucket"
	for f in $(find . -type f | sort); do
		[[ $f =~ ^\./cluster=default/date=([0-9]{4}-[0-9]{2}-[0-9]{2})/hour=([0-9]{2})/([0-9]{8}T[0-9]{6}\.[0-9]{6}Z)_([0-9]{8}T[0-9]{6}\.[0-9]{6}Z)_n([0-9]+)_[A-Za-z0-9.-]+_[0-9a-f]+-[0-9]+\.csv\.gz$ ]] ||
		    fail "unexpected object name $f"
		n=${BASH_REMATCH[5]}
		# the count in the name is the count inside; one header each
		assert_equal "$(zcat "$f" | tail -n +2 | wc -l)" "$n"
		assert_equal "$(zcat "$f" | head -1)" "$(head -1 "$BATS_TEST_TMPDIR/in.csv")"
		# flows are sorted by start, which lies in the name's range and
		# the partition's hour
		zcat "$f" | tail -n +2 | cut -d, -f1 | sort -c
		zcat "$f" | tail -n +2 | cut -d, -f1 | sort | sed -n '1p;$p' | tr -d ':-' > "$BATS_TEST_TMPDIR/range"
		assert_equal "$(head -1 "$BATS_TEST_TMPDIR/range")" "${BASH_REMATCH[3]}"
		assert_equal "$(tail -1 "$BATS_TEST_TMPDIR/range")" "${BASH_REMATCH[4]}"
		[[ ${BASH_REMATCH[3]} == ${BASH_REMATCH[1]//-/}T${BASH_REMATCH[2]}* ]] || fail "$f: not in its hour"
		total=$((total + n))
	done
	assert_equal "$total" 697
	# the spool is empty once everything is stored
	assert_equal "$(find "$SPOOL" -type f | wc -l)" 0
}

@test "round trip through a real S3 server: the same multiset of flows" {
	need_s3
	run --separate-stderr ni-upload -s "$SPOOL" s3://flows/rt < "$BATS_TEST_TMPDIR/in.csv"
	assert_success
	ni-replay s3://flows/rt > "$BATS_TEST_TMPDIR/out.csv"
	assert_equal "$(head -1 "$BATS_TEST_TMPDIR/out.csv")" "$(head -1 "$BATS_TEST_TMPDIR/in.csv")"
	diff <(sorted_flows "$BATS_TEST_TMPDIR/in.csv") <(sorted_flows "$BATS_TEST_TMPDIR/out.csv")
}

@test "objects carry their flow count, time range and a SHA-256 the server checked" {
	need_s3
	ni-upload -s "$SPOOL" s3://flows/meta < "$BATS_TEST_TMPDIR/in.csv" 2>/dev/null
	key=$(awss3 ls --recursive s3://flows/meta/ | awk '{print $4}' | grep 'echo\|T1457' | head -1)
	[ -n "$key" ] || key=$(awss3 ls --recursive s3://flows/meta/ | awk 'NR == 1 {print $4}')
	run aws --endpoint-url "$S3_URL" s3api head-object --bucket flows --key "$key" \
	    --query 'Metadata.[flows,first,last,sha256]' --output text
	assert_success
	read -r flows first last sha <<< "$output"
	awss3 cp "s3://flows/$key" "$BATS_TEST_TMPDIR/o.gz" >/dev/null
	assert_equal "$sha" "$(sha256sum < "$BATS_TEST_TMPDIR/o.gz" | cut -d' ' -f1)"
	assert_equal "$flows" "$(zcat "$BATS_TEST_TMPDIR/o.gz" | tail -n +2 | wc -l)"
	assert_equal "$first" "$(zcat "$BATS_TEST_TMPDIR/o.gz" | tail -n +2 | cut -d, -f1 | sort | head -1)"
	assert_equal "$last" "$(zcat "$BATS_TEST_TMPDIR/o.gz" | tail -n +2 | cut -d, -f1 | sort | tail -1)"
}

@test "awscli lists and fetches what ni-upload wrote; ni-replay reads what awscli uploaded" {
	need_s3
	ni-upload -s "$SPOOL" s3://flows/interop < "$BATS_TEST_TMPDIR/in.csv" 2>/dev/null
	awss3 cp --recursive s3://flows/interop "$BATS_TEST_TMPDIR/copy" >/dev/null
	find "$BATS_TEST_TMPDIR/copy" -name '*.csv.gz' -exec zcat {} + | grep -v '^start,' | sort > "$BATS_TEST_TMPDIR/fetched"
	diff <(sorted_flows "$BATS_TEST_TMPDIR/in.csv") "$BATS_TEST_TMPDIR/fetched"
	# and the other way: objects another client put there, any name
	gen_flows 50 | gzip > "$BATS_TEST_TMPDIR/x.csv.gz"
	awss3 cp "$BATS_TEST_TMPDIR/x.csv.gz" "s3://flows/byaws/cluster=lab/date=2026-12-04/hour=10/from-awscli.csv.gz" >/dev/null
	run ni-replay s3://flows/byaws
	assert_success
	assert_equal "${#lines[@]}" 51
	assert_equal "$output" "$(gen_flows 50)"
}

@test "--interval and --max-size cut objects; nothing is lost either way" {
	gen_flows 600 1 > "$BATS_TEST_TMPDIR/g.csv"
	ni-upload -i 60 -s "$SPOOL" "$BATS_TEST_TMPDIR/b1" < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	assert_equal "$(find "$BATS_TEST_TMPDIR/b1" -type f | wc -l)" 10
	ni-upload -m 4096 -s "$SPOOL" "$BATS_TEST_TMPDIR/b2" < "$BATS_TEST_TMPDIR/g.csv" 2>/dev/null
	n=$(find "$BATS_TEST_TMPDIR/b2" -type f | wc -l)
	assert [ "$n" -gt 10 ]
	for b in b1 b2; do
		ni-replay "$BATS_TEST_TMPDIR/$b" > "$BATS_TEST_TMPDIR/$b.out"
		diff "$BATS_TEST_TMPDIR/g.csv" "$BATS_TEST_TMPDIR/$b.out"
	done
}

@test "wrong secret key: 403 named with a hint, exit 1, spool kept, secret never shown; the next run sends it" {
	need_s3
	AWS_SECRET_ACCESS_KEY=notTheRightOne99 run --separate-stderr \
	    ni-upload -s "$SPOOL" s3://flows/wrong < "$BATS_TEST_TMPDIR/in.csv"
	assert_failure 1
	assert_regex "$stderr" "ni-upload: s3://flows/wrong: PUT wrong/cluster=default/date=[^ ]+\.csv\.gz: 403 SignatureDoesNotMatch(: [^;]*)?; check the secret key \(AWS_SECRET_ACCESS_KEY or the credentials file\)"
	assert_regex "$stderr" "ni-upload: [0-9]+ objects kept in $SPOOL/ready; run ni-upload again to send them"
	refute_regex "$stderr" "notTheRightOne99|niTestSecret123"
	assert [ "$(find "$SPOOL/ready" -name '*.csv.gz' | wc -l)" -gt 0 ]
	run awss3 ls --recursive s3://flows/wrong/
	assert_output ""
	# right key, no new input: the spool drains, everything once
	run --separate-stderr ni-upload -s "$SPOOL" s3://flows/wrong < /dev/null
	assert_success
	ni-replay s3://flows/wrong > "$BATS_TEST_TMPDIR/out.csv"
	diff <(sorted_flows "$BATS_TEST_TMPDIR/in.csv") <(sorted_flows "$BATS_TEST_TMPDIR/out.csv")
}

@test "a missing bucket and missing credentials are clear errors" {
	need_s3
	run --separate-stderr ni-upload -s "$SPOOL" s3://no-such-bucket/x < "$BATS_TEST_TMPDIR/in.csv"
	assert_failure 1
	assert_regex "$stderr" "404 NoSuchBucket.*; create the bucket first, or check its name"
	run --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	    ni-upload -s "$SPOOL" s3://flows/x < /dev/null
	assert_failure 1
	assert_equal "$stderr" "ni-upload: s3://flows/x: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile [default] in /dev/null"
}

@test "credentials from a shared credentials file profile" {
	need_s3
	printf '[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$BATS_TEST_TMPDIR/creds"
	run --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	    AWS_SHARED_CREDENTIALS_FILE="$BATS_TEST_TMPDIR/creds" \
	    ni-upload -p other -s "$SPOOL" s3://flows/profile < "$BATS_TEST_TMPDIR/in.csv"
	assert_success
	assert_regex "$stderr" " 697 flows, "
}

@test "the server stopped mid-run and started again: the spool drains, nothing lost or doubled" {
	need_s3
	gen_flows 300 1 > "$BATS_TEST_TMPDIR/g.csv"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	ni-upload -i 10 -l 0 -r 2 -s "$SPOOL" s3://flows/outage < "$BATS_TEST_TMPDIR/fifo" \
	    2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	sed -n '1,101p' "$BATS_TEST_TMPDIR/g.csv" >&7
	sleep 1
	"$NI_SRCDIR/tests/s3-server.sh" stop-gateway "$S3_DIR"
	sed -n '102,201p' "$BATS_TEST_TMPDIR/g.csv" >&7
	# sealed objects wait in the spool while the store is down
	for i in $(seq 50); do
		[ "$(find "$SPOOL/ready" -name '*.csv.gz' 2>/dev/null | wc -l)" -gt 0 ] && break
		sleep 0.1
	done
	assert [ "$(find "$SPOOL/ready" -name '*.csv.gz' | wc -l)" -gt 0 ]
	"$NI_SRCDIR/tests/s3-server.sh" start-gateway "$S3_DIR"
	sed -n '202,$p' "$BATS_TEST_TMPDIR/g.csv" >&7
	exec 7>&-
	rc=0
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "exit $rc: $(cat "$BATS_TEST_TMPDIR/err")"
	assert_equal "$(find "$SPOOL/ready" -name '*.csv.gz' | wc -l)" 0
	ni-replay s3://flows/outage > "$BATS_TEST_TMPDIR/out.csv"
	diff "$BATS_TEST_TMPDIR/g.csv" "$BATS_TEST_TMPDIR/out.csv"
}

@test "killed with SIGKILL mid-run, then restarted: the accepted flows are stored once" {
	need_s3
	gen_flows 400 1 > "$BATS_TEST_TMPDIR/g.csv"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	ni-upload -i 60 -s "$SPOOL" s3://flows/killed < "$BATS_TEST_TMPDIR/fifo" 2>/dev/null &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	sed -n '1,151p' "$BATS_TEST_TMPDIR/g.csv" >&7
	# wait until the 150 flows are accepted: on disk in the spool
	for i in $(seq 200); do
		n=$(cat "$SPOOL"/open/*/*.csv 2>/dev/null | grep -vc '^start,' || true)
		[ "$n" -ge 150 ] && break
		sleep 0.05
	done
	assert_equal "$n" 150
	kill -9 $pid
	wait $pid || true
	exec 7>&-
	# a new run recovers the open segments and takes the rest of the input
	run --separate-stderr ni-upload -i 60 -s "$SPOOL" s3://flows/killed < <(sed -n '152,$p' "$BATS_TEST_TMPDIR/g.csv" | sed '1i start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state')
	assert_success
	assert_regex "$stderr" "recovered [0-9]+ flows left by an earlier run"
	ni-replay s3://flows/killed > "$BATS_TEST_TMPDIR/out.csv"
	diff "$BATS_TEST_TMPDIR/g.csv" "$BATS_TEST_TMPDIR/out.csv"
}

@test "a full spool disk is reported by name and exit status, not silent" {
	need_root
	mkdir "$BATS_TEST_TMPDIR/small"
	mount -t tmpfs -o size=64k tmpfs "$BATS_TEST_TMPDIR/small"
	TMPFS=$BATS_TEST_TMPDIR/small
	gen_flows 5000 1 > "$BATS_TEST_TMPDIR/g.csv"
	run --separate-stderr ni-upload -i 86400 -s "$TMPFS/spool" "$BATS_TEST_TMPDIR/bucket" < "$BATS_TEST_TMPDIR/g.csv"
	assert_failure 1
	assert_regex "$stderr" "ni-upload: $TMPFS/spool/[^ ]+: No space left on device"
	assert_regex "$stderr" "were not accepted"
}

@test "malformed lines are reported with their line number and skipped; the rest is stored" {
	{ gen_flows 5; echo "2026-12-04T10:00:09Z,oops"; gen_flows 3 1 100 | tail -n +2; } > "$BATS_TEST_TMPDIR/m.csv"
	run --separate-stderr ni-upload -s "$SPOOL" "$BATS_TEST_TMPDIR/bucket" < "$BATS_TEST_TMPDIR/m.csv"
	assert_failure 1
	assert_output ""
	assert_regex "$stderr" "ni-upload: stdin:7: 2 fields, header has 14"
	assert_regex "$stderr" "ni-upload: stdin: 1 malformed line skipped"
	run ni-replay "$BATS_TEST_TMPDIR/bucket"
	assert_equal "${#lines[@]}" 9
}

@test "usage and --help" {
	run ni-upload --help
	assert_success
	assert_line --index 0 --partial "usage: ni-upload"
	run --separate-stderr ni-upload
	assert_failure 1
	run --separate-stderr ni-upload -i 0 x
	assert_failure 1
	assert_equal "$stderr" "ni-upload: -i 0: too small (1 to 86400)"
}
