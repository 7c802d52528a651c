/* nifilter.c -- flow filter expressions: parsed once, bound to a header, matched per record. */
#include "config.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

enum kind {
	K_TRUE, K_AND, K_OR, K_NOT, K_NET, K_PORT, K_PROTO, K_STATE,
	K_FLAGS, K_NUM, K_TIME, K_STR, K_RE, K_LIST
};

enum side { S_ANY, S_SRC, S_DST };	/* which end of the flow */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* Numbers a filter can compare; DURATION is end - start. */
enum numcol { N_PKTS, N_BYTES, N_RPKTS, N_RBYTES, N_TPKTS, N_TBYTES,
	N_DURATION };

struct range {			/* an address range, both ends inclusive */
	uint8_t		 lo[16], hi[16];
};

struct addrlist {
	struct range	*v[2];	/* [0] IPv4, [1] IPv6; sorted, merged */
	size_t		 n[2];
};

struct node {
	enum kind	 kind;
	struct node	*l, *r;
	enum side	 side;
	enum op		 op;
	int		 col;		/* bound column, for K_STR, K_RE */
	char		*name;		/* its name, until bound */
	char		*str;
	regex_t		 re;
	int		 neg;
	struct range	 net;
	int		 family;
	unsigned	 lo, hi;	/* ports, protocol, state, flags */
	int64_t		 num;
	struct addrlist	*list;
};

/* Per-record cache: each field is parsed at most once, when needed. */
enum { C_SRC, C_DST, C_SPORT, C_DPORT, C_PROTO, C_STATE, C_FLAGS, C_RFLAGS,
	C_START, C_END, C_PKTS, C_BYTES, C_RPKTS, C_RBYTES, C_N };

struct ni_filter {
	struct node		*root;
	char			*text;
	int			 col[NI_NCOLS];
	/* the record being matched */
	struct ni_reader	*r;
	const struct ni_rec	*rec;
	unsigned		 have, bad;
	struct ni_addr		 src, dst;
	uint64_t		 u[C_N];
	ni_time			 t[2];
};

/* parsing ------------------------------------------------------------- */

struct parser {
	const char	*s, *p;		/* expression, cursor */
	const char	*tok;		/* the current token */
	size_t		 len;
	int		 quoted;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

#define OPCHARS	"()<>=!~&|\""

static void
fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	if (ps->failed)
		return;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "column %d: %s", (int)(at - ps->s) + 1,
	    msg);
}

/* Reads the next token: a word, a quoted string or an operator. */
static void
next(struct parser *ps)
{
	const char	*p = ps->p;

	while (isspace((unsigned char)*p))
		p++;
	ps->tok = p;
	ps->quoted = 0;
	if (*p == '\0')
		ps->len = 0;
	else if (*p == '"') {
		ps->quoted = 1;
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p != '"') {
			fail(ps, ps->tok, "a string that never closes");
			ps->len = 0;
			ps->p = p;
			return;
		}
		ps->len = (size_t)(p + 1 - ps->tok);
		p++;
	} else if (strchr("()", *p) != NULL)
		ps->len = 1, p++;
	else if (strchr("<>=!~&|", *p) != NULL) {
		ps->len = (p[1] == '=' || p[1] == '~' || (p[0] == '&' &&
		    p[1] == '&') || (p[0] == '|' && p[1] == '|') ||
		    (p[0] == '=' && p[1] == '=')) ? 2 : 1;
		p += ps->len;
	} else {
		while (*p != '\0' && !isspace((unsigned char)*p) &&
		    strchr(OPCHARS, *p) == NULL)
			p++;
		ps->len = (size_t)(p - ps->tok);
	}
	ps->p = p;
}

static int
is(struct parser *ps, const char *w)
{
	return !ps->quoted && ps->len == strlen(w) &&
	    strncasecmp(ps->tok, w, ps->len) == 0;
}

static char *
tokdup(struct parser *ps)
{
	char	*s, *o;
	size_t	 i;

	if (!ps->quoted)
		return ni_strndup(ps->tok, ps->len);
	/* \" and \\ are escapes; other backslashes stay (regex escapes). */
	s = o = ni_malloc(ps->len);
	for (i = 1; i + 1 < ps->len; i++) {
		if (ps->tok[i] == '\\' && (ps->tok[i + 1] == '"' ||
		    ps->tok[i + 1] == '\\'))
			i++;
		*o++ = ps->tok[i];
	}
	*o = '\0';
	return s;
}

static struct node *
mknode(enum kind k)
{
	struct node	*n = ni_calloc(1, sizeof(*n));

	n->kind = k;
	n->col = -1;
	return n;
}

static void
freenode(struct node *n)
{
	if (n == NULL)
		return;
	freenode(n->l);
	freenode(n->r);
	if (n->kind == K_RE)
		regfree(&n->re);
	if (n->list != NULL) {
		free(n->list->v[0]);
		free(n->list->v[1]);
		free(n->list);
	}
	free(n->name);
	free(n->str);
	free(n);
}

/* An address or CIDR prefix as an inclusive range. */
static int
parse_net(const char *s, struct range *rg, int *family)
{
	struct ni_addr	 a;
	char		 buf[NI_ADDR_LEN + 8], *slash;
	const char	*errstr;
	int		 bits, max, i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (ni_addr_parse(buf, &a) == -1)
		return -1;
	max = a.family == 4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		bits = (int)strtonum(slash, 0, max, &errstr);
		if (errstr != NULL)
			return -1;
	}
	memset(rg, 0, sizeof(*rg));
	for (i = 0; i < max / 8; i++) {
		int keep = bits - 8 * i;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));

		rg->lo[i] = a.a[i] & mask;
		rg->hi[i] = (uint8_t)(a.a[i] | ~mask);
	}
	*family = a.family;
	return 0;
}

static int
cmprange(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->lo,
	    ((const struct range *)b)->lo, 16);
}

/* A file of addresses and prefixes, one a line, # comments. */
static struct addrlist *
load_list(struct parser *ps, const char *at, const char *path)
{
	struct addrlist	*l;
	struct range	 rg;
	char		*line = NULL, *p, *e;
	size_t		 cap = 0, lineno = 0, k, j, m, cap2[2] = { 0, 0 };
	FILE		*fp;
	int		 fam;

	if ((fp = fopen(path, "r")) == NULL) {
		fail(ps, at, "%s: %s", path, strerror(errno));
		return NULL;
	}
	l = ni_calloc(1, sizeof(*l));
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if ((p = strpbrk(line, "#;")) != NULL)
			*p = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			continue;
		for (e = p; *e != '\0' && !isspace((unsigned char)*e) &&
		    *e != ','; e++)
			continue;
		*e = '\0';
		if (*p == '\0')
			continue;
		if (parse_net(p, &rg, &fam) == -1) {
			fail(ps, at, "%s:%zu: not an address or prefix: \"%s\"",
			    path, lineno, p);
			break;
		}
		k = fam == 4 ? 0 : 1;
		if (l->n[k] == cap2[k]) {
			cap2[k] = cap2[k] * 2 + 64;
			l->v[k] = ni_reallocarray(l->v[k], cap2[k], sizeof(rg));
		}
		l->v[k][l->n[k]++] = rg;
	}
	free(line);
	fclose(fp);
	/* sorted, overlaps merged: then one binary search answers */
	for (k = 0; k < 2; k++) {
		if (l->n[k] > 0)
			qsort(l->v[k], l->n[k], sizeof(rg), cmprange);
		for (j = 0, m = 0; j < l->n[k]; j++) {
			if (m > 0 && memcmp(l->v[k][j].lo, l->v[k][m - 1].hi,
			    16) <= 0) {
				if (memcmp(l->v[k][j].hi, l->v[k][m - 1].hi,
				    16) > 0)
					memcpy(l->v[k][m - 1].hi,
					    l->v[k][j].hi, 16);
			} else
				l->v[k][m++] = l->v[k][j];
		}
		l->n[k] = m;
	}
	return l;
}

static int
parse_op(struct parser *ps, enum op *op)
{
	static const struct { const char *s; enum op op; } ops[] = {
	    { "=", OP_EQ }, { "==", OP_EQ }, { "!=", OP_NE }, { "<", OP_LT },
	    { "<=", OP_LE }, { ">", OP_GT }, { ">=", OP_GE } };
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (is(ps, ops[i].s)) {
			*op = ops[i].op;
			next(ps);
			return 0;
		}
	*op = OP_EQ;	/* "bytes 100" means "bytes = 100" */
	return 0;
}

/* 10M, 1.5k, 64Ki: decimal and binary multiples. */
static int
parse_count(const char *s, int64_t *v)
{
	char		*e;
	double		 d;

	errno = 0;
	d = strtod(s, &e);
	if (e == s || errno != 0 || d < 0)
		return -1;
	if (*e != '\0') {
		static const char units[] = "kmgt";
		const char *u = strchr(units, tolower((unsigned char)*e));

		if (u == NULL)
			return -1;
		d *= e[1] == 'i' ? (double)(1ULL << (10 * (u - units + 1))) :
		    1e3 * (u == units ? 1 : u == units + 1 ? 1e3 : u == units +
		    2 ? 1e6 : 1e9);
		e += e[1] == 'i' ? 2 : 1;
		if (*e != '\0')
			return -1;
	}
	*v = (int64_t)d;
	return 0;
}

/* 90, 90s, 1.5m, 2h, 1d, 250ms, 10us: microseconds. */
int
ni_duration_parse(const char *s, int64_t *v)
{
	char		*e;
	double		 d;

	errno = 0;
	d = strtod(s, &e);
	if (e == s || errno != 0 || d < 0)
		return -1;
	if (*e == '\0' || strcmp(e, "s") == 0)
		d *= 1e6;
	else if (strcmp(e, "ms") == 0)
		d *= 1e3;
	else if (strcmp(e, "us") == 0)
		;
	else if (strcmp(e, "m") == 0 || strcmp(e, "min") == 0)
		d *= 60e6;
	else if (strcmp(e, "h") == 0)
		d *= 3600e6;
	else if (strcmp(e, "d") == 0)
		d *= 86400e6;
	else
		return -1;
	*v = (int64_t)d;
	return 0;
}

int
ni_time_parse_loose(const char *s, ni_time *t)
{
	char	 b[NI_TIME_LEN + 16];

	if (ni_time_parse(s, t) == 0)
		return 0;
	/* a date, or minutes without seconds (2026-12-04T10:00Z) */
	if (strlen(s) == 10)
		snprintf(b, sizeof(b), "%sT00:00:00Z", s);
	else if (strlen(s) == 17 && (s[16] == 'Z' || s[16] == 'z'))
		snprintf(b, sizeof(b), "%.16s:00Z", s);
	else if (strlen(s) == 16)
		snprintf(b, sizeof(b), "%s:00Z", s);
	else
		return -1;
	return ni_time_parse(b, t);
}

static struct node	*parse_or(struct parser *);

static struct node *
parse_predicate(struct parser *ps)
{
	static const char *const numcols[] = { "pkts", "bytes", "rpkts",
	    "rbytes", "tpkts", "tbytes", "duration" };
	struct node	*n;
	const char	*at = ps->tok;
	enum side	 side = S_ANY;
	char		*w;
	size_t		 i;
	int		 rc;

	if (ps->len == 0) {
		fail(ps, at, "the expression ends too soon");
		return NULL;
	}
	if (is(ps, "(")) {
		next(ps);
		n = parse_or(ps);
		if (!is(ps, ")"))
			fail(ps, ps->tok, "expected \")\"");
		next(ps);
		return n;
	}
	if (is(ps, "src") || is(ps, "dst")) {
		side = is(ps, "src") ? S_SRC : S_DST;
		next(ps);
		/* "src 10.0.0.1" is "src host 10.0.0.1" */
		if (!is(ps, "host") && !is(ps, "net") && !is(ps, "port") &&
		    !is(ps, "in") && !is(ps, "ip")) {
			n = mknode(K_NET);
			n->side = side;
			goto addr;
		}
	}
	if (is(ps, "host") || is(ps, "ip") || is(ps, "net")) {
		n = mknode(K_NET);
		n->side = side;
		next(ps);
addr:
		at = ps->tok;
		w = tokdup(ps);
		rc = parse_net(w, &n->net, &n->family);
		free(w);
		if (rc == -1) {
			fail(ps, at, "expected an address or prefix, found "
			    "\"%.*s\"", (int)ps->len, ps->tok);
			freenode(n);
			return NULL;
		}
		next(ps);
		return n;
	}
	if (is(ps, "in")) {
		n = mknode(K_LIST);
		n->side = side;
		next(ps);
		at = ps->tok;
		if (ps->len < 2 || ps->tok[0] != '@') {
			fail(ps, at, "expected @file after \"in\"");
			freenode(n);
			return NULL;
		}
		w = ni_strndup(ps->tok + 1, ps->len - 1);
		n->list = load_list(ps, at, w);
		free(w);
		next(ps);
		return n;
	}
	if (is(ps, "port") || is(ps, "sport") || is(ps, "dport")) {
		n = mknode(K_PORT);
		n->side = is(ps, "sport") ? S_SRC : is(ps, "dport") ? S_DST :
		    side;
		next(ps);
		parse_op(ps, &n->op);
		at = ps->tok;
		w = tokdup(ps);
		rc = sscanf(w, "%u-%u", &n->lo, &n->hi);
		free(w);
		if (rc < 1 || n->lo > 65535 || (rc == 2 && (n->hi > 65535 ||
		    n->hi < n->lo))) {
			fail(ps, at, "expected a port or range (80, "
			    "8000-8999), found \"%.*s\"", (int)ps->len, ps->tok);
			freenode(n);
			return NULL;
		}
		if (rc == 1)
			n->hi = n->lo;
		next(ps);
		return n;
	}
	if (side != S_ANY) {
		fail(ps, ps->tok, "expected host, net, port or in after "
		    "src/dst");
		return NULL;
	}
	if (is(ps, "proto")) {
		n = mknode(K_PROTO);
		next(ps);
		at = ps->tok;
		w = tokdup(ps);
		rc = ni_proto_parse(w, &n->lo);
		free(w);
		if (rc == -1) {
			fail(ps, at, "expected a protocol (tcp, udp, icmp, "
			    "icmp6 or a number), found \"%.*s\"", (int)ps->len,
			    ps->tok);
			freenode(n);
			return NULL;
		}
		next(ps);
		return n;
	}
	if (is(ps, "tcp") || is(ps, "udp") || is(ps, "icmp") ||
	    is(ps, "icmp6")) {
		n = mknode(K_PROTO);
		w = tokdup(ps);
		ni_proto_parse(w, &n->lo);
		free(w);
		next(ps);
		return n;
	}
	if (is(ps, "state")) {
		n = mknode(K_STATE);
		next(ps);
		parse_op(ps, &n->op);
		at = ps->tok;
		for (i = 0; i < NI_NSTATE; i++)
			if (is(ps, ni_state_names[i]))
				break;
		if (i == NI_NSTATE) {
			fail(ps, at, "expected a state (attempted, rejected, "
			    "half-open, established, closed, reset, midstream), "
			    "found \"%.*s\"", (int)ps->len, ps->tok);
			freenode(n);
			return NULL;
		}
		n->lo = (unsigned)i;
		next(ps);
		return n;
	}
	if (is(ps, "flags") || is(ps, "rflags")) {
		n = mknode(K_FLAGS);
		n->side = is(ps, "flags") ? S_SRC : S_DST;
		next(ps);
		at = ps->tok;
		w = tokdup(ps);
		for (char *c = w; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		rc = ni_flags_parse(w, &n->lo);
		free(w);
		if (rc == -1 || n->lo == 0) {
			fail(ps, at, "expected TCP flag letters (FSRPAUEC), "
			    "found \"%.*s\"", (int)ps->len, ps->tok);
			freenode(n);
			return NULL;
		}
		next(ps);
		return n;
	}
	for (i = 0; i < sizeof(numcols) / sizeof(numcols[0]); i++)
		if (is(ps, numcols[i])) {
			n = mknode(K_NUM);
			n->col = (int)i;
			next(ps);
			parse_op(ps, &n->op);
			at = ps->tok;
			w = tokdup(ps);
			rc = i == N_DURATION ? ni_duration_parse(w, &n->num) :
			    parse_count(w, &n->num);
			free(w);
			if (rc == -1) {
				fail(ps, at, "expected %s, found \"%.*s\"",
				    i == N_DURATION ? "a duration (90s, 5m, "
				    "2h)" : "a number (1500, 10k, 2M)",
				    (int)ps->len, ps->tok);
				freenode(n);
				return NULL;
			}
			next(ps);
			return n;
		}
	if (is(ps, "start") || is(ps, "end")) {
		n = mknode(K_TIME);
		n->col = is(ps, "start") ? 0 : 1;
		next(ps);
		parse_op(ps, &n->op);
		at = ps->tok;
		w = tokdup(ps);
		rc = ni_time_parse_loose(w, &n->num);
		free(w);
		if (rc == -1) {
			fail(ps, at, "expected a time (2026-12-04, "
			    "2026-12-04T10:00Z, RFC 3339), found \"%.*s\"",
			    (int)ps->len, ps->tok);
			freenode(n);
			return NULL;
		}
		next(ps);
		return n;
	}
	/* any other column by name: COLUMN OP "string", COLUMN ~ "regex" */
	if (ps->quoted || strchr(OPCHARS, ps->tok[0]) != NULL) {
		fail(ps, at, "expected a condition, found \"%.*s\"",
		    (int)ps->len, ps->tok);
		return NULL;
	}
	w = tokdup(ps);
	next(ps);
	if (is(ps, "~") || is(ps, "!~")) {
		n = mknode(K_RE);
		n->neg = is(ps, "!~");
		n->name = w;
		next(ps);
		at = ps->tok;
		if (ps->len == 0) {
			fail(ps, at, "expected a regular expression");
			freenode(n);
			return NULL;
		}
		n->str = tokdup(ps);
		if ((rc = regcomp(&n->re, n->str, REG_EXTENDED | REG_NOSUB)) !=
		    0) {
			char msg[128];

			regerror(rc, &n->re, msg, sizeof(msg));
			fail(ps, at, "regular expression \"%s\": %s", n->str,
			    msg);
			free(n->str);
			n->str = NULL;
			n->kind = K_TRUE;	/* nothing to regfree */
			freenode(n);
			return NULL;
		}
		next(ps);
		return n;
	}
	if (!is(ps, "=") && !is(ps, "==") && !is(ps, "!=") && !is(ps, "<") &&
	    !is(ps, "<=") && !is(ps, ">") && !is(ps, ">=")) {
		fail(ps, at, "unknown word \"%s\" (a column needs = != < > ~ "
		    "and a value)", w);
		free(w);
		return NULL;
	}
	n = mknode(K_STR);
	n->name = w;
	parse_op(ps, &n->op);
	if (ps->len == 0) {
		fail(ps, ps->tok, "expected a value");
		freenode(n);
		return NULL;
	}
	n->str = tokdup(ps);
	next(ps);
	return n;
}

static struct node *
parse_not(struct parser *ps)
{
	struct node	*n;

	if (is(ps, "not") || is(ps, "!")) {
		next(ps);
		n = mknode(K_NOT);
		n->l = parse_not(ps);
		return n;
	}
	return parse_predicate(ps);
}

/* A left-associative chain of one operator: "a and b and c". */
static struct node *
parse_chain(struct parser *ps, struct node *(*operand)(struct parser *),
    enum kind kind, const char *word, const char *sym)
{
	struct node	*n, *b;

	n = operand(ps);
	while (!ps->failed && (is(ps, word) || is(ps, sym))) {
		next(ps);
		b = mknode(kind);
		b->l = n;
		b->r = operand(ps);
		n = b;
	}
	return n;
}

static struct node *
parse_and(struct parser *ps)
{
	return parse_chain(ps, parse_not, K_AND, "and", "&&");
}

static struct node *
parse_or(struct parser *ps)
{
	return parse_chain(ps, parse_and, K_OR, "or", "||");
}

struct ni_filter *
ni_filter_compile(const char *expr, char *err, size_t errlen)
{
	struct parser	 ps;
	struct ni_filter *f;
	struct node	*n;

	memset(&ps, 0, sizeof(ps));
	ps.s = ps.p = expr;
	ps.err = err;
	ps.errlen = errlen;
	next(&ps);
	if (ps.len == 0 && !ps.failed)
		n = mknode(K_TRUE);	/* an empty expression keeps all */
	else
		n = parse_or(&ps);
	if (!ps.failed && ps.len != 0)
		fail(&ps, ps.tok, "unexpected \"%.*s\" (and, or, not join "
		    "conditions)", (int)ps.len, ps.tok);
	if (ps.failed) {
		freenode(n);
		return NULL;
	}
	f = ni_calloc(1, sizeof(*f));
	f->root = n;
	f->text = ni_strdup(expr);
	return f;
}

static int
bind(struct node *n, struct ni_reader *r)
{
	int	 rval = 0;

	if (n == NULL)
		return 0;
	if ((n->kind == K_STR || n->kind == K_RE) &&
	    (n->col = ni_reader_col(r, n->name)) == -1) {
		warnx("%s: no column \"%s\" for the filter", ni_reader_name(r),
		    n->name);
		rval = -1;
	}
	if (bind(n->l, r) == -1 || bind(n->r, r) == -1)
		rval = -1;
	return rval;
}

int
ni_filter_bind(struct ni_filter *f, struct ni_reader *r)
{
	size_t	 n;
	int	 i;

	(void)ni_reader_names(r, &n);
	if (n == 0)
		return 0;
	for (i = 0; i < NI_NCOLS; i++)
		f->col[i] = ni_reader_col(r, ni_col_names[i]);
	return bind(f->root, r);
}

void
ni_filter_free(struct ni_filter **fp)
{
	if (*fp == NULL)
		return;
	freenode((*fp)->root);
	free((*fp)->text);
	free(*fp);
	*fp = NULL;
}

/* matching ------------------------------------------------------------ */

static const int cachecol[C_N] = {
	NI_COL_SRC, NI_COL_DST, NI_COL_SPORT, NI_COL_DPORT, NI_COL_PROTO,
	NI_COL_STATE, NI_COL_FLAGS, NI_COL_RFLAGS, NI_COL_START, NI_COL_END,
	NI_COL_PKTS, NI_COL_BYTES, NI_COL_RPKTS, NI_COL_RBYTES
};

/* The field of the record as a value; 0 if missing or bad (reported). */
static int
get(struct ni_filter *f, int c)
{
	const char	*s;
	unsigned	 u;
	char		*e;
	int		 col = f->col[cachecol[c]], i;

	if (f->have & (1u << c))
		return 1;
	if (col == -1)
		return 0;
	s = f->rec->field[col];
	switch (c) {
	case C_SRC:
	case C_DST:
		if (ni_addr_parse(s, c == C_SRC ? &f->src : &f->dst) == -1)
			goto bad;
		break;
	case C_PROTO:
		if (ni_proto_parse(s, &u) == -1)
			goto bad;
		f->u[c] = u;
		break;
	case C_STATE:
		for (i = 0; i < NI_NSTATE; i++)
			if (strcmp(s, ni_state_names[i]) == 0)
				break;
		if (i == NI_NSTATE)
			goto bad;
		f->u[c] = (uint64_t)i;
		break;
	case C_FLAGS:
	case C_RFLAGS:
		if (ni_flags_parse(s, &u) == -1)
			goto bad;
		f->u[c] = u;
		break;
	case C_START:
	case C_END:
		if (ni_time_parse(s, &f->t[c - C_START]) == -1)
			goto bad;
		break;
	default:	/* ports and counters */
		if (*s < '0' || *s > '9')
			goto bad;
		errno = 0;
		f->u[c] = strtoull(s, &e, 10);
		if (*e != '\0' || errno != 0)
			goto bad;
		break;
	}
	f->have |= 1u << c;
	return 1;
bad:
	if (!f->bad) {
		f->bad = 1;
		ni_reader_bad(f->r, f->rec, "bad %s \"%s\"",
		    ni_col_names[cachecol[c]], s);
	}
	return 0;
}

static int
in_range(const struct range *rg, const struct ni_addr *a)
{
	return memcmp(a->a, rg->lo, 16) >= 0 && memcmp(a->a, rg->hi, 16) <= 0;
}

static int
in_list(const struct addrlist *l, const struct ni_addr *a)
{
	const struct range	*v;
	size_t			 lo = 0, hi, mid;
	int			 k = a->family == 4 ? 0 : 1;

	v = l->v[k];
	hi = l->n[k];
	/* the last range that starts at or below the address */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (memcmp(v[mid].lo, a->a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && memcmp(a->a, v[lo - 1].hi, 16) <= 0;
}

static int
cmp_op(enum op op, int c)
{
	switch (op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

static int
num_op(enum op op, int64_t a, int64_t b)
{
	return cmp_op(op, a < b ? -1 : a > b);
}

/* A port (or range, with =) of one end. */
static int
port_match(struct ni_filter *f, const struct node *n, int c)
{
	unsigned	 p;

	if (!get(f, c))
		return 0;
	p = (unsigned)f->u[c];
	return n->op == OP_EQ ? p >= n->lo && p <= n->hi :
	    num_op(n->op, p, n->lo);
}

static int
match(struct ni_filter *f, const struct node *n)
{
	int64_t		 v;
	int		 s, d;

	switch (n->kind) {
	case K_TRUE:
		return 1;
	case K_AND:
		return match(f, n->l) && match(f, n->r);
	case K_OR:
		return match(f, n->l) || match(f, n->r);
	case K_NOT:
		return !match(f, n->l);
	case K_NET:
		s = n->side != S_DST && get(f, C_SRC) &&
		    f->src.family == n->family && in_range(&n->net, &f->src);
		d = n->side != S_SRC && !s && get(f, C_DST) &&
		    f->dst.family == n->family && in_range(&n->net, &f->dst);
		return s || d;
	case K_LIST:
		s = n->side != S_DST && get(f, C_SRC) && in_list(n->list,
		    &f->src);
		d = n->side != S_SRC && !s && get(f, C_DST) &&
		    in_list(n->list, &f->dst);
		return s || d;
	case K_PORT:
		return (n->side != S_DST && port_match(f, n, C_SPORT)) ||
		    (n->side != S_SRC && port_match(f, n, C_DPORT));
	case K_PROTO:
		return get(f, C_PROTO) && f->u[C_PROTO] == n->lo;
	case K_STATE:
		return get(f, C_STATE) && num_op(n->op == OP_NE ? OP_NE : OP_EQ,
		    (int64_t)f->u[C_STATE], n->lo);
	case K_FLAGS:
		s = n->side == S_SRC ? C_FLAGS : C_RFLAGS;
		return get(f, s) && (f->u[s] & n->lo) == n->lo;
	case K_NUM:
		switch (n->col) {
		case N_PKTS:
		case N_BYTES:
		case N_RPKTS:
		case N_RBYTES:
			if (!get(f, C_PKTS + n->col))
				return 0;
			v = (int64_t)f->u[C_PKTS + n->col];
			break;
		case N_TPKTS:
			if (!get(f, C_PKTS) || !get(f, C_RPKTS))
				return 0;
			v = (int64_t)(f->u[C_PKTS] + f->u[C_RPKTS]);
			break;
		case N_TBYTES:
			if (!get(f, C_BYTES) || !get(f, C_RBYTES))
				return 0;
			v = (int64_t)(f->u[C_BYTES] + f->u[C_RBYTES]);
			break;
		default:
			if (!get(f, C_START) || !get(f, C_END))
				return 0;
			v = f->t[1] - f->t[0];
			break;
		}
		return num_op(n->op, v, n->num);
	case K_TIME:
		if (!get(f, C_START + n->col))
			return 0;
		return num_op(n->op, f->t[n->col], n->num);
	case K_STR:
		return cmp_op(n->op, strcmp(f->rec->field[n->col], n->str));
	case K_RE:
		return (regexec(&n->re, f->rec->field[n->col], 0, NULL, 0) ==
		    0) != n->neg;
	}
	return 0;
}

int
ni_filter_match(struct ni_filter *f, struct ni_reader *r,
    const struct ni_rec *rec)
{
	f->r = r;
	f->rec = rec;
	f->have = 0;
	f->bad = 0;
	return match(f, f->root);
}
