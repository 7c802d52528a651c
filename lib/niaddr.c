/* niaddr.c -- addresses, protocol names and TCP flags as the format spells them. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ni.h"

/* Dotted quad by hand: inet_pton() is a large share of reading a flow. */
static int
parse4(const char *s, uint8_t *out)
{
	unsigned	 v;
	int		 i, n;

	for (i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		for (v = 0, n = 0; *s >= '0' && *s <= '9'; s++, n++)
			v = v * 10 + (unsigned)(*s - '0');
		/* no leading zeros, as inet_pton() refuses them */
		if (v > 255 || n > 3 || (n > 1 && s[-n] == '0'))
			return -1;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

int
ni_addr_parse(const char *s, struct ni_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (parse4(s, a->a) == 0) {
		a->family = 4;
		return 0;
	}
	memset(a->a, 0, sizeof(a->a));
	if (strchr(s, ':') == NULL) {
		if (inet_pton(AF_INET, s, a->a) != 1)
			return -1;
		a->family = 4;
	} else {
		if (inet_pton(AF_INET6, s, a->a) != 1)
			return -1;
		a->family = 6;
	}
	return 0;
}

size_t
ni_addr_fmt(const struct ni_addr *a, char *buf)
{
	if (a->family == 4) {
		/* By hand: inet_ntop() costs more than the rest of a flow line. */
		char	*p = buf;
		int	 i;

		for (i = 0; i < 4; i++) {
			unsigned v = a->a[i];

			if (v >= 100)
				*p++ = '0' + v / 100;
			if (v >= 10)
				*p++ = '0' + v / 10 % 10;
			*p++ = '0' + v % 10;
			*p++ = '.';
		}
		*--p = '\0';
		return (size_t)(p - buf);
	}
	if (a->family == 6 && inet_ntop(AF_INET6, a->a, buf, NI_ADDR_LEN) != NULL)
		return strlen(buf);
	buf[0] = '\0';
	return 0;
}

int
ni_addr_cmp(const struct ni_addr *x, const struct ni_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, sizeof(x->a));
}

static const char flagletters[] = "FSRPAUEC";

size_t
ni_flags_fmt(unsigned f, char *buf)
{
	char	*p = buf;
	int	 i;

	for (i = 0; i < 8; i++)
		if (f & (1u << i))
			*p++ = flagletters[i];
	*p = '\0';
	return (size_t)(p - buf);
}

int
ni_flags_parse(const char *s, unsigned *out)
{
	const char	*q;

	for (*out = 0; *s != '\0'; s++) {
		if ((q = strchr(flagletters, *s)) == NULL)
			return -1;
		*out |= 1u << (q - flagletters);
	}
	return 0;
}

const char *
ni_proto_name(unsigned p)
{
	switch (p) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmp6";
	default:
		return NULL;
	}
}

int
ni_proto_parse(const char *s, unsigned *out)
{
	static const unsigned known[] = { 1, 6, 17, 58 };
	const char	*errstr;
	size_t		 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, ni_proto_name(known[i])) == 0) {
			*out = known[i];
			return 0;
		}
	*out = (unsigned)strtonum(s, 0, 255, &errstr);
	return errstr == NULL ? 0 : -1;
}

const char *const ni_col_names[NI_NCOLS] = {
	"start", "end", "proto", "src", "sport", "dst", "dport", "pkts",
	"bytes", "rpkts", "rbytes", "flags", "rflags", "state", "vlan", "app",
	"community_id"
};

const char *const ni_state_names[NI_NSTATE] = {
	"attempted", "rejected", "half-open", "established", "closed",
	"reset", "midstream"
};
