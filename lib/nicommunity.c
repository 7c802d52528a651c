/* nicommunity.c -- the Community ID flow hash, version 1, as Zeek, Suricata and Elastic compute it. */
#include "config.h"

#include <string.h>

#include "ni.h"

/*
 * SHA-1 (FIPS 180-4): only for the Community ID, which is defined with it;
 * nothing here relies on it for security.
 */
struct sha1 {
	uint32_t	 h[5];
	uint8_t		 buf[64];
	size_t		 n;
	uint64_t	 len;
};

#define ROL(x, n)	((x) << (n) | (x) >> (32 - (n)))

static void
sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t	 w[80], a, b, c, d, e, f, k, t;
	int		 i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = ROL(a, 5) + f + e + k + w[i];
		e = d; d = c; c = ROL(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void
sha1_add(struct sha1 *s, const void *data, size_t n)
{
	const uint8_t	*p = data;

	s->len += n;
	while (n-- > 0) {
		s->buf[s->n++] = *p++;
		if (s->n == 64) {
			sha1_block(s->h, s->buf);
			s->n = 0;
		}
	}
}

static void
sha1_end(struct sha1 *s, uint8_t out[20])
{
	uint64_t	 bits = s->len * 8;
	uint8_t		 b = 0x80;
	int		 i;

	sha1_add(s, &b, 1);
	b = 0;
	while (s->n != 56)
		sha1_add(s, &b, 1);
	for (i = 7; i >= 0; i--) {
		b = (uint8_t)(bits >> (8 * i));
		sha1_add(s, &b, 1);
	}
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ICMP types that have an answer type: the pair is one conversation. */
static int
icmp_pair(unsigned proto, unsigned type, unsigned *other)
{
	static const unsigned char v4[][2] = { { 8, 0 }, { 0, 8 }, { 13, 14 },
	    { 14, 13 }, { 15, 16 }, { 16, 15 }, { 10, 9 }, { 9, 10 },
	    { 17, 18 }, { 18, 17 } };
	static const unsigned char v6[][2] = { { 128, 129 }, { 129, 128 },
	    { 133, 134 }, { 134, 133 }, { 135, 136 }, { 136, 135 },
	    { 130, 131 }, { 131, 130 }, { 144, 145 }, { 145, 144 } };
	size_t	 i;

	if (proto == 1) {
		for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
			if (v4[i][0] == type) {
				*other = v4[i][1];
				return 1;
			}
	} else
		for (i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
			if (v6[i][0] == type) {
				*other = v6[i][1];
				return 1;
			}
	return 0;
}

size_t
ni_community_id(const struct ni_flow *f, uint16_t seed, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const struct ni_addr	*a = &f->src, *b = &f->dst;
	struct sha1		 s = { { 0x67452301, 0xefcdab89, 0x98badcfe,
				    0x10325476, 0xc3d2e1f0 }, { 0 }, 0, 0 };
	unsigned		 pa = f->sport, pb = f->dport, other, t;
	uint8_t			 d[20], hdr[4];
	size_t			 alen = f->src.family == 4 ? 4 : 16, i;
	int			 ports, oneway = 0, c;
	char			*o = out;

	/*
	 * SCTP hashes with ports 0, as Zeek does (its connection key has no
	 * SCTP ports; its baseline for sctp.pcap says so): Zeek is the tool
	 * whose IDs we are checked against.  Suricata hashes SCTP ports.
	 */
	ports = f->proto == 6 || f->proto == 17 || f->proto == 132 ||
	    f->proto == 1 || f->proto == 58;
	if (f->proto == 132)
		pa = pb = 0;
	if (f->proto == 1 || f->proto == 58) {
		/* sport is the type, dport the code */
		if (icmp_pair(f->proto, f->sport, &other))
			pb = other;
		else
			oneway = 1;
	}
	/* The smaller end first, unless an ICMP message has no answer. */
	c = memcmp(a->a, b->a, alen);
	if (!oneway && (c > 0 || (c == 0 && pa > pb))) {
		const struct ni_addr *x = a;

		a = b;
		b = x;
		t = pa;
		pa = pb;
		pb = t;
	}
	hdr[0] = (uint8_t)(seed >> 8);
	hdr[1] = (uint8_t)seed;
	sha1_add(&s, hdr, 2);
	sha1_add(&s, a->a, alen);
	sha1_add(&s, b->a, alen);
	hdr[0] = f->proto;
	hdr[1] = 0;
	sha1_add(&s, hdr, 2);
	if (ports) {
		hdr[0] = (uint8_t)(pa >> 8);
		hdr[1] = (uint8_t)pa;
		hdr[2] = (uint8_t)(pb >> 8);
		hdr[3] = (uint8_t)pb;
		sha1_add(&s, hdr, 4);
	}
	sha1_end(&s, d);
	*o++ = '1';
	*o++ = ':';
	for (i = 0; i < 20; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < 20 ?
		    (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < 20 ? d[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < 20 ? b64[v & 63] : '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}
