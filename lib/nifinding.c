/* nifinding.c -- the findings format, ni-finding(5): what every analyser writes and ni-report reads. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

const char *const ni_finding_cols[NI_FINDING_NCOLS] = {
	"time", "card", "kind", "severity", "score", "subject", "counterpart",
	"intel", "feeds", "mitre", "first", "last", "flows", "pkts", "bytes",
	"targets", "ports", "threshold", "evidence"
};

const char *const ni_severity_names[4] = { "low", "medium", "high",
	"critical" };

struct ni_finding_writer {
	struct ni_writer	*w;
};

struct ni_finding_writer *
ni_finding_writer_new(FILE *fp)
{
	struct ni_finding_writer	*fw = ni_calloc(1, sizeof(*fw));

	fw->w = ni_writer_new(fp, ni_finding_cols, NI_FINDING_NCOLS);
	return fw;
}

void
ni_finding_write(struct ni_finding_writer *fw, const struct ni_finding *f)
{
	char		 t[NI_TIME_LEN], first[NI_TIME_LEN], last[NI_TIME_LEN];
	char		 score[8], n[4][24];
	const char	*fld[NI_FINDING_NCOLS];

	ni_time_fmt(f->time, t);
	ni_time_fmt(f->first, first);
	ni_time_fmt(f->last, last);
	snprintf(score, sizeof(score), "%d", f->score);
	snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)f->flows);
	snprintf(n[1], sizeof(n[1]), "%llu", (unsigned long long)f->pkts);
	snprintf(n[2], sizeof(n[2]), "%llu", (unsigned long long)f->bytes);
	snprintf(n[3], sizeof(n[3]), "%llu", (unsigned long long)f->targets);
	fld[0] = t;
	fld[1] = f->card;
	fld[2] = f->kind;
	fld[3] = ni_severity_names[f->severity];
	fld[4] = score;
	fld[5] = f->subject;
	fld[6] = f->counterpart;
	fld[7] = f->intel != NULL ? f->intel : "";
	fld[8] = f->feeds != NULL ? f->feeds : "";
	fld[9] = f->mitre != NULL ? f->mitre : "";
	fld[10] = first;
	fld[11] = last;
	fld[12] = n[0];
	fld[13] = n[1];
	fld[14] = n[2];
	fld[15] = n[3];
	fld[16] = f->ports != NULL ? f->ports : "";
	fld[17] = f->threshold != NULL ? f->threshold : "";
	fld[18] = f->evidence != NULL ? f->evidence : "";
	ni_write_fields(fw->w, fld, NI_FINDING_NCOLS);
}

int
ni_finding_writer_close(struct ni_finding_writer **fwp)
{
	struct ni_finding_writer	*fw = *fwp;
	int				 rval;

	if (fw == NULL)
		return 0;
	rval = ni_writer_close(&fw->w);
	free(fw);
	*fwp = NULL;
	return rval;
}
