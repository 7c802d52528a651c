/* intelbench -- load times and lookups/s of libni's threat-intel table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ni.h"

/*
 * usage: intelbench FEEDS.CONF LOOKUPS
 * Loads the feeds, then looks up LOOKUPS random IPv4 addresses (generated
 * beforehand, so that only lookups are timed) and prints the figures.
 */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	struct ni_intel	*in;
	struct ni_addr	*q;
	size_t		 n, i, entries, intervals, hits = 0;
	uint32_t	 x = 2463534242u;
	double		 t0, t1;

	if (argc != 3)
		return 1;
	n = strtoul(argv[2], NULL, 10);
	t0 = now();
	if ((in = ni_intel_load(argv[1], NULL, 0)) == NULL)
		return 1;
	t1 = now();
	ni_intel_stats(in, &entries, &intervals);
	printf("load: %zu entries, %zu intervals in %.3f s\n", entries,
	    intervals, t1 - t0);
	q = calloc(n, sizeof(*q));
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		q[i].family = 4;
		q[i].a[0] = (uint8_t)(x >> 24);
		q[i].a[1] = (uint8_t)(x >> 16);
		q[i].a[2] = (uint8_t)(x >> 8);
		q[i].a[3] = (uint8_t)x;
	}
	t0 = now();
	for (i = 0; i < n; i++)
		hits += ni_intel_lookup(in, &q[i]) != 0;
	t1 = now();
	printf("lookups: %zu in %.3f s, %.1f million/s (%zu hits)\n", n,
	    t1 - t0, (double)n / (t1 - t0) / 1e6, hits);
	ni_intel_free(&in);
	free(q);
	return 0;
}
