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
	uint64_t	 count;
};

struct row {
	ni_time		 start;
	uint64_t	 seq;		/* keeps the order of equal starts */
	char		**field;
};

static char		**out;		/* the output's columns */
static size_t		 nout;
static struct ni_writer	*w;
static struct object	*objs;
static size_t		 nobjs;
static struct row	*rows;
static size_t		 nrows, caprows;
static uint64_t		 seq;
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

/* 20261204T192014.123456Z from an object name. */
static int
parse_compact(const char *s, size_t n, ni_time *t)
{
	char	 b[NI_TIME_LEN];

	if (n != 23)
		return -1;
	snprintf(b, sizeof(b), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%.8s", s, s + 4,
	    s + 6, s + 9, s + 11, s + 13, s + 15);
	return ni_time_parse(b, t);
}

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
	o.count = 0;
	/* FIRST_LAST_nCOUNT_...: planned from the name; other names are
	 * read whole and filtered. */
	b = strrchr(key, '/');
	b = b != NULL ? b + 1 : key;
	if ((u1 = strchr(b, '_')) != NULL && (u2 = strchr(u1 + 1, '_')) != NULL &&
	    (parse_compact(b, (size_t)(u1 - b), &o.first) == -1 ||
	    parse_compact(u1 + 1, (size_t)(u2 - u1 - 1), &o.last) == -1)) {
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
cmprow(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes, in start order, the buffered flows that start before limit. */
static void
emit(ni_time limit)
{
	size_t	 i, j, k;

	qsort(rows, nrows, sizeof(*rows), cmprow);
	for (i = 0; i < nrows && rows[i].start < limit; i++) {
		ni_write_fields(w, (const char *const *)rows[i].field, nout);
		for (k = 0; k < nout; k++)
			free(rows[i].field[k]);
		free(rows[i].field);
	}
	for (j = 0; i < nrows; i++, j++)
		rows[j] = rows[i];
	nrows = j;
}

/*
 * Reads one downloaded object; columns are mapped by name to the output's,
 * which are the first readable object's.
 */
static int
load(FILE *tmp, const char *name)
{
	struct ni_reader	*r;
	struct ni_rec		 rec;
	const char *const	*names;
	ni_time			 t;
	size_t			 k, n;
	int			*map, cs, rval = 0;

	fflush(tmp);
	rewind(tmp);
	if ((r = ni_reader_fdopen(dup(fileno(tmp)), name, 0)) == NULL)
		return -1;
	names = ni_reader_names(r, &n);
	if ((cs = ni_reader_col(r, "start")) == -1) {
		if (n > 0)
			warnx("%s:1: no \"start\" column: not a flow file",
			    name);
		ni_reader_close(&r);
		return n > 0 ? -1 : 0;
	}
	if (out == NULL) {
		nout = n;
		out = ni_calloc(n, sizeof(char *));
		for (k = 0; k < n; k++)
			out[k] = ni_strdup(names[k]);
		w = ni_writer_new(stdout, (const char *const *)out, nout);
	}
	map = ni_calloc(nout, sizeof(int));
	for (k = 0; k < nout; k++)
		map[k] = ni_reader_col(r, out[k]);
	while (ni_read(r, &rec) == 1) {
		if (ni_time_parse(rec.field[cs], &t) == -1) {
			ni_reader_bad(r, &rec, "bad start \"%s\"",
			    rec.field[cs]);
			continue;
		}
		if (t < from || t >= to)
			continue;
		if (nrows == caprows) {
			caprows = caprows * 2 + 1024;
			rows = ni_reallocarray(rows, caprows, sizeof(*rows));
		}
		rows[nrows].start = t;
		rows[nrows].seq = seq++;
		rows[nrows].field = ni_calloc(nout, sizeof(char *));
		for (k = 0; k < nout; k++)
			rows[nrows].field[k] = ni_strdup(map[k] == -1 ? "" :
			    rec.field[map[k]]);
		nrows++;
	}
	if (ni_reader_close(&r) == -1)
		rval = -1;
	free(map);
	return rval;
}

static int
parse_time(const char *opt, const char *s, ni_time *t)
{
	char	 b[NI_TIME_LEN + 16];

	/* Also a date alone, or minutes without seconds. */
	if (ni_time_parse(s, t) == 0)
		return 0;
	if (strlen(s) == 10)
		snprintf(b, sizeof(b), "%sT00:00:00Z", s);
	else if (strlen(s) == 17 && s[16] == 'Z')
		snprintf(b, sizeof(b), "%.16s:00Z", s);
	else
		b[0] = '\0';
	if (b[0] != '\0' && ni_time_parse(b, t) == 0)
		return 0;
	errx(1, "%s %s: not a time (2026-12-04, 2026-12-04T19:20Z or RFC 3339)",
	    opt, s);
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
			o.retries = atoi(optarg);
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
		/* Later objects start no earlier: what starts before is final. */
		if (w != NULL)
			emit(i + 1 < nobjs ? objs[i + 1].first : INT64_MAX);
	}
	if (progress)
		fprintf(stderr, "\033[K");
	if (w == NULL) {
		/* Nothing in the range: still one header, the core columns. */
		w = ni_writer_new(stdout, ni_col_names, NI_NCORE);
	}
	ni_writer_close(&w);
	for (i = 0; i < nout; i++)
		free(out[i]);
	free(out);
	for (i = 0; i < nobjs; i++)
		free(objs[i].key);
	free(objs);
	free(rows);
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
