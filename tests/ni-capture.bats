#!/usr/bin/env bats
# ni-capture on the real captures of ../shared/data/pcap, and live in network namespaces.
bats_require_minimum_version 1.5.0

setup() {
	load test_helper
}

teardown() {
	netns_cleanup
}

# ni-capture and tshark must agree on every TCP and UDP conversation.
same_as_tshark() {
	local f
	f=$(data "pcap/$1")
	need tshark
	"$NI_SRCDIR/tests/tshark-sums.sh" "$f" > "$BATS_TEST_TMPDIR/tshark"
	ni-capture -r "$f" > "$BATS_TEST_TMPDIR/flows"
	"$NI_SRCDIR/tests/flow-sums.sh" "$BATS_TEST_TMPDIR/flows" > "$BATS_TEST_TMPDIR/ours"
	[ -s "$BATS_TEST_TMPDIR/tshark" ] || fail "tshark found no conversation in $1"
	diff -u "$BATS_TEST_TMPDIR/tshark" "$BATS_TEST_TMPDIR/ours" ||
	    fail "$1: per-conversation packets/bytes differ from tshark"
}

@test "one HTTP conversation: exact flow line" {
	run ni-capture -r "$(data pcap/zeek/http-vlan-0.pcap)"
	assert_success
	assert_output "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state,vlan,app
2013-03-07T21:42:06.869344Z,2013-03-07T21:42:07.080972Z,tcp,141.142.228.5,59856,192.150.187.43,80,7,512,7,5379,FSPA,FSPA,closed,0,http:bro.org"
}

@test "tshark agrees: Ethernet with 802.1Q, QinQ and MPLS" {
	same_as_tshark zeek/http-vlan-0.pcap
	same_as_tshark zeek/vlan-qinqinq.pcap
	same_as_tshark zeek/mpls-in-vlan.pcap
}

@test "tshark agrees: IPv6, extension headers and IPv6 fragments" {
	same_as_tshark zeek/communityid/ipv6.pcap
	same_as_tshark zeek/ipv6-fragmented-dns.pcap
	same_as_tshark suricata-verify/tests/ipv6-evasion/ipv6-dos-with-ext-headers-6/denial6-6.pcap
}

@test "tshark agrees: IPv4 fragments are counted into their flow" {
	same_as_tshark zeek/ipv4/fragmented-1.pcap
	same_as_tshark nDPI/ip_fragmented_garbage.pcap
}

@test "Linux SLL2 with ICMP and ICMPv6 on several interfaces" {
	run ni-capture -r "$(data pcap/zeek/linux_dlt_sll2.pcap)"
	assert_success
	assert_line --regexp ',icmp,'
	assert_line --regexp ',icmp6,'
}

@test "tshark agrees: Linux SLL and SLL2, NFLOG, BSD loopback, PPPoE, raw IP" {
	same_as_tshark tcpdump/tcp-handshake-nano.pcap
	same_as_tshark zeek/tls/openjdk-25.0.2-zeek.org.pcap
	same_as_tshark zeek/nflog-http.pcap
	same_as_tshark tcpdump/nflog.pcap
	same_as_tshark tcpdump/dns-badcookie.pcap
	same_as_tshark zeek/tunnels/socks.pcap
	same_as_tshark zeek/pppoe.pcap
	same_as_tshark tcpdump/LINKTYPE_RAW_ipv6.pcap
	same_as_tshark tcpdump/LINKTYPE_IPV4.pcap
}

@test "tshark agrees: big-endian file, pcapng, and busy real traffic" {
	same_as_tshark tcpdump/pptp.pcap
	same_as_tshark nDPI/alexa-app.pcapng
	same_as_tshark nDPI/1kxun.pcap
	same_as_tshark nDPI/gnutella.pcap
	same_as_tshark bro-simple-scan/backscatter.trace
	same_as_tshark zeek/var-services-std-ports.pcap
}

@test "tshark agrees on a gzip-compressed capture of 500 connections" {
	same_as_tshark zeek/echo-connections.pcap.gz
	run grep -c ',closed,' "$BATS_TEST_TMPDIR/flows"
	assert_output 500
}

@test "every capture, broken ones included, is read without a crash or a hang" {
	local f rc n=0
	while IFS= read -r f; do
		n=$((n + 1))
		rc=0
		timeout 30 ni-capture -S -r "$f" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || rc=$?
		[ $rc -le 1 ] || fail "$f: exit $rc: $(cat "$BATS_TEST_TMPDIR/err")"
		head -1 "$BATS_TEST_TMPDIR/out" | grep -q '^start,end,proto' || fail "$f: no header"
		if [ $rc = 1 ]; then
			grep -q "^ni-capture: $f: " "$BATS_TEST_TMPDIR/err" || fail "$f: exit 1 without naming the file"
		fi
	done < <(find "$NI_DATA/pcap" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.trace' -o -name '*.gz' \) | sort)
	[ $n -gt 60 ] || fail "only $n captures found"
}

@test "a truncated capture: clear message, exit 1, the flows before the damage kept" {
	local f
	f=$(data pcap/nDPI/1kxun.pcap)
	head -c 300000 "$f" > "$BATS_TEST_TMPDIR/cut.pcap"
	run --separate-stderr ni-capture -r "$BATS_TEST_TMPDIR/cut.pcap"
	assert_failure 1
	assert_regex "$stderr" "^ni-capture: $BATS_TEST_TMPDIR/cut.pcap: truncated dump file; tried to read [0-9]+ captured bytes, only got [0-9]+; the flows before this point are written\$"
	# every packet before the damage is in the flows, as tshark reads them
	need tshark
	"$NI_SRCDIR/tests/flow-sums.sh" <<< "$output" > "$BATS_TEST_TMPDIR/ours"
	"$NI_SRCDIR/tests/tshark-sums.sh" "$BATS_TEST_TMPDIR/cut.pcap" > "$BATS_TEST_TMPDIR/tshark"
	assert [ "$(wc -l < "$BATS_TEST_TMPDIR/ours")" -gt 30 ]
	diff -u "$BATS_TEST_TMPDIR/tshark" "$BATS_TEST_TMPDIR/ours"
	mapped=$output mapped_err=${stderr#*cut.pcap: }
	# through a pipe libpcap reads the records itself: same flows, same words
	run --separate-stderr ni-capture -r - < "$BATS_TEST_TMPDIR/cut.pcap"
	assert_failure 1
	assert_equal "$stderr" "ni-capture: stdin: $mapped_err"
	assert_equal "$output" "$mapped"
}

@test "the nDPI fuzz capture cut mid-record is reported, not crashed on" {
	run --separate-stderr ni-capture -r "$(data pcap/nDPI/fuzz-2021-10-13.pcap)"
	assert_failure 1
	assert_equal "$stderr" "ni-capture: $NI_DATA/pcap/nDPI/fuzz-2021-10-13.pcap: truncated dump file; tried to read 16 header bytes, only got 2; the flows before this point are written"
}

@test "an unsupported link type is named, and the other files are still read" {
	run --separate-stderr ni-capture -r "$(data pcap/tcpdump/LINKTYPE_PKTAP.pcap)" "$(data pcap/zeek/http-vlan-0.pcap)"
	assert_failure 1
	assert_equal "$stderr" "ni-capture: $NI_DATA/pcap/tcpdump/LINKTYPE_PKTAP.pcap: link type PKTAP (258) is not supported; ni-capture(1) lists the ones that are"
	assert_line --index 1 --partial "141.142.228.5,59856,192.150.187.43,80"
}

@test "invalid savefile headers get libpcap's reason" {
	run --separate-stderr ni-capture -r "$(data pcap/libpcap/pcap-invalid-version-1.pcap)"
	assert_failure 1
	assert_equal "$stderr" "ni-capture: $NI_DATA/pcap/libpcap/pcap-invalid-version-1.pcap: archaic pcap savefile format"
	run --separate-stderr ni-capture -r "$(data pcap/libpcap/shb-option-too-long.pcapng)"
	assert_failure 1
	assert_equal "$stderr" "ni-capture: $NI_DATA/pcap/libpcap/shb-option-too-long.pcapng: block total length in header and trailer don't match"
	run --separate-stderr ni-capture -r /nonexistent.pcap
	assert_failure 1
	assert_equal "$stderr" "ni-capture: /nonexistent.pcap: No such file or directory"
}

@test "an empty capture still yields the header" {
	run ni-capture -r "$(data pcap/zeek/empty.pcap)"
	assert_success
	assert_output "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state,vlan,app"
}

@test "stdin and a file give the same flows" {
	local f
	f=$(data pcap/nDPI/gnutella.pcap)
	ni-capture -r "$f" > "$BATS_TEST_TMPDIR/a"
	ni-capture -r - < "$f" > "$BATS_TEST_TMPDIR/b"
	cat "$f" | ni-capture -r > "$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
}

@test "nanosecond and microsecond files give the same microsecond times as tshark" {
	local f
	need tshark
	for f in tcpdump/tcp-handshake-nano.pcap tcpdump/pptp.pcap; do
		f=$(data "pcap/$f")
		first=$(tshark -r "$f" -T fields -e frame.time_epoch -c 1 2>/dev/null)
		want=$(date -u -d "@${first%.*}" +%Y-%m-%dT%H:%M:%S).$(printf '%.6s' "${first#*.}")Z
		run ni-capture -r "$f"
		assert_line --index 1 --regexp "^$want,"
	done
}

@test "protocol parameters: DNS query name, TLS server name, HTTP Host" {
	run ni-capture -r "$(data pcap/zeek/communityid/udp.pcap)"
	assert_line --index 1 --regexp ',udp,192\.168\.1\.52,54585,8\.8\.8\.8,53,.*,established,,dns:google\.com$'
	run ni-capture -r "$(data pcap/zeek/tls/openjdk-25.0.2-zeek.org.pcap)"
	assert_line --index 1 --regexp ',tls:zeek\.org$'
	run ni-capture -r "$(data pcap/zeek/nflog-http.pcap)"
	assert_line --index 1 --regexp ',http:www\.example\.net$'
	run ni-capture -N -r "$(data pcap/zeek/nflog-http.pcap)"
	assert_line --index 1 --regexp ',$'
}

@test "states tell attempted, rejected, half-open, reset and closed apart" {
	run ni-capture -r "$(data pcap/nDPI/synscan.pcap)"
	assert_success
	# nmap SYN scan of 64.13.134.52: mostly unanswered, a few RSTs, a few open
	[ "$(grep -c ',attempted,' <<< "$output")" -eq 1986 ]
	[ "$(grep -c ',rejected,' <<< "$output")" -eq 5 ]
	[ "$(grep -c ',half-open,' <<< "$output")" -eq 3 ]
	run ni-capture -r "$(data pcap/nDPI/tcp_scan.pcapng)"
	assert_line --regexp ',S,RA,rejected,'
	assert_line --regexp ',reset,'
	run ni-capture -r "$(data pcap/tcpdump/tcp-handshake-nano.pcap)"
	assert_line --index 1 --regexp ',SA,SA,established,'
	run ni-capture -r "$(data pcap/zeek/http-vlan-0.pcap)"
	assert_line --index 1 --partial ',FSPA,FSPA,closed,'
}

@test "ICMP echo request and reply are one flow" {
	run ni-capture -r "$(data pcap/zeek/communityid/icmp.pcap)"
	assert_success
	assert_line --index 1 --regexp ',icmp,192\.168\.0\.89,8,192\.168\.0\.1,0,8,480,4,240,,,established,,$'
}

@test "--max-flows evicts the least recent flow and counts it; nothing is lost" {
	local f
	f=$(data pcap/nDPI/1kxun.pcap)
	ni-capture -r "$f" | "$NI_SRCDIR/tests/flow-sums.sh" > "$BATS_TEST_TMPDIR/all"
	run --separate-stderr ni-capture -S -m 10 -r "$f"
	assert_success
	assert_regex "$stderr" 'flows written \([0-9]+ idle, 0 active timeout, [0-9]+ ended, [1-9][0-9]* evicted'
	"$NI_SRCDIR/tests/flow-sums.sh" <<< "$output" > "$BATS_TEST_TMPDIR/capped"
	cmp "$BATS_TEST_TMPDIR/all" "$BATS_TEST_TMPDIR/capped"
}

@test "idle and active timeouts split long conversations" {
	local f
	f=$(data pcap/zeek/var-services-std-ports.pcap)
	run --separate-stderr ni-capture -S -r "$f"
	n_default=$(( ${#lines[@]} - 1 ))
	run --separate-stderr ni-capture -S -I 1 -r "$f"
	assert_regex "$stderr" 'flows written \([0-9]+ idle'
	assert [ $(( ${#lines[@]} - 1 )) -gt "$n_default" ]
	run --separate-stderr ni-capture -S -A 1 -r "$(data pcap/zeek/echo-connections.pcap.gz)"
	assert_regex "$stderr" '[1-9][0-9]* active timeout'
}

@test "a BPF filter selects packets in files too" {
	run ni-capture -f 'udp' -r "$(data pcap/nDPI/1kxun.pcap)"
	assert_success
	refute_line --partial ',tcp,'
	assert_line --partial ',udp,'
	run --separate-stderr ni-capture -f 'nonsense(' -r "$(data pcap/nDPI/1kxun.pcap)"
	assert_failure 1
	assert_regex "$stderr" "^ni-capture: .*1kxun.pcap: filter \"nonsense\(\": "
}

@test "usage, --help and --version" {
	run ni-capture --help
	assert_success
	assert_line --index 0 --partial "usage: ni-capture"
	run ni-capture --version
	assert_success
	assert_output --regexp '^ni-capture [0-9]+\.[0-9]+\.[0-9]+ \(libpcap version'
	run --separate-stderr ni-capture
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "ni-capture: give either -r with capture files or -i with an interface"
	run --separate-stderr ni-capture -m 0 -r x
	assert_failure 1
	assert_equal "$stderr" "ni-capture: -m 0: too small (1 to 1073741823)"
}

@test "live: an HTTP request and a UDP probe between two namespaces show up as flows" {
	need_root
	need curl
	netns_pair 7
	ip netns exec "$NS_B" python3 -m http.server --bind 10.244.7.2 8080 >/dev/null 2>&1 &
	NI_PIDS="$!"
	ip netns exec "$NS_A" ni-capture -i "$IF_A" > "$BATS_TEST_TMPDIR/live" 2> "$BATS_TEST_TMPDIR/err" &
	cap=$!
	NI_PIDS="$NI_PIDS $cap"
	wait_for "$BATS_TEST_TMPDIR/err" "listening on $IF_A" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
	for i in $(seq 50); do
		ip netns exec "$NS_A" curl -sf -o /dev/null -H 'Host: shop.test' http://10.244.7.2:8080/ && break
		sleep 0.1
	done
	ip netns exec "$NS_A" bash -c 'echo probe > /dev/udp/10.244.7.2/9999'
	sleep 0.5
	kill -TERM "$cap"
	wait "$cap"
	run cat "$BATS_TEST_TMPDIR/live"
	assert_line --regexp ',tcp,10\.244\.7\.1,[0-9]+,10\.244\.7\.2,8080,[0-9]+,[0-9]+,[0-9]+,[0-9]+,FSPA,FSPA,closed,,http:shop\.test$'
	# the ICMP port unreachable is linked to the probe it answers
	assert_line --regexp ',udp,10\.244\.7\.1,[0-9]+,10\.244\.7\.2,9999,1,34,0,0,,,rejected,,$'
	assert_line --regexp ',icmp,10\.244\.7\.2,3,10\.244\.7\.1,3,1,'
}

@test "live: idle flows are written while the capture runs, as user nobody" {
	need_root
	netns_pair 8
	ip netns exec "$NS_A" ni-capture -I 1 -u nobody -i "$IF_A" icmp > "$BATS_TEST_TMPDIR/live" 2> "$BATS_TEST_TMPDIR/err" &
	cap=$!
	NI_PIDS="$cap"
	wait_for "$BATS_TEST_TMPDIR/err" "listening on $IF_A" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
	# the filter applies and privileges are dropped once the capture is open
	assert_equal "$(awk '/^Uid:/ {print $2}' /proc/$cap/status)" "$(id -u nobody)"
	ip netns exec "$NS_A" ping -c 2 -i 0.2 10.244.8.2 >/dev/null
	wait_for "$BATS_TEST_TMPDIR/live" ',icmp,10.244.8.1,8,10.244.8.2,0,2,168,2,168,,,established' 5 ||
	    fail "no flow written within 5 s of going idle: $(cat "$BATS_TEST_TMPDIR/live")"
	kill -0 "$cap"
	kill -TERM "$cap"
	wait "$cap"
}

@test "live: a missing interface is a clear error" {
	need_root
	run --separate-stderr ni-capture -i ni-no-such-if0
	assert_failure 1
	assert_regex "$stderr" "^ni-capture: ni-no-such-if0: .*(No such device|doesn't exist)"
}

@test "files given out of time order: each file's flows as if it were read alone" {
	local a b
	a=$(data pcap/zeek/echo-connections.pcap.gz) b=$(data pcap/nDPI/1kxun.pcap)
	{ ni-capture -r "$b"; ni-capture -r "$a" | tail -n +2; } | sort > "$BATS_TEST_TMPDIR/apart"
	ni-capture -r "$b" "$a" | sort > "$BATS_TEST_TMPDIR/together"
	diff "$BATS_TEST_TMPDIR/apart" "$BATS_TEST_TMPDIR/together"
}

@test "Community ID: the same IDs as Zeek's baselines, TCP, UDP, ICMP, ICMPv6, IPv6, SCTP" {
	local f
	for f in tcp udp icmp icmp6 ipv6 sctp; do
		grep -o '1:[A-Za-z0-9+/=]*$' "$(data "pcap/zeek/communityid/expected/$f.pcap.out")" |
		    sort -u > "$BATS_TEST_TMPDIR/zeek"
		ni-capture -c -r "$(data "pcap/zeek/communityid/$f.pcap")" |
		    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "community_id") c = i; next } { print $c }' |
		    sort -u > "$BATS_TEST_TMPDIR/ours"
		[ -s "$BATS_TEST_TMPDIR/zeek" ] || fail "$f: empty baseline"
		diff "$BATS_TEST_TMPDIR/zeek" "$BATS_TEST_TMPDIR/ours" || fail "$f: Community IDs differ from Zeek's"
	done
	# a seed changes every ID (Zeek's community_id_v1(conn, 1) style)
	run ni-capture -z 1 -r "$(data pcap/zeek/communityid/tcp.pcap)"
	assert_line --index 0 --partial ",app,community_id"
	refute_output --partial "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
}
