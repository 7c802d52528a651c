/* niflow.c -- flow records as typed values: the core columns of ni-flow(5). */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

struct ni_flow_writer {
	struct ni_writer	*w;
	int			 opts;
	uint16_t		 seed;
};

int
ni_flowcols_init(struct ni_reader *r, struct ni_flowcols *fc)
{
	size_t	 n;
	int	 i, missing = 0;

	(void)ni_reader_names(r, &n);
	for (i = 0; i < NI_NCOLS; i++) {
		fc->col[i] = ni_reader_col(r, ni_col_names[i]);
		/* An empty input has no header and no records: nothing lacks. */
		if (fc->col[i] == -1 && i < NI_NCORE && n > 0) {
			warnx("%s:1: no \"%s\" column: not a flow file "
			    "(see ni-flow(5))", ni_reader_name(r), ni_col_names[i]);
			missing = 1;
		}
	}
	return missing ? -1 : 0;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	uint64_t	 x = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int
parse_port(const char *s, uint16_t *p)
{
	uint64_t	 v;

	if (parse_u64(s, &v) == -1 || v > 65535)
		return -1;
	*p = (uint16_t)v;
	return 0;
}

int
ni_flow_get(struct ni_reader *r, const struct ni_flowcols *fc,
    const struct ni_rec *rec, struct ni_flow *f)
{
	const int	*c = fc->col;
	char *const	*v = rec->field;
	const char	*what;
	unsigned	 u;
	uint64_t	 vl;
	int		 i, bad = -1;

#define BAD(col)	do { bad = (col); goto fail; } while (0)
	if (ni_time_parse(v[c[NI_COL_START]], &f->start) == -1)
		BAD(NI_COL_START);
	if (ni_time_parse(v[c[NI_COL_END]], &f->end) == -1)
		BAD(NI_COL_END);
	if (ni_proto_parse(v[c[NI_COL_PROTO]], &u) == -1)
		BAD(NI_COL_PROTO);
	f->proto = (uint8_t)u;
	if (ni_addr_parse(v[c[NI_COL_SRC]], &f->src) == -1)
		BAD(NI_COL_SRC);
	if (ni_addr_parse(v[c[NI_COL_DST]], &f->dst) == -1)
		BAD(NI_COL_DST);
	if (parse_port(v[c[NI_COL_SPORT]], &f->sport) == -1)
		BAD(NI_COL_SPORT);
	if (parse_port(v[c[NI_COL_DPORT]], &f->dport) == -1)
		BAD(NI_COL_DPORT);
	if (parse_u64(v[c[NI_COL_PKTS]], &f->pkts) == -1)
		BAD(NI_COL_PKTS);
	if (parse_u64(v[c[NI_COL_BYTES]], &f->bytes) == -1)
		BAD(NI_COL_BYTES);
	if (parse_u64(v[c[NI_COL_RPKTS]], &f->rpkts) == -1)
		BAD(NI_COL_RPKTS);
	if (parse_u64(v[c[NI_COL_RBYTES]], &f->rbytes) == -1)
		BAD(NI_COL_RBYTES);
	if (ni_flags_parse(v[c[NI_COL_FLAGS]], &u) == -1)
		BAD(NI_COL_FLAGS);
	f->flags = (uint8_t)u;
	if (ni_flags_parse(v[c[NI_COL_RFLAGS]], &u) == -1)
		BAD(NI_COL_RFLAGS);
	f->rflags = (uint8_t)u;
	what = v[c[NI_COL_STATE]];
	for (i = 0; i < NI_NSTATE; i++)
		if (strcmp(what, ni_state_names[i]) == 0)
			break;
	if (i == NI_NSTATE)
		BAD(NI_COL_STATE);
	f->state = (uint8_t)i;
	f->vlan = -1;
	if (c[NI_COL_VLAN] != -1 && *v[c[NI_COL_VLAN]] != '\0') {
		if (parse_u64(v[c[NI_COL_VLAN]], &vl) == -1 || vl > 4095)
			BAD(NI_COL_VLAN);
		f->vlan = (int)vl;
	}
	f->app = c[NI_COL_APP] != -1 && *v[c[NI_COL_APP]] != '\0' ?
	    v[c[NI_COL_APP]] : NULL;
	return 0;
#undef BAD
fail:
	ni_reader_bad(r, rec, "bad %s \"%s\"", ni_col_names[bad],
	    v[c[bad]]);
	return -1;
}

struct ni_flow_writer *
ni_flow_writer_new(FILE *fp, int opts)
{
	struct ni_flow_writer	*fw;
	const char		*names[NI_NCOLS];
	size_t			 n = 0;
	int			 i;

	fw = ni_calloc(1, sizeof(*fw));
	fw->opts = opts;
	for (i = 0; i < NI_NCORE; i++)
		names[n++] = ni_col_names[i];
	if (opts & NI_FW_VLAN)
		names[n++] = ni_col_names[NI_COL_VLAN];
	if (opts & NI_FW_APP)
		names[n++] = ni_col_names[NI_COL_APP];
	if (opts & NI_FW_COMMUNITY)
		names[n++] = ni_col_names[NI_COL_COMMUNITY];
	fw->w = ni_writer_new(fp, names, n);
	return fw;
}

void
ni_flow_writer_seed(struct ni_flow_writer *fw, uint16_t seed)
{
	fw->seed = seed;
}

static char *
fmt_u64(uint64_t v, char *buf)
{
	char	 tmp[24], *p = tmp + sizeof(tmp);
	size_t	 n;

	*--p = '\0';
	do {
		*--p = '0' + v % 10;
	} while ((v /= 10) != 0);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, n);
	return buf;
}

void
ni_flow_write(struct ni_flow_writer *fw, const struct ni_flow *f)
{
	char		 start[NI_TIME_LEN], end[NI_TIME_LEN], proto[8];
	char		 src[NI_ADDR_LEN], dst[NI_ADDR_LEN], sport[8], dport[8];
	char		 n[4][24], flags[9], rflags[9], vlan[8];
	char		 cid[NI_COMMUNITY_LEN];
	const char	*fld[NI_NCOLS];
	const char	*pn;
	size_t		 nf = 0;

	ni_time_fmt(f->start, start);
	ni_time_fmt(f->end, end);
	if ((pn = ni_proto_name(f->proto)) == NULL)
		pn = fmt_u64(f->proto, proto);
	ni_addr_fmt(&f->src, src);
	ni_addr_fmt(&f->dst, dst);
	ni_flags_fmt(f->flags, flags);
	ni_flags_fmt(f->rflags, rflags);
	fld[nf++] = start;
	fld[nf++] = end;
	fld[nf++] = pn;
	fld[nf++] = src;
	fld[nf++] = fmt_u64(f->sport, sport);
	fld[nf++] = dst;
	fld[nf++] = fmt_u64(f->dport, dport);
	fld[nf++] = fmt_u64(f->pkts, n[0]);
	fld[nf++] = fmt_u64(f->bytes, n[1]);
	fld[nf++] = fmt_u64(f->rpkts, n[2]);
	fld[nf++] = fmt_u64(f->rbytes, n[3]);
	fld[nf++] = flags;
	fld[nf++] = rflags;
	fld[nf++] = ni_state_names[f->state];
	if (fw->opts & NI_FW_VLAN)
		fld[nf++] = f->vlan >= 0 ? fmt_u64((uint64_t)f->vlan, vlan) : "";
	if (fw->opts & NI_FW_APP)
		fld[nf++] = f->app != NULL ? f->app : "";
	if (fw->opts & NI_FW_COMMUNITY) {
		ni_community_id(f, fw->seed, cid);
		fld[nf++] = cid;
	}
	ni_write_fields(fw->w, fld, nf);
}

int
ni_flow_writer_close(struct ni_flow_writer **fwp)
{
	struct ni_flow_writer	*fw = *fwp;
	int			 rval;

	if (fw == NULL)
		return 0;
	rval = ni_writer_close(&fw->w);
	free(fw);
	*fwp = NULL;
	return rval;
}
