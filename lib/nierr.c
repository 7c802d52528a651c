/* nierr.c -- allocation that cannot fail and checked closing of outputs. */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

void *
ni_malloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		err(1, NULL);
	return p;
}

void *
ni_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(1, NULL);
	return p;
}

void *
ni_reallocarray(void *o, size_t n, size_t size)
{
	void	*p;

	if ((p = reallocarray(o, n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(1, NULL);
	return p;
}

char *
ni_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		err(1, NULL);
	return p;
}

char *
ni_strndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		err(1, NULL);
	return p;
}

long long
ni_number(const char *opt, const char *s, long long min, long long max)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		errx(1, "%s %s: %s (%lld to %lld)", opt, s, errstr, min, max);
	return v;
}

int
ni_fclose_out(FILE *fp, const char *name)
{
	int	 rval = 0;

	/* fflush first: fclose() may lose the errno of a failed final write. */
	if (fflush(fp) == EOF || ferror(fp)) {
		warn("%s", name);
		rval = -1;
	}
	if (fclose(fp) == EOF && rval == 0) {
		warn("%s", name);
		rval = -1;
	}
	return rval;
}
