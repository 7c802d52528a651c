/* niintel.c -- threat-intelligence feeds in their published formats, and fast lookups of peers. */
#include "config.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

/*
 * Every address range of every feed is cut into elementary intervals that
 * partition the address space, each labelled with the set of feeds whose
 * entries cover it: a lookup is then one search, and returns the union of
 * all covering entries, not only the longest prefix.  IPv4 intervals are
 * found through a table on the top 16 bits, so a search touches a few
 * entries; IPv6 intervals by binary search.
 */
struct iv4 {
	uint32_t	 lo;		/* interval start; ends at the next lo */
	uint32_t	 set;		/* index into sets */
};

struct iv6 {
	uint8_t		 lo[16];
	uint32_t	 set;
};

struct feed {
	char		*name, *category, *source, *path;
};

struct excl {
	uint8_t		 lo[16], hi[16];
	int		 family;
};

struct ni_intel {
	struct feed	*feeds;
	size_t		 nfeeds;
	char		**cats;		/* distinct categories */
	size_t		 ncats;
	uint64_t	 catmask[NI_INTEL_MAXFEEDS];	/* feed -> its category bit */
	uint64_t	*sets;		/* feed bitmasks */
	size_t		 nsets;
	struct iv4	*v4;
	size_t		 n4;
	uint32_t	 top[65537];	/* first v4 interval of each /16 */
	struct iv6	*v6;
	size_t		 n6;
	size_t		 entries, dropped;
	struct excl	*excl;
	size_t		 nexcl;
};

struct event {
	uint8_t		 a[16];		/* boundary: lo, or hi + 1 */
	int		 feed, delta;
	int		 end;		/* hi + 1 overflowed: the end of space */
};

struct rangeset {
	struct event	*ev;
	size_t		 n, cap;
};

/* Ranges never matched: private, loopback, link-local, reserved, cluster. */
static const char *const never[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
	"fc00::/7", "fe80::/10", "ff00::/8", NULL
};

static int
addr_range(const char *s, struct ni_addr *lo, struct ni_addr *hi)
{
	char		 b[NI_ADDR_LEN + 8], *slash;
	const char	*errstr;
	int		 bits, max, i;

	if (strlen(s) >= sizeof(b))
		return -1;
	strcpy(b, s);
	if ((slash = strchr(b, '/')) != NULL)
		*slash++ = '\0';
	if (ni_addr_parse(b, lo) == -1)
		return -1;
	max = lo->family == 4 ? 32 : 128;
	bits = max;
	if (slash != NULL && ((bits = (int)strtonum(slash, 0, max, &errstr)),
	    errstr != NULL))
		return -1;
	*hi = *lo;
	for (i = 0; i < max / 8; i++) {
		int keep = bits - 8 * i;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));

		lo->a[i] &= mask;
		hi->a[i] = (uint8_t)(lo->a[i] | ~mask);
	}
	return 0;
}

static int
overlaps(const struct ni_intel *in, const struct ni_addr *lo,
    const struct ni_addr *hi)
{
	size_t	 i;

	for (i = 0; i < in->nexcl; i++)
		if (in->excl[i].family == lo->family &&
		    memcmp(lo->a, in->excl[i].hi, 16) <= 0 &&
		    memcmp(hi->a, in->excl[i].lo, 16) >= 0)
			return 1;
	return 0;
}

static void
add_range(struct ni_intel *in, struct rangeset *rs, int feed,
    const struct ni_addr *lo, const struct ni_addr *hi)
{
	struct event	*e;
	int		 i, n = lo->family == 4 ? 4 : 16;

	if (overlaps(in, lo, hi)) {
		in->dropped++;
		return;
	}
	if (rs->n + 2 > rs->cap) {
		rs->cap = rs->cap * 2 + 1024;
		rs->ev = ni_reallocarray(rs->ev, rs->cap, sizeof(*rs->ev));
	}
	e = &rs->ev[rs->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->a, lo->a, 16);
	e->feed = feed;
	e->delta = 1;
	e = &rs->ev[rs->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->a, hi->a, 16);
	e->feed = feed;
	e->delta = -1;
	/* hi + 1, with the carry; all ones wraps to "the end" */
	for (i = n - 1; i >= 0 && ++e->a[i] == 0; i--)
		continue;
	e->end = i < 0;
	in->entries++;
}

/* One indicator of a feed: an address, a prefix or "start end". */
static int
add_indicator(struct ni_intel *in, struct rangeset rs[2], int feed,
    const char *s)
{
	struct ni_addr	 lo, hi;

	if (addr_range(s, &lo, &hi) == -1)
		return -1;
	add_range(in, &rs[lo.family == 4 ? 0 : 1], feed, &lo, &hi);
	return 0;
}

/* The text between quotes after needle, e.g. value in "value": "x". */
static char *
quoted_after(const char *p, const char *needle, const char **next)
{
	const char	*s, *e;
	char		 q;

	if ((s = strstr(p, needle)) == NULL)
		return NULL;
	s += strlen(needle);
	while (*s == ' ' || *s == ':' || *s == '=')
		s++;
	if (*s != '"' && *s != '\'')
		return NULL;
	q = *s++;
	if ((e = strchr(s, q)) == NULL)
		return NULL;
	*next = e + 1;
	return ni_strndup(s, (size_t)(e - s));
}

/*
 * A feed file in whatever format it was published in: address lists with
 * comments (FireHOL, Tor lists, ipsum's "ip<TAB>count"), Spamhaus DROP,
 * DShield's block list, CSV exports with type and value columns (MISP),
 * STIX 2 bundles and MISP JSON.  Returns the number of lines not understood.
 */
static size_t
load_feed(struct ni_intel *in, struct rangeset rs[2], int feed, FILE *fp)
{
	char		*text = NULL, *line, *save = NULL, *p, *v, tok[3][64];
	const char	*q;
	size_t		 len = 0, cap = 0, n, bad = 0;
	int		 typecol = -1, valcol = -1, first = 1, k;

	while (!feof(fp)) {
		if (len + 65536 + 1 > cap) {
			cap = (len + 65536 + 1) * 2;
			text = ni_reallocarray(text, cap, 1);
		}
		len += fread(text + len, 1, 65536, fp);
		if (ferror(fp))
			break;
	}
	if (text == NULL)
		return 0;
	text[len] = '\0';
	for (p = text; isspace((unsigned char)*p); p++)
		continue;
	if (*p == '{' || *p == '[') {
		/* STIX 2 patterns, then MISP attributes of an IP type */
		for (q = text; (v = quoted_after(q, "ipv4-addr:value", &q)) !=
		    NULL || (v = quoted_after(q, "ipv6-addr:value", &q)) != NULL;
		    free(v))
			bad += add_indicator(in, rs, feed, v) == -1;
		for (q = text; (p = strstr(q, "\"type\"")) != NULL; q = p + 6) {
			char *t = quoted_after(p, "\"type\"", &q);

			const char *nt = strstr(q, "\"type\""), *vp =
			    strstr(q, "\"value\"");

			/* the value of this attribute, not of the next one */
			if (t != NULL && strncmp(t, "ip-", 3) == 0 && vp != NULL &&
			    (nt == NULL || vp < nt) &&
			    (v = quoted_after(q, "\"value\"", &q)) != NULL) {
				v[strcspn(v, "|")] = '\0';
				bad += add_indicator(in, rs, feed, v) == -1;
				free(v);
			}
			free(t);
			p = (char *)q - 6;
		}
		free(text);
		return bad;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			continue;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (first && strstr(p, "type") != NULL && strstr(p, "value") !=
		    NULL && strchr(p, ',') != NULL) {
			/* a CSV export: find the columns */
			for (k = 0, v = p; v != NULL; k++) {
				n = strcspn(v, ",");
				if (n == 4 && strncmp(v, "type", 4) == 0)
					typecol = k;
				if (n == 5 && strncmp(v, "value", 5) == 0)
					valcol = k;
				v = v[n] == ',' ? v + n + 1 : NULL;
			}
			first = 0;
			continue;
		}
		first = 0;
		if (typecol != -1 && valcol != -1) {
			char *f[32];
			int nf = 0;

			/* simple CSV: quotes around fields, no commas inside */
			for (v = p; v != NULL && nf < 32;) {
				f[nf++] = v;
				if ((v = strchr(v, ',')) != NULL)
					*v++ = '\0';
			}
			if (typecol >= nf || valcol >= nf)
				continue;
			for (k = 0; k < nf; k++) {
				if (*f[k] == '"')
					f[k]++;
				f[k][strcspn(f[k], "\"")] = '\0';
			}
			if (strncmp(f[typecol], "ip-", 3) == 0 ||
			    strcmp(f[typecol], "ip") == 0) {
				f[valcol][strcspn(f[valcol], "|")] = '\0';
				bad += add_indicator(in, rs, feed,
				    f[valcol]) == -1;
			}
			continue;
		}
		/* inline comments */
		p[strcspn(p, ";#")] = '\0';
		tok[0][0] = tok[1][0] = tok[2][0] = '\0';
		n = (size_t)sscanf(p, "%63[^ \t,] %63[^ \t,] %63[^ \t,]",
		    tok[0], tok[1], tok[2]);
		if (n == 0)
			continue;
		if (strcmp(tok[0], "Start") == 0)	/* DShield's header */
			continue;
		/* DShield: start end prefix-length */
		if (n == 3 && strchr(tok[0], '/') == NULL && strchr(tok[1],
		    '.') != NULL && strspn(tok[2], "0123456789") ==
		    strlen(tok[2])) {
			char b[80];

			snprintf(b, sizeof(b), "%s/%s", tok[0], tok[2]);
			bad += add_indicator(in, rs, feed, b) == -1;
			continue;
		}
		bad += add_indicator(in, rs, feed, tok[0]) == -1;
	}
	free(text);
	return bad;
}

static int
cmpevent(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->end != y->end)
		return x->end - y->end;
	return memcmp(x->a, y->a, 16);
}

/* Sweeps the boundaries into labelled intervals; returns the interval count. */
static size_t
build(struct ni_intel *in, struct rangeset *rs, int v6)
{
	int		 count[NI_INTEL_MAXFEEDS] = { 0 };
	uint64_t	 mask = 0, prev = UINT64_MAX;
	size_t		 i, j, n = 0, s;
	struct iv4	*o4 = NULL;
	struct iv6	*o6 = NULL;

	if (rs->n > 0)
		qsort(rs->ev, rs->n, sizeof(*rs->ev), cmpevent);
	if (v6)
		o6 = ni_calloc(rs->n + 1, sizeof(*o6));
	else
		o4 = ni_calloc(rs->n + 1, sizeof(*o4));
	/* the space starts unlabelled */
	if (v6)
		o6[n].set = 0;
	else
		o4[n].lo = 0, o4[n].set = 0;
	n = 1;
	prev = 0;
	for (i = 0; i < rs->n; i = j) {
		/* all events at one boundary together */
		for (j = i; j < rs->n && cmpevent(&rs->ev[j], &rs->ev[i]) == 0;
		    j++) {
			count[rs->ev[j].feed] += rs->ev[j].delta;
			if (count[rs->ev[j].feed] > 0)
				mask |= 1ULL << rs->ev[j].feed;
			else
				mask &= ~(1ULL << rs->ev[j].feed);
		}
		if (rs->ev[i].end || mask == prev)
			continue;
		for (s = 0; s < in->nsets; s++)
			if (in->sets[s] == mask)
				break;
		if (s == in->nsets) {
			in->sets = ni_reallocarray(in->sets, in->nsets + 1,
			    sizeof(uint64_t));
			in->sets[in->nsets++] = mask;
		}
		if (v6) {
			memcpy(o6[n].lo, rs->ev[i].a, 16);
			o6[n++].set = (uint32_t)s;
		} else {
			o4[n].lo = (uint32_t)rs->ev[i].a[0] << 24 |
			    (uint32_t)rs->ev[i].a[1] << 16 |
			    (uint32_t)rs->ev[i].a[2] << 8 | rs->ev[i].a[3];
			o4[n++].set = (uint32_t)s;
		}
		prev = mask;
	}
	if (v6) {
		in->v6 = o6;
		in->n6 = n;
	} else {
		in->v4 = o4;
		in->n4 = n;
		/* the first interval that overlaps each /16 */
		for (i = 0, j = 0; i <= 65536; i++) {
			uint64_t start = (uint64_t)i << 16;

			while (j + 1 < n && o4[j + 1].lo <= start)
				j++;
			in->top[i] = (uint32_t)j;
		}
	}
	free(rs->ev);
	rs->ev = NULL;
	return n;
}

static int
add_excl(struct ni_intel *in, const char *s)
{
	struct ni_addr	 lo, hi;

	if (addr_range(s, &lo, &hi) == -1)
		return -1;
	in->excl = ni_reallocarray(in->excl, in->nexcl + 1, sizeof(*in->excl));
	memcpy(in->excl[in->nexcl].lo, lo.a, 16);
	memcpy(in->excl[in->nexcl].hi, hi.a, 16);
	in->excl[in->nexcl++].family = lo.family;
	return 0;
}

struct ni_intel *
ni_intel_load(const char *conf, const char *const *cluster, int verbose)
{
	struct ni_intel	*in;
	struct rangeset	 rs[2];
	char		*line = NULL, *dir, *p, cat[64], src[4096], name[128];
	size_t		 cap = 0, lineno = 0, i, bad, before;
	FILE		*fp, *ff;
	int		 n, failed = 0;

	memset(rs, 0, sizeof(rs));
	in = ni_calloc(1, sizeof(*in));
	in->sets = ni_calloc(1, sizeof(uint64_t));	/* set 0: nothing */
	in->nsets = 1;
	for (i = 0; never[i] != NULL; i++)
		add_excl(in, never[i]);
	for (i = 0; cluster != NULL && cluster[i] != NULL; i++)
		if (add_excl(in, cluster[i]) == -1) {
			warnx("cluster range \"%s\": not an address or prefix",
			    cluster[i]);
			ni_intel_free(&in);
			return NULL;
		}
	if ((fp = fopen(conf, "r")) == NULL) {
		warn("%s", conf);
		ni_intel_free(&in);
		return NULL;
	}
	dir = ni_strdup(conf);
	if ((p = strrchr(dir, '/')) != NULL)
		p[1] = '\0';
	else
		strcpy(dir, "");
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		name[0] = '\0';
		n = sscanf(line, "%63s %4095s %127s", cat, src, name);
		if (n <= 0)
			continue;
		if (n < 2) {
			warnx("%s:%zu: expected \"category source [name]\"",
			    conf, lineno);
			failed = 1;
			continue;
		}
		if (in->nfeeds == NI_INTEL_MAXFEEDS) {
			warnx("%s:%zu: more than %d feeds", conf, lineno,
			    NI_INTEL_MAXFEEDS);
			failed = 1;
			break;
		}
		in->feeds = ni_reallocarray(in->feeds, in->nfeeds + 1,
		    sizeof(*in->feeds));
		struct feed *f = &in->feeds[in->nfeeds];
		f->category = ni_strdup(cat);
		f->source = ni_strdup(src);
		if (name[0] == '\0') {
			/* the file name without its extension */
			p = strrchr(src, '/');
			snprintf(name, sizeof(name), "%.127s", p != NULL ? p + 1 : src);
			name[strcspn(name, ".")] = '\0';
		}
		f->name = ni_strdup(name);
		if (strstr(src, "://") != NULL) {
			/* fetched by ni-intel fetch into the cache */
			if (asprintf(&f->path, "%scache/%s", dir, f->name) == -1)
				err(1, NULL);
		} else if (src[0] == '/')
			f->path = ni_strdup(src);
		else if (asprintf(&f->path, "%s%s", dir, src) == -1)
			err(1, NULL);
		for (i = 0; i < in->ncats; i++)
			if (strcmp(in->cats[i], cat) == 0)
				break;
		if (i == in->ncats) {
			in->cats = ni_reallocarray(in->cats, in->ncats + 1,
			    sizeof(char *));
			in->cats[in->ncats++] = ni_strdup(cat);
		}
		in->catmask[in->nfeeds] = 1ULL << i;
		if (verbose < 0) {	/* the config alone (ni-intel fetch) */
			in->nfeeds++;
			continue;
		}
		if ((ff = fopen(f->path, "r")) == NULL) {
			warn("%s:%zu: %s", conf, lineno, f->path);
			failed = 1;
			in->nfeeds++;
			continue;
		}
		before = in->entries;
		bad = load_feed(in, rs, (int)in->nfeeds, ff);
		fclose(ff);
		if (bad > 0)
			warnx("%s: %zu indicators not understood, skipped",
			    f->path, bad);
		if (verbose)
			warnx("%s: %zu entries (%s)", f->name,
			    in->entries - before, f->category);
		in->nfeeds++;
	}
	free(line);
	free(dir);
	fclose(fp);
	if (in->dropped > 0)
		warnx("%zu entries dropped: they cover private, loopback, "
		    "reserved or cluster addresses, which are never matched",
		    in->dropped);
	build(in, &rs[0], 0);
	build(in, &rs[1], 1);
	if (failed) {
		ni_intel_free(&in);
		return NULL;
	}
	return in;
}

uint64_t
ni_intel_lookup(const struct ni_intel *in, const struct ni_addr *a)
{
	size_t		 lo, hi, mid;

	if (a->family == 4) {
		uint32_t x = (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 |
		    (uint32_t)a->a[2] << 8 | a->a[3];

		lo = in->top[x >> 16];
		hi = in->top[(x >> 16) + 1] + 1;
		if (hi > in->n4)
			hi = in->n4;
		/* the last interval starting at or below x */
		while (hi - lo > 1) {
			mid = (lo + hi) / 2;
			if (in->v4[mid].lo <= x)
				lo = mid;
			else
				hi = mid;
		}
		return in->sets[in->v4[lo].set];
	}
	lo = 0;
	hi = in->n6;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (memcmp(in->v6[mid].lo, a->a, 16) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return in->n6 > 0 ? in->sets[in->v6[lo].set] : 0;
}

static void
append(char *buf, size_t len, const char *s)
{
	size_t	 n = strlen(buf);

	if (n > 0 && n + 1 < len)
		buf[n++] = ';';
	snprintf(buf + n, len - n, "%s", s);
}

/* "cat;cat" and "feed;feed" of a lookup's answer, sorted as configured. */
void
ni_intel_describe(const struct ni_intel *in, uint64_t feeds, char *cats,
    size_t clen, char *names, size_t nlen)
{
	uint64_t	 cm = 0;
	size_t		 i;

	cats[0] = names[0] = '\0';
	for (i = 0; i < in->nfeeds; i++)
		if (feeds & (1ULL << i)) {
			cm |= in->catmask[i];
			append(names, nlen, in->feeds[i].name);
		}
	for (i = 0; i < in->ncats; i++)
		if (cm & (1ULL << i))
			append(cats, clen, in->cats[i]);
}

size_t
ni_intel_nfeeds(const struct ni_intel *in)
{
	return in->nfeeds;
}

const char *
ni_intel_feed(const struct ni_intel *in, size_t i, const char **source,
    const char **path)
{
	*source = in->feeds[i].source;
	*path = in->feeds[i].path;
	return in->feeds[i].name;
}

void
ni_intel_stats(const struct ni_intel *in, size_t *entries, size_t *intervals)
{
	*entries = in->entries;
	*intervals = in->n4 + in->n6;
}

void
ni_intel_free(struct ni_intel **inp)
{
	struct ni_intel	*in = *inp;
	size_t		 i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nfeeds; i++) {
		free(in->feeds[i].name);
		free(in->feeds[i].category);
		free(in->feeds[i].source);
		free(in->feeds[i].path);
	}
	for (i = 0; i < in->ncats; i++)
		free(in->cats[i]);
	free(in->cats);
	free(in->feeds);
	free(in->sets);
	free(in->v4);
	free(in->v6);
	free(in->excl);
	free(in);
	*inp = NULL;
}
