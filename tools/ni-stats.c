/* ni-stats -- group flows by columns, count and rank them, as nfdump -s and SiLK rwstats do. */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "ni.h"

enum val { V_FLOWS, V_PKTS, V_BYTES, V_RPKTS, V_RBYTES, V_TPKTS, V_TBYTES,
	V_FIRST, V_LAST, V_DISTINCT };

static const char *const valnames[] = { "flows", "pkts", "bytes", "rpkts",
	"rbytes", "tpkts", "tbytes", "first", "last" };

struct value {
	enum val	 kind;
	char		*col;		/* distinct: its column */
	int		 ci;		/* bound index */
	char		*title;
};

struct dval {				/* one distinct value of a group */
	UT_hash_handle	 hh;
	char		 s[];
};

struct group {
	UT_hash_handle	 hh;
	char		*key;		/* key fields, NUL-separated */
	size_t		 keylen;
	uint64_t	*v;		/* per value; first/last as ni_time */
	struct dval	**sets;		/* per distinct value */
	uint64_t	 err;		/* Space-Saving: overestimate bound */
	size_t		 heap;		/* its place in the min-heap */
};

static struct value	*vals;
static size_t		 nvals;
static char		**keys;
static size_t		 nkeys;
static int		*keyci;
static size_t		 sortv;		/* index in vals */
static ni_time		 bin;
static size_t		 maxkeys = 1000000, ngroups;
static struct group	*table;
static struct group	**heap;		/* only once the table is full */
static int		 approx;
static uint64_t		 evicted;

static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "bin",	required_argument,	NULL,	'b' },
	{ "filter",	required_argument,	NULL,	'e' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "keys",	required_argument,	NULL,	'k' },
	{ "max-keys",	required_argument,	NULL,	'm' },
	{ "top",	required_argument,	NULL,	'n' },
	{ "sort",	required_argument,	NULL,	's' },
	{ "strict",	no_argument,		NULL,	'S' },
	{ "values",	required_argument,	NULL,	'v' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void
parse_values(const char *s)
{
	char	**w;
	size_t	 n, i, k;

	w = ni_split(s, ",", &n);
	vals = ni_calloc(n, sizeof(*vals));
	for (i = 0; i < n; i++) {
		vals[i].title = w[i];
		if (strncmp(w[i], "distinct:", 9) == 0 && w[i][9] != '\0') {
			vals[i].kind = V_DISTINCT;
			vals[i].col = w[i] + 9;
			continue;
		}
		for (k = 0; k < sizeof(valnames) / sizeof(valnames[0]); k++)
			if (strcmp(w[i], valnames[k]) == 0)
				break;
		if (k == sizeof(valnames) / sizeof(valnames[0]))
			errx(1, "-v %s: unknown value \"%s\" (flows, pkts, "
			    "bytes, rpkts, rbytes, tpkts, tbytes, first, last, "
			    "distinct:COLUMN)", s, w[i]);
		vals[i].kind = (enum val)k;
	}
	nvals = n;
	free(w);
}

/* The order of the ranking: larger first; first ranks earlier first. */
static int
before(const struct group *a, const struct group *b)
{
	uint64_t	 x = a->v[sortv], y = b->v[sortv];

	if (vals[sortv].kind == V_FIRST || vals[sortv].kind == V_LAST)
		return (int64_t)x < (int64_t)y;
	return x > y;
}

static uint64_t
rankval(const struct group *g)
{
	return g->v[sortv];
}

/* min-heap by rank value, for Space-Saving */
static void
sift_down(size_t i)
{
	size_t		 l, m;
	struct group	*t;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < ngroups && rankval(heap[l]) < rankval(heap[m]))
			m = l;
		if (l + 1 < ngroups && rankval(heap[l + 1]) < rankval(heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		heap[i]->heap = i;
		heap[m]->heap = m;
		i = m;
	}
}

static void
free_sets(struct group *g)
{
	struct dval	*d, *tmp;
	size_t		 i;

	for (i = 0; i < nvals; i++)
		HASH_ITER(hh, g->sets[i], d, tmp) {
			HASH_DEL(g->sets[i], d);
			free(d);
		}
}

static struct group *
find_group(const char *key, size_t keylen)
{
	struct group	*g;
	size_t		 i;

	HASH_FIND(hh, table, key, keylen, g);
	if (g != NULL)
		return g;
	if (ngroups < maxkeys) {
		g = ni_calloc(1, sizeof(*g));
		g->v = ni_calloc(nvals, sizeof(uint64_t));
		g->sets = ni_calloc(nvals, sizeof(struct dval *));
		ngroups++;
	} else {
		/*
		 * Space-Saving (Metwally et al. 2005): the group with the
		 * least rank value gives its place to the new key, which
		 * inherits that count as its possible overestimate.  The
		 * heavy hitters stay, their counts off by at most err.
		 */
		if (!approx) {
			struct group	*h;

			approx = 1;
			heap = ni_calloc(ngroups, sizeof(*heap));
			i = 0;
			for (h = table; h != NULL; h = h->hh.next) {
				heap[i] = h;
				h->heap = i++;
			}
			for (i = ngroups / 2 + 1; i-- > 0;)
				sift_down(i);
		}
		g = heap[0];
		HASH_DEL(table, g);
		free(g->key);
		free_sets(g);
		g->err = g->v[sortv];
		for (i = 0; i < nvals; i++)
			if (i != sortv)
				g->v[i] = 0;
		evicted++;
	}
	g->key = ni_malloc(keylen);
	memcpy(g->key, key, keylen);
	g->keylen = keylen;
	for (i = 0; i < nvals; i++)
		if (vals[i].kind == V_FIRST)
			g->v[i] = (uint64_t)INT64_MAX;
		else if (vals[i].kind == V_LAST)
			g->v[i] = (uint64_t)INT64_MIN;
	HASH_ADD_KEYPTR(hh, table, g->key, g->keylen, g);
	return g;
}

static int
bind(struct ni_reader *r)
{
	size_t	 i;

	for (i = 0; i < nkeys; i++)
		if ((keyci[i] = strcmp(keys[i], "bin") == 0 && bin > 0 ? -2 :
		    ni_reader_col(r, keys[i])) == -1) {
			warnx("%s: no column \"%s\" to group by",
			    ni_reader_name(r), keys[i]);
			return -1;
		}
	for (i = 0; i < nvals; i++)
		if (vals[i].kind == V_DISTINCT && (vals[i].ci =
		    ni_reader_col(r, vals[i].col)) == -1) {
			warnx("%s: no column \"%s\" to count", ni_reader_name(r),
			    vals[i].col);
			return -1;
		}
	return 0;
}

static void
add(const struct ni_flow *f, const struct ni_rec *rec)
{
	struct group	*g;
	struct dval	*d;
	char		*key = NULL, tb[NI_TIME_LEN];
	size_t		 len = 0, i, n;
	const char	*s;
	uint64_t	 inc;

	for (i = 0; i < nkeys; i++) {
		if (keyci[i] == -2) {
			ni_time_fmt(f->start - ((f->start % bin) + bin) % bin,
			    tb);
			s = tb;
		} else
			s = rec->field[keyci[i]];
		n = strlen(s) + 1;
		key = ni_reallocarray(key, len + n, 1);
		memcpy(key + len, s, n);
		len += n;
	}
	g = find_group(key != NULL ? key : "", len);
	free(key);
	for (i = 0; i < nvals; i++) {
		switch (vals[i].kind) {
		case V_FLOWS: inc = 1; break;
		case V_PKTS: inc = f->pkts; break;
		case V_BYTES: inc = f->bytes; break;
		case V_RPKTS: inc = f->rpkts; break;
		case V_RBYTES: inc = f->rbytes; break;
		case V_TPKTS: inc = f->pkts + f->rpkts; break;
		case V_TBYTES: inc = f->bytes + f->rbytes; break;
		case V_FIRST:
			if (f->start < (ni_time)g->v[i])
				g->v[i] = (uint64_t)f->start;
			continue;
		case V_LAST:
			if (f->end > (ni_time)g->v[i])
				g->v[i] = (uint64_t)f->end;
			continue;
		default:
			s = rec->field[vals[i].ci];
			HASH_FIND_STR(g->sets[i], s, d);
			if (d == NULL) {
				d = ni_malloc(sizeof(*d) + strlen(s) + 1);
				strcpy(d->s, s);
				HASH_ADD_STR(g->sets[i], s, d);
				g->v[i]++;
			}
			continue;
		}
		g->v[i] += inc;
	}
	if (approx)
		sift_down(g->heap);
}

static int
cmpgroup(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a;
	const struct group *y = *(struct group *const *)b;

	if (before(x, y))
		return -1;
	if (before(y, x))
		return 1;
	/* ties in key order, so output is the same run after run */
	if (x->keylen != y->keylen || memcmp(x->key, y->key, x->keylen) != 0) {
		size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
		int c = memcmp(x->key, y->key, m);

		return c != 0 ? c : x->keylen < y->keylen ? -1 : 1;
	}
	return 0;
}

static void
print(size_t top)
{
	struct group	**v, *g;
	const char	**row, **hdr;
	char		***cells;
	size_t		 n = 0, i, j, k, nc = nkeys + nvals + (approx ? 1 : 0);
	size_t		*width;
	int		 tty = isatty(STDOUT_FILENO);

	v = ni_calloc(ngroups, sizeof(*v));
	for (g = table; g != NULL; g = g->hh.next)
		v[n++] = g;
	if (n > 0)
		qsort(v, n, sizeof(*v), cmpgroup);
	if (top > 0 && n > top)
		n = top;
	hdr = ni_calloc(nc, sizeof(char *));
	for (i = 0; i < nkeys; i++)
		hdr[i] = keys[i];
	for (i = 0; i < nvals; i++)
		hdr[nkeys + i] = vals[i].title;
	if (approx)
		hdr[nc - 1] = "error";
	cells = ni_calloc(n, sizeof(char **));
	for (j = 0; j < n; j++) {
		const char *p = v[j]->key;

		cells[j] = ni_calloc(nc, sizeof(char *));
		for (i = 0; i < nkeys; i++, p += strlen(p) + 1)
			cells[j][i] = ni_strdup(p);
		for (i = 0; i < nvals; i++) {
			char b[NI_TIME_LEN];

			if (vals[i].kind == V_FIRST || vals[i].kind == V_LAST)
				ni_time_fmt((ni_time)v[j]->v[i], b);
			else
				snprintf(b, sizeof(b), "%llu",
				    (unsigned long long)v[j]->v[i]);
			cells[j][nkeys + i] = ni_strdup(b);
		}
		if (approx) {
			char b[24];

			snprintf(b, sizeof(b), "%llu",
			    (unsigned long long)v[j]->err);
			cells[j][nc - 1] = ni_strdup(b);
		}
	}
	if (!tty) {
		struct ni_writer *w = ni_writer_new(stdout, hdr, nc);

		for (j = 0; j < n; j++)
			ni_write_fields(w, (const char *const *)cells[j], nc);
		ni_writer_close(&w);
	} else {
		/* aligned for a person: keys left, numbers right */
		width = ni_calloc(nc, sizeof(size_t));
		for (i = 0; i < nc; i++)
			width[i] = strlen(hdr[i]);
		for (j = 0; j < n; j++)
			for (i = 0; i < nc; i++)
				if (strlen(cells[j][i]) > width[i])
					width[i] = strlen(cells[j][i]);
		for (j = 0; j <= n; j++) {
			row = j == 0 ? hdr : (const char **)cells[j - 1];
			for (i = 0; i < nc; i++) {
				k = i < nkeys || (i - nkeys < nvals &&
				    (vals[i - nkeys].kind == V_FIRST ||
				    vals[i - nkeys].kind == V_LAST));
				printf(k ? "%-*s%s" : "%*s%s", (int)width[i],
				    row[i], i + 1 < nc ? "  " : "\n");
			}
		}
		free(width);
	}
	for (j = 0; j < n; j++) {
		for (i = 0; i < nc; i++)
			free(cells[j][i]);
		free(cells[j]);
	}
	free(cells);
	free(hdr);
	free(v);
}

int
main(int argc, char *argv[])
{
	static char		*stdin_only[] = { "-", NULL };
	struct ni_reader	*r;
	struct ni_flowcols	 fc;
	struct ni_filter	*filter = NULL;
	struct ni_flow		 f;
	struct ni_rec		 rec;
	const char		*errstr, *sortname = NULL;
	char			 errbuf[512];
	size_t			 top = 0, i;
	int			 ch, opts = 0, rval = 0;
	int64_t			 b;

	parse_values("flows,pkts,bytes,rpkts,rbytes,first,last");
	while ((ch = getopt_long(argc, argv, "b:e:hk:m:n:Ss:v:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (ni_duration_parse(optarg, &b) == -1 || b <= 0)
				errx(1, "-b %s: not a duration (30s, 5m, 1h, 1d)",
				    optarg);
			bin = b;
			break;
		case 'e':
			if ((filter = ni_filter_compile(optarg, errbuf,
			    sizeof(errbuf))) == NULL)
				errx(1, "-e: expression, %s", errbuf);
			break;
		case 'k':
			keys = ni_split(optarg, ",", &nkeys);
			break;
		case 'm':
			maxkeys = (size_t)strtonum(optarg, 1, 1LL << 32,
			    &errstr);
			if (errstr != NULL)
				errx(1, "-m %s: %s", optarg, errstr);
			break;
		case 'n':
			top = (size_t)strtonum(optarg, 1, 1LL << 32, &errstr);
			if (errstr != NULL)
				errx(1, "-n %s: %s", optarg, errstr);
			break;
		case 'S':
			opts |= NI_READ_STRICT;
			break;
		case 's':
			sortname = optarg;
			break;
		case 'v':
			for (i = 0; i < nvals; i++)
				free(vals[i].title);
			free(vals);
			parse_values(optarg);
			break;
		case 'V':
			printf("ni-stats %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (bin > 0) {
		/* the time bin is the first key */
		keys = ni_reallocarray(keys, nkeys + 1, sizeof(char *));
		memmove(keys + 1, keys, nkeys * sizeof(char *));
		keys[0] = ni_strdup("bin");
		nkeys++;
	}
	keyci = ni_calloc(nkeys + 1, sizeof(int));
	sortv = 0;
	if (sortname != NULL) {
		for (i = 0; i < nvals; i++)
			if (strcmp(vals[i].title, sortname) == 0)
				break;
		if (i == nvals)
			errx(1, "-s %s: not one of the values (-v)", sortname);
		sortv = i;
	}
	if (argc == 0)
		argv = stdin_only;
	for (; *argv != NULL; argv++) {
		if ((r = ni_reader_open(*argv, opts)) == NULL) {
			rval = 1;
			continue;
		}
		(void)ni_reader_names(r, &i);
		if (i > 0 && (ni_flowcols_init(r, &fc) == -1 || bind(r) == -1 ||
		    (filter != NULL && ni_filter_bind(filter, r) == -1))) {
			ni_reader_close(&r);
			rval = 1;
			continue;
		}
		while (ni_read(r, &rec) == 1) {
			if (filter != NULL && !ni_filter_match(filter, r, &rec))
				continue;
			if (ni_flow_get(r, &fc, &rec, &f) == -1)
				continue;
			add(&f, &rec);
		}
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	if (approx)
		warnx("more than %zu keys: an approximate ranking (Space-Saving, "
		    "%llu evictions); each %s may be too high by at most its "
		    "error column", maxkeys, (unsigned long long)evicted,
		    vals[sortv].title);
	print(top);
	ni_filter_free(&filter);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ni-stats [-S] [-b bin] [-e expression] [-k keys] "
	    "[-m max-keys] [-n top]\n"
	    "                [-s value] [-v values] [file ...]\n");
	exit(status);
}
