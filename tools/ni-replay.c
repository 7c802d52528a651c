/* ni-replay -- the flows of a time range of a bucket, back to ni-flow(5) in event-time order. */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ni.h"

struct object {
	char		*key;
	ni_time		 first, last;	/* of the flows' start, from the name */
};

/* One output line: where it is and when its flow started. */
struct line {
	ni_time		 start;
	size_t		 off;		/* in the run's text; ends with LF */
	uint32_t	 len;
	uint32_t	 idx;		/* keeps the order of equal starts */
};

/* The selected flows of one object, as output lines sorted by start. */
struct run {
	char		*text;
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
		fwrite(best->text + best->v[best->next].off, 1,
		    best->v[best->next].len, stdout);
		best->next++;
	}
	for (i = 0; i < nruns; i++)
		if (runs[i].next == runs[i].n) {
			free(runs[i].text);
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

/*
 * Reads one downloaded object into a run: each selected flow as a line of
 * the output's columns (found by name), sorted by start -- ni-upload
 * writes them sorted, so the sort is mostly skipped.
 */
static int
load(FILE *tmp, const char *name)
{
	struct ni_reader	*rd;
	struct ni_rec		 rec;
	struct run		 r;
	const char		**f;
	char			*line = NULL;
	size_t			 k, n, cap = 0, vcap = 0, len, tlen = 0, tcap = 0;
	ni_time			 t, prev = INT64_MIN;
	int			*map, cs, rval = 0, sorted = 1, same;

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
	same = n == nout;
	for (k = 0; k < nout; k++) {
		map[k] = ni_reader_col(rd, out[k]);
		same = same && map[k] == (int)k;
	}
	memset(&r, 0, sizeof(r));
	while (ni_read(rd, &rec) == 1) {
		if (ni_time_parse(rec.field[cs], &t) == -1) {
			ni_reader_bad(rd, &rec, "bad start \"%s\"",
			    rec.field[cs]);
			continue;
		}
		if (t < from || t >= to)
			continue;
		if (same && !rec.quoted) {
			/* split in place: the line is the fields, NUL for comma */
			char *e = rec.field[n - 1] + strlen(rec.field[n - 1]);

			len = (size_t)(e - rec.field[0]);
			for (k = 1; k < n; k++)
				rec.field[k][-1] = ',';
			*e = '\n';
			f[0] = rec.field[0];
			len++;
		} else {
			for (k = 0; k < nout; k++)
				f[k] = map[k] == -1 ? "" : rec.field[map[k]];
			len = ni_csv_join(&line, &cap, f, nout);
			f[0] = line;
		}
		if (tlen + len > tcap) {
			tcap = (tlen + len) * 2;
			r.text = ni_reallocarray(r.text, tcap, 1);
		}
		memcpy(r.text + tlen, f[0], len);
		if (r.n == vcap) {
			vcap = vcap * 2 + 1024;
			r.v = ni_reallocarray(r.v, vcap, sizeof(*r.v));
		}
		r.v[r.n].start = t;
		r.v[r.n].off = tlen;
		r.v[r.n].len = (uint32_t)len;
		r.v[r.n].idx = (uint32_t)r.n;
		r.n++;
		tlen += len;
		if (t < prev)
			sorted = 0;
		prev = t;
	}
	if (ni_reader_close(&rd) == -1)
		rval = -1;
	free(line);
	free(map);
	free(f);
	if (!sorted)
		qsort(r.v, r.n, sizeof(*r.v), cmpline);
	if (r.n == 0) {
		free(r.text);
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
