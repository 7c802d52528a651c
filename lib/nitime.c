/* nitime.c -- RFC 3339 UTC timestamps with microseconds, both ways. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ni.h"

/*
 * Civil date <-> days since 1970-01-01 in the proleptic Gregorian calendar,
 * computed with 400-year eras so that no libc time zone code (gmtime_r,
 * timegm) runs per record: both are far slower and timegm is not standard.
 */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		 era;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *
put2(char *p, unsigned v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
	return p + 2;
}

size_t
ni_time_fmt(ni_time t, char *buf)
{
	int64_t		 secs, days, y;
	unsigned	 m, d, sod, us, i;
	char		*p = buf;

	secs = t >= 0 ? t / 1000000 : -((-t + 999999) / 1000000);
	us = (unsigned)(t - secs * 1000000);
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	sod = (unsigned)(secs - days * 86400);
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return (size_t)snprintf(buf, NI_TIME_LEN, "%lld", (long long)t);
	p = put2(p, (unsigned)(y / 100));
	p = put2(p, (unsigned)(y % 100));
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sod / 3600);
	*p++ = ':';
	p = put2(p, sod / 60 % 60);
	*p++ = ':';
	p = put2(p, sod % 60);
	*p++ = '.';
	for (i = 6; i-- > 0; us /= 10)
		p[i] = '0' + us % 10;
	p += 6;
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

/* Reads exactly n digits; -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int	 v = 0;

	while (n-- > 0) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

int
ni_time_parse(const char *s, ni_time *out)
{
	static const unsigned char mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int		 y, mo, d, h, mi, sec, off = 0, oh, om;
	int64_t		 us = 0, scale = 100000;
	const char	*p;

	y = digits(s, 4);
	if (y < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 1 || mo > 12 ||
	    s[7] != '-' || (d = digits(s + 8, 2)) < 1 || d > mdays[mo - 1] ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    (h = digits(s + 11, 2)) < 0 || h > 23 || s[13] != ':' ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59 || s[16] != ':' ||
	    (sec = digits(s + 17, 2)) < 0 || sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		/* Digits past the sixth are truncated: we keep microseconds. */
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			us += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && (oh = digits(p + 1, 2)) >= 0 &&
	    oh < 24 && p[3] == ':' && (om = digits(p + 4, 2)) >= 0 && om < 60) {
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - off) * 1000000) + us;
	return 0;
}

size_t
ni_time_fmt_compact(ni_time t, char *buf)
{
	char	 s[NI_TIME_LEN], *p, *q;

	ni_time_fmt(t, s);
	for (p = s, q = buf; *p != '\0'; p++)
		if (*p != '-' && *p != ':')
			*q++ = *p;
	*q = '\0';
	return (size_t)(q - buf);
}

int
ni_time_parse_compact(const char *s, size_t n, ni_time *t)
{
	char	 b[NI_TIME_LEN];

	if (n != 23)
		return -1;
	snprintf(b, sizeof(b), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%.8s", s, s + 4,
	    s + 6, s + 9, s + 11, s + 13, s + 15);
	return ni_time_parse(b, t);
}
