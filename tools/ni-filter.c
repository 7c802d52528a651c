/* ni-filter -- keep the flows that match an expression, as tcpdump and nfdump filters do. */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "count",	no_argument,		NULL,	'c' },
	{ "file",	required_argument,	NULL,	'f' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "invert",	no_argument,		NULL,	'v' },
	{ "strict",	no_argument,		NULL,	'S' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

/* The expression of -f: the file's lines joined, # comments dropped. */
static char *
read_expr(const char *path)
{
	char	*line = NULL, *expr = ni_strdup(""), *p, *t;
	size_t	 cap = 0;
	FILE	*fp;

	if ((fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while (getline(&line, &cap, fp) != -1) {
		if ((p = strchr(line, '#')) != NULL && strchr(line, '"') == NULL)
			*p = '\0';
		line[strcspn(line, "\n")] = '\0';
		if (asprintf(&t, "%s %s", expr, line) == -1)
			err(1, NULL);
		free(expr);
		expr = t;
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return expr;
}

int
main(int argc, char *argv[])
{
	static char		*stdin_only[] = { "-", NULL };
	struct ni_filter	*f;
	struct ni_reader	*r;
	struct ni_writer	*w = NULL;
	struct ni_rec		 rec;
	const char *const	*names;
	const char		**fld = NULL;
	char			 errbuf[512], *expr = NULL, **out = NULL;
	size_t			 n, nout = 0, k;
	unsigned long long	 matched = 0;
	int			 ch, count = 0, invert = 0, opts = 0, rval = 0;
	int			*map = NULL, same;

	while ((ch = getopt_long(argc, argv, "cf:hSvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			count = 1;
			break;
		case 'f':
			expr = read_expr(optarg);
			break;
		case 'S':
			opts |= NI_READ_STRICT;
			break;
		case 'v':
			invert = 1;
			break;
		case 'V':
			printf("ni-filter %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (expr == NULL) {
		if (argc == 0)
			usage(stderr, 1);
		expr = ni_strdup(argv[0]);
		argc--;
		argv++;
	}
	if ((f = ni_filter_compile(expr, errbuf, sizeof(errbuf))) == NULL)
		errx(1, "expression, %s", errbuf);
	if (argc == 0)
		argv = stdin_only;

	for (; *argv != NULL; argv++) {
		if ((r = ni_reader_open(*argv, opts)) == NULL) {
			rval = 1;
			continue;
		}
		names = ni_reader_names(r, &n);
		if (ni_filter_bind(f, r) == -1) {
			ni_reader_close(&r);
			rval = 1;
			continue;
		}
		if (out == NULL && n > 0) {
			/* the first input's columns are the output's */
			nout = n;
			out = ni_calloc(n, sizeof(char *));
			for (k = 0; k < n; k++)
				out[k] = ni_strdup(names[k]);
			fld = ni_calloc(n, sizeof(char *));
			if (!count)
				w = ni_writer_new(stdout,
				    (const char *const *)out, nout);
		}
		/* unknown columns pass through; others' inputs by name */
		same = n == nout;
		free(map);
		map = ni_calloc(nout + 1, sizeof(int));
		for (k = 0; k < nout; k++) {
			map[k] = ni_reader_col(r, out[k]);
			same = same && map[k] == (int)k;
		}
		while (ni_read(r, &rec) == 1) {
			if (ni_filter_match(f, r, &rec) == invert)
				continue;
			matched++;
			if (w == NULL)
				continue;
			if (same) {
				ni_write(w, &rec);
				continue;
			}
			for (k = 0; k < nout; k++)
				fld[k] = map[k] == -1 ? "" : rec.field[map[k]];
			ni_write_fields(w, fld, nout);
		}
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	if (count)
		printf("%llu\n", matched);
	else if (w == NULL) {
		/* nothing read at all: the core columns' header */
		w = ni_writer_new(stdout, ni_col_names, NI_NCORE);
	}
	ni_writer_close(&w);
	for (k = 0; k < nout; k++)
		free(out[k]);
	free(out);
	free(fld);
	free(map);
	free(expr);
	ni_filter_free(&f);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ni-filter [-cSv] expression [file ...]\n"
	    "       ni-filter [-cSv] -f exprfile [file ...]\n");
	exit(status);
}
