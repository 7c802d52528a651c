/* nipkt.c -- captured frames down to addresses, ports and flags; never payload kept. */
#include "config.h"

#include <pcap/dlt.h>
#include <string.h>

#include "ni.h"

#ifndef DLT_IPV4
#define DLT_IPV4	228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6	229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2	276
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG	239
#endif

#define NFULA_PAYLOAD	9

const char *const ni_skip_names[NI_NSKIP] = {
	"decoded", "not IP (link layer)", "truncated", "bad IP header",
	"fragment without its first"
};

/* Where decoding is: the frame's start, the cursor and the wire length. */
struct cur {
	const uint8_t	*start;
	size_t		 wirelen;
};

static inline unsigned
get16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

static inline uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

int
ni_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_PPP:
	case DLT_PPP_SERIAL:
	case DLT_PPP_ETHER:
	case DLT_C_HDLC:
	case DLT_NFLOG:
		return 1;
	default:
		return 0;
	}
}

static enum ni_skip
transport(const uint8_t *b, size_t avail, struct ni_pkt *p)
{
	const uint8_t	*q;
	unsigned	 hl;

	if (p->frag & NI_FRAG_LATER)
		return NI_SKIP_NONE;
	switch (p->proto) {
	case 6:		/* TCP */
		if (avail < 14)
			return NI_SKIP_TRUNC;
		p->sport = (uint16_t)get16(b);
		p->dport = (uint16_t)get16(b + 2);
		p->tcpflags = b[13];
		hl = (unsigned)(b[12] >> 4) * 4;
		if (hl >= 20 && hl <= avail) {
			p->payload = b + hl;
			p->paylen = avail - hl;
		}
		return NI_SKIP_NONE;
	case 17:	/* UDP */
	case 132:	/* SCTP: ports in the same place */
	case 136:	/* UDP-Lite */
		if (avail < 4)
			return NI_SKIP_TRUNC;
		p->sport = (uint16_t)get16(b);
		p->dport = (uint16_t)get16(b + 2);
		if (p->proto == 17 && avail >= 8) {
			p->payload = b + 8;
			p->paylen = avail - 8;
		}
		return NI_SKIP_NONE;
	case 1:		/* ICMP */
	case 58:	/* ICMPv6 */
		if (avail < 2)
			return NI_SKIP_TRUNC;
		p->sport = b[0];
		p->dport = b[1];
		if (avail >= 6 && ((p->proto == 1 && (b[0] == 8 || b[0] == 0)) ||
		    (p->proto == 58 && (b[0] == 128 || b[0] == 129)))) {
			p->echo = (b[0] == 8 || b[0] == 128) ? 1 : 2;
			p->echoid = (uint16_t)get16(b + 4);
			return NI_SKIP_NONE;
		}
		/*
		 * An error quotes the packet it answers: remember its
		 * addresses and ports so the flow it belongs to can be marked
		 * rejected (a UDP probe to a closed port looks like this).
		 */
		if (avail < 8 + 20 ||
		    !((p->proto == 1 && (b[0] == 3 || b[0] == 11)) ||
		    (p->proto == 58 && (b[0] == 1 || b[0] == 3))))
			return NI_SKIP_NONE;
		q = b + 8;
		avail -= 8;
		if ((q[0] >> 4) == 4 && p->proto == 1) {
			hl = (unsigned)(q[0] & 15) * 4;
			if (hl < 20 || avail < hl + 4)
				return NI_SKIP_NONE;
			p->qsrc.family = p->qdst.family = 4;
			memcpy(p->qsrc.a, q + 12, 4);
			memcpy(p->qdst.a, q + 16, 4);
			p->qproto = q[9];
		} else if ((q[0] >> 4) == 6 && p->proto == 58 && avail >= 44) {
			hl = 40;
			p->qsrc.family = p->qdst.family = 6;
			memcpy(p->qsrc.a, q + 8, 16);
			memcpy(p->qdst.a, q + 24, 16);
			p->qproto = q[6];
		} else
			return NI_SKIP_NONE;
		p->qsport = (uint16_t)get16(q + hl);
		p->qdport = (uint16_t)get16(q + hl + 2);
		p->icmperr = 1;
		return NI_SKIP_NONE;
	default:
		return NI_SKIP_NONE;
	}
}

static enum ni_skip
ipv4(const struct cur *c, const uint8_t *b, size_t len, struct ni_pkt *p)
{
	unsigned	 hl, tot, off;
	size_t		 avail;

	if (len < 20)
		return NI_SKIP_TRUNC;
	if ((b[0] >> 4) != 4)
		return NI_SKIP_BADIP;
	hl = (unsigned)(b[0] & 15) * 4;
	tot = get16(b + 2);
	if (hl < 20)
		return NI_SKIP_BADIP;
	if (len < hl)
		return NI_SKIP_TRUNC;
	if (tot == 0) {
		/* Segmentation offload and Linux BIG TCP leave it at 0. */
		tot = (unsigned)(c->wirelen - (size_t)(b - c->start));
	} else if (tot < hl)
		return NI_SKIP_BADIP;
	p->src.family = p->dst.family = 4;
	memcpy(p->src.a, b + 12, 4);
	memcpy(p->dst.a, b + 16, 4);
	p->proto = b[9];
	p->iplen = tot;
	off = get16(b + 6);
	if ((off & 0x1fff) != 0)
		p->frag = NI_FRAG_LATER;
	else if (off & 0x2000)
		p->frag = NI_FRAG_FIRST;
	p->fragid = get16(b + 4);
	/* Ethernet pads short frames: the header's length ends the packet. */
	avail = (len < tot ? len : tot) - hl;
	return transport(b + hl, avail, p);
}

static enum ni_skip
ipv6(const struct cur *c, const uint8_t *b, size_t len, struct ni_pkt *p)
{
	size_t		 off = 40, end;
	unsigned	 nh, plen;

	if (len < 40)
		return NI_SKIP_TRUNC;
	if ((b[0] >> 4) != 6)
		return NI_SKIP_BADIP;
	plen = get16(b + 4);
	p->src.family = p->dst.family = 6;
	memcpy(p->src.a, b + 8, 16);
	memcpy(p->dst.a, b + 24, 16);
	if (plen == 0)		/* jumbogram or offload: trust the wire */
		p->iplen = (uint32_t)(c->wirelen - (size_t)(b - c->start));
	else
		p->iplen = plen + 40;
	end = len < p->iplen ? len : p->iplen;
	nh = b[6];
	for (;;) {
		switch (nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
		case 135:	/* mobility */
		case 139:	/* HIP */
		case 140:	/* shim6 */
			if (end < off + 8)
				return NI_SKIP_TRUNC;
			nh = b[off];
			off += ((size_t)b[off + 1] + 1) * 8;
			continue;
		case 51:	/* AH: length in 4-octet units, minus 2 */
			if (end < off + 8)
				return NI_SKIP_TRUNC;
			nh = b[off];
			off += ((size_t)b[off + 1] + 2) * 4;
			continue;
		case 44:	/* fragment */
			if (end < off + 8)
				return NI_SKIP_TRUNC;
			nh = b[off];
			p->fragid = get32(b + off + 4);
			if ((get16(b + off + 2) >> 3) != 0)
				p->frag = NI_FRAG_LATER;
			else if (b[off + 3] & 1)
				p->frag = NI_FRAG_FIRST;
			off += 8;
			continue;
		default:
			break;
		}
		break;
	}
	if (off > end)
		return NI_SKIP_TRUNC;
	p->proto = (uint8_t)nh;
	return transport(b + off, end - off, p);
}

/* IP whose version the first nibble tells (raw IP, MPLS payload). */
static enum ni_skip
ip(const struct cur *c, const uint8_t *b, size_t len, struct ni_pkt *p)
{
	if (len < 1)
		return NI_SKIP_TRUNC;
	switch (b[0] >> 4) {
	case 4:
		return ipv4(c, b, len, p);
	case 6:
		return ipv6(c, b, len, p);
	default:
		return NI_SKIP_BADIP;
	}
}

static enum ni_skip
ppp(const struct cur *c, const uint8_t *b, size_t len, struct ni_pkt *p)
{
	unsigned	 proto;

	if (len >= 2 && b[0] == 0xff && b[1] == 0x03) {	/* HDLC framing */
		b += 2;
		len -= 2;
	}
	if (len < 1)
		return NI_SKIP_TRUNC;
	if (b[0] & 1) {		/* protocol field compression: one byte */
		proto = b[0];
		b++;
		len--;
	} else {
		if (len < 2)
			return NI_SKIP_TRUNC;
		proto = get16(b);
		b += 2;
		len -= 2;
	}
	switch (proto) {
	case 0x21:
		return ipv4(c, b, len, p);
	case 0x57:
		return ipv6(c, b, len, p);
	default:
		return NI_SKIP_LINK;
	}
}

static enum ni_skip
ethertype(const struct cur *c, unsigned type, const uint8_t *b, size_t len,
    struct ni_pkt *p)
{
	for (;;) {
		switch (type) {
		case 0x8100:	/* 802.1Q */
		case 0x88a8:	/* 802.1ad */
		case 0x9100:	/* old QinQ */
			if (len < 4)
				return NI_SKIP_TRUNC;
			if (p->vlan < 0)
				p->vlan = (int)(get16(b) & 0xfff);
			type = get16(b + 2);
			b += 4;
			len -= 4;
			continue;
		case 0x8847:	/* MPLS: labels until bottom of stack */
		case 0x8848:
			for (;;) {
				if (len < 4)
					return NI_SKIP_TRUNC;
				b += 4;
				len -= 4;
				if (b[-2] & 1)
					break;
			}
			return ip(c, b, len, p);
		case 0x8864:	/* PPPoE session */
			if (len < 6)
				return NI_SKIP_TRUNC;
			return ppp(c, b + 6, len - 6, p);
		case 0x0800:
			return ipv4(c, b, len, p);
		case 0x86dd:
			return ipv6(c, b, len, p);
		default:
			return NI_SKIP_LINK;
		}
	}
}

static enum ni_skip
nflog(const struct cur *c, const uint8_t *b, size_t len, struct ni_pkt *p)
{
	size_t	 tlen;

	if (len < 4)
		return NI_SKIP_TRUNC;
	b += 4;
	len -= 4;
	/* TLVs in host (little-endian on every Linux that writes these). */
	while (len >= 4) {
		tlen = (size_t)(b[0] | b[1] << 8);
		if (tlen < 4 || tlen > len)
			return NI_SKIP_TRUNC;
		if ((b[2] | b[3] << 8) == NFULA_PAYLOAD)
			return ip(c, b + 4, tlen - 4, p);
		tlen = (tlen + 3) & ~(size_t)3;
		if (tlen >= len)
			break;
		b += tlen;
		len -= tlen;
	}
	return NI_SKIP_LINK;
}

enum ni_skip
ni_pkt_decode(int dlt, const uint8_t *b, size_t len, size_t wirelen,
    struct ni_pkt *p)
{
	struct cur	 c = { b, wirelen < len ? len : wirelen };
	uint32_t	 fam;

	memset(p, 0, sizeof(*p));
	p->vlan = -1;
	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return NI_SKIP_TRUNC;
		return ethertype(&c, get16(b + 12), b + 14, len - 14, p);
	case DLT_LINUX_SLL:
		if (len < 16)
			return NI_SKIP_TRUNC;
		return ethertype(&c, get16(b + 14), b + 16, len - 16, p);
	case DLT_LINUX_SLL2:
		if (len < 20)
			return NI_SKIP_TRUNC;
		return ethertype(&c, get16(b), b + 20, len - 20, p);
	case DLT_RAW:
		return ip(&c, b, len, p);
	case DLT_IPV4:
		return ipv4(&c, b, len, p);
	case DLT_IPV6:
		return ipv6(&c, b, len, p);
	case DLT_NULL:
	case DLT_LOOP:
		if (len < 4)
			return NI_SKIP_TRUNC;
		/* DLT_NULL is in the writer's byte order: try both. */
		fam = get32(b);
		if (dlt == DLT_NULL && (fam & 0xffff) == 0)
			fam = (fam >> 24) | ((fam >> 8) & 0xff00);
		switch (fam) {
		case 2:
			return ipv4(&c, b + 4, len - 4, p);
		case 10: case 24: case 28: case 30:	/* AF_INET6 by OS */
			return ipv6(&c, b + 4, len - 4, p);
		default:
			return NI_SKIP_LINK;
		}
	case DLT_PPP:
	case DLT_PPP_SERIAL:
		if (len >= 4 && (b[0] == 0x0f || b[0] == 0x8f))	/* Cisco */
			return ethertype(&c, get16(b + 2), b + 4, len - 4, p);
		return ppp(&c, b, len, p);
	case DLT_C_HDLC:
		if (len < 4)
			return NI_SKIP_TRUNC;
		return ethertype(&c, get16(b + 2), b + 4, len - 4, p);
	case DLT_PPP_ETHER:
		if (len < 6)
			return NI_SKIP_TRUNC;
		return ppp(&c, b + 6, len - 6, p);
	case DLT_NFLOG:
		return nflog(&c, b, len, p);
	default:
		return NI_SKIP_LINK;
	}
}
