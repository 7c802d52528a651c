/* mkpcap -- write a large synthetic Ethernet/IPv4 capture for the benchmarks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * usage: mkpcap packets flows [concurrent] > file.pcap
 * Flows are TCP (4 in 5) and UDP, each with a handshake, data both ways and
 * a FIN, interleaved over `concurrent` open flows so the flow table churns
 * the way a busy link does.  Frames are cut at 96 bytes, as tcpdump -s 96
 * stores them; the IP length says how big the packet was on the wire.
 */

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32le(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

struct fl {
	uint32_t	 id, sent, total;
};

int
main(int argc, char *argv[])
{
	uint8_t		 hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };
	uint8_t		 rec[16 + 96];
	unsigned long long npk, nfl, conc, next = 0, i;
	uint64_t	 us = 1764806400ULL * 1000000;	/* 2025-12-04 */
	struct fl	*a;
	uint32_t	 rnd = 12345;

	if (argc < 3) {
		fprintf(stderr, "usage: mkpcap packets flows [concurrent]\n");
		return 1;
	}
	npk = strtoull(argv[1], NULL, 10);
	nfl = strtoull(argv[2], NULL, 10);
	conc = argc > 3 ? strtoull(argv[3], NULL, 10) : 10000;
	if (conc > nfl)
		conc = nfl;
	put32le(hdr + 16, 96);
	put32le(hdr + 20, 1);
	fwrite(hdr, 1, sizeof(hdr), stdout);
	a = calloc(conc, sizeof(*a));
	for (i = 0; i < conc; i++) {
		a[i].id = (uint32_t)next++;
		a[i].total = (uint32_t)(npk / nfl);
	}
	for (i = 0; i < npk; i++) {
		struct fl *f = &a[i % conc];
		uint32_t id = f->id, s = f->sent++;
		int tcp = id % 5 != 0, rev = s % 2 == 1;
		unsigned iplen, flags, caplen;
		uint8_t *e = rec + 16, *ip = e + 14, *l4 = ip + 20;
		uint8_t sa[4] = { 10, 244, (id >> 8) & 0xff, id & 0xff };
		uint8_t da[4] = { 198, 51, 100, (id >> 16) & 0xff };
		unsigned sp = 1024 + (id % 60000), dp = tcp ? 443 : 53;

		rnd = rnd * 1103515245 + 12345;
		memset(rec, 0, sizeof(rec));
		us += 1;
		put32le(rec, (uint32_t)(us / 1000000));
		put32le(rec + 4, (uint32_t)(us % 1000000));
		memset(e, 0x02, 12);
		put16(e + 12, 0x0800);
		ip[0] = 0x45;
		ip[8] = 64;
		ip[9] = tcp ? 6 : 17;
		memcpy(ip + (rev ? 16 : 12), sa, 4);
		memcpy(ip + (rev ? 12 : 16), da, 4);
		put16(l4 + (rev ? 2 : 0), sp);
		put16(l4 + (rev ? 0 : 2), dp);
		if (tcp) {
			flags = s == 0 ? 0x02 : s == 1 ? 0x12 :
			    s + 1 >= f->total ? 0x11 : 0x18;
			l4[12] = 5 << 4;
			l4[13] = flags;
			iplen = 40 + (flags == 0x18 ? 40 + (rnd >> 16) % 1400 : 0);
		} else {
			iplen = 28 + 20 + (rnd >> 16) % 500;
			put16(l4 + 4, iplen - 20);
		}
		put16(ip + 2, iplen);
		caplen = 14 + iplen < 96 ? 14 + iplen : 96;
		put32le(rec + 8, caplen);
		put32le(rec + 12, 14 + iplen);
		fwrite(rec, 1, 16 + caplen, stdout);
		if (f->sent >= f->total) {
			f->id = (uint32_t)(next++ % nfl);
			f->sent = 0;
		}
	}
	return fclose(stdout) == 0 ? 0 : 1;
}
