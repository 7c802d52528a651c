/* ni-intel -- threat-intelligence feeds: look addresses up, enrich flows, fetch the feeds. */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ni.h"

#define LISTLEN	1024

static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "cluster",	required_argument,	NULL,	'C' },
	{ "config",	required_argument,	NULL,	'c' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* 0 if an address matched, 1 if none did, 2 on trouble (as jq -e). */
static int
lookup(struct ni_intel *in, char **argv)
{
	struct ni_addr	 a;
	char		 cats[LISTLEN], feeds[LISTLEN];
	uint64_t	 m;
	int		 rval = 1, trouble = 0;

	printf("addr,intel,feeds\n");
	for (; *argv != NULL; argv++) {
		if (ni_addr_parse(*argv, &a) == -1) {
			warnx("%s: not an IPv4 or IPv6 address", *argv);
			trouble = 1;
			continue;
		}
		m = ni_intel_lookup(in, &a);
		ni_intel_describe(in, m, cats, sizeof(cats), feeds,
		    sizeof(feeds));
		printf("%s,%s,%s\n", *argv, cats, feeds);
		if (m != 0)
			rval = 0;
	}
	return trouble ? 2 : rval;
}

/* Adds (or fills) src_intel, dst_intel and the feeds they come from. */
static int
enrich(struct ni_intel *in, char **argv)
{
	static const char *const add[] = { "src_intel", "dst_intel",
	    "src_intel_feeds", "dst_intel_feeds" };
	static char		*stdin_only[] = { "-", NULL };
	struct ni_reader	*r;
	struct ni_writer	*w = NULL;
	struct ni_rec		 rec;
	struct ni_addr		 a;
	const char *const	*names;
	const char		**out = NULL, **fld = NULL;
	char			 v[4][LISTLEN];
	size_t			 n, nout = 0, k;
	int			 pos[4], csrc, cdst, rval = 0, side;
	uint64_t		 m;

	if (*argv == NULL)
		argv = stdin_only;
	for (; *argv != NULL; argv++) {
		if ((r = ni_reader_open(*argv, 0)) == NULL) {
			rval = 1;
			continue;
		}
		names = ni_reader_names(r, &n);
		csrc = ni_reader_col(r, "src");
		cdst = ni_reader_col(r, "dst");
		if (n > 0 && (csrc == -1 || cdst == -1)) {
			warnx("%s:1: no src and dst columns: not a flow file",
			    ni_reader_name(r));
			ni_reader_close(&r);
			rval = 1;
			continue;
		}
		if (w == NULL && n > 0) {
			/* the input's columns, and ours where it has none */
			out = ni_calloc(n + 4, sizeof(char *));
			fld = ni_calloc(n + 4, sizeof(char *));
			for (k = 0; k < n; k++)
				out[k] = names[k];
			nout = n;
			for (k = 0; k < 4; k++)
				if ((pos[k] = ni_reader_col(r, add[k])) == -1) {
					pos[k] = (int)nout;
					out[nout++] = add[k];
				}
			w = ni_writer_new(stdout, out, nout);
		}
		while (ni_read(r, &rec) == 1) {
			for (k = 0; k < rec.nfield; k++)
				fld[k] = rec.field[k];
			for (side = 0; side < 2; side++) {
				v[side][0] = v[side + 2][0] = '\0';
				if (ni_addr_parse(rec.field[side ? cdst : csrc],
				    &a) == -1) {
					ni_reader_bad(r, &rec, "bad %s \"%s\"",
					    side ? "dst" : "src",
					    rec.field[side ? cdst : csrc]);
					continue;
				}
				if ((m = ni_intel_lookup(in, &a)) != 0)
					ni_intel_describe(in, m, v[side],
					    LISTLEN, v[side + 2], LISTLEN);
			}
			for (k = 0; k < 4; k++)
				fld[pos[k]] = v[k];
			ni_write_fields(w, fld, nout);
		}
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	if (w == NULL) {
		const char *core[NI_NCORE + 4];

		for (k = 0; k < NI_NCORE; k++)
			core[k] = ni_col_names[k];
		for (k = 0; k < 4; k++)
			core[NI_NCORE + k] = add[k];
		w = ni_writer_new(stdout, core, NI_NCORE + 4);
	}
	ni_writer_close(&w);
	free(out);
	free(fld);
	return rval;
}

struct body {
	char	*p;
	size_t	 len, cap;
};

static size_t
on_body(char *s, size_t size, size_t n, void *arg)
{
	struct body	*b = arg;

	if (b->len + size * n > b->cap) {
		b->cap = (b->len + size * n) * 2;
		b->p = ni_reallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, size * n);
	b->len += size * n;
	return size * n;
}

/*
 * Downloads the feeds that have a URL, each only if it changed (If-
 * Modified-Since with the copy's time); a new copy replaces the old at
 * once (rename), and a failure keeps the last good copy.
 */
static int
fetch(const char *conf)
{
	struct ni_intel	*in;
	struct stat	 sb;
	struct body	 b;
	const char	*src, *path;
	char		 errbuf[CURL_ERROR_SIZE], *dir, *s;
	long		 code, ftime;
	size_t		 i;
	CURL		*c;
	CURLcode	 rc;
	int		 rval = 0;

	/* the feeds' files may not exist yet: their errors do not count */
	if ((in = ni_intel_load(conf, NULL, -1)) == NULL)
		return 1;
	if ((c = curl_easy_init()) == NULL)
		errx(1, "cannot start libcurl");
	for (i = 0; i < ni_intel_nfeeds(in); i++) {
		const char *name = ni_intel_feed(in, i, &src, &path);

		if (strstr(src, "://") == NULL)
			continue;
		dir = ni_strdup(path);
		if ((s = strrchr(dir, '/')) != NULL) {
			*s = '\0';
			mkdir(dir, 0777);
		}
		free(dir);
		memset(&b, 0, sizeof(b));
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, src);
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
		curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
		if (stat(path, &sb) == 0) {
			curl_easy_setopt(c, CURLOPT_TIMECONDITION,
			    (long)CURL_TIMECOND_IFMODSINCE);
			curl_easy_setopt(c, CURLOPT_TIMEVALUE, (long)sb.st_mtime);
		}
		errbuf[0] = '\0';
		rc = curl_easy_perform(c);
		code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK) {
			warnx("%s: %s: %s; the last good copy is kept", name,
			    src, *errbuf ? errbuf : curl_easy_strerror(rc));
			rval = 1;
		} else if (code == 304 || (code == 200 && b.len == 0 &&
		    stat(path, &sb) == 0)) {
			fprintf(stderr, "ni-intel: %s: not modified\n", name);
		} else if (ni_write_durable(path, b.p != NULL ? b.p : "",
		    b.len) == -1) {
			warn("%s: %s", name, path);
			rval = 1;
		} else {
			/* the server's time, for the next If-Modified-Since */
			if (curl_easy_getinfo(c, CURLINFO_FILETIME, &ftime) ==
			    CURLE_OK && ftime > 0) {
				struct timespec ts[2] = { { ftime, 0 },
				    { ftime, 0 } };

				utimensat(AT_FDCWD, path, ts, 0);
			}
			fprintf(stderr, "ni-intel: %s: %zu bytes\n", name, b.len);
		}
		free(b.p);
	}
	curl_easy_cleanup(c);
	ni_intel_free(&in);
	return rval;
}

int
main(int argc, char *argv[])
{
	struct ni_intel	*in;
	struct stat	 sb;
	const char	*conf = getenv("NI_INTEL");
	char		**cluster = NULL, *path = NULL;
	size_t		 ncl = 0, entries, intervals;
	int		 ch, verbose = 0, rval;

	while ((ch = getopt_long(argc, argv, "C:c:hvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			ni_split_free(cluster);
			cluster = ni_split(optarg, ",", &ncl);
			break;
		case 'c':
			conf = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("ni-intel %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, 2);
	if (conf == NULL)
		conf = ni_config("intel");
	if (cluster == NULL && ni_config("cluster") != NULL)
		cluster = ni_split(ni_config("cluster"), ", ", &ncl);
	if (conf == NULL)
		errx(2, "no feeds: give -c feeds.conf (or a directory with one), "
		    "set NI_INTEL, or intel = ... in NI_CONFIG");
	/* a directory stands for its feeds.conf */
	if (stat(conf, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (asprintf(&path, "%s/feeds.conf", conf) == -1)
			err(2, NULL);
		conf = path;
	}
	if (strcmp(argv[0], "fetch") == 0) {
		rval = fetch(conf);
		free(path);
		return rval;
	}
	if ((in = ni_intel_load(conf, (const char *const *)cluster,
	    verbose)) == NULL)
		return 2;
	if (verbose) {
		ni_intel_stats(in, &entries, &intervals);
		warnx("%zu entries from %zu feeds, %zu intervals", entries,
		    ni_intel_nfeeds(in), intervals);
	}
	if (strcmp(argv[0], "lookup") == 0)
		rval = lookup(in, argv + 1);
	else if (strcmp(argv[0], "enrich") == 0)
		rval = enrich(in, argv + 1);
	else {
		warnx("%s: not a command (lookup, enrich, fetch)", argv[0]);
		rval = 2;
	}
	ni_intel_free(&in);
	free(path);
	ni_split_free(cluster);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 2;
	return rval;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ni-intel [-v] [-C cidr,...] [-c feeds] lookup "
	    "address ...\n"
	    "       ni-intel [-v] [-C cidr,...] [-c feeds] enrich [file ...]\n"
	    "       ni-intel [-c feeds] fetch\n");
	exit(status);
}
