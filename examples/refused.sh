#!/bin/sh
# refused.sh -- which sources were refused most often: a first sign of scanning.
# usage: refused.sh [capture ...]   (default: the bundled sample.pcap)
set -eu
here=$(dirname "$0")
[ $# -gt 0 ] || set -- "$here/sample.pcap"
ni-capture -r "$@" |
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["state"] == "rejected" || $c["state"] == "attempted" {
	n[$c["src"]]++; p[$c["src"]] = p[$c["src"]] " " $c["dport"] }
    END { for (s in n) printf "%d\t%s\tports:%s\n", n[s], s, p[s] }' |
sort -rn | head -10
