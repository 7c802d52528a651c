/* niapp.c -- the one name a flow's first packets reveal: DNS query, TLS SNI, HTTP Host. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "ni.h"

#define MAXNAME	255

/* Appends a name byte, keeping the column one printable token. */
static size_t
put(char *buf, size_t n, size_t cap, int ch)
{
	if (n + 1 < cap)
		buf[n++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
	return n;
}

static size_t
tag(char *buf, size_t cap, const char *t, const uint8_t *s, size_t len)
{
	size_t	 n = strlen(t), i;

	if (len == 0 || cap <= n + 1)
		return 0;
	memcpy(buf, t, n);
	for (i = 0; i < len && i < MAXNAME; i++)
		n = put(buf, n, cap, s[i]);
	buf[n] = '\0';
	return n;
}

/* The first question of a DNS message (RFC 1035 4.1.2), uncompressed. */
static size_t
dns(const uint8_t *b, size_t len, char *buf, size_t cap)
{
	char		 name[MAXNAME + 1];
	size_t		 off = 12, n = 0;
	unsigned	 l;

	if (len < 12 || (b[4] | b[5]) == 0)	/* no question */
		return 0;
	while (off < len && (l = b[off]) != 0) {
		if ((l & 0xc0) != 0 || off + 1 + l > len || n + l + 1 > MAXNAME)
			return 0;
		if (n > 0)
			name[n++] = '.';
		memcpy(name + n, b + off + 1, l);
		n += l;
		off += 1 + l;
	}
	if (off >= len)
		return 0;
	if (n == 0)
		return tag(buf, cap, "dns:", (const uint8_t *)".", 1);
	return tag(buf, cap, "dns:", (const uint8_t *)name, n);
}

/* server_name of a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3). */
static size_t
tls(const uint8_t *b, size_t len, char *buf, size_t cap)
{
	size_t	 off, end, l;

	/* record: handshake, TLS 1.x; handshake: client_hello */
	if (len < 9 || b[0] != 22 || b[1] != 3 || b[5] != 1)
		return 0;
	off = 9 + 2 + 32;			/* version, random */
	if (off >= len)
		return 0;
	off += 1 + b[off];			/* session id */
	if (off + 2 > len)
		return 0;
	off += 2 + ((size_t)b[off] << 8 | b[off + 1]);	/* cipher suites */
	if (off >= len)
		return 0;
	off += 1 + b[off];			/* compression methods */
	if (off + 2 > len)
		return 0;
	end = off + 2 + ((size_t)b[off] << 8 | b[off + 1]);
	off += 2;
	if (end > len)
		end = len;			/* what was captured */
	while (off + 4 <= end) {
		unsigned type = (unsigned)b[off] << 8 | b[off + 1];

		l = (size_t)b[off + 2] << 8 | b[off + 3];
		off += 4;
		if (type == 0) {
			/* list length (2), name type (1), name length (2) */
			if (off + 5 > end || b[off + 2] != 0)
				return 0;
			l = (size_t)b[off + 3] << 8 | b[off + 4];
			off += 5;
			if (off + l > end)
				return 0;
			return tag(buf, cap, "tls:", b + off, l);
		}
		off += l;
	}
	return 0;
}

/* Host header of an HTTP/1.x request. */
static size_t
http(const uint8_t *b, size_t len, char *buf, size_t cap)
{
	static const char *const methods[] = { "GET ", "POST ", "HEAD ",
	    "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", NULL };
	const char *const	*m;
	size_t			 i, s;

	/* Most payload is not a request: one byte tells. */
	if (len < 16 || strchr("GPHDOC", b[0]) == NULL)
		return 0;
	for (m = methods; *m != NULL; m++)
		if (memcmp(b, *m, strlen(*m)) == 0)
			break;
	if (*m == NULL)
		return 0;
	for (i = 0; i + 7 < len; i++) {
		if (b[i] != '\n' || strncasecmp((const char *)b + i + 1,
		    "host:", 5) != 0)
			continue;
		for (i += 6; i < len && (b[i] == ' ' || b[i] == '\t'); i++)
			continue;
		for (s = i; i < len && b[i] != '\r' && b[i] != '\n'; i++)
			continue;
		if (i == len)		/* cut by the snap length: not sure */
			return 0;
		return tag(buf, cap, "http:", b + s, i - s);
	}
	return 0;
}

size_t
ni_app_extract(const struct ni_pkt *p, char *buf, size_t cap)
{
	size_t	 n;

	if (p->payload == NULL || p->paylen == 0)
		return 0;
	if (p->proto == 17) {
		if (p->sport == 53 || p->dport == 53 || p->sport == 5353 ||
		    p->dport == 5353 || p->sport == 5355 || p->dport == 5355)
			return dns(p->payload, p->paylen, buf, cap);
		return 0;
	}
	if (p->proto != 6)
		return 0;
	if ((p->sport == 53 || p->dport == 53) && p->paylen > 2)
		return dns(p->payload + 2, p->paylen - 2, buf, cap);
	if ((n = tls(p->payload, p->paylen, buf, cap)) > 0)
		return n;
	return http(p->payload, p->paylen, buf, cap);
}
