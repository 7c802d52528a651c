/* nimap.c -- a hash map of fixed-size keys to fixed-size values, stored inline: analysers' keyed state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ni.h"

/*
 * Open addressing with linear probing; keys and values live in one array,
 * so a lookup is mostly one cache miss.  A slot is the key's hash (0:
 * empty), the key, then the value.  Pointers to values stay valid until
 * the next insertion or removal.
 */
struct ni_map {
	size_t		 keylen, vallen, slot;
	size_t		 cap, n;		/* cap is a power of two */
	unsigned char	*v;
};

uint32_t
ni_hash_bytes(const void *p, size_t n)
{
	const unsigned char	*b = p;
	uint64_t		 h = 0x9e3779b97f4a7c15ULL ^ n, w;
	size_t			 i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h | 1;		/* never 0 */
}

struct ni_map *
ni_map_new(size_t keylen, size_t vallen)
{
	struct ni_map	*m = ni_calloc(1, sizeof(*m));

	m->keylen = keylen;
	m->vallen = vallen;
	/* values 8-byte aligned after a 4-byte hash and the key */
	m->slot = (4 + keylen + 7) / 8 * 8 + (vallen + 7) / 8 * 8;
	m->cap = 64;
	m->v = ni_calloc(m->cap, m->slot);
	return m;
}

/* The bit that keeps a hash non-zero is not part of the home slot. */
static size_t
home(const struct ni_map *m, uint32_t h)
{
	return (h >> 1) & (m->cap - 1);
}

static unsigned char *
slotp(const struct ni_map *m, size_t i)
{
	return m->v + i * m->slot;
}

static void *
valp(const struct ni_map *m, unsigned char *s)
{
	return s + (4 + m->keylen + 7) / 8 * 8;
}

static void
grow(struct ni_map *m)
{
	unsigned char	*old = m->v, *s, *d;
	size_t		 oldcap = m->cap, i, j;
	uint32_t	 h, sh;

	m->cap *= 2;
	m->v = ni_calloc(m->cap, m->slot);
	for (i = 0; i < oldcap; i++) {
		s = old + i * m->slot;
		memcpy(&h, s, 4);
		if (h == 0)
			continue;
		for (j = home(m, h); memcpy(&sh, slotp(m, j), 4), sh != 0;
		    j = (j + 1) & (m->cap - 1))
			continue;
		d = slotp(m, j);
		memcpy(d, s, m->slot);
	}
	free(old);
}

void *
ni_map_get(struct ni_map *m, const void *key, int create, int *created)
{
	unsigned char	*s;
	uint32_t	 h = ni_hash_bytes(key, m->keylen), sh;
	size_t		 i;

	if (created != NULL)
		*created = 0;
	for (i = home(m, h);; i = (i + 1) & (m->cap - 1)) {
		s = slotp(m, i);
		memcpy(&sh, s, 4);
		if (sh == 0)
			break;
		if (sh == h && memcmp(s + 4, key, m->keylen) == 0)
			return valp(m, s);
	}
	if (!create)
		return NULL;
	if ((m->n + 1) * 2 > m->cap) {
		grow(m);
		return ni_map_get(m, key, create, created);
	}
	memcpy(s, &h, 4);
	memcpy(s + 4, key, m->keylen);
	memset(valp(m, s), 0, m->vallen);
	m->n++;
	if (created != NULL)
		*created = 1;
	return valp(m, s);
}

void
ni_map_del(struct ni_map *m, const void *key)
{
	unsigned char	*s;
	uint32_t	 h, sh;
	size_t		 i, j, k;

	if (ni_map_get(m, key, 0, NULL) == NULL)
		return;
	h = ni_hash_bytes(key, m->keylen);
	for (i = home(m, h);; i = (i + 1) & (m->cap - 1)) {
		s = slotp(m, i);
		memcpy(&sh, s, 4);
		if (sh == h && memcmp(s + 4, key, m->keylen) == 0)
			break;
	}
	/* backward-shift deletion: no tombstones */
	memset(s, 0, m->slot);
	m->n--;
	for (j = (i + 1) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		s = slotp(m, j);
		memcpy(&sh, s, 4);
		if (sh == 0)
			break;
		k = home(m, sh);
		/* does slot j's home lie cyclically in (i, j]? then it stays */
		if ((j > i && k > i && k <= j) || (j < i && (k > i || k <= j)))
			continue;
		memcpy(slotp(m, i), s, m->slot);
		memset(s, 0, m->slot);
		i = j;
	}
}

void *
ni_map_next(const struct ni_map *m, size_t *iter, const void **key)
{
	unsigned char	*s;
	uint32_t	 h;

	for (; *iter < m->cap; (*iter)++) {
		s = slotp(m, *iter);
		memcpy(&h, s, 4);
		if (h != 0) {
			(*iter)++;
			if (key != NULL)
				*key = s + 4;
			return valp(m, s);
		}
	}
	return NULL;
}

size_t
ni_map_count(const struct ni_map *m)
{
	return m->n;
}

void
ni_map_clear(struct ni_map *m)
{
	memset(m->v, 0, m->cap * m->slot);
	m->n = 0;
}

void
ni_map_free(struct ni_map **mp)
{
	if (*mp == NULL)
		return;
	free((*mp)->v);
	free(*mp);
	*mp = NULL;
}
