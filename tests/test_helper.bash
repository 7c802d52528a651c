# test_helper.bash -- loaded by every tests/*.bats: assertions, data, network namespaces.

BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
bats_load_library bats-support
bats_load_library bats-assert

# The real captures and feeds of ../shared/data; their absence is a failure,
# not a skip: every claim about real traffic rests on them.
data() {
	local f="$NI_DATA/$1"
	[ -e "$f" ] || fail "missing real test data $f (set NI_SHARED_DATA at configure time)"
	printf '%s\n' "$f"
}

# A skip hides a claim nobody checked; in CI (CI=true) it fails instead.
need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && fail "$1 is needed and not installed"
		skip "$1 not installed"
	fi
}

need_root() {
	if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && fail "needs root and ip netns"
		skip "needs root and ip netns"
	fi
}

# Two network namespaces joined by a veth pair, 10.244.$1.1 and .2:
# "client" ($NS_A, interface $IF_A) and "server" ($NS_B, $IF_B).
netns_pair() {
	local net=$1
	NS_A=ni-a-$$-$net NS_B=ni-b-$$-$net
	IF_A=nia$$$net IF_B=nib$$$net
	IF_A=${IF_A:0:15} IF_B=${IF_B:0:15}
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
	ip -n "$NS_A" addr add "10.244.$net.1/24" dev "$IF_A"
	ip -n "$NS_B" addr add "10.244.$net.2/24" dev "$IF_B"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set "$IF_A" up
	ip -n "$NS_B" link set "$IF_B" up
	# A closed-port probe must get its ICMP answer at once.
	ip netns exec "$NS_B" sysctl -qw net.ipv4.icmp_ratelimit=0
}

netns_cleanup() {
	local pid
	for pid in ${NI_PIDS:-}; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in ${NI_PIDS:-}; do
		wait "$pid" 2>/dev/null || true
	done
	[ -n "${NS_A:-}" ] && ip netns del "$NS_A" 2>/dev/null
	[ -n "${NS_B:-}" ] && ip netns del "$NS_B" 2>/dev/null
	return 0
}

# Waits up to $2 seconds (default 10) for a file to contain a pattern.
wait_for() {
	local file=$1 pattern=$2 tries=$(( ${3:-10} * 10 ))
	while ! grep -q -- "$pattern" "$file" 2>/dev/null; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.1
	done
}

# A real S3 server (Ceph RADOS Gateway) on loopback for this test file, a
# bucket "flows" in it, and the environment the tools and awscli read.
# Call from setup_file; s3_stop from teardown_file.
s3_start() {
	local port
	command -v radosgw >/dev/null || {
		[ "${CI:-}" = true ] && { echo "radosgw is needed" >&2; return 1; }
		export NI_S3_SKIP="radosgw not installed"
		return 0
	}
	for port in $(shuf -i 20000-40000 -n 20); do
		ss -Hltn "sport = :$port or sport = :$((port + 1))" | grep -q . || break
	done
	export S3_DIR=$BATS_FILE_TMPDIR/ceph S3_PORT=$port
	export S3_URL=http://127.0.0.1:$port
	export AWS_ACCESS_KEY_ID=AKIDNITEST AWS_SECRET_ACCESS_KEY=niTestSecret123
	export AWS_REGION=us-east-1 AWS_ENDPOINT_URL=$S3_URL
	# no ~/.aws of the person running the tests may leak in
	export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
	export AWS_EC2_METADATA_DISABLED=true
	"$NI_SRCDIR/tests/s3-server.sh" start "$S3_DIR" "$port" \
	    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null
	aws --endpoint-url "$S3_URL" s3 mb s3://flows >/dev/null
}

s3_stop() {
	[ -n "${S3_DIR:-}" ] && "$NI_SRCDIR/tests/s3-server.sh" stop "$S3_DIR"
	return 0
}

need_s3() {
	[ -z "${NI_S3_SKIP:-}" ] || skip "$NI_S3_SKIP"
}

awss3() {
	aws --endpoint-url "$S3_URL" s3 "$@"
}

# The flows of a bucket (or dir) as sorted lines, header first removed.
sorted_flows() {
	tail -n +2 "$1" | sort
}

# N made-up flows, one every STEP seconds from 2026-12-04T10:00:00Z
# (the storage tests need many distinct windows, not real traffic).
gen_flows() {
	awk -v n="$1" -v step="${2:-1}" -v off="${3:-0}" 'BEGIN {
	print "start,end,proto,src,sport,dst,dport,pkts,bytes,rpkts,rbytes,flags,rflags,state"
	for (i = 0; i < n; i++) {
		t = 36000 + off + i * step
		ts = sprintf("2026-12-04T%02d:%02d:%02d.%06dZ", int(t / 3600), int(t / 60) % 60, t % 60, (i * 7919) % 1000000)
		printf "%s,%s,tcp,10.244.%d.%d,%d,198.51.100.%d,443,%d,%d,%d,%d,SPA,SPA,closed\n", ts, ts, int(i / 250) % 250, i % 250, 1024 + i % 60000, i % 200, 1 + i % 9, 60 + i, 1 + i % 7, 40 + i
	}}'
}

# DuckDB's engine from npm, installed by setup.sh into a cache outside the
# tree (so that distcheck's copy finds it too).
duckdb_q() {
	local dir=${NI_DUCKDB:-$HOME/.cache/netinsights/duckdb}
	cp "$NI_SRCDIR/tests/duckdb-query.mjs" "$dir/q.mjs"
	node "$dir/q.mjs" "$@"
}

need_duckdb() {
	local dir=${NI_DUCKDB:-$HOME/.cache/netinsights/duckdb}
	if [ ! -d "$dir/node_modules/@duckdb/node-api" ]; then
		[ "${CI:-}" = true ] && fail "DuckDB (npm @duckdb/node-api) is not installed in $dir"
		skip "DuckDB not installed in $dir (./setup.sh check installs it)"
	fi
}
