/* ni-replay -- the flows of a time range of a bucket, back to ni-flow(5) in event-time order. */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ni.h"

struct object {
	char		*key;
	ni_time		 first, last;	/* of the flows' start, from the name */
};

/* One output line: where it is and when its flow started. */
struct line {
	ni_time		 start;
	const char	*p;		/* the line, without its LF */
	uint32_t	 len;
	uint32_t	 idx;		/* keeps the order of equal starts */
};

/* The selected flows of one object, sorted by start. */
struct run {
	char		*text, *extra;	/* what the lines point into */
	struct line	*v;
	size_t		 n, next;
};

static char		**out;		/* the output's columns */
static size_t		 nout;
static struct object	*objs;
static size_t		 nobjs;
static struct run	*runs;
static size_t		 nruns;
static ni_time		 from = INT64_MIN, to = INT64_MAX;

static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "addressing",	required_argument,	NULL,	'a' },
	{ "ca-file",	required_argument,	NULL,	'C' },
	{ "cluster",	required_argument,	NULL,	'c' },
	{ "endpoint",	required_argument,	NULL,	'e' },
	{ "from",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "profile",	required_argument,	NULL,	'p' },
	{ "region",	required_argument,	NULL,	'R' },
	{ "retries",	required_argument,	NULL,	'r' },
	{ "to",		required_argument,	NULL,	't' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void
add_object(const char *key, int isdir, void *arg)
{
	struct object	 o;
	const char	*b, *u1, *u2;

	(void)arg;
	if (isdir)
		return;
	o.first = INT64_MIN;
	o.last = INT64_MAX;
	/* FIRST_LAST_nCOUNT_...: planned from the name; other names are
	 * read whole and filtered. */
	b = strrchr(key, '/');
	b = b != NULL ? b + 1 : key;
	if ((u1 = strchr(b, '_')) != NULL && (u2 = strchr(u1 + 1, '_')) != NULL &&
	    (ni_time_parse_compact(b, (size_t)(u1 - b), &o.first) == -1 ||
	    ni_time_parse_compact(u1 + 1, (size_t)(u2 - u1 - 1),
	    &o.last) == -1)) {
		o.first = INT64_MIN;
		o.last = INT64_MAX;
	}
	if (o.last < from || o.first >= to)
		return;
	o.key = ni_strdup(key);
	objs = ni_reallocarray(objs, nobjs + 1, sizeof(*objs));
	objs[nobjs++] = o;
}

static void
add_cluster(const char *key, int isdir, void *arg)
{
	char	***list = arg;
	size_t	  n;

	if (!isdir || strstr(key, "cluster=") == NULL)
		return;
	for (n = 0; (*list)[n] != NULL; n++)
		continue;
	*list = ni_reallocarray(*list, n + 2, sizeof(char *));
	(*list)[n] = ni_strdup(key);
	(*list)[n + 1] = NULL;
}

static int
cmpobj(const void *a, const void *b)
{
	const struct object *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
cmpline(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void
header(void)
{
	static int	 done;
	char		*line = NULL;
	size_t		 cap = 0, len;

	if (done || out == NULL)
		return;
	done = 1;
	len = ni_csv_join(&line, &cap, (const char *const *)out, nout);
	fwrite(line, 1, len, stdout);
	free(line);
}

/*
 * Writes, merging the runs, the flows that start before limit: later
 * objects start no earlier, so these are final.
 */
static void
emit(ni_time limit)
{
	struct run	*r, *best;
	size_t		 i;

	header();
	for (;;) {
		best = NULL;
		for (i = 0; i < nruns; i++) {
			r = &runs[i];
			if (r->next < r->n && (best == NULL ||
			    r->v[r->next].start < best->v[best->next].start))
				best = r;
		}
		if (best == NULL || best->v[best->next].start >= limit)
			break;
		fwrite(best->v[best->next].p, 1, best->v[best->next].len,
		    stdout);
		putchar('\n');
		best->next++;
	}
	for (i = 0; i < nruns; i++)
		if (runs[i].next == runs[i].n) {
			free(runs[i].text);
			free(runs[i].extra);
			free(runs[i].v);
			runs[i--] = runs[--nruns];
		}
}

static void
set_output(const char *const *names, size_t n)
{
	size_t	 k;

	nout = n;
	out = ni_calloc(n, sizeof(char *));
	for (k = 0; k < n; k++)
		out[k] = ni_strdup(names[k]);
}

static void
add_line(struct run *r, size_t *cap, ni_time t, const char *p, size_t len)
{
	if (r->n == *cap) {
		*cap = *cap * 2 + 1024;
		r->v = ni_reallocarray(r->v, *cap, sizeof(*r->v));
	}
	r->v[r->n].start = t;
	r->v[r->n].p = p;
	r->v[r->n].len = (uint32_t)len;
	r->v[r->n].idx = (uint32_t)r->n;
	r->n++;
}

/*
 * The general path, for objects with quoted fields: libni's reader, and
 * each selected flow written again as a line of the output's columns.
 */
static int
load_quoted(FILE *tmp, const char *name, struct run *r)
{
	struct ni_reader	*rd;
	struct ni_rec		 rec;
	const char		**f;
	char			*line = NULL;
	size_t			 k, n, cap = 0, vcap = 0, len, xlen = 0, xcap = 0;
	size_t			 offcap = 0;
	size_t			*off = NULL;
	ni_time			 t;
	int			*map, cs, rval = 0;

	rewind(tmp);
	if ((rd = ni_reader_fdopen(dup(fileno(tmp)), name, 0)) == NULL)
		return -1;
	(void)ni_reader_names(rd, &n);
	if ((cs = ni_reader_col(rd, "start")) == -1) {
		if (n > 0)
			warnx("%s:1: no \"start\" column: not a flow file",
			    name);
		ni_reader_close(&rd);
		return n > 0 ? -1 : 0;
	}
	if (out == NULL)
		set_output(ni_reader_names(rd, &n), n);
	map = ni_calloc(nout, sizeof(int));
	f = ni_calloc(nout, sizeof(char *));
	for (k = 0; k < nout; k++)
		map[k] = ni_reader_col(rd, out[k]);
	while (ni_read(rd, &rec) == 1) {
		if (ni_time_parse(rec.field[cs], &t) == -1) {
			ni_reader_bad(rd, &rec, "bad start \"%s\"",
			    rec.field[cs]);
			continue;
		}
		if (t < from || t >= to)
			continue;
		for (k = 0; k < nout; k++)
			f[k] = map[k] == -1 ? "" : rec.field[map[k]];
		len = ni_csv_join(&line, &cap, f, nout) - 1;
		if (xlen + len > xcap) {
			xcap = (xlen + len) * 2;
			r->extra = ni_reallocarray(r->extra, xcap, 1);
		}
		memcpy(r->extra + xlen, line, len);
		/* offsets now, pointers once extra stops moving */
		add_line(r, &vcap, t, NULL, len);
		if (r->n > offcap) {
			offcap = offcap * 2 + 1024;
			off = ni_reallocarray(off, offcap, sizeof(*off));
		}
		off[r->n - 1] = xlen;
		xlen += len;
	}
	for (k = 0; k < r->n; k++)
		r->v[k].p = r->extra + off[k];
	if (ni_reader_close(&rd) == -1)
		rval = -1;
	free(off);
	free(line);
	free(map);
	free(f);
	return rval;
}

/* The whole object in memory, decompressed if it is gzip. */
static int
slurp(FILE *tmp, const char *name, char **text, size_t *len)
{
	struct stat	 sb;
	unsigned char	*raw;
	size_t		 cap;
	z_stream	 z;
	int		 rc;

	fflush(tmp);
	if (fstat(fileno(tmp), &sb) == -1)
		err(1, "tmpfile");
	raw = ni_malloc((size_t)sb.st_size + 1);
	rewind(tmp);
	if (fread(raw, 1, (size_t)sb.st_size, tmp) != (size_t)sb.st_size)
		err(1, "tmpfile");
	if (sb.st_size < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
		*text = (char *)raw;
		*len = (size_t)sb.st_size;
		return 0;
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		errx(1, "cannot start zlib");
	cap = (size_t)sb.st_size * 8 + 65536;
	*text = ni_malloc(cap);
	z.next_in = raw;
	z.avail_in = (unsigned)sb.st_size;
	for (;;) {
		if (cap - z.total_out < 65536) {
			cap *= 2;
			*text = ni_reallocarray(*text, cap, 1);
		}
		z.next_out = (unsigned char *)*text + z.total_out;
		z.avail_out = (unsigned)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			/* another gzip member follows */
			{
				uLong done = z.total_out;

				inflateReset(&z);
				z.total_out = done;
			}
			continue;
		}
		if (rc != Z_OK) {
			warnx("%s: %s", name, rc == Z_BUF_ERROR ?
			    "compressed data cut short" : z.msg != NULL ? z.msg :
			    "corrupt compressed data");
			inflateEnd(&z);
			free(raw);
			free(*text);
			return -1;
		}
	}
	*len = z.total_out;
	inflateEnd(&z);
	free(raw);
	return 0;
}

/*
 * Reads one downloaded object into a run.  Objects without quotes -- all
 * but a few -- are split in place: the lines are written as they came.
 */
static int
load(FILE *tmp, const char *name)
{
	struct run	 r;
	char		*text, *p, *end, *nl, *c, **names, tb[NI_TIME_LEN];
	size_t		 len, n, k, vcap = 0, lineno = 1, bad = 0, xo = 0;
	ni_time		 t, prev = INT64_MIN;
	int		*map = NULL, cs = -1, same, sorted = 1, rval = 0;

	memset(&r, 0, sizeof(r));
	if (slurp(tmp, name, &text, &len) == -1)
		return -1;
	if (len == 0) {
		free(text);
		return 0;
	}
	if (memchr(text, '"', len) != NULL || memchr(text, '\r', len) != NULL) {
		free(text);
		rval = load_quoted(tmp, name, &r);
		goto add;
	}
	r.text = text;
	end = text + len;
	if ((nl = memchr(text, '\n', len)) == NULL)
		nl = end;
	*nl = '\0';
	for (n = 1, p = text; (p = strchr(p, ',')) != NULL; p++)
		n++;
	names = ni_calloc(n, sizeof(char *));
	for (k = 0, p = text; k < n; k++) {
		names[k] = p;
		if ((c = strchr(p, ',')) != NULL) {
			*c = '\0';
			p = c + 1;
		}
		if (strcmp(names[k], "start") == 0)
			cs = (int)k;
	}
	if (cs == -1) {
		warnx("%s:1: no \"start\" column: not a flow file", name);
		free(names);
		free(text);
		return -1;
	}
	if (out == NULL)
		set_output((const char *const *)names, n);
	same = n == nout;
	map = ni_calloc(nout, sizeof(int));
	for (k = 0; k < nout; k++) {
		map[k] = -1;
		for (size_t j = 0; j < n; j++)
			if (strcmp(out[k], names[j]) == 0)
				map[k] = (int)j;
		same = same && map[k] == (int)k;
	}
	free(names);
	if (!same) {
		/* a mapped line is at most its line plus a comma a column */
		size_t lines = 1;

		for (p = text; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
		    p++)
			lines++;
		r.extra = ni_malloc(len + lines * (nout + 1) + 1);
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p)
			continue;
		/* the start field, and the number of fields */
		const char *fs = p, *fe = NULL;
		for (k = 0, c = p; ; k++) {
			char *q = memchr(c, ',', (size_t)(nl - c));

			if ((int)k == cs) {
				fs = c;
				fe = q != NULL ? q : nl;
			}
			if (q == NULL)
				break;
			c = q + 1;
		}
		if (k + 1 != n) {
			if (++bad <= 20)
				warnx("%s:%zu: %zu fields, header has %zu", name,
				    lineno, k + 1, n);
			continue;
		}
		if ((size_t)(fe - fs) >= sizeof(tb) ||
		    (memcpy(tb, fs, (size_t)(fe - fs)), tb[fe - fs] = '\0',
		    ni_time_parse(tb, &t) == -1)) {
			if (++bad <= 20)
				warnx("%s:%zu: bad start \"%.*s\"", name,
				    lineno, (int)(fe - fs), fs);
			continue;
		}
		if (t < from || t >= to)
			continue;
		if (same) {
			add_line(&r, &vcap, t, p, (size_t)(nl - p));
		} else {
			/* the output's columns, from this line's fields */
			const char *fld[1024];
			size_t nf = 0, o;
			char *q = r.extra + xo;

			for (c = p; nf < 1024; ) {
				char *e2 = memchr(c, ',', (size_t)(nl - c));

				fld[nf++] = c;
				if (e2 == NULL) {
					*nl = '\0';
					break;
				}
				*e2 = '\0';
				c = e2 + 1;
			}
			o = 0;
			for (k = 0; k < nout; k++) {
				const char *v = map[k] == -1 ? "" : fld[map[k]];
				size_t vl = strlen(v);

				memcpy(q + o, v, vl);
				o += vl;
				if (k + 1 < nout)
					q[o++] = ',';
			}
			add_line(&r, &vcap, t, q, o);
			xo += o;
		}
		if (t < prev)
			sorted = 0;
		prev = t;
	}
	if (bad > 0) {
		warnx("%s: %zu malformed line%s skipped", name, bad,
		    bad == 1 ? "" : "s");
		rval = -1;
	}
	free(map);
	/* ni-upload writes objects sorted by start; others are sorted here */
	if (!sorted)
		qsort(r.v, r.n, sizeof(*r.v), cmpline);
add:
	if (r.n == 0) {
		free(r.text);
		free(r.extra);
		free(r.v);
		return rval;
	}
	runs = ni_reallocarray(runs, nruns + 1, sizeof(*runs));
	runs[nruns++] = r;
	return rval;
}

static void
parse_time(const char *opt, const char *s, ni_time *t)
{
	if (ni_time_parse_loose(s, t) == -1)
		errx(1, "%s %s: not a time (2026-12-04, 2026-12-04T19:20Z or "
		    "RFC 3339)", opt, s);
}

int
main(int argc, char *argv[])
{
	struct ni_store_opts	 o = { 0 };
	struct ni_store		*st;
	char			**clusters, *prefix, *c, name[4096];
	const char		*cluster = NULL;
	size_t			 i;
	ni_time			 d;
	FILE			*tmp;
	int			 ch, rval = 0, progress;

	o.retries = 6;
	while ((ch = getopt_long(argc, argv, "a:C:c:e:f:hp:R:r:t:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "path") != 0 &&
			    strcmp(optarg, "virtual") != 0)
				errx(1, "--addressing %s: path or virtual",
				    optarg);
			o.addressing = optarg[0] == 'p' ? 'p' : 'v';
			break;
		case 'C':
			o.ca_file = optarg;
			break;
		case 'c':
			cluster = optarg;
			break;
		case 'e':
			o.endpoint = optarg;
			break;
		case 'f':
			parse_time("--from", optarg, &from);
			break;
		case 'p':
			o.profile = optarg;
			break;
		case 'R':
			o.region = optarg;
			break;
		case 'r':
			o.retries = (int)ni_number("-r", optarg, 0, 100);
			break;
		case 't':
			parse_time("--to", optarg, &to);
			break;
		case 'V':
			printf("ni-replay %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage(stderr, 1);
	ni_store_opts_config(&o);
	if ((st = ni_store_open(argv[0], &o)) == NULL)
		return 1;
	progress = isatty(STDERR_FILENO);

	/* Plan from listings: the clusters, then only the days asked for. */
	clusters = ni_calloc(1, sizeof(char *));
	if (cluster != NULL) {
		if (asprintf(&c, "%scluster=%s/", ni_store_prefix(st),
		    cluster) == -1)
			err(1, NULL);
		add_cluster(c, 1, &clusters);
		free(c);
	} else if (ni_store_list(st, ni_store_prefix(st), 1, add_cluster,
	    &clusters) != 0)
		rval = 1;
	for (i = 0; clusters[i] != NULL; i++) {
		if (from == INT64_MIN || to == INT64_MAX ||
		    to - from > 366LL * 86400 * 1000000) {
			if (ni_store_list(st, clusters[i], 0, add_object,
			    NULL) != 0)
				rval = 1;
		} else
			for (d = from - (from % (86400LL * 1000000)); d < to;
			    d += 86400LL * 1000000) {
				char ds[NI_TIME_LEN];

				ni_time_fmt(d, ds);
				if (asprintf(&prefix, "%sdate=%.10s/",
				    clusters[i], ds) == -1)
					err(1, NULL);
				if (ni_store_list(st, prefix, 0, add_object,
				    NULL) != 0)
					rval = 1;
				free(prefix);
			}
		free(clusters[i]);
	}
	free(clusters);
	if (nobjs > 0)
		qsort(objs, nobjs, sizeof(*objs), cmpobj);

	for (i = 0; i < nobjs; i++) {
		if (progress)
			fprintf(stderr, "ni-replay: object %zu of %zu\r", i + 1,
			    nobjs);
		if ((tmp = tmpfile()) == NULL)
			err(1, "tmpfile");
		if (ni_store_get(st, objs[i].key, tmp) != 0) {
			rval = 1;
			fclose(tmp);
			continue;
		}
		snprintf(name, sizeof(name), "%s%s%s", ni_store_url(st),
		    ni_store_url(st)[strlen(ni_store_url(st)) - 1] == '/' ?
		    "" : "/", objs[i].key + strlen(ni_store_prefix(st)));
		if (load(tmp, name) == -1)
			rval = 1;
		fclose(tmp);
		emit(i + 1 < nobjs ? objs[i + 1].first : INT64_MAX);
	}
	if (progress)
		fprintf(stderr, "\033[K");
	if (out == NULL)
		/* Nothing in the range: still one header, the core columns. */
		set_output(ni_col_names, NI_NCORE);
	header();
	for (i = 0; i < nout; i++)
		free(out[i]);
	free(out);
	for (i = 0; i < nobjs; i++)
		free(objs[i].key);
	free(objs);
	free(runs);
	ni_store_close(&st);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ni-replay [-a path|virtual] [-C ca-file] [-c cluster] "
	    "[-e endpoint] [-f time]\n"
	    "                 [-p profile] [-R region] [-r retries] [-t time] "
	    "s3://bucket/prefix | dir\n");
	exit(status);
}
