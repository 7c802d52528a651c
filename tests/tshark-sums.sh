#!/bin/sh
# tshark-sums.sh -- per-conversation totals of a capture as tshark dissects it.
#
# usage: tshark-sums.sh FILE
# Prints "proto A portA B portB pktsAB bytesAB pktsBA bytesBA" for every TCP
# and UDP conversation, A being the lower "address port" string, so that the
# lines compare with flow-sums.sh.  Bytes are IP lengths (ip.len,
# ipv6.plen + 40), as ni-flow(5) counts them.  Reassembly is off so each
# fragment is seen; later fragments carry no ports, so they are joined to
# their first fragment by (src, dst, id) -- a fragment whose first one is
# not in the file belongs to no conversation here either.
set -eu
tshark -n -r "$1" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
    -T fields -E separator=/t -E occurrence=f \
    -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
    -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport \
    -e ip.len -e ipv6.plen -e ip.id -e ipv6.fraghdr.ident \
    -e ip.flags.mf -e ip.frag_offset -e ipv6.fraghdr.offset \
    -e ipv6.fraghdr.more -e icmp.type -e icmpv6.type 2>/dev/null |
awk -F '\t' '
{
	v6 = $1 == "";
	src = v6 ? $3 : $1; dst = v6 ? $4 : $2;
	# an ICMP error quotes a TCP or UDP header: not part of that conversation
	if (src == "" || $17 != "" || $18 != "") next;
	len = v6 ? $10 + 40 : $9;
	id = v6 ? $12 : $11;
	off = v6 ? $15 : $14;
	more = v6 ? ($16 == "1" || $16 == "True") : ($13 == "1" || $13 == "True");
	if ($5 != "") { proto = "tcp"; sp = $5; dp = $6 }
	else if ($7 != "") { proto = "udp"; sp = $7; dp = $8 }
	else if (id != "" && off + 0 > 0 && ((src, dst, id) in frag)) {
		split(frag[src, dst, id], f3, " "); proto = f3[1]; sp = f3[2]; dp = f3[3]
	} else next;
	if (id != "" && (more || off + 0 > 0) && off + 0 == 0)
		frag[src, dst, id] = proto " " sp " " dp;
	a = src " " sp; b = dst " " dp;
	if (a < b) { key = proto " " a " " b; d = 0 } else { key = proto " " b " " a; d = 1 }
	pk[key, d]++; by[key, d] += len; keys[key] = 1;
}
END {
	for (k in keys)
		print k, pk[k, 0] + 0, by[k, 0] + 0, pk[k, 1] + 0, by[k, 1] + 0;
}' | sort
