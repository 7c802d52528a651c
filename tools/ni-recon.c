/* ni-recon -- reconnaissance findings: external peers that scan the cluster, push large data in, or flood a service. */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "ni.h"

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
	char		 intel[256], feeds[256];
	uint16_t	 sport[MAXSAMPLE];
	struct ni_addr	 shost[MAXSAMPLE];
	size_t		 nsport, nshost;
};

/* Per window, per (peer, service): what volume and request rules see. */
struct usage {
	UT_hash_handle	 hh;
	char		 key[NI_ADDR_LEN * 2 + 16];	/* peer|service */
	char		 peer[NI_ADDR_LEN], service[NI_ADDR_LEN + 16];
	uint64_t	 bytes, flows, pkts;
	ni_time		 first, last;
	char		 intel[256], feeds[256];
};

static struct peer		*peers;
static size_t			 npeers, evicted;
static struct usage		*usage;
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
	return p->intel[0] != '\0';
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

static double
median(uint64_t *v, size_t n)
{
	size_t	 i, j;
	uint64_t t;

	/* small n (peers of one service in one window): insertion sort */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] +
	    (double)v[n / 2]) / 2;
}

static int
cmpusage(const void *a, const void *b)
{
	const struct usage *x = *(struct usage *const *)a;
	const struct usage *y = *(struct usage *const *)b;
	int	 c = strcmp(x->service, y->service);

	return c != 0 ? c : strcmp(x->peer, y->peer);
}

/*
 * A window is over: per service, each peer's bytes in and requests,
 * against the median and MAD of the service's peers in that window, with
 * absolute floors, so the rule fits a quiet and a busy cluster alike.
 */
static void
close_window(ni_time end)
{
	struct usage	*u, *tmp, **v;
	struct ni_finding f;
	uint64_t	*vals;
	size_t		 n = 0, i, j, k, m;
	double		 med, mad, lim;
	char		 thr[160], ev[256];
	int		 rule, div;

	HASH_ITER(hh, usage, u, tmp)
		n++;
	if (n == 0)
		return;
	v = ni_calloc(n, sizeof(*v));
	vals = ni_calloc(n, sizeof(*vals));
	n = 0;
	HASH_ITER(hh, usage, u, tmp)
		v[n++] = u;
	qsort(v, n, sizeof(*v), cmpusage);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && strcmp(v[j]->service, v[i]->service) == 0;
		    j++)
			continue;
		for (rule = 0; rule < 2; rule++) {
			for (k = i; k < j; k++)
				vals[k - i] = rule == 0 ? v[k]->bytes :
				    v[k]->flows;
			m = j - i;
			med = median(vals, m);
			for (k = 0; k < m; k++)
				vals[k] = (uint64_t)fabs((double)(rule == 0 ?
				    v[i + k]->bytes : v[i + k]->flows) - med);
			mad = median(vals, m);
			for (k = i; k < j; k++) {
				uint64_t x = rule == 0 ? v[k]->bytes :
				    v[k]->flows;

				div = v[k]->intel[0] != '\0' ? cf.intel_div : 1;
				lim = (double)(rule == 0 ? cf.volfloor :
				    cf.reqfloor) / div;
				/* with fewer than three peers, floors alone */
				if (m >= 3 && med + cf.madk * (mad > 1 ? mad :
				    1) > lim)
					lim = med + cf.madk * (mad > 1 ? mad : 1);
				if ((double)x < lim)
					continue;
				memset(&f, 0, sizeof(f));
				snprintf(thr, sizeof(thr), "%s %llu >= %.0f "
				    "(floor %llu, median %.0f + %.0f x MAD %.0f "
				    "of %zu peers)", rule == 0 ? "bytes" :
				    "requests", (unsigned long long)x, lim,
				    (unsigned long long)((rule == 0 ?
				    cf.volfloor : cf.reqfloor) / div), med,
				    cf.madk, mad, m);
				snprintf(ev, sizeof(ev), "%llu flows, %llu "
				    "packets, %llu bytes to %s in %llds",
				    (unsigned long long)v[k]->flows,
				    (unsigned long long)v[k]->pkts,
				    (unsigned long long)v[k]->bytes,
				    v[k]->service, (long long)(cf.volwin /
				    1000000));
				f.time = end;
				f.card = "recon";
				f.kind = rule == 0 ? "inbound-volume" :
				    "request-flood";
				f.subject = v[k]->peer;
				f.counterpart = v[k]->service;
				f.intel = v[k]->intel;
				f.feeds = v[k]->feeds;
				f.mitre = rule == 0 ? "T1498" : "T1499";
				f.first = v[k]->first;
				f.last = v[k]->last;
				f.flows = v[k]->flows;
				f.pkts = v[k]->pkts;
				f.bytes = v[k]->bytes;
				f.targets = 1;
				f.threshold = thr;
				f.evidence = ev;
				f.score = 50 + (int)(10 * log10((double)x /
				    lim + 1)) + (div > 1 ? 20 : 0);
				if (f.score > 100)
					f.score = 100;
				f.severity = f.score >= 85 ? NI_CRITICAL :
				    f.score >= 70 ? NI_HIGH : NI_MEDIUM;
				ni_finding_write(fw, &f);
				nfindings++;
			}
		}
	}
	HASH_ITER(hh, usage, u, tmp) {
		HASH_DEL(usage, u);
		free(u);
	}
	free(v);
	free(vals);
}

static void
account(const struct ni_flow *f, const struct ni_addr *ext,
    const struct ni_addr *in, uint16_t port, const char *ic, const char *fc,
    int ext_is_src)
{
	struct usage	*u;
	char		 key[sizeof(u->key)], pa[NI_ADDR_LEN], sa[NI_ADDR_LEN];
	char		 svc[NI_ADDR_LEN + 16];
	int64_t		 w = f->start / cf.volwin;

	if (curwin != INT64_MIN && w > curwin)
		close_window((curwin + 1) * cf.volwin);
	if (w > curwin)
		curwin = w;
	ni_addr_fmt(ext, pa);
	ni_addr_fmt(in, sa);
	snprintf(svc, sizeof(svc), in->family == 6 ? "[%s]:%u/%s" :
	    "%s:%u/%s", sa, port, ni_proto_name(f->proto) != NULL ?
	    ni_proto_name(f->proto) : "ip");
	snprintf(key, sizeof(key), "%s|%s", pa, svc);
	HASH_FIND_STR(usage, key, u);
	if (u == NULL) {
		u = ni_calloc(1, sizeof(*u));
		strcpy(u->key, key);
		strcpy(u->peer, pa);
		snprintf(u->service, sizeof(u->service), "%s", svc);
		u->first = f->start;
		snprintf(u->intel, sizeof(u->intel), "%s", ic);
		snprintf(u->feeds, sizeof(u->feeds), "%s", fc);
		HASH_ADD_STR(usage, key, u);
	}
	u->flows++;
	u->pkts += ext_is_src ? f->pkts : f->rpkts;
	u->bytes += ext_is_src ? f->bytes : f->rbytes;
	if (f->end > u->last)
		u->last = f->end;
}

static void
flow(const struct ni_flow *f, const char *ic, const char *fc)
{
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
	account(f, ext, in, port, ic, fc, 1);
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
		snprintf(p->intel, sizeof(p->intel), "%s", ic);
		snprintf(p->feeds, sizeof(p->feeds), "%s", fc);
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

static long long
num(const char *opt, const char *s, long long lo, long long hi)
{
	const char	*errstr;
	long long	 v = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL)
		errx(1, "%s %s: %s (%lld to %lld)", opt, s, errstr, lo, hi);
	return v;
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
	struct ni_addr		 a;
	struct peer		*p, *tmp;
	char			*c, *tok, *save = NULL, **cl = NULL;
	char			 ic[256], fcs[256];
	const char		*feeds = NULL;
	size_t			 ncl = 0, i;
	int			 ch, opts = 0, rval = 0, si, di, sfi, dfi;
	uint64_t		 m;

	while ((ch = getopt_long(argc, argv, "b:C:F:hI:K:L:P:q:ST:t:VW:w:Z:z:",
	    longopts, NULL)) != -1) {
		switch (ch) {
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
			c = ni_strdup(optarg);
			for (tok = strtok_r(c, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save)) {
				add_cluster(tok);
				cl = ni_reallocarray(cl, ncl + 2, sizeof(char *));
				cl[ncl++] = ni_strdup(tok);
				cl[ncl] = NULL;
			}
			free(c);
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
			cf.maxpeers = (size_t)num("-P", optarg, 1, 100000000);
			break;
		case 'q':
			cf.reqfloor = (uint64_t)num("-q", optarg, 1, 1LL << 40);
			break;
		case 'S':
			opts |= NI_READ_STRICT;
			break;
		case 'T':
			cf.slowtargets = (uint64_t)num("-T", optarg, 1, 1 << 30);
			break;
		case 't':
			cf.targets = (uint64_t)num("-t", optarg, 1, 1 << 30);
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
			cf.horizontal = (uint64_t)num("-Z", optarg, 1, 1 << 30);
			break;
		case 'z':
			cf.vertical = (uint64_t)num("-z", optarg, 1, 1 << 30);
			break;
		case 'h':
			usage_exit(stdout, 0);
		default:
			usage_exit(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
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
		si = ni_reader_col(r, "src_intel");
		di = ni_reader_col(r, "dst_intel");
		sfi = ni_reader_col(r, "src_intel_feeds");
		dfi = ni_reader_col(r, "dst_intel_feeds");
		(void)di;
		(void)dfi;
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
				a = f.src;
				if ((m = ni_intel_lookup(intel, &a)) != 0)
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
	HASH_ITER(hh, peers, p, tmp)
		free_peer(p);
	ni_finding_writer_close(&fw);
	ni_intel_free(&intel);
	for (i = 0; i < ncl; i++)
		free(cl[i]);
	free(cl);
	free(cluster);
	free(clusterbits);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
usage_exit(FILE *fp, int status)
{
	fprintf(fp, "usage: ni-recon [-S] [-b bytes] [-C cidr,...] [-F ratio] "
	    "[-I feeds] [-K k]\n"
	    "                [-L time] [-P max-peers] [-q requests] "
	    "[-T targets] [-t targets]\n"
	    "                [-W time] [-w time] [-Z hosts] [-z ports] "
	    "[file ...]\n");
	exit(status);
}
