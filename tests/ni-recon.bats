#!/usr/bin/env bats
# ni-recon: real scan captures find their scanner and nothing else; quiet
# captures stay quiet; rules, intel, streaming and partitioning.
bats_require_minimum_version 1.5.0

setup() {
	load test_helper
}

teardown() {
	netns_cleanup
}

# recon CAPTURE OPTIONS...: the findings, header dropped
recon() {
	local f
	f=$(data "pcap/$1")
	shift
	ni-capture -r "$f" | ni-recon "$@" | tail -n +2
}

# 40 peers each send about 1 MB in 200 flows to 10.244.1.5:443; 203.0.113.7
# sends 800 MB, 192.0.2.99 makes 5000 requests (made-up, for the rules).
volume_flows() {
	awk 'BEGIN {
	print "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state"
	for (p = 1; p <= 40; p++) for (i = 0; i < 200; i++)
		printf "2026-12-04T10:0%d:%02d.%06dZ,2026-12-04T10:0%d:%02d.%06dZ,tcp,198.51.100.%d,%d,10.244.1.5,443,10,%d,8,900,FSPA,FSPA,closed\n", i % 5, i % 60, p, i % 5, i % 60, p + 1, p, 40000 + i, 5000 + (p * 37 + i) % 400
	for (i = 0; i < 100; i++)
		printf "2026-12-04T10:02:%02d.5Z,2026-12-04T10:02:%02d.9Z,tcp,203.0.113.7,%d,10.244.1.5,443,6000,8000000,3000,150000,FSPA,FSPA,closed\n", i % 60, i % 60, 50000 + i
	for (i = 0; i < 5000; i++)
		printf "2026-12-04T10:03:%02d.%06dZ,2026-12-04T10:03:%02d.%06dZ,tcp,192.0.2.99,%d,10.244.1.5,443,3,200,2,300,FSPA,FSPA,closed\n", i % 60, i, i % 60, i + 1, 1024 + i
	}'
}

@test "each scan capture: one finding, for the scanner, of the right kind" {
	local line
	# capture | cluster and thresholds (those of the peer's expected run
	# where it has one) | scanner | kind
	while IFS='|' read -r cap opts who kind; do
		run recon $cap $opts
		assert_success
		[ "${#lines[@]}" = 1 ] || fail "$cap: ${#lines[@]} findings: $output"
		IFS=, read -r t card k sev score subj rest <<< "${lines[0]}"
		[ "$card,$k,$subj" = "recon,$kind,$who" ] ||
		    fail "$cap: found $card,$k,$subj, expected recon,$kind,$who"
	done <<'CASES'
nDPI/synscan.pcap|-C 64.13.134.52/32|172.16.0.8|port-scan
nDPI/tcp_scan.pcapng|-z 5 -C 192.168.1.2/32|192.168.1.178|port-scan
bro-simple-scan/port_scan.pcap|-z 5 -C 192.168.2.22/32|192.168.2.154|port-scan
bro-simple-scan/445_scan.pcap|-C 192.168.0.0/16,10.10.0.0/16|176.192.150.3|address-scan
bro-simple-scan/multiport_scan.pcap|-C 192.168.0.0/16,10.10.0.0/16|125.27.226.209|address-scan
bro-simple-scan/scan_with_zero_windows.pcap|-Z 5 -C 10.0.0.0/24,!10.0.0.1|10.0.0.1|address-scan
sgr-pcaphunt/hs-udpScan.pcap|-C 246.237.0.0/16,!246.237.45.150|246.237.45.150|address-scan
sgr-pcaphunt/hs-icmpScan.pcap|-C 10.0.0.0/24,!10.0.0.128|10.0.0.128|address-scan
sgr-pcaphunt/hs-tcp_synPingSweepRand.pcapng|-C 10.0.0.0/24,!10.0.0.128|10.0.0.128|address-scan
sgr-pcaphunt/hs-tcp_ackPingSweepRand.pcapng|-C 10.0.0.0/24,!10.0.0.128|10.0.0.128|address-scan
zeek/nmap-vsn.pcap|-Z 5 -C 192.168.1.0/24,!192.168.1.71|192.168.1.71|address-scan
CASES
}

@test "captures that must stay quiet: backscatter, P2P fan-out, many connections" {
	run recon bro-simple-scan/backscatter.trace -C 192.150.0.0/16
	assert_output ""
	run recon nDPI/gnutella.pcap -C 10.0.2.15/32
	assert_output ""
	run recon zeek/echo-connections.pcap.gz -C 127.0.0.1/32
	assert_output ""
	run recon nDPI/1kxun.pcap
	assert_output ""
	run recon zeek/var-services-std-ports.pcap
	assert_output ""
}

@test "the finding: MITRE id, threshold and evidence a person can judge" {
	run recon nDPI/synscan.pcap -C 64.13.134.52/32
	IFS=, read -r t card kind sev score subj cp intel feeds mitre first last flows pkts bytes targets rest <<< "$output"
	assert_equal "$mitre" T1046
	assert_equal "$cp" 64.13.134.52
	assert_equal "$targets" 15
	assert_regex "$output" '"15 ports on one host >= 15, mostly failed","TCP vertical scan: 1 hosts, 15 ports, 15 targets; 14 of 15 first contacts failed'
	[[ "$first" < "$t" || "$first" = "$t" ]]
	run recon bro-simple-scan/445_scan.pcap -C 192.168.0.0/16,10.10.0.0/16
	assert_regex "$output" ',T1595\.001,.*,445,"TRW ratio 256 >= 99'
}

@test "threat intelligence: a listed peer crosses lower thresholds, with a higher score" {
	# the scanner given a public address: feeds never list private ones
	ni-capture -r "$(data pcap/bro-simple-scan/port_scan.pcap)" |
	    sed 's/192\.168\.2\.154/198.51.100.154/g' > "$BATS_TEST_TMPDIR/f.csv"
	# 10 ports: under the default 15 of one host
	run ni-recon -C 192.168.2.22/32 "$BATS_TEST_TMPDIR/f.csv"
	assert_output "$(ni-recon -C 192.168.2.22/32 < /dev/null)"
	printf '198.51.100.154\n' > "$BATS_TEST_TMPDIR/scanners.txt"
	printf 'scanner %s/scanners.txt lab-scanners\n' "$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/feeds.conf"
	run ni-recon -C 192.168.2.22/32 -I "$BATS_TEST_TMPDIR/feeds.conf" "$BATS_TEST_TMPDIR/f.csv"
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[1]}" ',recon,port-scan,(high|critical),[0-9]+,198\.51\.100\.154,192\.168\.2\.22,scanner,lab-scanners,T1046,'
	# the same from columns that ni-intel enrich added
	run ni-recon -C 192.168.2.22/32 <(ni-intel -c "$BATS_TEST_TMPDIR/feeds.conf" enrich "$BATS_TEST_TMPDIR/f.csv")
	assert_regex "${lines[1]}" ',198\.51\.100\.154,192\.168\.2\.22,scanner,lab-scanners,T1046,'
}

@test "inbound volume and request floods: against the median of the service's peers" {
	volume_flows > "$BATS_TEST_TMPDIR/v.csv"
	run ni-recon -C 10.244.0.0/16 "$BATS_TEST_TMPDIR/v.csv"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --regexp '^2026-12-04T10:05:00\.000000Z,recon,inbound-volume,[a-z]+,[0-9]+,203\.0\.113\.7,10\.244\.1\.5:443/tcp,,,T1498,.*,"bytes 800000000 >= [0-9]+ \(floor 104857600, median [0-9]+ \+ 10 x MAD [0-9]+ of 42 peers\)"'
	assert_line --regexp '^2026-12-04T10:05:00\.000000Z,recon,request-flood,[a-z]+,[0-9]+,192\.0\.2\.99,10\.244\.1\.5:443/tcp,,,T1499,.*,"requests 5000 >= 1000 '
	# a busy service: the same peers, all ten times bigger, stay unremarkable
	# as long as nobody stands out -- and the floors keep small ones quiet
	run ni-recon -C 10.244.0.0/16 -b 1G -q 100000 "$BATS_TEST_TMPDIR/v.csv"
	assert_output "$(ni-recon < /dev/null)"
}

@test "streaming: a scan is reported while the input is still open" {
	ni-capture -r "$(data pcap/nDPI/synscan.pcap)" > "$BATS_TEST_TMPDIR/f.csv"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	ni-recon -C 64.13.134.52/32 < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	head -100 "$BATS_TEST_TMPDIR/f.csv" >&7
	# flushed when the input waits, not at its end
	wait_for "$BATS_TEST_TMPDIR/out" ',recon,port-scan,' 10 || fail "nothing before the end of input"
	kill -0 $pid
	exec 7>&-
	wait $pid
	assert_equal "$(grep -c ',recon,' "$BATS_TEST_TMPDIR/out")" 1
}

@test "flows split by a hash of the external address give the same scan findings" {
	local f
	for f in nDPI/synscan.pcap sgr-pcaphunt/hs-icmpScan.pcap bro-simple-scan/445_scan.pcap nDPI/gnutella.pcap; do
		ni-capture -r "$(data "pcap/$f")"
	done | awk 'NR == 1 || !/^start,/' > "$BATS_TEST_TMPDIR/all.csv"
	opts="-C 64.13.134.52/32,10.0.0.0/24,!10.0.0.128,192.168.0.0/16,10.0.2.15/32"
	ni-recon $opts "$BATS_TEST_TMPDIR/all.csv" | tail -n +2 | sort > "$BATS_TEST_TMPDIR/one"
	assert [ "$(wc -l < "$BATS_TEST_TMPDIR/one")" -ge 3 ]
	# the external side is src here (ni-recon keys by the initiator outside)
	awk -F, -v d="$BATS_TEST_TMPDIR" 'NR == 1 { for (i = 0; i < 3; i++) print > (d "/part" i); next }
	    { h = 0; for (i = 1; i <= length($4); i++) h = (h * 31 + index("0123456789abcdef.:", substr($4, i, 1))) % 3
	      print >> (d "/part" h) }' "$BATS_TEST_TMPDIR/all.csv"
	for i in 0 1 2; do
		ni-recon $opts "$BATS_TEST_TMPDIR/part$i" | tail -n +2
	done | sort > "$BATS_TEST_TMPDIR/split"
	diff "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/split"
}

@test "state is bounded: --max-peers drops the least recent peer and says so" {
	run --separate-stderr ni-recon -P 2 -C 10.0.2.15/32 <(ni-capture -r "$(data pcap/nDPI/gnutella.pcap)")
	assert_success
	assert_regex "$stderr" '^ni-recon: [0-9]+ peers evicted to stay within --max-peers 2$'
}

@test "usage and errors" {
	run ni-recon --help
	assert_success
	assert_line --index 0 --partial "usage: ni-recon"
	run --separate-stderr ni-recon -C 10.0.0.0/33
	assert_failure 1
	assert_equal "$stderr" "ni-recon: -C 10.0.0.0/33: prefix length too large"
}

@test "live: nmap (SYN, connect, UDP), masscan, hping3 and a slow scan are found; a benign client is not" {
	need_root
	need nmap
	need masscan
	need hping3
	need curl
	local n=11 net=10.244.11 i
	netns_pair $n
	# the cluster: four hosts in B; the outside: scanners and a client in A
	for i in 130 131 132 133; do
		ip -n "$NS_B" addr add "$net.$i/32" dev "$IF_B"
	done
	for i in 3 4 5 6 7 8; do
		ip -n "$NS_A" addr add "$net.$i/32" dev "$IF_A"
	done
	ip netns exec "$NS_B" python3 -m http.server --bind "$net.130" 8080 >/dev/null 2>&1 3>&- &
	NI_PIDS=$!
	ip netns exec "$NS_B" ni-capture -i "$IF_B" > "$BATS_TEST_TMPDIR/flows.csv" 2> "$BATS_TEST_TMPDIR/cap.err" 3>&- &
	cap=$!
	NI_PIDS="$NI_PIDS $cap"
	wait_for "$BATS_TEST_TMPDIR/cap.err" "listening on" || fail "$(cat "$BATS_TEST_TMPDIR/cap.err")"
	# a benign client, before and between the scans
	for i in $(seq 20); do
		ip netns exec "$NS_A" curl -sf -o /dev/null --interface "$net.3" "http://$net.130:8080/" || true
	done
	# bounded in count and rate, all inside the namespaces
	ip netns exec "$NS_A" nmap -n -Pn -sS -p 1-100 --max-rate 500 -e "$IF_A" -S "$net.1" "$net.130" >/dev/null 2>&1
	ip netns exec "$NS_A" nmap -n -Pn -sT -p 1-60 --max-rate 500 -e "$IF_A" -S "$net.4" "$net.131" >/dev/null 2>&1
	ip netns exec "$NS_A" nmap -n -Pn -sU -p 1-40 --max-retries 1 --max-rate 200 -e "$IF_A" -S "$net.5" "$net.132" >/dev/null 2>&1
	mac=$(ip -n "$NS_B" link show "$IF_B" | awk '/ether/ { print $2 }')
	ip netns exec "$NS_A" timeout -s INT 20 masscan -p1-200 --rate 1000 --wait 1 -e "$IF_A" \
	    --source-ip "$net.6" --router-mac "$mac" "$net.133" >/dev/null 2>&1 || true
	ip netns exec "$NS_A" hping3 -q -S -p ++1 -c 40 -i u10000 -a "$net.7" "$net.131" >/dev/null 2>&1 || true
	# slow: one probe every 0.3 s, which no rate rule sees
	for i in $(seq 1 25); do
		ip netns exec "$NS_A" hping3 -q -S -c 1 -p $((2000 + i)) -a "$net.8" "$net.130" >/dev/null 2>&1 || true
		sleep 0.3
	done
	for i in $(seq 20); do
		ip netns exec "$NS_A" curl -sf -o /dev/null --interface "$net.3" "http://$net.130:8080/" || true
	done
	sleep 1
	kill -TERM $cap
	wait $cap
	run ni-recon -C "$net.128/25" "$BATS_TEST_TMPDIR/flows.csv"
	assert_success
	for i in 1 4 5 6 7 8; do
		assert_line --regexp "^[^,]+,recon,port-scan,[a-z]+,[0-9]+,$net\\.$i,"
	done
	refute_line --partial ",$net.3,"
	assert_equal "${#lines[@]}" 7
	# the UDP scan is seen as UDP, the slow one as slow or vertical
	assert_line --regexp ",$net\\.5,.*\"UDP vertical scan"
}

@test "defaults from the NI_CONFIG file; options still win" {
	printf '# cron defaults\ncluster = 64.13.134.52/32\n' > "$BATS_TEST_TMPDIR/ni.conf"
	ni-capture -r "$(data pcap/nDPI/synscan.pcap)" > "$BATS_TEST_TMPDIR/f.csv"
	NI_CONFIG=$BATS_TEST_TMPDIR/ni.conf run ni-recon "$BATS_TEST_TMPDIR/f.csv"
	assert_line --index 1 --regexp ',recon,port-scan,[a-z]+,[0-9]+,172\.16\.0\.8,64\.13\.134\.52,'
	NI_CONFIG=$BATS_TEST_TMPDIR/ni.conf run ni-recon -C 10.99.0.0/16 "$BATS_TEST_TMPDIR/f.csv"
	assert_equal "${#lines[@]}" 1
	printf 'cluster 10.0.0.0/8\n' > "$BATS_TEST_TMPDIR/bad.conf"
	NI_CONFIG=$BATS_TEST_TMPDIR/bad.conf run --separate-stderr ni-recon "$BATS_TEST_TMPDIR/f.csv"
	assert_failure 1
	assert_equal "$stderr" "ni-recon: $BATS_TEST_TMPDIR/bad.conf:1: expected \"key = value\""
}

@test "partitioned by peer, with the per-service values merged: the same volume findings as one run" {
	volume_flows > "$BATS_TEST_TMPDIR/v.csv"
	ni-recon -C 10.244.0.0/16 "$BATS_TEST_TMPDIR/v.csv" | tail -n +2 | sort > "$BATS_TEST_TMPDIR/one"
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/one")" 2
	awk -F, -v d="$BATS_TEST_TMPDIR" 'NR == 1 { for (i = 0; i < 3; i++) print > (d "/part" i); next }
	    { split($4, o, "."); print >> (d "/part" (o[4] % 3)) }' "$BATS_TEST_TMPDIR/v.csv"
	# alone, a part misjudges its peers: its median is not the service's
	for i in 0 1 2; do
		ni-recon -C 10.244.0.0/16 -Y "$BATS_TEST_TMPDIR/values$i" "$BATS_TEST_TMPDIR/part$i" > /dev/null
	done
	cat "$BATS_TEST_TMPDIR"/values[012] > "$BATS_TEST_TMPDIR/values"
	for i in 0 1 2; do
		ni-recon -C 10.244.0.0/16 -B "$BATS_TEST_TMPDIR/values" "$BATS_TEST_TMPDIR/part$i" | tail -n +2
	done | sort > "$BATS_TEST_TMPDIR/split"
	diff "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/split"
}
