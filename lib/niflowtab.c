/* niflowtab.c -- packets into bidirectional flows, bounded by a cap on active flows. */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

/*
 * A conversation's key with its two ends in canonical order (the smaller
 * address and port first), so that both directions find the same entry.
 * Padding is zeroed: keys are compared and hashed as bytes.
 */
struct fkey {
	uint8_t		a[16], b[16];
	uint16_t	pa, pb;
	uint8_t		proto, family, echo, pad;
};
_Static_assert(sizeof(struct fkey) == 40, "keys are hashed as 5 words");

/* State bits, folded into enum ni_state when the flow is written. */
#define ST_SYN		0x01	/* SYN from the initiator */
#define ST_SYNACK	0x02	/* SYN+ACK from the responder */
#define ST_ACKED	0x04	/* the initiator acknowledged the SYN+ACK */
#define ST_FIN		0x08
#define ST_RST		0x10
#define ST_RSTRESP	0x20	/* RST from the responder */
#define ST_ICMPERR	0x40	/* an ICMP error answered the initiator */
#define ST_DONE		0x80	/* RST or FIN both ways: linger, then end */

#define FINFWD		0x01
#define FINREV		0x02

#define NIL		0u
#define APP_TRIES	4	/* payload packets looked at for a name */
#define LINGER		(2 * 1000000)	/* after RST or both FINs */
#define NFRAG		4096
#define NOLIST		0xff	/* a free slot */

/*
 * One flow is two cache lines: what a lookup compares in the first, what an
 * update counts in the second.  Slots are 64-byte aligned (see slot()).
 */
struct flow {
	struct fkey	 k;
	uint32_t	 hnext;		/* bucket chain, or the free list */
	uint32_t	 prev;		/* queue order */
	ni_time		 start, end;
	uint64_t	 pkts[2], bytes[2];	/* [0] from the initiator */
	ni_time		 qtime;		/* when it was queued (see expire()) */
	uint32_t	 next;
	uint8_t		 flags[2];
	uint8_t		 init_a;	/* the initiator is end a of the key */
	uint8_t		 st, fin, apptries, list;
	int16_t		 vlan;
	char		*app;
};
_Static_assert(sizeof(struct flow) == 128, "a flow is two cache lines");

#define CHUNK		4096	/* flows per pool chunk */

/*
 * Two queues: flows still open, and flows that ended (RST, FIN both ways)
 * and linger.  A flow is queued when it opens and is not moved on each
 * packet -- that would touch two more flows' memory per packet.  Instead,
 * expire() looks at the head: a flow that saw packets since it was queued
 * goes to the tail again, one that did not is written.
 */
struct list {
	uint32_t	 head, tail;
};

struct frag {
	struct ni_addr	 src, dst;
	uint32_t	 id;
	uint16_t	 sport, dport;
	uint8_t		 proto, used;
};

struct ni_flowtab {
	struct ni_flowtab_conf	 conf;
	ni_flow_out		 out;
	void			*arg;
	struct flow		**chunk;	/* slot 0 is never used */
	uint32_t		 npool, nchunk, freelist;
	uint32_t		*bucket;
	uint32_t		 nbucket;	/* a power of two */
	size_t			 nflows;
	struct list		 l[2];
	ni_time			 now;
	struct frag		*frag;
	struct ni_flowtab_stats	 st;
};

static inline struct flow *
slot(const struct ni_flowtab *t, uint32_t i)
{
	return &t->chunk[i / CHUNK][i % CHUNK];
}

static uint32_t
hashkey(const struct fkey *k)
{
	uint64_t	 w[5], h = 0x243f6a8885a308d3ULL;
	int		 i;

	memcpy(w, k, sizeof(w));
	for (i = 0; i < 5; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ h >> 32);
}

static void
enqueue(struct ni_flowtab *t, struct flow *f, uint32_t i, int which)
{
	struct list	*l = &t->l[which];

	f->list = (uint8_t)which;
	f->next = NIL;
	f->prev = l->tail;
	f->qtime = f->end;
	if (l->tail != NIL)
		slot(t, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
}

/* Takes a flow off its queue, wherever it is. */
static void
unqueue(struct ni_flowtab *t, struct flow *f)
{
	struct list	*l = &t->l[f->list];

	if (f->prev != NIL)
		slot(t, f->prev)->next = f->next;
	else
		l->head = f->next;
	if (f->next != NIL)
		slot(t, f->next)->prev = f->prev;
	else
		l->tail = f->prev;
}

/* Takes the head off its queue. */
static uint32_t
dequeue(struct ni_flowtab *t, int which)
{
	uint32_t	 i = t->l[which].head;

	unqueue(t, slot(t, i));
	return i;
}

static void
rehash(struct ni_flowtab *t, uint32_t n)
{
	struct flow	*f;
	uint32_t	 i, j;

	free(t->bucket);
	t->nbucket = n;
	t->bucket = ni_calloc(n, sizeof(uint32_t));
	for (i = 1; i < t->npool; i++) {
		f = slot(t, i);
		if (f->list == NOLIST)
			continue;
		j = hashkey(&f->k) & (n - 1);
		f->hnext = t->bucket[j];
		t->bucket[j] = i;
	}
}

struct ni_flowtab *
ni_flowtab_new(const struct ni_flowtab_conf *conf, ni_flow_out out, void *arg)
{
	struct ni_flowtab	*t;

	t = ni_calloc(1, sizeof(*t));
	t->conf = *conf;
	if (t->conf.max_flows == 0 || t->conf.max_flows > UINT32_MAX / 4)
		t->conf.max_flows = UINT32_MAX / 4;
	t->out = out;
	t->arg = arg;
	t->npool = 1;
	t->now = INT64_MIN;
	t->frag = ni_calloc(NFRAG, sizeof(struct frag));
	rehash(t, 1024);
	return t;
}

static enum ni_state
state_of(const struct flow *f, unsigned proto)
{
	if (proto == 6) {
		if (!(f->st & ST_SYN))
			return NI_ST_MIDSTREAM;
		if (!(f->st & ST_SYNACK))
			return (f->st & ST_RSTRESP) ? NI_ST_REJECTED :
			    NI_ST_ATTEMPTED;
		if (!(f->st & ST_ACKED))
			return NI_ST_HALFOPEN;
		if (f->st & ST_RST)
			return NI_ST_RESET;
		if (f->fin)
			return NI_ST_CLOSED;
		return NI_ST_ESTABLISHED;
	}
	if (f->pkts[1] > 0)
		return NI_ST_ESTABLISHED;
	return (f->st & ST_ICMPERR) ? NI_ST_REJECTED : NI_ST_ATTEMPTED;
}

/* Writes the flow out and frees its slot; the caller took it off its queue. */
static void
emit(struct ni_flowtab *t, uint32_t i)
{
	struct flow	*f = slot(t, i);
	struct ni_flow	 o;
	uint32_t	*pp;
	int		 r = f->init_a ? 0 : 1;

	o.start = f->start;
	o.end = f->end;
	o.proto = f->k.proto;
	memset(&o.src, 0, sizeof(o.src));
	memset(&o.dst, 0, sizeof(o.dst));
	o.src.family = o.dst.family = f->k.family;
	memcpy(o.src.a, r == 0 ? f->k.a : f->k.b, 16);
	memcpy(o.dst.a, r == 0 ? f->k.b : f->k.a, 16);
	if (f->k.echo) {
		/* Echo flows are keyed by identifier; report the types. */
		o.sport = f->k.proto == 1 ? 8 : 128;
		o.dport = 0;
	} else {
		o.sport = r == 0 ? f->k.pa : f->k.pb;
		o.dport = r == 0 ? f->k.pb : f->k.pa;
	}
	if ((f->k.proto == 1 || f->k.proto == 58) && !f->k.echo) {
		o.sport = f->k.pa >> 8;
		o.dport = f->k.pa & 0xff;
	}
	o.pkts = f->pkts[0];
	o.bytes = f->bytes[0];
	o.rpkts = f->pkts[1];
	o.rbytes = f->bytes[1];
	o.flags = f->flags[0];
	o.rflags = f->flags[1];
	o.state = (uint8_t)state_of(f, f->k.proto);
	o.vlan = f->vlan;
	o.app = f->app;
	t->out(&o, t->arg);
	t->st.flows++;

	for (pp = &t->bucket[hashkey(&f->k) & (t->nbucket - 1)]; *pp != i;
	    pp = &slot(t, *pp)->hnext)
		continue;
	*pp = f->hnext;
	free(f->app);
	f->app = NULL;
	f->list = NOLIST;
	f->hnext = t->freelist;
	t->freelist = i;
	t->nflows--;
}

static void
expire(struct ni_flowtab *t, ni_time now)
{
	struct flow		*f;
	ni_time			 limit;
	uint32_t		 i;
	int			 w;

	for (w = 0; w < 2; w++) {
		limit = w == 0 ? t->conf.idle : LINGER;
		while ((i = t->l[w].head) != NIL &&
		    (f = slot(t, i))->qtime + limit <= now) {
			dequeue(t, w);
			if (f->end + limit > now) {
				/* Active since it was queued: look again later. */
				enqueue(t, f, i, w);
				continue;
			}
			if (w == 0)
				t->st.idle++;
			else
				t->st.ended++;
			emit(t, i);
		}
	}
}

void
ni_flowtab_expire(struct ni_flowtab *t, ni_time now)
{
	if (now > t->now)
		t->now = now;
	expire(t, t->now);
}

/* Keys are five machine words: comparing them inline beats memcmp(). */
static inline int
keyeq(const struct fkey *x, const struct fkey *y)
{
	uint64_t	 a[5], b[5];

	memcpy(a, x, sizeof(a));
	memcpy(b, y, sizeof(b));
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
	    (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

static uint32_t
lookup(struct ni_flowtab *t, const struct fkey *k, uint32_t h)
{
	uint32_t	 i;

	struct flow	*f;

	for (i = t->bucket[h & (t->nbucket - 1)]; i != NIL; i = f->hnext)
		if (keyeq(&(f = slot(t, i))->k, k))
			return i;
	return NIL;
}

static uint32_t
insert(struct ni_flowtab *t, const struct fkey *k, uint32_t h)
{
	struct flow	*f;
	uint32_t	 i, j;
	int		 w;

	if (t->nflows >= t->conf.max_flows) {
		/* The flow queued longest ago makes room; counted. */
		w = t->l[1].head != NIL ? 1 : 0;
		t->st.evicted++;
		emit(t, dequeue(t, w));
	}
	if (t->freelist != NIL) {
		i = t->freelist;
		t->freelist = slot(t, i)->hnext;
	} else {
		if (t->npool / CHUNK == t->nchunk) {
			t->chunk = ni_reallocarray(t->chunk, ++t->nchunk,
			    sizeof(*t->chunk));
			if ((t->chunk[t->nchunk - 1] = aligned_alloc(64,
			    CHUNK * sizeof(struct flow))) == NULL)
				err(1, NULL);
		}
		i = t->npool++;
	}
	f = slot(t, i);
	memset(f, 0, sizeof(*f));
	f->k = *k;
	j = h & (t->nbucket - 1);
	f->hnext = t->bucket[j];
	t->bucket[j] = i;
	if (++t->nflows > t->nbucket)
		rehash(t, t->nbucket * 2);
	return i;
}

/* Builds the canonical key; *fwd_a tells whether the packet's src is end a. */
static void
makekey(const struct ni_addr *s, uint16_t sp, const struct ni_addr *d,
    uint16_t dp, uint8_t proto, struct fkey *k, int *src_is_a)
{
	uint64_t	 x[2], y[2];
	int		 lower;

	/* Any total order will do; big-endian words need no byte swap here. */
	memcpy(x, s->a, 16);
	memcpy(y, d->a, 16);
	if (x[0] != y[0])
		lower = x[0] < y[0];
	else if (x[1] != y[1])
		lower = x[1] < y[1];
	else
		lower = sp <= dp;
	memset(k, 0, sizeof(*k));
	k->proto = proto;
	k->family = s->family;
	if (lower) {
		memcpy(k->a, s->a, 16);
		memcpy(k->b, d->a, 16);
		k->pa = sp;
		k->pb = dp;
		*src_is_a = 1;
	} else {
		memcpy(k->a, d->a, 16);
		memcpy(k->b, s->a, 16);
		k->pa = dp;
		k->pb = sp;
		*src_is_a = 0;
	}
}

static void
pktkey(const struct ni_pkt *p, struct fkey *k, int *src_is_a)
{
	if (p->echo) {
		makekey(&p->src, p->echoid, &p->dst, p->echoid, p->proto, k,
		    src_is_a);
		k->echo = 1;
	} else if (p->proto == 1 || p->proto == 58) {
		/* Other ICMP: one flow per direction, type and code. */
		memset(k, 0, sizeof(*k));
		k->proto = p->proto;
		k->family = p->src.family;
		memcpy(k->a, p->src.a, 16);
		memcpy(k->b, p->dst.a, 16);
		k->pa = (uint16_t)(p->sport << 8 | p->dport);
		*src_is_a = 1;
	} else
		makekey(&p->src, p->sport, &p->dst, p->dport, p->proto, k,
		    src_is_a);
}

static struct frag *
fragslot(struct ni_flowtab *t, const struct ni_pkt *p)
{
	uint32_t	 h = p->fragid * 2654435761u;

	h ^= (uint32_t)p->src.a[0] << 24 | (uint32_t)p->src.a[3] << 16 |
	    (uint32_t)p->dst.a[3] << 8 | p->proto;
	return &t->frag[(h ^ h >> 16) & (NFRAG - 1)];
}

/* Later fragments carry no ports: take them from the first one. */
static int
defrag(struct ni_flowtab *t, struct ni_pkt *p)
{
	struct frag	*fr = fragslot(t, p);

	if (p->frag & NI_FRAG_FIRST) {
		fr->src = p->src;
		fr->dst = p->dst;
		fr->id = p->fragid;
		fr->proto = p->proto;
		fr->sport = p->sport;
		fr->dport = p->dport;
		fr->used = 1;
		return 0;
	}
	if (!fr->used || fr->id != p->fragid || fr->proto != p->proto ||
	    memcmp(&fr->src, &p->src, sizeof(p->src)) != 0 ||
	    memcmp(&fr->dst, &p->dst, sizeof(p->dst)) != 0) {
		t->st.orphans++;
		return -1;
	}
	p->sport = fr->sport;
	p->dport = fr->dport;
	return 0;
}

/* An ICMP error that quotes a probe of ours marks the probe's flow. */
static void
icmp_link(struct ni_flowtab *t, const struct ni_pkt *p)
{
	struct fkey	 k;
	uint32_t	 i;
	int		 a;

	makekey(&p->qsrc, p->qsport, &p->qdst, p->qdport, p->qproto, &k, &a);
	if ((i = lookup(t, &k, hashkey(&k))) != NIL &&
	    slot(t, i)->init_a == (uint8_t)a) {
		slot(t, i)->st |= ST_ICMPERR;
		t->st.icmp_linked++;
	}
}

/* Adds a packet whose key and hash are known (k NULL: work them out). */
static void
add(struct ni_flowtab *t, const struct ni_pkt *cp, const struct fkey *kp,
    uint32_t h, int src_a)
{
	struct ni_pkt	 pk;
	const struct ni_pkt *p = cp;
	struct fkey	 k;
	struct flow	*f;
	uint32_t	 i;
	int		 dir;
	uint8_t		 fl;
	char		 app[300];

	t->st.packets++;
	/*
	 * Time that goes back by more than the idle timeout (the next of
	 * several capture files is older) continues no flow: end them all,
	 * or the new, older flows would look long idle and end at once.
	 */
	if (p->ts + t->conf.idle < t->now) {
		ni_flowtab_flush(t);
		t->now = p->ts;
	}
	if (p->ts > t->now)
		t->now = p->ts;
	if (kp == NULL) {
		if (p->frag) {
			pk = *cp;
			if (defrag(t, &pk) == -1)
				return;
			p = &pk;
		}
		pktkey(p, &k, &src_a);
		h = hashkey(&k);
		kp = &k;
	}
	fl = p->tcpflags;
	i = lookup(t, kp, h);
	if (i != NIL) {
		f = slot(t, i);
		/*
		 * Cut at the active timeout, or a new connection on the ports
		 * of one that ended.  The old flow leaves its queue when
		 * expire() reaches it: it is marked, not unlinked.
		 */
		if (p->ts - f->start >= t->conf.active ||
		    (p->proto == 6 && (f->st & ST_DONE) &&
		    (fl & (NI_TH_SYN | NI_TH_ACK)) == NI_TH_SYN)) {
			if (p->ts - f->start >= t->conf.active)
				t->st.active++;
			else
				t->st.ended++;
			unqueue(t, f);
			emit(t, i);
			i = NIL;
		}
	}
	if (i == NIL) {
		i = insert(t, kp, h);
		f = slot(t, i);
		f->start = f->end = p->ts;
		f->vlan = (int16_t)p->vlan;
		/* A SYN+ACK first means we missed the SYN: its receiver began. */
		f->init_a = (uint8_t)(p->proto == 6 &&
		    (fl & (NI_TH_SYN | NI_TH_ACK)) == (NI_TH_SYN | NI_TH_ACK) ?
		    !src_a : src_a);
		enqueue(t, f, i, 0);
	} else
		f = slot(t, i);
	dir = (uint8_t)src_a == f->init_a ? 0 : 1;
	if (p->ts < f->start)
		f->start = p->ts;
	if (p->ts > f->end)
		f->end = p->ts;
	f->pkts[dir]++;
	f->bytes[dir] += p->iplen;
	if (p->proto == 6 && !(p->frag & NI_FRAG_LATER)) {
		f->flags[dir] |= fl;
		if (dir == 0 && (fl & NI_TH_SYN) && !(fl & NI_TH_ACK))
			f->st |= ST_SYN;
		if (dir == 1 && (fl & (NI_TH_SYN | NI_TH_ACK)) ==
		    (NI_TH_SYN | NI_TH_ACK))
			f->st |= ST_SYNACK;
		if (dir == 0 && (f->st & ST_SYNACK) && (fl & NI_TH_ACK) &&
		    !(fl & NI_TH_SYN))
			f->st |= ST_ACKED;
		if (fl & NI_TH_FIN)
			f->fin |= dir == 0 ? FINFWD : FINREV;
		if (fl & NI_TH_RST)
			f->st |= dir == 0 ? ST_RST : ST_RST | ST_RSTRESP;
		if (!(f->st & ST_DONE) && ((fl & NI_TH_RST) ||
		    f->fin == (FINFWD | FINREV))) {
			f->st |= ST_DONE;
			unqueue(t, f);
			enqueue(t, f, i, 1);
		}
	}
	if (t->conf.want_app && f->app == NULL && p->paylen > 0 &&
	    f->apptries < APP_TRIES) {
		f->apptries++;
		if (ni_app_extract(p, app, sizeof(app)) > 0)
			f->app = ni_strdup(app);
	}
	if (p->icmperr)
		icmp_link(t, p);
	expire(t, t->now);
}

void
ni_flowtab_add(struct ni_flowtab *t, const struct ni_pkt *p)
{
	add(t, p, NULL, 0, 0);
}

void
ni_flowtab_add_batch(struct ni_flowtab *t, const struct ni_pkt *p, size_t n)
{
	struct fkey	 k[NI_BATCH];
	uint32_t	 h[NI_BATCH], i;
	int		 a[NI_BATCH];
	size_t		 j;

	/*
	 * A lookup is two cache misses, the bucket and the flow.  Asking for
	 * all the buckets of a batch first, then all their flows, lets the
	 * memory work while the CPU does: the same result as adding one by
	 * one, in a fraction of the time on a large table.
	 */
	if (n > NI_BATCH)
		errx(1, "internal error: batch of %zu", n);
	for (j = 0; j < n; j++) {
		if (p[j].frag)
			continue;
		pktkey(&p[j], &k[j], &a[j]);
		h[j] = hashkey(&k[j]);
		__builtin_prefetch(&t->bucket[h[j] & (t->nbucket - 1)]);
	}
	for (j = 0; j < n; j++)
		if (!p[j].frag && (i = t->bucket[h[j] & (t->nbucket - 1)]) !=
		    NIL) {
			__builtin_prefetch(slot(t, i));
			__builtin_prefetch((char *)slot(t, i) + 64, 1);
		}
	for (j = 0; j < n; j++)
		if (p[j].frag)
			add(t, &p[j], NULL, 0, 0);
		else
			add(t, &p[j], &k[j], h[j], a[j]);
}

void
ni_flowtab_flush(struct ni_flowtab *t)
{
	int	 w;

	/* Ended flows first, then open ones, in queue order. */
	for (w = 1; w >= 0; w--)
		while (t->l[w].head != NIL)
			emit(t, dequeue(t, w));
}

void
ni_flowtab_getstats(const struct ni_flowtab *t, struct ni_flowtab_stats *s)
{
	*s = t->st;
}

void
ni_flowtab_free(struct ni_flowtab **tp)
{
	struct ni_flowtab	*t = *tp;
	uint32_t		 i;

	if (t == NULL)
		return;
	for (i = 1; i < t->npool; i++)
		free(slot(t, i)->app);
	for (i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	free(t->chunk);
	free(t->bucket);
	free(t->frag);
	free(t);
	*tp = NULL;
}
