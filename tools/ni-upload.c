/* ni-upload -- store ni-flow(5) records in a bucket, spooled to disk first, nothing lost or doubled. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ni.h"

#define MAXOPEN	256		/* open segments; the oldest is sealed past it */

/* One object in the making: the flows of one cluster and time window. */
struct seg {
	char			*cluster;
	int64_t			 window;
	char			*path;		/* SPOOL/open/CLUSTER/NAME.csv */
	FILE			*fp;
	struct ni_writer	*w;
	uint64_t		 count, bytes;
	ni_time			 first, last;	/* of the flows' start */
	ni_time			*starts;	/* of each line, in file order */
	size_t			 capstarts;
};

static struct {
	ni_time		 interval, lateness;
	uint64_t	 maxbytes;
	const char	*cluster;
	char		 host[64];
	char		 runid[24];
	char		*spool;
	int		 level;
	int		 strict;
} conf;

static struct {
	uint64_t	 objects, flows, bytes, kept;
	int		 fatal;		/* a 4xx: stop sending, keep the spool */
	int		 ready;		/* objects may wait in SPOOL/ready */
	time_t		 down_until;	/* the store is down: wait before trying */
	int		 down_count;
	int		 progress;
	time_t		 shown;
} run;

static struct seg	*segs[MAXOPEN];
static size_t		 nsegs;
static unsigned		 seqno;
static struct ni_store	*store;

static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "addressing",	required_argument,	NULL,	'a' },
	{ "ca-file",	required_argument,	NULL,	'C' },
	{ "cluster",	required_argument,	NULL,	'c' },
	{ "endpoint",	required_argument,	NULL,	'e' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "host",	required_argument,	NULL,	'H' },
	{ "interval",	required_argument,	NULL,	'i' },
	{ "lateness",	required_argument,	NULL,	'l' },
	{ "level",	required_argument,	NULL,	'L' },
	{ "max-size",	required_argument,	NULL,	'm' },
	{ "profile",	required_argument,	NULL,	'p' },
	{ "region",	required_argument,	NULL,	'R' },
	{ "retries",	required_argument,	NULL,	'r' },
	{ "spool",	required_argument,	NULL,	's' },
	{ "strict",	no_argument,		NULL,	'S' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* A partition value: Hive paths and file names stay plain. */
static char *
sanitize(const char *s)
{
	char	*p, *t = ni_strdup(*s != '\0' ? s : "default");

	for (p = t; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	return t;
}

static int64_t
window_of(ni_time t)
{
	return t >= 0 ? t / conf.interval : -((-t + conf.interval - 1) /
	    conf.interval);
}

/*
 * The object key of a sealed segment: Hive partitions, then a name that
 * says what is inside, so a reader plans from a listing alone:
 * cluster=C/date=D/hour=H/FIRST_LAST_nCOUNT_HOST_RUN-SEQ.csv.gz
 */
static char *
object_key(const char *cluster, int64_t window, const char *tag,
    ni_time first, ni_time last, uint64_t count)
{
	char	 ws[NI_TIME_LEN], f[NI_TIME_LEN], l[NI_TIME_LEN], *key;

	ni_time_fmt(window * conf.interval, ws);
	ni_time_fmt_compact(first, f);
	ni_time_fmt_compact(last, l);
	if (asprintf(&key, "%scluster=%s/date=%.10s/hour=%.2s/%s_%s_n%llu_%s"
	    ".csv.gz", ni_store_prefix(store), cluster, ws, ws + 11, f, l,
	    (unsigned long long)count, tag) == -1)
		err(1, NULL);
	return key;
}

/* Deflates a buffer, gzip format. */
static void
gzip_buffer(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream	 z;
	size_t		 cap;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, conf.level, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		errx(1, "cannot start zlib");
	cap = deflateBound(&z, len) + 64;
	*out = ni_malloc(cap);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (unsigned)len;
	z.next_out = (unsigned char *)*out;
	z.avail_out = (unsigned)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		errx(1, "internal error: deflate");
	*outlen = z.total_out;
	deflateEnd(&z);
}

struct sline {
	ni_time		 start;
	const char	*p;
	size_t		 len;
};

static int
cmpsline(const void *a, const void *b)
{
	const struct sline *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->p < y->p ? -1 : x->p > y->p;	/* stable: file order */
}

/*
 * A segment's text with its flows sorted by start, so that ni-replay
 * merges objects instead of sorting them.  Left as it is when a quoted
 * field may span lines (then lines and starts do not pair up).
 */
static char *
sorted_text(char *text, size_t len, const ni_time *starts, size_t n)
{
	struct sline	*v;
	char		*p, *nl, *end = text + len, *o, *q;
	size_t		 i;
	int		 sorted = 1;

	if (starts == NULL || memchr(text, '"', len) != NULL ||
	    (nl = memchr(text, '\n', len)) == NULL)
		return NULL;
	v = ni_calloc(n, sizeof(*v));
	for (i = 0, p = nl + 1; p < end; i++, p = nl + 1) {
		if (i == n || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		v[i].start = starts[i];
		v[i].p = p;
		v[i].len = (size_t)(nl - p) + 1;
		if (i > 0 && starts[i] < starts[i - 1])
			sorted = 0;
	}
	if (i != n || p != end || sorted) {
		free(v);
		return NULL;
	}
	qsort(v, n, sizeof(*v), cmpsline);
	o = ni_malloc(len);
	q = o + (v[0].p - text);
	memcpy(o, text, (size_t)(v[0].p - text));	/* the header */
	q = o + ((nl = memchr(text, '\n', len)) - text) + 1;
	for (i = 0; i < n; i++) {
		memcpy(q, v[i].p, v[i].len);
		q += v[i].len;
	}
	free(v);
	return o;
}

/* Reads a segment and deflates it, its flows sorted when it can. */
static int
gzip_file(const char *path, const ni_time *starts, size_t n, char **out,
    size_t *outlen)
{
	struct stat	 sb;
	char		*text, *s;
	FILE		*fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(fp), &sb) == -1) {
		fclose(fp);
		return -1;
	}
	text = ni_malloc((size_t)sb.st_size + 1);
	if (fread(text, 1, (size_t)sb.st_size, fp) != (size_t)sb.st_size) {
		free(text);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if ((s = sorted_text(text, (size_t)sb.st_size, starts, n)) != NULL) {
		free(text);
		text = s;
	}
	gzip_buffer(text, (size_t)sb.st_size, out, outlen);
	free(text);
	return 0;
}

static char *
ready_path(const char *key)
{
	char	*p;

	if (asprintf(&p, "%s/ready/%s", conf.spool, key) == -1)
		err(1, NULL);
	return p;
}

/*
 * An open segment becomes a compressed object in SPOOL/ready, durably,
 * before its plain file goes: at every moment the flows are on disk once.
 */
static int
seal_file(const char *path, const char *cluster, int64_t window,
    const char *tag, ni_time first, ni_time last, uint64_t count,
    const ni_time *starts)
{
	char	*gz, *key, *rp;
	size_t	 len;
	int	 rval = 0;

	if (count == 0) {
		unlink(path);
		return 0;
	}
	key = object_key(cluster, window, tag, first, last, count);
	rp = ready_path(key);
	if (gzip_file(path, starts, (size_t)count, &gz, &len) == -1) {
		warn("%s", path);
		rval = -1;
	} else if (ni_write_durable(rp, gz, len) == -1) {
		warn("%s", rp);
		rval = -1;
	} else {
		unlink(path);
		run.ready = 1;
	}
	if (rval == 0)
		free(gz);
	free(rp);
	free(key);
	return rval;
}

static void
seal(size_t i)
{
	struct seg	*s = segs[i];
	const char	*tag;

	ni_writer_close(&s->w);
	if (ni_fclose_out(s->fp, s->path) == -1)
		run.fatal = 1;
	tag = strrchr(s->path, '/') + 1;
	tag = strchr(tag, '_') + 1;
	{
		char *t = ni_strndup(tag, strlen(tag) - 4);	/* ".csv" */

		if (seal_file(s->path, s->cluster, s->window, t, s->first,
		    s->last, s->count, s->starts) == -1)
			run.fatal = 1;
		free(t);
	}
	free(s->cluster);
	free(s->path);
	free(s->starts);
	free(s);
	segs[i] = segs[--nsegs];
}

static struct seg *
open_seg(const char *cluster, int64_t window, const char *const *names,
    size_t nnames)
{
	struct seg	*s;
	size_t		 i, oldest = 0;

	if (nsegs == MAXOPEN) {
		for (i = 1; i < nsegs; i++)
			if (segs[i]->window < segs[oldest]->window)
				oldest = i;
		seal(oldest);
	}
	s = ni_calloc(1, sizeof(*s));
	s->cluster = ni_strdup(cluster);
	s->window = window;
	if (asprintf(&s->path, "%s/open/%s/%lld_%s_%s-%u.csv", conf.spool,
	    cluster, (long long)window, conf.host, conf.runid, ++seqno) == -1)
		err(1, NULL);
	{
		char *dir = ni_strdup(s->path);

		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0777) == -1 && errno != EEXIST)
			err(1, "%s", dir);
		free(dir);
	}
	if ((s->fp = fopen(s->path, "w")) == NULL)
		err(1, "%s", s->path);
	s->w = ni_writer_new(s->fp, names, nnames);
	s->first = INT64_MAX;
	s->last = INT64_MIN;
	segs[nsegs++] = s;
	return s;
}

/* Sends what SPOOL/ready holds, oldest key first; deletes what is stored. */
struct pending {
	char	**keys;
	size_t	  n;
};

static void
collect(const char *key, int isdir, void *arg)
{
	struct pending	*p = arg;

	if (isdir || strstr(key, ".tmp-") != NULL)
		return;
	p->keys = ni_reallocarray(p->keys, p->n + 1, sizeof(char *));
	p->keys[p->n++] = ni_strdup(key);
}

static void
drain(int force)
{
	struct ni_store_opts	 lo = { 0 };
	struct ni_store		*local;
	struct pending		 p = { NULL, 0 };
	struct ni_sha256	 sha;
	char			*rp, *dir, *buf, *base, *meta[9];
	char			 sum[65], cnt[24], f[NI_TIME_LEN], l[NI_TIME_LEN];
	char			 fb[24], lb[24];
	ni_time			 ft, lt;
	size_t			 i, len;
	FILE			*fp;
	int			 rc;

	/* listing the spool each time input pauses would be I/O for nothing */
	if (run.fatal || (!force && (!run.ready || time(NULL) <
	    run.down_until)))
		return;
	if (asprintf(&dir, "%s/ready", conf.spool) == -1)
		err(1, NULL);
	local = ni_store_open(dir, &lo);
	ni_store_list(local, "", 0, collect, &p);
	ni_store_close(&local);
	free(dir);
	for (i = 0; i < p.n; i++) {
		rp = ready_path(p.keys[i]);
		if ((fp = fopen(rp, "rb")) == NULL) {
			warn("%s", rp);
			free(rp);
			continue;
		}
		buf = NULL;
		len = 0;
		{
			char	 b[65536];
			size_t	 n, cap = 0;

			while ((n = fread(b, 1, sizeof(b), fp)) > 0) {
				if (len + n > cap) {
					cap = (len + n) * 2;
					buf = ni_reallocarray(buf, cap, 1);
				}
				memcpy(buf + len, b, n);
				len += n;
			}
		}
		fclose(fp);
		ni_sha256_init(&sha);
		ni_sha256_update(&sha, buf, len);
		ni_sha256_hex(&sha, sum);
		/* FIRST_LAST_nCOUNT_... into metadata, for tools that HEAD */
		base = strrchr(p.keys[i], '/');
		base = base != NULL ? base + 1 : p.keys[i];
		fb[0] = lb[0] = cnt[0] = '\0';
		if (sscanf(base, "%23[^_]_%23[^_]_n%20[0-9]", fb, lb, cnt) == 3 &&
		    ni_time_parse_compact(fb, strlen(fb), &ft) == 0 &&
		    ni_time_parse_compact(lb, strlen(lb), &lt) == 0) {
			ni_time_fmt(ft, f);
			ni_time_fmt(lt, l);
		} else
			f[0] = l[0] = '\0';
		meta[0] = "sha256"; meta[1] = sum;
		meta[2] = "flows"; meta[3] = cnt;
		meta[4] = "first"; meta[5] = f;
		meta[6] = "last"; meta[7] = l;
		meta[8] = NULL;
		rc = ni_store_put(store, p.keys[i], buf, len,
		    (const char *const *)meta);
		free(buf);
		if (rc == 0) {
			unlink(rp);
			run.objects++;
			run.flows += strtoull(cnt, NULL, 10);
			run.bytes += len;
			run.down_count = 0;
		} else if (rc == -1) {
			run.fatal = 1;
		} else {
			/* Down: keep reading input into the spool, try later. */
			run.down_until = time(NULL) + (1 << (run.down_count < 6 ?
			    run.down_count : 6));
			run.down_count++;
		}
		free(rp);
		if (rc != 0)
			break;
	}
	if (i == p.n)
		run.ready = 0;
	for (i = 0; i < p.n; i++)
		free(p.keys[i]);
	free(p.keys);
}

/*
 * Segments left open by a run that was killed: their flows were accepted,
 * so they are sealed now, under the name that run gave them.
 */
static void
recover(void)
{
	char			*odir, *cdir, *path;
	DIR			*d, *cd;
	struct dirent		*de, *ce;
	struct ni_reader	*r;
	struct ni_rec		 rec;
	struct stat		 sb;
	ni_time			 t, first, last, *starts;
	uint64_t		 count;
	int64_t			 window;
	int			 col;
	char			*tag, *dot;

	if (asprintf(&odir, "%s/open", conf.spool) == -1)
		err(1, NULL);
	if ((d = opendir(odir)) == NULL) {
		free(odir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&cdir, "%s/%s", odir, de->d_name) == -1)
			err(1, NULL);
		if ((cd = opendir(cdir)) == NULL) {
			free(cdir);
			continue;
		}
		while ((ce = readdir(cd)) != NULL) {
			if (ce->d_name[0] == '.' ||
			    (dot = strstr(ce->d_name, ".csv")) == NULL)
				continue;
			if (asprintf(&path, "%s/%s", cdir, ce->d_name) == -1)
				err(1, NULL);
			/* An unfinished last line was never accepted. */
			if (stat(path, &sb) == 0 && sb.st_size > 0) {
				FILE *fp = fopen(path, "r+");
				off_t end = sb.st_size;
				int c = 0;

				while (fp != NULL && end > 0) {
					fseeko(fp, end - 1, SEEK_SET);
					if ((c = getc(fp)) == '\n')
						break;
					end--;
				}
				if (fp != NULL && end < sb.st_size) {
					warnx("%s: %lld bytes of an unfinished "
					    "line dropped", path,
					    (long long)(sb.st_size - end));
					if (ftruncate(fileno(fp), end) == -1)
						warn("%s", path);
				}
				if (fp != NULL)
					fclose(fp);
			}
			count = 0;
			first = INT64_MAX;
			last = INT64_MIN;
			starts = NULL;
			if ((r = ni_reader_open(path, 0)) != NULL) {
				col = ni_reader_col(r, "start");
				while (col != -1 && ni_read(r, &rec) == 1)
					if (ni_time_parse(rec.field[col], &t) == 0) {
						if (count % 1024 == 0)
							starts = ni_reallocarray(
							    starts, count + 1024,
							    sizeof(ni_time));
						starts[count++] = t;
						first = t < first ? t : first;
						last = t > last ? t : last;
					}
				ni_reader_close(&r);
			}
			window = strtoll(ce->d_name, NULL, 10);
			tag = ni_strndup(strchr(ce->d_name, '_') + 1,
			    (size_t)(dot - strchr(ce->d_name, '_') - 1));
			if (seal_file(path, de->d_name, window, tag, first, last,
			    count, starts) == -1)
				run.fatal = 1;
			else if (count > 0)
				warnx("%s: recovered %llu flows left by an "
				    "earlier run", path,
				    (unsigned long long)count);
			free(tag);
			free(starts);
			free(path);
		}
		closedir(cd);
		free(cdir);
	}
	closedir(d);
	free(odir);
}

static void
progress(uint64_t lines)
{
	time_t	 now;

	if (!run.progress || (lines & 0xfff) != 0 || (now = time(NULL)) ==
	    run.shown)
		return;
	run.shown = now;
	fprintf(stderr, "ni-upload: %llu flows read, %llu objects stored\r",
	    (unsigned long long)lines, (unsigned long long)run.objects);
}

static void
upload(struct ni_reader *r)
{
	struct ni_rec		 rec;
	const char *const	*names;
	struct seg		*s;
	char			*cl;
	const char		*cv;
	size_t			 nnames, i, n;
	ni_time			 t, e, now = INT64_MIN;
	int64_t			 w;
	int			 cstart, cend, ccluster, rc;
	uint64_t		 lines = 0;

	names = ni_reader_names(r, &nnames);
	if (nnames == 0)
		return;
	if ((cstart = ni_reader_col(r, "start")) == -1) {
		warnx("%s:1: no \"start\" column: not a flow file (see "
		    "ni-flow(5))", ni_reader_name(r));
		run.fatal = 1;
		return;
	}
	cend = ni_reader_col(r, "end");
	ccluster = ni_reader_col(r, "cluster");
	for (;;) {
		/* Before waiting for input, everything read is on disk. */
		if (!ni_reader_pending(r)) {
			for (i = 0; i < nsegs; i++)
				if (fflush(segs[i]->fp) == EOF) {
					warn("%s: %llu flows from line %zu on "
					    "were not accepted", segs[i]->path,
					    (unsigned long long)segs[i]->count,
					    rec.lineno);
					run.fatal = 1;
					return;
				}
			drain(0);
		}
		if ((rc = ni_read(r, &rec)) != 1)
			break;
		lines++;
		if (ni_time_parse(rec.field[cstart], &t) == -1) {
			ni_reader_bad(r, &rec, "bad start \"%s\"",
			    rec.field[cstart]);
			continue;
		}
		e = t;
		if (cend != -1 && ni_time_parse(rec.field[cend], &e) == -1)
			e = t;
		cv = conf.cluster != NULL ? conf.cluster : ccluster != -1 ?
		    rec.field[ccluster] : "default";
		cl = sanitize(cv);
		w = window_of(t);
		s = NULL;
		for (i = 0; i < nsegs; i++)
			if (segs[i]->window == w &&
			    strcmp(segs[i]->cluster, cl) == 0) {
				s = segs[i];
				break;
			}
		if (s == NULL)
			s = open_seg(cl, w, names, nnames);
		free(cl);
		ni_write(s->w, &rec);
		if (ferror(s->fp)) {
			warn("%s: line %zu and after were not accepted",
			    s->path, rec.lineno);
			run.fatal = 1;
			return;
		}
		if (s->count == s->capstarts) {
			s->capstarts = s->capstarts * 2 + 1024;
			s->starts = ni_reallocarray(s->starts, s->capstarts,
			    sizeof(ni_time));
		}
		s->starts[s->count++] = t;
		for (n = 0, i = 0; i < rec.nfield; i++)
			n += strlen(rec.field[i]) + 1;
		s->bytes += n;
		if (t < s->first)
			s->first = t;
		if (t > s->last)
			s->last = t;
		if (s->bytes >= conf.maxbytes)
			for (i = 0; i < nsegs; i++)
				if (segs[i] == s)
					seal(i);
		/* Event time moved on: windows nobody writes to any more. */
		if (e > now) {
			now = e;
			for (i = 0; i < nsegs; i++)
				if ((segs[i]->window + 1) * conf.interval +
				    conf.lateness < now)
					seal(i--);
		}
		progress(lines);
	}
	if (rc == -1)
		run.fatal = 1;
}

int
main(int argc, char *argv[])
{
	struct ni_store_opts	 o = { 0 };
	struct ni_reader	*r;
	char			*dest, *p;
	const char		*home;
	int			 ch, rval = 0;

	conf.interval = 300 * 1000000LL;
	conf.lateness = 420 * 1000000LL;
	conf.maxbytes = 64ULL << 20;
	conf.level = 6;
	o.retries = 6;
	while ((ch = getopt_long(argc, argv, "a:C:c:e:hH:i:l:L:m:p:R:r:s:SV",
	    longopts, NULL)) != -1) {
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
			conf.cluster = optarg;
			break;
		case 'e':
			o.endpoint = optarg;
			break;
		case 'H':
			if (strlen(optarg) >= sizeof(conf.host))
				errx(1, "-H %s: too long", optarg);
			strcpy(conf.host, optarg);
			break;
		case 'i':
			conf.interval = ni_number("-i", optarg, 1, 86400) *
			    1000000LL;
			break;
		case 'l':
			conf.lateness = ni_number("-l", optarg, 0, 86400) *
			    1000000LL;
			break;
		case 'L':
			conf.level = (int)ni_number("-L", optarg, 1, 9);
			break;
		case 'm':
			conf.maxbytes = (uint64_t)ni_number("-m", optarg, 1024,
			    1LL << 40);
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
		case 's':
			conf.spool = ni_strdup(optarg);
			break;
		case 'S':
			conf.strict = 1;
			break;
		case 'V':
			printf("ni-upload %s\n", PACKAGE_VERSION);
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
	dest = argv[0];
	if ((store = ni_store_open(dest, &o)) == NULL)
		return 1;
	if (conf.host[0] == '\0' && gethostname(conf.host,
	    sizeof(conf.host)) == -1)
		strcpy(conf.host, "localhost");
	conf.host[sizeof(conf.host) - 1] = '\0';
	p = sanitize(conf.host);
	strcpy(conf.host, p);
	free(p);
	/* Unique per run, so that two runs never name an object alike. */
	snprintf(conf.runid, sizeof(conf.runid), "%lx%05lx",
	    (unsigned long)time(NULL), (unsigned long)getpid() & 0xfffff);
	if (conf.spool == NULL && ni_config("spool") != NULL)
		conf.spool = ni_strdup(ni_config("spool"));
	if (conf.spool == NULL) {
		char *d = sanitize(dest);

		if ((home = getenv("XDG_CACHE_HOME")) != NULL)
			ch = asprintf(&conf.spool, "%s/ni-upload/%s", home, d);
		else if ((home = getenv("HOME")) != NULL)
			ch = asprintf(&conf.spool, "%s/.cache/ni-upload/%s",
			    home, d);
		else
			ch = asprintf(&conf.spool, "/var/tmp/ni-upload/%s", d);
		if (ch == -1)
			err(1, NULL);
		free(d);
	}
	if (asprintf(&p, "%s/open/x", conf.spool) == -1)
		err(1, NULL);
	{
		char *q;

		for (q = p + 1; *q != '\0'; q++)
			if (*q == '/') {
				*q = '\0';
				if (mkdir(p, 0700) == -1 && errno != EEXIST)
					err(1, "%s", p);
				*q = '/';
			}
	}
	free(p);
	run.progress = isatty(STDERR_FILENO);

	recover();
	drain(1);
	if ((r = ni_reader_open("-", conf.strict ? NI_READ_STRICT : 0)) ==
	    NULL)
		rval = 1;
	else {
		upload(r);
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	while (nsegs > 0)
		seal(nsegs - 1);
	drain(1);
	if (run.progress)
		fprintf(stderr, "\033[K");
	{
		struct ni_store_opts	 lo = { 0 };
		struct pending		 left = { NULL, 0 };
		struct ni_store		*local;
		char			*dir;
		size_t			 i;

		if (asprintf(&dir, "%s/ready", conf.spool) == -1)
			err(1, NULL);
		local = ni_store_open(dir, &lo);
		ni_store_list(local, "", 0, collect, &left);
		ni_store_close(&local);
		free(dir);
		fprintf(stderr, "ni-upload: %llu objects, %llu flows, %llu "
		    "bytes stored in %s (%llu retries)\n",
		    (unsigned long long)run.objects,
		    (unsigned long long)run.flows,
		    (unsigned long long)run.bytes, dest,
		    (unsigned long long)ni_store_retries(store));
		if (left.n > 0) {
			warnx("%zu objects kept in %s/ready; run ni-upload "
			    "again to send them", left.n, conf.spool);
			rval = 1;
		}
		for (i = 0; i < left.n; i++)
			free(left.keys[i]);
		free(left.keys);
	}
	if (run.fatal)
		rval = 1;
	ni_store_close(&store);
	free(conf.spool);
	return rval;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ni-upload [-S] [-a path|virtual] [-C ca-file] [-c cluster] "
	    "[-e endpoint]\n"
	    "                 [-H host] [-i secs] [-L level] [-l secs] "
	    "[-m bytes] [-p profile]\n"
	    "                 [-R region] [-r retries] [-s spool] "
	    "s3://bucket/prefix | dir\n");
	exit(status);
}
