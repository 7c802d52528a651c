#!/bin/sh
# flow-sums.sh -- the lines of tshark-sums.sh, from ni-flow(5) records.
#
# usage: flow-sums.sh [FILE]
# Flows of one conversation that a timeout or a port reuse split apart are
# added up, as tshark's totals are per address and port pair.
set -eu
awk -F , '
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
$c["proto"] == "tcp" || $c["proto"] == "udp" {
	a = $c["src"] " " $c["sport"]; b = $c["dst"] " " $c["dport"];
	if (a < b) { key = $c["proto"] " " a " " b; d = 0 } else { key = $c["proto"] " " b " " a; d = 1 }
	pk[key, d] += $c["pkts"]; by[key, d] += $c["bytes"];
	pk[key, 1 - d] += $c["rpkts"]; by[key, 1 - d] += $c["rbytes"];
	keys[key] = 1;
}
END {
	for (k in keys)
		print k, pk[k, 0] + 0, by[k, 0] + 0, pk[k, 1] + 0, by[k, 1] + 0;
}' "${1:--}" | sort
