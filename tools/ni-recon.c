/* ni-recon -- reconnaissance findings: external peers that scan the cluster, push large data in, or flood a service. */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "ni.h"

/* The peers table hashes addresses as ni_map does, a word at a time. */
#define HASH_FUNCTION(keyptr, keylen, hashv) \
	((hashv) = ni_hash_bytes((keyptr), (keylen)))
#include <uthash.h>

#define MAXSAMPLE	12	/* ports and hosts named in the evidence */

/* Settings; every threshold is an option (ni-recon(1) gives defaults). */
static struct {
	ni_time		 window, longwin, volwin;
	uint64_t	 targets, slowtargets, vertical, horizontal;
	double		 failratio, slowfail;
	double		 theta0, theta1, alpha, beta;
	uint64_t	 volfloor, reqfloor;
	double		 madk;
	size_t		 maxpeers;
	int		 intel_div;	/* an intel-flagged peer: thresholds / this */
} cf = {
	300 * 1000000LL, 86400 * 1000000LL, 300 * 1000000LL,
	25, 50, 15, 15,
	0.5, 0.8,
	0.8, 0.2, 0.01, 0.99,
	100ULL << 20, 1000,
	10.0,
	1000000,
	4
};

struct set {			/* open addressing, 64-bit keys, 0 unused */
	uint64_t	*v;
	size_t		 n, cap;
};

/* What ni-recon knows of one external peer: the key of all its state. */
struct peer {
	UT_hash_handle	 hh;
	struct ni_addr	 addr;
	ni_time		 first, last;
	struct set	 targets, hosts, ports;	/* distinct, since first */
	ni_time		*recent;	/* first contacts' times, for the window */
	size_t		 nrecent, caprecent;
	uint64_t	 fails, oks;	/* of first contacts to a target */
	uint64_t	 hostfails, hostoks;
	double		 trw;		/* likelihood ratio, scanner vs benign */
	int		 trwdone;	/* 1 scanner, -1 benign */
	int		 reported;
	unsigned	 protos;	/* 1 tcp, 2 udp, 4 icmp */
	uint64_t	 flows, pkts, bytes;
	const char	*intel, *feeds;	/* interned */
	uint16_t	 sport[MAXSAMPLE];
	struct ni_addr	 shost[MAXSAMPLE];
	size_t		 nsport, nshost;
};

/* Per window, per (peer, service): what volume and request rules see. */
struct ukey {
	struct ni_addr	 peer, svc;
	uint16_t	 port;
	uint8_t		 proto;
};

struct usage {
	uint64_t	 bytes, flows, pkts;
	ni_time		 first, last;
	const char	*intel, *feeds;	/* interned */
};

struct uref {			/* an entry of the map, while judging */
	const struct ukey	*k;
	struct usage		*u;
};

/* Intel strings repeat across peers: kept once. */
struct istr {
	UT_hash_handle	 hh;
	char		 s[];
};
static struct istr		*istrs;

static const char *
intern(const char *s)
{
	struct istr	*i;

	HASH_FIND_STR(istrs, s, i);
	if (i == NULL) {
		i = ni_malloc(sizeof(*i) + strlen(s) + 1);
		strcpy(i->s, s);
		HASH_ADD_STR(istrs, s, i);
	}
	return i->s;
}
static struct peer		*peers;
static size_t			 npeers, evicted;
static struct ni_map		*usage;	/* ukey -> usage, this window */
static FILE			*valuesfp;	/* --values: per-pair values */
static struct ni_map		*baseline;	/* --baseline: bkey -> bval */
static size_t			 maxusage, untracked;
static int64_t			 curwin = INT64_MIN;
static struct ni_addr		*cluster;
static size_t			 ncluster;
static int			*clusterbits;	/* < 0: excluded, "!cidr" */
static struct ni_finding_writer	*fw;
static struct ni_intel		*intel;
static uint64_t			 nfindings;

static void	 usage_exit(FILE *, int) __attribute__((__noreturn__));

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x | 1;		/* never 0, the empty slot */
}

static uint64_t
addrhash(const struct ni_addr *a)
{
	uint64_t	 w[2];

	memcpy(w, a->a, 16);
	return mix(w[0] ^ mix(w[1] ^ a->family));
}

/* Adds a key; 1 if it was new. */
static int
set_add(struct set *s, uint64_t k)
{
	size_t	 i, j;

	if (s->n * 2 >= s->cap) {
		struct set	 o = *s;

		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = ni_calloc(s->cap, sizeof(uint64_t));
		s->n = 0;
		for (j = 0; j < o.cap; j++)
			if (o.v[j] != 0)
				set_add(s, o.v[j]);
		free(o.v);
	}
	for (i = k & (s->cap - 1); s->v[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == k)
			return 0;
	s->v[i] = k;
	s->n++;
	return 1;
}

static int
prefix_match(const struct ni_addr *net, int bits, const struct ni_addr *a)
{
	int	 full = bits / 8, b = bits % 8;

	if (net->family != a->family || memcmp(net->a, a->a, (size_t)full) != 0)
		return 0;
	return b == 0 || ((net->a[full] ^ a->a[full]) & (0xff << (8 - b))) == 0;
}

/* In a cluster range and in no excluded one. */
static int
in_cluster(const struct ni_addr *a)
{
	size_t	 i;
	int	 in = 0;

	for (i = 0; i < ncluster; i++)
		if (prefix_match(&cluster[i], abs(clusterbits[i]) - 1, a)) {
			if (clusterbits[i] < 0)
				return 0;
			in = 1;
		}
	return in;
}

static void
add_cluster(const char *s)
{
	char		 b[NI_ADDR_LEN + 8], *slash;
	const char	*errstr;
	int		 bits, neg = *s == '!';

	snprintf(b, sizeof(b), "%s", s + neg);
	if ((slash = strchr(b, '/')) != NULL)
		*slash++ = '\0';
	cluster = ni_reallocarray(cluster, ncluster + 1, sizeof(*cluster));
	clusterbits = ni_reallocarray(clusterbits, ncluster + 1, sizeof(int));
	if (ni_addr_parse(b, &cluster[ncluster]) == -1)
		errx(1, "-C %s: not an address or prefix", s);
	bits = cluster[ncluster].family == 4 ? 32 : 128;
	if (slash != NULL) {
		bits = (int)strtonum(slash, 0, bits, &errstr);
		if (errstr != NULL)
			errx(1, "-C %s: prefix length %s", s, errstr);
	}
	/* stored + 1, so that /0 has a sign too */
	clusterbits[ncluster++] = neg ? -(bits + 1) : bits + 1;
}

static int
peer_intel(const struct peer *p)
{
	return p->intel != NULL && p->intel[0] != '\0';
}

static const char *
protos(unsigned m)
{
	static const char *const names[] = { "", "TCP", "UDP", "TCP+UDP",
	    "ICMP", "TCP+ICMP", "UDP+ICMP", "TCP+UDP+ICMP" };

	return names[m & 7];
}

/*
 * A peer whose first contacts crossed a threshold: one finding, as soon as
 * the flow that crossed it is read.
 */
static void
report_scan(struct peer *p, ni_time when, const char *why)
{
	struct ni_finding	 f;
	char			 subj[NI_ADDR_LEN], cp[256], ports[256];
	char			 ev[512], a[NI_ADDR_LEN];
	const char		*kind, *mitre;
	size_t			 i;
	int			 n;

	memset(&f, 0, sizeof(f));
	ni_addr_fmt(&p->addr, subj);
	if (p->hosts.n <= 1) {
		kind = "port-scan";		/* vertical */
		mitre = "T1046";
	} else if (p->ports.n <= 2) {
		kind = "address-scan";		/* horizontal */
		mitre = "T1595.001";
	} else {
		kind = "block-scan";
		mitre = "T1595.001";
	}
	ports[0] = '\0';
	for (i = 0, n = 0; i < p->nsport; i++)
		n += snprintf(ports + n, sizeof(ports) - (size_t)n, "%s%u",
		    i ? " " : "", p->sport[i]);
	if (p->ports.n > p->nsport)
		snprintf(ports + n, sizeof(ports) - (size_t)n, " ...");
	cp[0] = '\0';
	for (i = 0, n = 0; i < p->nshost && i < 4; i++) {
		ni_addr_fmt(&p->shost[i], a);
		n += snprintf(cp + n, sizeof(cp) - (size_t)n, "%s%s",
		    i ? " " : "", a);
	}
	if (p->hosts.n > 4)
		snprintf(cp + n, sizeof(cp) - (size_t)n, " ... (%zu hosts)",
		    p->hosts.n);
	snprintf(ev, sizeof(ev), "%s %s scan: %zu hosts, %zu ports, %zu "
	    "targets; %llu of %llu first contacts failed; TRW ratio %.3g",
	    protos(p->protos), kind[0] == 'p' ? "vertical" : kind[0] == 'a' ?
	    "horizontal" : "block", p->hosts.n, p->ports.n, p->targets.n,
	    (unsigned long long)p->fails, (unsigned long long)(p->fails +
	    p->oks), p->trw);
	f.time = when;
	f.card = "recon";
	f.kind = kind;
	f.subject = subj;
	f.counterpart = cp;
	f.intel = p->intel;
	f.feeds = p->feeds;
	f.mitre = mitre;
	f.first = p->first;
	f.last = p->last;
	f.flows = p->flows;
	f.pkts = p->pkts;
	f.bytes = p->bytes;
	f.targets = p->targets.n;
	f.ports = ports;
	f.threshold = why;
	f.evidence = ev;
	/* more targets, more failures, and intel raise the score */
	f.score = 40 + (int)(20 * log10((double)p->targets.n + 1));
	if (peer_intel(p))
		f.score += 20;
	if (f.score > 100)
		f.score = 100;
	f.severity = f.score >= 85 ? NI_CRITICAL : f.score >= 70 ? NI_HIGH :
	    f.score >= 50 ? NI_MEDIUM : NI_LOW;
	ni_finding_write(fw, &f);
	nfindings++;
}

static void
free_peer(struct peer *p)
{
	HASH_DEL(peers, p);
	free(p->targets.v);
	free(p->hosts.v);
	free(p->ports.v);
	free(p->recent);
	free(p);
	npeers--;
}

/* The peer's state after a first contact: TRW and distinct-target rules. */
static void
first_contact(struct peer *p, const struct ni_flow *f, int failed, int newhost)
{
	char	 why[128];
	int	 div = peer_intel(p) ? cf.intel_div : 1;
	double	 eta1 = cf.beta / cf.alpha, eta0 = (1 - cf.beta) /
		    (1 - cf.alpha);
	size_t	 i;

	if (failed)
		p->fails++;
	else
		p->oks++;
	if (p->nrecent == p->caprecent) {
		p->caprecent = p->caprecent * 2 + 16;
		p->recent = ni_reallocarray(p->recent, p->caprecent,
		    sizeof(ni_time));
	}
	p->recent[p->nrecent++] = f->start;
	/* the short window: drop contacts that fell out of it */
	for (i = 0; i < p->nrecent && p->recent[i] < f->start - cf.window; i++)
		continue;
	if (i > 0) {
		memmove(p->recent, p->recent + i, (p->nrecent - i) *
		    sizeof(ni_time));
		p->nrecent -= i;
	}
	/*
	 * Threshold Random Walk (Jung et al. 2004) over first contacts of
	 * hosts: each failure multiplies the ratio by (1-θ1)/(1-θ0), each
	 * success by θ1/θ0; a scanner past β/α, benign below (1-β)/(1-α).
	 * An intel-flagged peer needs a ratio `div` times smaller.
	 */
	if (newhost && p->trwdone == 0) {
		p->trw *= failed ? (1 - cf.theta1) / (1 - cf.theta0) :
		    cf.theta1 / cf.theta0;
		if (p->trw >= eta1 / div)
			p->trwdone = 1;
		else if (p->trw <= eta0)
			p->trwdone = -1;
	}
	if (p->reported)
		return;
	if (p->trwdone == 1) {
		snprintf(why, sizeof(why), "TRW ratio %.3g >= %.3g "
		    "(θ0 %.2g, θ1 %.2g, α %.2g, β %.2g)", p->trw, eta1 / div,
		    cf.theta0, cf.theta1, cf.alpha, cf.beta);
	} else if (p->nrecent >= cf.targets / div && (double)p->fails /
	    (double)(p->fails + p->oks) >= cf.failratio) {
		snprintf(why, sizeof(why), "%zu new targets in %llds >= %llu, "
		    "%.0f%% failed", p->nrecent, (long long)(cf.window / 1000000),
		    (unsigned long long)(cf.targets / div), 100.0 *
		    (double)p->fails / (double)(p->fails + p->oks));
	} else if (p->targets.n >= cf.slowtargets / div &&
	    (double)p->fails / (double)(p->fails + p->oks) >= cf.slowfail) {
		snprintf(why, sizeof(why), "%zu targets in %llds >= %llu, "
		    "%.0f%% failed (slow scan)", p->targets.n,
		    (long long)(cf.longwin / 1000000),
		    (unsigned long long)(cf.slowtargets / div), 100.0 *
		    (double)p->fails / (double)(p->fails + p->oks));
	} else if ((p->hosts.n == 1 && p->ports.n >= cf.vertical / div &&
	    p->fails > p->oks) || (p->ports.n == 1 && p->hosts.n >=
	    cf.horizontal / div && p->fails > p->oks)) {
		snprintf(why, sizeof(why), "%zu %s on one %s >= %llu, mostly "
		    "failed", p->hosts.n == 1 ? p->ports.n : p->hosts.n,
		    p->hosts.n == 1 ? "ports" : "hosts", p->hosts.n == 1 ?
		    "host" : "port", (unsigned long long)((p->hosts.n == 1 ?
		    cf.vertical : cf.horizontal) / div));
	} else
		return;
	p->reported = 1;
	/* certain now: as late as the evidence read so far */
	report_scan(p, p->last, why);
}

/* The k-th smallest of v (Hoare's selection, v reordered): O(n). */
static uint64_t
select_k(uint64_t *v, size_t n, size_t k)
{
	size_t		 lo = 0, hi = n - 1, i, j;
	uint64_t	 p, t;

	while (lo < hi) {
		p = v[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i <= j) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static double
median(uint64_t *v, size_t n)
{
	uint64_t	 a, b;
	size_t		 i;

	if (n % 2)
		return (double)select_k(v, n, n / 2);
	b = select_k(v, n, n / 2);
	/* the largest of the lower half */
	for (a = v[0], i = 1; i < n / 2; i++)
		if (v[i] > a)
			a = v[i];
	return ((double)a + (double)b) / 2;
}

static int
cmpusage(const void *a, const void *b)
{
	const struct ukey *x = ((const struct uref *)a)->k;
	const struct ukey *y = ((const struct uref *)b)->k;
	int	 c;

	if ((c = ni_addr_cmp(&x->svc, &y->svc)) != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return ni_addr_cmp(&x->peer, &y->peer);
}

static void
service_name(const struct ukey *k, char *buf, size_t len)
{
	char	 a[NI_ADDR_LEN];

	ni_addr_fmt(&k->svc, a);
	snprintf(buf, len, k->svc.family == 6 ? "[%s]:%u/%s" : "%s:%u/%s",
	    a, k->port, ni_proto_name(k->proto) != NULL ?
	    ni_proto_name(k->proto) : "ip");
}

struct skey {			/* a service */
	struct ni_addr	 svc;
	uint16_t	 port;
	uint8_t		 proto;
};

struct sgroup {
	size_t		 n, at;
};

/*
 * A baseline from --values files of several runs (partitions of the
 * flows by peer): per window and service, the median and MAD that one run
 * over all the flows would have computed.
 */
struct bkey {
	ni_time		 end;		/* of the window */
	struct skey	 s;
};

struct bval {
	double		 med[2], mad[2];
	size_t		 m;
	uint64_t	*v[2];		/* while loading */
	size_t		 n, cap;
};

static int
cmpskey(const void *a, const void *b)
{
	const struct skey *x = *(struct skey *const *)a;
	const struct skey *y = *(struct skey *const *)b;
	int	 c;

	if ((c = ni_addr_cmp(&x->svc, &y->svc)) != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto < y->proto ? -1 : x->proto > y->proto;
}

static void
report_usage(const struct uref *r, int rule, uint64_t x, double lim,
    double med, double mad, size_t m, int div, ni_time end)
{
	struct ni_finding f;
	char		 thr[160], ev[256], svc[NI_ADDR_LEN + 16];
	char		 peer[NI_ADDR_LEN];
	struct usage	*u = r->u;

	memset(&f, 0, sizeof(f));
	service_name(r->k, svc, sizeof(svc));
	ni_addr_fmt(&r->k->peer, peer);
	snprintf(thr, sizeof(thr), "%s %llu >= %.0f (floor %llu, median %.0f "
	    "+ %.0f x MAD %.0f of %zu peers)", rule == 0 ? "bytes" :
	    "requests", (unsigned long long)x, lim, (unsigned long long)
	    ((rule == 0 ? cf.volfloor : cf.reqfloor) / div), med, cf.madk,
	    mad, m);
	snprintf(ev, sizeof(ev), "%llu flows, %llu packets, %llu bytes to %s "
	    "in %llds", (unsigned long long)u->flows,
	    (unsigned long long)u->pkts, (unsigned long long)u->bytes, svc,
	    (long long)(cf.volwin / 1000000));
	f.time = end;
	f.card = "recon";
	f.kind = rule == 0 ? "inbound-volume" : "request-flood";
	f.subject = peer;
	f.counterpart = svc;
	f.intel = u->intel;
	f.feeds = u->feeds;
	f.mitre = rule == 0 ? "T1498" : "T1499";
	f.first = u->first;
	f.last = u->last;
	f.flows = u->flows;
	f.pkts = u->pkts;
	f.bytes = u->bytes;
	f.targets = 1;
	f.threshold = thr;
	f.evidence = ev;
	f.score = 50 + (int)(10 * log10((double)x / lim + 1)) + (div > 1 ?
	    20 : 0);
	if (f.score > 100)
		f.score = 100;
	f.severity = f.score >= 85 ? NI_CRITICAL : f.score >= 70 ? NI_HIGH :
	    NI_MEDIUM;
	ni_finding_write(fw, &f);
	nfindings++;
}

static void
write_values(ni_time end, const struct uref *r, size_t m)
{
	char	 t[NI_TIME_LEN], svc[NI_ADDR_LEN + 16], peer[NI_ADDR_LEN];
	size_t	 k;

	ni_time_fmt(end, t);
	for (k = 0; k < m; k++) {
		service_name(r[k].k, svc, sizeof(svc));
		ni_addr_fmt(&r[k].k->peer, peer);
		fprintf(valuesfp, "%s,%s,%s,%llu,%llu\n", t, svc, peer,
		    (unsigned long long)r[k].u->bytes,
		    (unsigned long long)r[k].u->flows);
	}
}

/* "addr:port/proto" or "[addr]:port/proto", as service_name() writes. */
static int
parse_service(const char *s, struct skey *k)
{
	char		 a[NI_ADDR_LEN + 2];
	const char	*colon, *slash;
	unsigned	 port, proto;
	size_t		 n;

	memset(k, 0, sizeof(*k));
	if ((slash = strrchr(s, '/')) == NULL ||
	    ni_proto_parse(slash + 1, &proto) == -1)
		return -1;
	for (colon = slash; colon > s && *colon != ':'; colon--)
		continue;
	if (*colon != ':' || sscanf(colon + 1, "%u", &port) != 1 ||
	    port > 65535)
		return -1;
	n = (size_t)(colon - s);
	if (n > 1 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = '\0';
	if (ni_addr_parse(a, &k->svc) == -1)
		return -1;
	k->port = (uint16_t)port;
	k->proto = (uint8_t)proto;
	return 0;
}

/*
 * Reads the --values files of every partition (concatenated) into the
 * statistics that one run over all of them would have used.
 */
static void
load_baseline(const char *path)
{
	struct ni_reader	*r;
	struct ni_rec		 rec;
	struct bkey		 bk;
	struct bval		*bv;
	size_t			 it = 0, k;
	uint64_t		 x;
	int			 rule;

	if ((r = ni_reader_open(path, 0)) == NULL)
		exit(1);
	baseline = ni_map_new(sizeof(struct bkey), sizeof(struct bval));
	while (ni_read(r, &rec) == 1) {
		if (strcmp(rec.field[0], "window") == 0)
			continue;	/* the header of a later part */
		memset(&bk, 0, sizeof(bk));
		if (ni_time_parse(rec.field[0], &bk.end) == -1 ||
		    parse_service(rec.field[1], &bk.s) == -1) {
			ni_reader_bad(r, &rec, "not a --values line");
			continue;
		}
		bv = ni_map_get(baseline, &bk, 1, NULL);
		if (bv->n == bv->cap) {
			bv->cap = bv->cap * 2 + 16;
			bv->v[0] = ni_reallocarray(bv->v[0], bv->cap, 8);
			bv->v[1] = ni_reallocarray(bv->v[1], bv->cap, 8);
		}
		bv->v[0][bv->n] = strtoull(rec.field[3], NULL, 10);
		bv->v[1][bv->n++] = strtoull(rec.field[4], NULL, 10);
	}
	if (ni_reader_close(&r) == -1)
		exit(1);
	while ((bv = ni_map_next(baseline, &it, NULL)) != NULL) {
		bv->m = bv->n;
		for (rule = 0; rule < 2; rule++) {
			uint64_t *w = ni_calloc(bv->n, sizeof(uint64_t));

			memcpy(w, bv->v[rule], bv->n * sizeof(uint64_t));
			bv->med[rule] = median(w, bv->n);
			for (k = 0; k < bv->n; k++) {
				x = bv->v[rule][k];
				w[k] = (uint64_t)fabs((double)x -
				    bv->med[rule]);
			}
			bv->mad[rule] = median(w, bv->n);
			free(w);
			free(bv->v[rule]);
			bv->v[rule] = NULL;
		}
	}
}

/*
 * The value at which a peer's bytes (rule 0) or requests (rule 1) are
 * abnormal among m peers; *div is how much intel lowered the floor.
 */
static double
limit(const struct usage *u, int rule, size_t m, double med, double mad,
    int *div)
{
	double	 lim;

	*div = u->intel != NULL && u->intel[0] != '\0' ? cf.intel_div : 1;
	lim = (double)(rule == 0 ? cf.volfloor : cf.reqfloor) / *div;
	/* with fewer than three peers, floors alone */
	if (m >= 3 && med + cf.madk * (mad > 1 ? mad : 1) > lim)
		lim = med + cf.madk * (mad > 1 ? mad : 1);
	return lim;
}

/*
 * A window is over: per service, each peer's bytes in and requests,
 * against the median and MAD of the service's peers in that window, with
 * absolute floors, so the rule fits a quiet and a busy cluster alike.
 * Entries are grouped by service in two passes, not sorted.
 */
static void
close_window(ni_time end)
{
	struct ni_map	*groups;
	struct sgroup	*g;
	struct skey	 sk, **svcs;
	struct uref	*v, *hit;
	struct usage	*u;
	const void	*key;
	uint64_t	*vals, x;
	size_t		 n, i, k, m, it, ns, nhit, at;
	double		 med, mad, lim;
	int		 rule, div;

	if ((n = ni_map_count(usage)) == 0)
		return;
	groups = ni_map_new(sizeof(struct skey), sizeof(struct sgroup));
	for (it = 0; (u = ni_map_next(usage, &it, &key)) != NULL;) {
		const struct ukey *uk = key;

		memset(&sk, 0, sizeof(sk));
		sk.svc = uk->svc;
		sk.port = uk->port;
		sk.proto = uk->proto;
		((struct sgroup *)ni_map_get(groups, &sk, 1, NULL))->n++;
	}
	ns = ni_map_count(groups);
	svcs = ni_calloc(ns, sizeof(*svcs));
	for (it = 0, i = 0, at = 0; (g = ni_map_next(groups, &it, &key)) !=
	    NULL; i++) {
		svcs[i] = (struct skey *)(uintptr_t)key;
		g->at = at;
		at += g->n;
		g->n = 0;
	}
	v = ni_calloc(n, sizeof(*v));
	for (it = 0; (u = ni_map_next(usage, &it, &key)) != NULL;) {
		const struct ukey *uk = key;

		memset(&sk, 0, sizeof(sk));
		sk.svc = uk->svc;
		sk.port = uk->port;
		sk.proto = uk->proto;
		g = ni_map_get(groups, &sk, 0, NULL);
		v[g->at + g->n].k = uk;
		v[g->at + g->n++].u = u;
	}
	/* services in order, so that output is the same run after run */
	qsort(svcs, ns, sizeof(*svcs), cmpskey);
	vals = ni_calloc(n, sizeof(*vals));
	hit = ni_calloc(n, sizeof(*hit));
	for (i = 0; i < ns; i++) {
		struct bkey	 bk;
		struct bval	*bv = NULL;
		size_t		 mm;

		g = ni_map_get(groups, svcs[i], 0, NULL);
		m = mm = g->n;
		if (valuesfp != NULL)
			write_values(end, v + g->at, m);
		if (baseline != NULL) {
			memset(&bk, 0, sizeof(bk));
			bk.end = end;
			bk.s = *svcs[i];
			bv = ni_map_get(baseline, &bk, 0, NULL);
		}
		for (rule = 0; rule < 2; rule++) {
			struct uref *r = v + g->at;

			if (bv != NULL) {
				/* the statistics of all the peers, not ours */
				med = bv->med[rule];
				mad = bv->mad[rule];
				m = bv->m;
			} else {
				for (k = 0; k < mm; k++)
					vals[k] = rule == 0 ? r[k].u->bytes :
					    r[k].u->flows;
				med = median(vals, mm);
				for (k = 0; k < mm; k++)
					vals[k] = (uint64_t)fabs((double)(rule ==
					    0 ? r[k].u->bytes : r[k].u->flows) -
					    med);
				mad = median(vals, mm);
			}
			nhit = 0;
			for (k = 0; k < mm; k++) {
				u = r[k].u;
				x = rule == 0 ? u->bytes : u->flows;
				if ((double)x >= limit(u, rule, m, med, mad,
				    &div))
					hit[nhit++] = r[k];
			}
			qsort(hit, nhit, sizeof(*hit), cmpusage);
			for (k = 0; k < nhit; k++) {
				u = hit[k].u;
				x = rule == 0 ? u->bytes : u->flows;
				lim = limit(u, rule, m, med, mad, &div);
				report_usage(&hit[k], rule, x, lim, med, mad, m,
				    div, end);
			}
		}
	}
	ni_map_clear(usage);
	ni_map_free(&groups);
	free(svcs);
	free(v);
	free(vals);
	free(hit);
}

/* The initiator is the outside peer: its packets and bytes are into us. */
static void
account(const struct ni_flow *f, const struct ni_addr *ext,
    const struct ni_addr *in, uint16_t port, const char *ic, const char *fc)
{
	struct usage	*u;
	struct ukey	 k;
	int64_t		 w = f->start / cf.volwin;
	int		 created;

	if (curwin != INT64_MIN && w > curwin)
		close_window((curwin + 1) * cf.volwin);
	if (w > curwin)
		curwin = w;
	memset(&k, 0, sizeof(k));
	k.peer = *ext;
	k.svc = *in;
	k.port = port;
	k.proto = f->proto;
	if (ni_map_count(usage) >= maxusage &&
	    ni_map_get(usage, &k, 0, NULL) == NULL) {
		/* bounded: a pair beyond the limit is counted, not kept */
		untracked++;
		return;
	}
	u = ni_map_get(usage, &k, 1, &created);
	if (created) {
		u->first = f->start;
		u->intel = ic;
		u->feeds = fc;
	}
	u->flows++;
	u->pkts += f->pkts;
	u->bytes += f->bytes;
	if (f->end > u->last)
		u->last = f->end;
}

static void
flow(const struct ni_flow *f, const char *ic, const char *fc)
{
	/* interned once a flow has intel; most have none */
	ic = ic[0] != '\0' ? intern(ic) : "";
	fc = fc[0] != '\0' ? intern(fc) : "";
	const struct ni_addr	*ext, *in;
	struct peer		*p, *old, *tmp;
	uint64_t		 tk, hk;
	uint16_t		 port;
	int			 srcin = in_cluster(&f->src);
	int			 dstin = in_cluster(&f->dst), failed, newhost;

	/* from outside into the cluster: the peer started it */
	if (srcin || !dstin)
		return;
	ext = &f->src;
	in = &f->dst;
	port = f->dport;
	account(f, ext, in, port, ic, fc);
	/*
	 * Probes start conversations.  ICMP errors do not; nor do TCP
	 * segments without a SYN that carry a RST (backscatter, teardowns).
	 * Other SYN-less segments are FIN, NULL, Xmas and ACK probes.
	 */
	if (((f->proto == 1 || f->proto == 58) && f->sport != 8 &&
	    f->sport != 128) || (f->state == NI_ST_MIDSTREAM &&
	    (f->flags & NI_TH_RST)))
		return;
	HASH_FIND(hh, peers, &f->src, sizeof(f->src), p);
	if (p == NULL) {
		if (npeers >= cf.maxpeers) {
			/* the peer seen least recently makes room: counted */
			old = NULL;
			HASH_ITER(hh, peers, p, tmp)
				if (old == NULL || p->last < old->last)
					old = p;
			free_peer(old);
			evicted++;
		}
		p = ni_calloc(1, sizeof(*p));
		p->addr = f->src;
		p->first = f->start;
		p->trw = 1;
		HASH_ADD(hh, peers, addr, sizeof(p->addr), p);
		npeers++;
	} else if (f->start - p->last > cf.longwin) {
		/* quiet for a long window: start over */
		struct ni_addr a = p->addr;

		free_peer(p);
		p = ni_calloc(1, sizeof(*p));
		p->addr = a;
		p->first = f->start;
		p->trw = 1;
		HASH_ADD(hh, peers, addr, sizeof(p->addr), p);
		npeers++;
	}
	if (ic[0] != '\0') {
		p->intel = ic;
		p->feeds = fc;
	}
	if (f->end > p->last)
		p->last = f->end;
	if (f->start < p->first)
		p->first = f->start;
	p->flows++;
	p->pkts += f->pkts;
	p->bytes += f->bytes;
	p->protos |= f->proto == 6 ? 1 : f->proto == 17 ? 2 : 4;
	failed = f->state == NI_ST_ATTEMPTED || f->state == NI_ST_REJECTED ||
	    (f->state == NI_ST_MIDSTREAM && (f->rpkts == 0 ||
	    (f->rflags & NI_TH_RST)));
	hk = addrhash(in);
	tk = mix(hk ^ ((uint64_t)port << 8 | f->proto));
	newhost = set_add(&p->hosts, hk);
	if (newhost && p->nshost < MAXSAMPLE)
		p->shost[p->nshost++] = *in;
	if (f->proto != 1 && f->proto != 58 && set_add(&p->ports,
	    (uint64_t)port << 8 | f->proto | 1ULL << 40) &&
	    p->nsport < MAXSAMPLE)
		p->sport[p->nsport++] = port;
	if (set_add(&p->targets, tk))
		first_contact(p, f, failed, newhost);
}

static ni_time
duration(const char *opt, const char *s)
{
	int64_t	 v;

	if (ni_duration_parse(s, &v) == -1 || v <= 0)
		errx(1, "%s %s: not a duration (90s, 5m, 1h)", opt, s);
	return v;
}

static const struct option longopts[] = {
	{ "baseline",		required_argument,	NULL,	'B' },
	{ "cluster",		required_argument,	NULL,	'C' },
	{ "fail-ratio",		required_argument,	NULL,	'F' },
	{ "help",		no_argument,		NULL,	'h' },
	{ "horizontal",		required_argument,	NULL,	'Z' },
	{ "intel",		required_argument,	NULL,	'I' },
	{ "long-window",	required_argument,	NULL,	'L' },
	{ "mad",		required_argument,	NULL,	'K' },
	{ "max-peers",		required_argument,	NULL,	'P' },
	{ "requests",		required_argument,	NULL,	'q' },
	{ "slow-targets",	required_argument,	NULL,	'T' },
	{ "strict",		no_argument,		NULL,	'S' },
	{ "targets",		required_argument,	NULL,	't' },
	{ "values",		required_argument,	NULL,	'Y' },
	{ "version",		no_argument,		NULL,	'V' },
	{ "vertical",		required_argument,	NULL,	'z' },
	{ "volume",		required_argument,	NULL,	'b' },
	{ "volume-window",	required_argument,	NULL,	'W' },
	{ "window",		required_argument,	NULL,	'w' },
	{ NULL,			0,			NULL,	0 }
};

int
main(int argc, char *argv[])
{
	static char		*stdin_only[] = { "-", NULL };
	struct ni_reader	*r;
	struct ni_flowcols	 fc;
	struct ni_flow		 f;
	struct ni_rec		 rec;
	struct peer		*p, *tmp;
	char			**cl = NULL;
	char			 ic[256], fcs[256];
	const char		*feeds = NULL;
	size_t			 ncl = 0, i;
	int			 ch, opts = 0, rval = 0, si, sfi;
	uint64_t		 m;

	while ((ch = getopt_long(argc, argv, "B:b:C:F:hI:K:L:P:q:ST:t:VW:w:Y:Z:z:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			load_baseline(optarg);
			break;
		case 'Y':
			if ((valuesfp = fopen(optarg, "w")) == NULL)
				err(1, "%s", optarg);
			fprintf(valuesfp, "window,service,peer,bytes,flows\n");
			break;
		case 'b':
			{
				char *e;
				double d = strtod(optarg, &e);

				if (e == optarg || d <= 0)
					errx(1, "-b %s: not a byte count",
					    optarg);
				cf.volfloor = (uint64_t)(d * (*e == 'G' ? 1e9 :
				    *e == 'M' ? 1e6 : *e == 'k' ? 1e3 : 1));
			}
			break;
		case 'C':
			ni_split_free(cl);
			cl = ni_split(optarg, ",", &ncl);
			break;
		case 'F':
			cf.failratio = atof(optarg);
			if (cf.failratio < 0 || cf.failratio > 1)
				errx(1, "-F %s: a ratio from 0 to 1", optarg);
			break;
		case 'I':
			feeds = optarg;
			break;
		case 'K':
			cf.madk = atof(optarg);
			if (cf.madk <= 0)
				errx(1, "-K %s: a positive factor", optarg);
			break;
		case 'L':
			cf.longwin = duration("-L", optarg);
			break;
		case 'P':
			cf.maxpeers = (size_t)ni_number("-P", optarg, 1, 100000000);
			break;
		case 'q':
			cf.reqfloor = (uint64_t)ni_number("-q", optarg, 1, 1LL << 40);
			break;
		case 'S':
			opts |= NI_READ_STRICT;
			break;
		case 'T':
			cf.slowtargets = (uint64_t)ni_number("-T", optarg, 1, 1 << 30);
			break;
		case 't':
			cf.targets = (uint64_t)ni_number("-t", optarg, 1, 1 << 30);
			break;
		case 'V':
			printf("ni-recon %s\n", PACKAGE_VERSION);
			return 0;
		case 'W':
			cf.volwin = duration("-W", optarg);
			break;
		case 'w':
			cf.window = duration("-w", optarg);
			break;
		case 'Z':
			cf.horizontal = (uint64_t)ni_number("-Z", optarg, 1, 1 << 30);
			break;
		case 'z':
			cf.vertical = (uint64_t)ni_number("-z", optarg, 1, 1 << 30);
			break;
		case 'h':
			usage_exit(stdout, 0);
		default:
			usage_exit(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	/* defaults for cron jobs: cluster = cidr,..., intel = feeds */
	if (cl == NULL && ni_config("cluster") != NULL)
		cl = ni_split(ni_config("cluster"), ", ", &ncl);
	for (i = 0; i < ncl; i++)
		add_cluster(cl[i]);
	if (feeds == NULL)
		feeds = ni_config("intel");
	if (ncluster == 0) {
		/* the private ranges: where clusters put pods and nodes */
		static const char *const def[] = { "10.0.0.0/8",
		    "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", NULL };

		for (i = 0; def[i] != NULL; i++)
			add_cluster(def[i]);
	}
	if (feeds != NULL && (intel = ni_intel_load(feeds,
	    (const char *const *)cl, 0)) == NULL)
		return 1;
	fw = ni_finding_writer_new(stdout);
	usage = ni_map_new(sizeof(struct ukey), sizeof(struct usage));
	maxusage = cf.maxpeers * 4;
	if (argc == 0)
		argv = stdin_only;
	for (; *argv != NULL; argv++) {
		if ((r = ni_reader_open(*argv, opts)) == NULL) {
			rval = 1;
			continue;
		}
		(void)ni_reader_names(r, &i);
		if (i > 0 && ni_flowcols_init(r, &fc) == -1) {
			ni_reader_close(&r);
			rval = 1;
			continue;
		}
		/* the outside peer is the initiator: its intel is src's */
		si = ni_reader_col(r, "src_intel");
		sfi = ni_reader_col(r, "src_intel_feeds");
		for (;;) {
			/* findings reach the next tool before we wait */
			if (!ni_reader_pending(r))
				fflush(stdout);
			if (ni_read(r, &rec) != 1)
				break;
			if (ni_flow_get(r, &fc, &rec, &f) == -1)
				continue;
			/* the peer's intel: enriched columns, or our feeds */
			ic[0] = fcs[0] = '\0';
			if (intel != NULL) {
				if ((m = ni_intel_lookup(intel, &f.src)) != 0)
					ni_intel_describe(intel, m, ic,
					    sizeof(ic), fcs, sizeof(fcs));
			} else if (si != -1) {
				snprintf(ic, sizeof(ic), "%s", rec.field[si]);
				if (sfi != -1)
					snprintf(fcs, sizeof(fcs), "%s",
					    rec.field[sfi]);
			}
			flow(&f, ic, fcs);
		}
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	if (curwin != INT64_MIN)
		close_window((curwin + 1) * cf.volwin);
	if (evicted > 0)
		warnx("%zu peers evicted to stay within --max-peers %zu",
		    evicted, cf.maxpeers);
	if (untracked > 0)
		warnx("%zu flows of peer and service pairs beyond %zu in a "
		    "window not counted by the volume and request rules",
		    untracked, maxusage);
	ni_map_free(&usage);
	ni_map_free(&baseline);
	if (valuesfp != NULL && ni_fclose_out(valuesfp, "--values") == -1)
		rval = 1;
	HASH_ITER(hh, peers, p, tmp)
		free_peer(p);
	ni_finding_writer_close(&fw);
	ni_intel_free(&intel);
	ni_split_free(cl);
	free(cluster);
	free(clusterbits);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
usage_exit(FILE *fp, int status)
{
	fprintf(fp, "usage: ni-recon [-S] [-B baseline] [-b bytes] [-C cidr,...] "
	    "[-F ratio] [-I feeds]\n"
	    "                [-K k] [-Y values]\n"
	    "                [-L time] [-P max-peers] [-q requests] "
	    "[-T targets] [-t targets]\n"
	    "                [-W time] [-w time] [-Z hosts] [-z ports] "
	    "[file ...]\n");
	exit(status);
}
