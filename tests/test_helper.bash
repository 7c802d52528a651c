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
