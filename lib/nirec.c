/* nirec.c -- reading and writing ni-flow(5) CSV: header by name, RFC 4180 quoting. */
#include "config.h"

#include <csv.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ni.h"

/* Past this many, malformed lines are only counted: one bad file must not
 * bury the terminal, and the summary at close still tells the total. */
#define NI_MAXREPORT	20
#define ZBUF		(128 * 1024)

struct ni_reader {
	char		*name;		/* for messages: the path, or "stdin" */
	int		 fd;
	/* gzip input is inflated here; plain input is read as it comes */
	int		 gz, zend;
	z_stream	 z;
	unsigned char	*zbuf;
	int		 opts;
	char		*buf;		/* [pos, len) holds unread bytes */
	size_t		 cap, pos, len;
	int		 eof;
	char		**field;
	size_t		 fcap;
	char		**names;
	size_t		 nnames;
	size_t		 lineno;	/* lines consumed so far */
	size_t		 skipped;
	int		 failed;	/* a read error, or strict and bad */
	/* Quoted records are rare: they go through libcsv into qbuf. */
	char		*qbuf;
	size_t		 qlen, qcap;
	size_t		*qoff;
	size_t		 nq, qoffcap;
	int		 qdone;
};

struct ni_writer {
	FILE		*fp;
	char		**names;
	size_t		 n;
	int		 header_done;
	char		*line;
	size_t		 linecap;
};

/* read(2) that gives whatever is there: a pipe's lines arrive as written. */
static ssize_t
readsome(struct ni_reader *r, void *buf, size_t n)
{
	ssize_t	 got;

	while ((got = read(r->fd, buf, n)) == -1 && errno == EINTR)
		continue;
	if (got == -1) {
		warn("%s", r->name);
		r->failed = 1;
	}
	return got;
}

/* Inflates into buf; bytes produced, 0 at the end, -1 on error. */
static ssize_t
inflatesome(struct ni_reader *r, char *buf, size_t n)
{
	ssize_t	 got;
	int	 rc;

	r->z.next_out = (unsigned char *)buf;
	r->z.avail_out = (unsigned)n;
	while (r->z.avail_out == n) {
		if (r->z.avail_in == 0 && !r->zend) {
			if ((got = readsome(r, r->zbuf, ZBUF)) == -1)
				return -1;
			if (got == 0)
				r->zend = 1;
			r->z.next_in = r->zbuf;
			r->z.avail_in = (unsigned)got;
		}
		rc = inflate(&r->z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			/* gzip members may follow each other (cat a.gz b.gz). */
			if (r->z.avail_in == 0 && r->zend)
				break;
			inflateReset(&r->z);
			continue;
		}
		if (rc == Z_BUF_ERROR && r->z.avail_in == 0 && r->zend) {
			/* Nothing of a next member: a clean end. */
			if (r->z.total_in == 0)
				break;
			warnx("%s: compressed data cut short", r->name);
			r->failed = 1;
			return -1;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			warnx("%s: %s", r->name, r->z.msg != NULL ? r->z.msg :
			    "corrupt compressed data");
			r->failed = 1;
			return -1;
		}
	}
	return (ssize_t)(n - r->z.avail_out);
}

static int
fill(struct ni_reader *r)
{
	ssize_t	 n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len + 1 >= r->cap) {
		r->cap *= 2;
		r->buf = ni_reallocarray(r->buf, r->cap, 1);
	}
	/* One byte stays free for the NUL of a last line without LF. */
	n = r->gz ? inflatesome(r, r->buf + r->len, r->cap - 1 - r->len) :
	    readsome(r, r->buf + r->len, r->cap - 1 - r->len);
	if (n == -1)
		return -1;
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return 0;
}

/* The next line, NUL-terminated without its LF or CRLF; NULL at the end. */
static char *
nextline(struct ni_reader *r, size_t *lenp)
{
	char	*nl, *line;

	for (;;) {
		nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		if (nl != NULL) {
			line = r->buf + r->pos;
			r->pos = (size_t)(nl - r->buf) + 1;
			break;
		}
		if (r->eof) {
			if (r->pos == r->len)
				return NULL;
			line = r->buf + r->pos;
			nl = r->buf + r->len;
			r->pos = r->len;
			break;
		}
		if (fill(r) == -1)
			return NULL;
	}
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		*--nl = '\0';
	r->lineno++;
	*lenp = (size_t)(nl - line);
	return line;
}

static void
grow_fields(struct ni_reader *r, size_t n)
{
	if (n >= r->fcap) {
		r->fcap = r->fcap * 2 + n + 8;
		r->field = ni_reallocarray(r->field, r->fcap, sizeof(char *));
	}
}

static void
csv_cb_field(void *s, size_t len, void *arg)
{
	struct ni_reader	*r = arg;

	while (r->qlen + len + 1 > r->qcap) {
		r->qcap = r->qcap * 2 + 256;
		r->qbuf = ni_reallocarray(r->qbuf, r->qcap, 1);
	}
	if (r->nq == r->qoffcap) {
		r->qoffcap = r->qoffcap * 2 + 16;
		r->qoff = ni_reallocarray(r->qoff, r->qoffcap, sizeof(size_t));
	}
	r->qoff[r->nq++] = r->qlen;
	memcpy(r->qbuf + r->qlen, s, len);
	r->qlen += len;
	r->qbuf[r->qlen++] = '\0';
}

static void
csv_cb_record(int c, void *arg)
{
	(void)c;
	((struct ni_reader *)arg)->qdone = 1;
}

/* RFC 4180 says spaces belong to the field: libcsv would trim them. */
static int
csv_no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/*
 * A record with a quoted field, starting at line, which may continue over
 * more lines (quoted newlines).  0 and rec filled, or -1 if malformed (then
 * reported).
 */
static int
read_quoted(struct ni_reader *r, char *line, size_t len, struct ni_rec *rec)
{
	struct csv_parser	 p;
	size_t			 i, first = r->lineno;
	int			 bad = 0;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		err(1, NULL);
	csv_set_space_func(&p, csv_no_space);
	r->qlen = r->nq = 0;
	r->qdone = 0;
	for (;;) {
		if (csv_parse(&p, line, len, csv_cb_field, csv_cb_record, r) !=
		    len) {
			bad = 1;
			break;
		}
		if (csv_parse(&p, "\n", 1, csv_cb_field, csv_cb_record, r) != 1) {
			bad = 1;
			break;
		}
		if (r->qdone)
			break;
		if ((line = nextline(r, &len)) == NULL) {
			/* A quote opened and never closed. */
			if (csv_fini(&p, csv_cb_field, csv_cb_record, r) != 0)
				bad = 1;
			break;
		}
	}
	csv_free(&p);
	rec->lineno = first;
	if (bad || !r->qdone) {
		rec->nfield = 0;
		ni_reader_bad(r, rec, "malformed quoted field");
		return -1;
	}
	grow_fields(r, r->nq);
	for (i = 0; i < r->nq; i++)
		r->field[i] = r->qbuf + r->qoff[i];
	rec->field = r->field;
	rec->nfield = r->nq;
	rec->quoted = 1;
	return 0;
}

/* 1 and rec, 0 at the end, -1 on error; field counts are not checked here. */
static int
read_record(struct ni_reader *r, struct ni_rec *rec)
{
	char	*line, *p, *end, *c;
	size_t	 len, n, i;

	for (;;) {
		if (r->failed)
			return -1;
		if ((line = nextline(r, &len)) == NULL)
			return r->failed ? -1 : 0;
		p = line;
		end = line + len;
		n = 0;
		for (;;) {
			if (*p == '"')
				break;
			grow_fields(r, n);
			r->field[n++] = p;
			if ((c = memchr(p, ',', (size_t)(end - p))) == NULL) {
				p = NULL;
				break;
			}
			*c = '\0';
			p = c + 1;
		}
		if (p == NULL) {
			rec->field = r->field;
			rec->nfield = n;
			rec->lineno = r->lineno;
			rec->quoted = 0;
			return 1;
		}
		/* Undo the split: the quoted path parses the line whole. */
		for (i = 1; i < n; i++)
			r->field[i][-1] = ',';
		if (p > line)
			p[-1] = ',';
		if (read_quoted(r, line, len, rec) == 0)
			return 1;
	}
}

struct ni_reader *
ni_reader_open(const char *path, int opts)
{
	int	 fd;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		warn("%s", path);
		return NULL;
	}
	return ni_reader_fdopen(fd, strcmp(path, "-") == 0 ? "stdin" : path,
	    opts);
}

struct ni_reader *
ni_reader_fdopen(int fd, const char *name, int opts)
{
	struct ni_reader	*r;
	struct ni_rec		 rec;
	size_t			 i, j;
	int			 rc;

	r = ni_calloc(1, sizeof(*r));
	r->name = ni_strdup(name);
	r->opts = opts;
	r->fd = fd;
	r->cap = 256 * 1024;
	r->buf = ni_malloc(r->cap);
	/* gzip is recognised by its magic, whatever the name. */
	while (r->len < 2 && !r->eof && !r->failed)
		(void)fill(r);
	if (r->len >= 2 && (unsigned char)r->buf[0] == 0x1f &&
	    (unsigned char)r->buf[1] == 0x8b) {
		r->gz = 1;
		r->zbuf = ni_malloc(r->len > ZBUF ? r->len : ZBUF);
		memcpy(r->zbuf, r->buf, r->len);
		r->z.next_in = r->zbuf;
		r->z.avail_in = (unsigned)r->len;
		r->len = 0;
		r->eof = 0;
		if (inflateInit2(&r->z, 15 + 16) != Z_OK)
			errx(1, "%s: cannot start zlib", r->name);
	}

	rc = read_record(r, &rec);
	if (rc == -1) {
		ni_reader_close(&r);
		return NULL;
	}
	if (rc == 1) {
		r->nnames = rec.nfield;
		r->names = ni_calloc(rec.nfield, sizeof(char *));
		for (i = 0; i < rec.nfield; i++) {
			r->names[i] = ni_strdup(rec.field[i]);
			for (j = 0; j < i; j++)
				if (strcmp(r->names[i], r->names[j]) == 0) {
					warnx("%s:1: column \"%s\" appears twice",
					    r->name, r->names[i]);
					ni_reader_close(&r);
					return NULL;
				}
		}
	}
	return r;
}

int
ni_read(struct ni_reader *r, struct ni_rec *rec)
{
	int	 rc;

	while ((rc = read_record(r, rec)) == 1) {
		if (rec->nfield == r->nnames)
			return 1;
		ni_reader_bad(r, rec, "%zu fields, header has %zu",
		    rec->nfield, r->nnames);
	}
	return rc;
}

void
ni_reader_bad(struct ni_reader *r, const struct ni_rec *rec,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	r->skipped++;
	if (r->opts & NI_READ_STRICT)
		r->failed = 1;
	if (r->skipped > NI_MAXREPORT)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warnx("%s:%zu: %s", r->name, rec->lineno, msg);
	if (r->skipped == NI_MAXREPORT && !(r->opts & NI_READ_STRICT))
		warnx("%s: more malformed lines are counted, not shown",
		    r->name);
}

int
ni_reader_pending(const struct ni_reader *r)
{
	return memchr(r->buf + r->pos, '\n', r->len - r->pos) != NULL;
}

const char *const *
ni_reader_names(const struct ni_reader *r, size_t *n)
{
	*n = r->nnames;
	return (const char *const *)r->names;
}

int
ni_reader_col(const struct ni_reader *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *
ni_reader_name(const struct ni_reader *r)
{
	return r->name;
}

size_t
ni_reader_skipped(const struct ni_reader *r)
{
	return r->skipped;
}

int
ni_reader_close(struct ni_reader **rp)
{
	struct ni_reader	*r = *rp;
	size_t			 i;
	int			 rval = 0;

	if (r == NULL)
		return 0;
	if (r->skipped > 0) {
		if (r->opts & NI_READ_STRICT)
			warnx("%s: stopped at the first malformed line "
			    "(--strict)", r->name);
		else
			warnx("%s: %zu malformed line%s skipped", r->name,
			    r->skipped, r->skipped == 1 ? "" : "s");
		rval = -1;
	}
	if (r->failed)
		rval = -1;
	if (r->gz)
		inflateEnd(&r->z);
	close(r->fd);
	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->field);
	free(r->buf);
	free(r->qbuf);
	free(r->qoff);
	free(r->zbuf);
	free(r->name);
	free(r);
	*rp = NULL;
	return rval;
}

struct ni_writer *
ni_writer_new(FILE *fp, const char *const *names, size_t n)
{
	struct ni_writer	*w;
	size_t			 i;

	w = ni_calloc(1, sizeof(*w));
	w->fp = fp;
	w->n = n;
	w->names = ni_calloc(n, sizeof(char *));
	for (i = 0; i < n; i++)
		w->names[i] = ni_strdup(names[i]);
	return w;
}

/* Appends one field, quoted when it must be. */
static void
put_field(char **line, size_t *cap, size_t *len, const char *s)
{
	size_t	 n, need;
	int	 quote = 0;

	/* One pass for the length and whether quotes are needed. */
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] == ',' || s[n] == '"' || s[n] == '\r' || s[n] == '\n')
			quote = 1;
	need = *len + 2 * n + 4;
	if (need > *cap) {
		*cap = need * 2;
		*line = ni_reallocarray(*line, *cap, 1);
	}
	if (!quote) {
		memcpy(*line + *len, s, n);
		*len += n;
		return;
	}
	/* csv_write() doubles the quotes; 2n + 2 is its worst case. */
	*len += csv_write(*line + *len, 2 * n + 2, s, n);
}

size_t
ni_csv_join(char **line, size_t *cap, const char *const *f, size_t n)
{
	size_t	 i, len = 0;

	for (i = 0; i < n; i++) {
		put_field(line, cap, &len, f[i]);
		(*line)[len++] = i + 1 < n ? ',' : '\n';
	}
	return len;
}

static void
put_line(struct ni_writer *w, const char *const *f, size_t n)
{
	size_t	 len;

	if (n > 0) {
		len = ni_csv_join(&w->line, &w->linecap, f, n);
		fwrite(w->line, 1, len, w->fp);
	}
}

static void
header(struct ni_writer *w)
{
	if (!w->header_done) {
		w->header_done = 1;
		put_line(w, (const char *const *)w->names, w->n);
	}
}

void
ni_write_fields(struct ni_writer *w, const char *const *f, size_t n)
{
	header(w);
	if (n != w->n)
		errx(1, "internal error: %zu fields for a header of %zu",
		    n, w->n);
	put_line(w, f, n);
}

void
ni_write(struct ni_writer *w, const struct ni_rec *rec)
{
	ni_write_fields(w, (const char *const *)rec->field, rec->nfield);
}

int
ni_writer_close(struct ni_writer **wp)
{
	struct ni_writer	*w = *wp;
	size_t			 i;

	if (w == NULL)
		return 0;
	header(w);
	for (i = 0; i < w->n; i++)
		free(w->names[i]);
	free(w->names);
	free(w->line);
	free(w);
	*wp = NULL;
	return 0;
}
