/* ni-flowcat -- test driver: read ni-flow(5) with libni, write it back, typed or raw. */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ni.h"

/*
 * -r copies records field by field (the quoting round trip); -t parses every
 * flow column to typed values and writes them again (the typed round trip);
 * -c only parses and counts, for the reader benchmark; -s is --strict.
 */
int
main(int argc, char *argv[])
{
	static char		*stdin_only[] = { "-", NULL };
	struct ni_reader	*r;
	struct ni_writer	*w = NULL;
	struct ni_flow_writer	*fw = NULL;
	struct ni_flowcols	 fc;
	struct ni_flow		 f;
	struct ni_rec		 rec;
	const char *const	*names;
	size_t			 n;
	unsigned long long	 count = 0;
	int			 ch, mode = 'r', opts = 0, rval = 0;

	while ((ch = getopt(argc, argv, "crst")) != -1) {
		switch (ch) {
		case 'c':
		case 'r':
		case 't':
			mode = ch;
			break;
		case 's':
			opts |= NI_READ_STRICT;
			break;
		default:
			fprintf(stderr, "usage: ni-flowcat [-c | -r | -t] [-s] "
			    "[file ...]\n");
			return 1;
		}
	}
	argv += optind;
	if (*argv == NULL)
		argv = stdin_only;
	for (; *argv != NULL; argv++) {
		if ((r = ni_reader_open(*argv, opts)) == NULL) {
			rval = 1;
			continue;
		}
		names = ni_reader_names(r, &n);
		if (mode == 'r' && w == NULL)
			w = ni_writer_new(stdout, names, n);
		if (mode != 'r' && ni_flowcols_init(r, &fc) == -1) {
			ni_reader_close(&r);
			rval = 1;
			continue;
		}
		if (mode == 't' && fw == NULL)
			fw = ni_flow_writer_new(stdout, (fc.col[NI_COL_VLAN] !=
			    -1 ? NI_FW_VLAN : 0) | (fc.col[NI_COL_APP] != -1 ?
			    NI_FW_APP : 0));
		while (ni_read(r, &rec) == 1) {
			if (mode == 'r') {
				ni_write(w, &rec);
				continue;
			}
			if (ni_flow_get(r, &fc, &rec, &f) == -1)
				continue;
			count++;
			if (mode == 't')
				ni_flow_write(fw, &f);
		}
		if (ni_reader_close(&r) == -1)
			rval = 1;
	}
	if (mode == 'c')
		printf("%llu\n", count);
	ni_writer_close(&w);
	ni_flow_writer_close(&fw);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}
