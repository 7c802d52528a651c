/* strtonum.c -- OpenBSD strtonum(3) for C libraries that lack it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "ni.h"

long long
strtonum(const char *s, long long min, long long max, const char **errstrp)
{
	long long	 ll = 0;
	char		*ep;
	int		 bad = 0;

	if (min > max)
		bad = 1;
	else {
		errno = 0;
		ll = strtoll(s, &ep, 10);
		if (s == ep || *ep != '\0')
			bad = 1;
		else if ((ll == LLONG_MIN && errno == ERANGE) || ll < min)
			bad = 2;
		else if ((ll == LLONG_MAX && errno == ERANGE) || ll > max)
			bad = 3;
	}
	if (errstrp != NULL)
		*errstrp = bad == 0 ? NULL : bad == 1 ? "invalid" :
		    bad == 2 ? "too small" : "too large";
	if (bad != 0) {
		errno = bad == 1 ? EINVAL : ERANGE;
		return 0;
	}
	return ll;
}
