#!/bin/bash
# s3-server.sh -- a throw-away Ceph RADOS Gateway on 127.0.0.1 for the tests.
#
# usage: s3-server.sh start DATADIR PORT ACCESS_KEY SECRET_KEY
#        s3-server.sh stop DATADIR
# One monitor, one memstore OSD, no manager, cephx off, all on loopback;
# radosgw (beast) serves S3 on PORT for one user; the monitor uses PORT+1.
# start returns once S3 answers; PIDs go to DATADIR/pids.  A real S3
# implementation: SigV4, payload hashes and Content-MD5 are verified.
set -eu

# Starts a daemon in the background with only stdin, stdout and stderr:
# a test's pipes and bats' own descriptors must not stay open in it.
daemon() {
	local log=$1 fd
	shift
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
		done
		exec "$@" < /dev/null >> "$log" 2>&1
	) &
}

stop() {
	[ -f "$1/pids" ] || return 0
	kill -9 $(cat "$1/pids") 2>/dev/null || true
	rm -f "$1/pids"
}

start() {
	local D P AK SK MONP FSID OSDUUID C port i
	D=$(realpath -m "$1") P=$2 AK=$3 SK=$4
	MONP=$((P + 1))
	for port in "$P" "$MONP"; do
		if ss -Hltn "sport = :$port" | grep -q .; then
			echo "s3-server.sh: port $port is in use" >&2
			exit 1
		fi
	done
	FSID=$(cat /proc/sys/kernel/random/uuid)
	rm -rf "$D"
	mkdir -p "$D"/mon "$D"/osd/0 "$D"/run "$D"/log "$D"/rgw
	C=$D/ceph.conf
	cat > "$C" <<EOC
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MONP
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
keyring = $D/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
[mon]
mon data = $D/mon/\$id
mon cluster log file = $D/log/cluster.log
# pool creation waits for a paxos round: 1 s by default, 11 s to a ready gateway
paxos propose interval = 0.05
mon data avail warn = 1
mon data avail crit = 0
[osd]
osd data = $D/osd/\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 536870912
[client.rgw.s3]
rgw frontends = beast endpoint=127.0.0.1:$P
rgw data = $D/rgw
rgw dns name = localhost
rgw zonegroup = default
rgw zone = default
EOC
	ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MONP]" "$D/monmap" >/dev/null
	ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
	: > "$D/pids"
	daemon "$D/log/mon.out" ceph-mon -c "$C" -i a -f
	echo $! >> "$D/pids"
	OSDUUID=$(cat /proc/sys/kernel/random/uuid)
	ceph -c "$C" --connect-timeout 30 osd new "$OSDUUID" >/dev/null
	ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$OSDUUID" > "$D/log/osd-mkfs.out" 2>&1
	daemon "$D/log/osd.out" ceph-osd -c "$C" -i 0 -f
	echo $! >> "$D/pids"
	# the user first: radosgw-admin creates the zone, and a gateway started
	# at the same time races with it and exits
	radosgw-admin -c "$C" user create --uid=tester --display-name=tester \
	    --access-key="$AK" --secret-key="$SK" > "$D/user.json"
	restart "$D"
}

# Starts the gateway alone again (after a stop-gateway in a fault test).
restart() {
	local D=$1 P i
	P=$(sed -n 's/^rgw frontends = beast endpoint=127.0.0.1:\([0-9]*\)$/\1/p' "$D/ceph.conf")
	daemon "$D/log/rgw.out" radosgw -c "$D/ceph.conf" -n client.rgw.s3 -f
	echo $! > "$D/rgw.pid"
	echo $! >> "$D/pids"
	for i in $(seq 600); do
		curl -s -o /dev/null "http://127.0.0.1:$P/" && return 0
		sleep 0.05
	done
	echo "s3-server.sh: the gateway did not answer on port $P (see $D/log)" >&2
	exit 1
}

stop_gateway() {
	kill -9 "$(cat "$1/rgw.pid")" 2>/dev/null || true
}

case ${1:-} in
start) shift; start "$@" ;;
stop) stop "$2" ;;
stop-gateway) stop_gateway "$2" ;;
start-gateway) restart "$2" ;;
*) echo "usage: s3-server.sh start DATADIR PORT AK SK | stop DATADIR | stop-gateway DATADIR | start-gateway DATADIR" >&2; exit 1 ;;
esac
