/* ni-capture -- turn packets from capture files or an interface into ni-flow(5) records. */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <pcap/pcap.h>

#include "ni.h"

/* libpcap's largest snap length for the link types we decode. */
#define MAXCAPLEN	262144

struct capture {
	struct ni_flowtab	*tab;
	struct ni_flow_writer	*fw;
	int			 dlt;
	uint64_t		 skipped[NI_NSKIP];
	uint64_t		 read;
	const char		*name;
	int			 progress;	/* stderr is a terminal */
	time_t			 lastshown;
	/*
	 * Packets of a mapped file stay in memory, so they are decoded into
	 * a batch and added together (ni_flowtab_add_batch()).
	 */
	int			 batching;
	size_t			 nbatch;
	struct ni_pkt		 batch[NI_BATCH];
};

static volatile sig_atomic_t	 stop;
static pcap_t			*current;

static void	 on_packet(u_char *, const struct pcap_pkthdr *, const u_char *);
static void	 on_flow(const struct ni_flow *, void *);
static int	 read_file(struct capture *, const char *, const char *);
static int	 live(struct capture *, const char *, const char *, int, int,
		    const char *);
static void	 drop_privileges(const char *);
static void	 print_stats(const struct capture *, pcap_t *);
static void	 usage(FILE *, int) __attribute__((__noreturn__));

static const struct option longopts[] = {
	{ "active-timeout",	required_argument,	NULL,	'A' },
	{ "community-id",	no_argument,		NULL,	'c' },
	{ "community-id-seed",	required_argument,	NULL,	'z' },
	{ "filter",		required_argument,	NULL,	'f' },
	{ "help",		no_argument,		NULL,	'h' },
	{ "idle-timeout",	required_argument,	NULL,	'I' },
	{ "interface",		required_argument,	NULL,	'i' },
	{ "max-flows",		required_argument,	NULL,	'm' },
	{ "no-app",		no_argument,		NULL,	'N' },
	{ "no-promisc",		no_argument,		NULL,	'p' },
	{ "read",		no_argument,		NULL,	'r' },
	{ "snaplen",		required_argument,	NULL,	's' },
	{ "stats",		no_argument,		NULL,	'S' },
	{ "user",		required_argument,	NULL,	'u' },
	{ "version",		no_argument,		NULL,	'V' },
	{ NULL,			0,			NULL,	0 }
};

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
	if (current != NULL)
		pcap_breakloop(current);
}

/* The BPF expression is the operands joined by spaces, as tcpdump takes it. */
static char *
join(char **argv)
{
	size_t	 len = 1;
	char	**a, *s;

	for (a = argv; *a != NULL; a++)
		len += strlen(*a) + 1;
	s = ni_calloc(len, 1);
	for (a = argv; *a != NULL; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

int
main(int argc, char *argv[])
{
	struct ni_flowtab_conf	 conf;
	struct capture		 cap;
	struct sigaction	 sa;
	const char		*iface = NULL, *user = NULL;
	char			*filter = NULL;
	int			 ch, rflag = 0, stats = 0, promisc = 1, rval = 0;
	int			 snaplen = 1024, cid = 0;
	long long		 seed = 0;

	memset(&conf, 0, sizeof(conf));
	conf.idle = 60 * 1000000LL;
	conf.active = 300 * 1000000LL;
	conf.max_flows = 1000000;
	conf.want_app = 1;
	while ((ch = getopt_long(argc, argv, "A:cf:hI:i:m:Nprs:Su:Vz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			conf.active = ni_number("-A", optarg, 1, 86400 * 7) *
			    1000000LL;
			break;
		case 'c':
			cid = 1;
			break;
		case 'f':
			filter = ni_strdup(optarg);
			break;
		case 'I':
			conf.idle = ni_number("-I", optarg, 1, 86400 * 7) *
			    1000000LL;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'm':
			conf.max_flows = (size_t)ni_number("-m", optarg, 1,
			    UINT32_MAX / 4);
			break;
		case 'N':
			conf.want_app = 0;
			break;
		case 'p':
			promisc = 0;
			break;
		case 'r':
			rflag = 1;
			break;
		case 's':
			snaplen = (int)ni_number("-s", optarg, 64, 262144);
			break;
		case 'S':
			stats = 1;
			break;
		case 'u':
			user = optarg;
			break;
		case 'z':
			seed = ni_number("--community-id-seed", optarg, 0, 65535);
			cid = 1;
			break;
		case 'V':
			printf("ni-capture %s (%s)\n", PACKAGE_VERSION,
			    pcap_lib_version());
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 1);
		}
	}
	argc -= optind;
	argv += optind;
	if (rflag == (iface != NULL)) {
		warnx("give either -r with capture files or -i with an "
		    "interface");
		usage(stderr, 1);
	}
	if (iface != NULL && argc > 0) {
		if (filter != NULL)
			errx(1, "give the filter either with -f or as operands, "
			    "not both");
		filter = join(argv);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(&cap, 0, sizeof(cap));
	cap.fw = ni_flow_writer_new(stdout, NI_FW_VLAN | NI_FW_APP |
	    (cid ? NI_FW_COMMUNITY : 0));
	ni_flow_writer_seed(cap.fw, (uint16_t)seed);
	cap.tab = ni_flowtab_new(&conf, on_flow, &cap);
	cap.progress = isatty(STDERR_FILENO);

	if (iface != NULL) {
		/* Flows must reach the next tool of a pipe as they end. */
		if (live(&cap, iface, filter, snaplen, promisc, user) == -1)
			rval = 1;
	} else {
		static char	*stdin_only[] = { "-", NULL };

		if (argc == 0)
			argv = stdin_only;
		for (; *argv != NULL && !stop; argv++)
			if (read_file(&cap, *argv, filter) == -1)
				rval = 1;
	}
	ni_flowtab_flush(cap.tab);
	if (stats)
		print_stats(&cap, NULL);
	ni_flowtab_free(&cap.tab);
	ni_flow_writer_close(&cap.fw);
	free(filter);
	if (ni_fclose_out(stdout, "stdout") == -1)
		rval = 1;
	return rval;
}

static void
on_flow(const struct ni_flow *f, void *arg)
{
	struct capture	*cap = arg;

	ni_flow_write(cap->fw, f);
}

static void
flush_batch(struct capture *cap)
{
	ni_flowtab_add_batch(cap->tab, cap->batch, cap->nbatch);
	cap->nbatch = 0;
}

static void
on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture	*cap = (struct capture *)arg;
	struct ni_pkt	*p = &cap->batch[cap->nbatch];
	enum ni_skip	 why;

	cap->read++;
	why = ni_pkt_decode(cap->dlt, bytes, h->caplen, h->len, p);
	if (why != NI_SKIP_NONE) {
		cap->skipped[why]++;
		return;
	}
	p->ts = (ni_time)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
	if (!cap->batching)
		ni_flowtab_add(cap->tab, p);
	else if (++cap->nbatch == NI_BATCH)
		flush_batch(cap);
	if (cap->progress && (cap->read & 0xffff) == 0) {
		time_t	 now = time(NULL);

		if (now != cap->lastshown) {
			cap->lastshown = now;
			fprintf(stderr, "ni-capture: %s: %llu packets\r",
			    cap->name, (unsigned long long)cap->read);
		}
	}
}

/* Compiles the filter, if there is one; the caller frees the program. */
static int
compile(pcap_t *p, const char *name, const char *filter, bpf_u_int32 net,
    struct bpf_program *prog)
{
	if (filter == NULL)
		return 0;
	if (pcap_compile(p, prog, filter, 1, net) == -1) {
		warnx("%s: filter \"%s\": %s", name, filter, pcap_geterr(p));
		return -1;
	}
	return 0;
}

static int
check_dlt(pcap_t *p, const char *name)
{
	int		 dlt = pcap_datalink(p);
	const char	*dn = pcap_datalink_val_to_name(dlt);

	if (ni_dlt_supported(dlt))
		return dlt;
	warnx("%s: link type %s (%d) is not supported; ni-capture(1) lists "
	    "the ones that are", name, dn != NULL ? dn : "unknown", dlt);
	return -1;
}

/* zlib behind a stdio stream, so that libpcap reads .gz captures. */
static ssize_t
gz_read(void *cookie, char *buf, size_t n)
{
	int	 r = gzread((gzFile)cookie, buf, (unsigned)(n > INT_MAX ?
	    INT_MAX : n));

	return r < 0 ? -1 : r;
}

static int
gz_close(void *cookie)
{
	return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

static FILE *
open_capture(const char *path)
{
	cookie_io_functions_t	 io = { gz_read, NULL, NULL, gz_close };
	FILE			*fp;
	gzFile			 gz;
	unsigned char		 c = 0;
	int			 fd;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		warn("%s", path);
		return NULL;
	}
	/*
	 * No pcap or pcapng magic begins with 0x1f, gzip's does.  A pipe
	 * cannot be peeked at, so it always goes through zlib, which passes
	 * plain data through.
	 */
	if (pread(fd, &c, 1, 0) == 1 && c != 0x1f) {
		if ((fp = fdopen(fd, "rb")) == NULL)
			err(1, NULL);
		setvbuf(fp, NULL, _IOFBF, 1 << 20);
		return fp;
	}
	if ((gz = gzdopen(fd, "rb")) == NULL)
		err(1, NULL);
	gzbuffer(gz, 1 << 18);
	if ((fp = fopencookie(gz, "rb", io)) == NULL)
		err(1, NULL);
	return fp;
}

static uint32_t
rd32(const uint8_t *b, int swapped)
{
	uint32_t	 v;

	memcpy(&v, b, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/*
 * Classic pcap files are read straight from a mapping: libpcap's fread()
 * per record costs more than turning the packet into a flow.  libpcap has
 * already opened the file and checked its header; here only records are
 * walked, with the checks and messages libpcap itself gives.  1 if the file
 * was read (0 or -1 as rc), 0 if it must go through libpcap instead.
 */
static int
read_mapped(struct capture *cap, pcap_t *p, FILE *fp, const char *name,
    const struct bpf_program *prog, int *rc)
{
	struct stat		 st;
	struct pcap_pkthdr	 h;
	const uint8_t		*m, *b, *end;
	uint32_t		 magic, snap, tmp;
	int			 swapped, nano, lenswap;

	if (pcap_major_version(p) != 2 || fstat(fileno(fp), &st) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_size < 24)
		return 0;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
	    fileno(fp), 0);
	if (m == MAP_FAILED)
		return 0;
	madvise((void *)m, (size_t)st.st_size, MADV_SEQUENTIAL);
	memcpy(&magic, m, 4);
	swapped = pcap_is_swapped(p);
	nano = (swapped ? __builtin_bswap32(magic) : magic) == 0xa1b23c4d;
	/* Files before 2.3 have caplen and len the other way round. */
	lenswap = pcap_minor_version(p) < 3 ? 2 :
	    pcap_minor_version(p) == 3 ? 1 : 0;
	snap = (uint32_t)pcap_snapshot(p);
	end = m + st.st_size;
	*rc = 0;
	cap->batching = 1;
	for (b = m + 24; b < end && !stop; b += 16 + h.caplen) {
		if (end - b < 16) {
			warnx("%s: truncated dump file; tried to read 16 header "
			    "bytes, only got %td; the flows before this point "
			    "are written", name, end - b);
			*rc = -1;
			break;
		}
		h.ts.tv_sec = rd32(b, swapped);
		h.ts.tv_usec = rd32(b + 4, swapped);
		if (nano)
			h.ts.tv_usec /= 1000;
		h.caplen = rd32(b + 8, swapped);
		h.len = rd32(b + 12, swapped);
		if (lenswap == 2 || (lenswap == 1 && h.caplen > h.len)) {
			tmp = h.caplen;
			h.caplen = h.len;
			h.len = tmp;
		}
		if (h.caplen > MAXCAPLEN) {
			warnx("%s: invalid packet capture length %u, bigger "
			    "than %s of %u; the flows before this point are "
			    "written", name, h.caplen, h.caplen > snap ?
			    "snaplen" : "maximum", h.caplen > snap ? snap :
			    MAXCAPLEN);
			*rc = -1;
			break;
		}
		if ((size_t)(end - b - 16) < h.caplen) {
			warnx("%s: truncated dump file; tried to read %u "
			    "captured bytes, only got %td; the flows before "
			    "this point are written", name, h.caplen,
			    end - b - 16);
			*rc = -1;
			break;
		}
		/* Longer than the file's snap length: libpcap cuts it. */
		tmp = h.caplen;
		if (h.caplen > snap)
			h.caplen = snap;
		if (prog == NULL || pcap_offline_filter(prog, &h, b + 16))
			on_packet((u_char *)cap, &h, b + 16);
		h.caplen = tmp;
	}
	flush_batch(cap);
	cap->batching = 0;
	munmap((void *)m, (size_t)st.st_size);
	return 1;
}

static int
read_file(struct capture *cap, const char *path, const char *filter)
{
	char			 ebuf[PCAP_ERRBUF_SIZE];
	const char		*name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct bpf_program	 prog;
	pcap_t			*p;
	FILE			*fp;
	int			 rc = 0, rval = 0;

	if ((fp = open_capture(path)) == NULL)
		return -1;
	p = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (p == NULL) {
		warnx("%s: %s", name, ebuf);
		fclose(fp);
		return -1;
	}
	if ((cap->dlt = check_dlt(p, name)) == -1 ||
	    compile(p, name, filter, PCAP_NETMASK_UNKNOWN, &prog) == -1) {
		pcap_close(p);
		return -1;
	}
	cap->name = name;
	if (!read_mapped(cap, p, fp, name, filter ? &prog : NULL, &rc)) {
		if (filter != NULL && pcap_setfilter(p, &prog) == -1) {
			warnx("%s: %s", name, pcap_geterr(p));
			rc = 0;
			rval = -1;
		} else {
			current = p;
			rc = pcap_loop(p, -1, on_packet, (u_char *)cap);
			current = NULL;
			if (rc == PCAP_ERROR)
				/* What came before the damage is still kept. */
				warnx("%s: %s; the flows before this point are "
				    "written", name, pcap_geterr(p));
		}
	}
	if (rc < 0 && rc != PCAP_ERROR_BREAK)
		rval = -1;
	if (filter != NULL)
		pcap_freecode(&prog);
	if (cap->progress)
		fprintf(stderr, "\033[K");
	pcap_close(p);
	return rval;
}

static int
live(struct capture *cap, const char *iface, const char *filter, int snaplen,
    int promisc, const char *user)
{
	char			 ebuf[PCAP_ERRBUF_SIZE];
	struct bpf_program	 prog;
	struct pollfd		 pfd;
	struct timespec	 now;
	bpf_u_int32	 net = PCAP_NETMASK_UNKNOWN, mask;
	pcap_t		*p;
	int		 rc, rval = 0;

	if ((p = pcap_create(iface, ebuf)) == NULL) {
		warnx("%s: %s", iface, ebuf);
		return -1;
	}
	pcap_set_snaplen(p, snaplen);
	pcap_set_promisc(p, promisc);
	pcap_set_immediate_mode(p, 1);
	pcap_set_timeout(p, 1000);
	if ((rc = pcap_activate(p)) < 0) {
		warnx("%s: %s%s", iface, pcap_statustostr(rc),
		    rc == PCAP_ERROR_PERM_DENIED ? " (run as root, or give the "
		    "program CAP_NET_RAW)" : rc == PCAP_ERROR_NO_SUCH_DEVICE ?
		    " (ip link lists the interfaces)" : "");
		pcap_close(p);
		return -1;
	} else if (rc > 0)
		warnx("%s: %s", iface, pcap_geterr(p));
	if (pcap_lookupnet(iface, &net, &mask, ebuf) == -1)
		net = PCAP_NETMASK_UNKNOWN;
	if ((cap->dlt = check_dlt(p, iface)) == -1 ||
	    compile(p, iface, filter, net, &prog) == -1) {
		pcap_close(p);
		return -1;
	}
	if (filter != NULL) {
		rc = pcap_setfilter(p, &prog);
		pcap_freecode(&prog);
		if (rc == -1) {
			warnx("%s: %s", iface, pcap_geterr(p));
			pcap_close(p);
			return -1;
		}
	}
	if (user != NULL)
		drop_privileges(user);
	if (pcap_setnonblock(p, 1, ebuf) == -1 ||
	    (pfd.fd = pcap_get_selectable_fd(p)) == -1) {
		warnx("%s: cannot wait for packets: %s", iface, ebuf);
		pcap_close(p);
		return -1;
	}
	/* Tests and operators wait for this line before sending traffic. */
	fprintf(stderr, "ni-capture: listening on %s, link-type %s, snaplen %d\n",
	    iface, pcap_datalink_val_to_name(cap->dlt), pcap_snapshot(p));
	pfd.events = POLLIN;
	cap->name = iface;
	cap->progress = 0;
	current = p;
	while (!stop) {
		rc = poll(&pfd, 1, 1000);
		if (rc == -1 && errno != EINTR) {
			warn("%s: poll", iface);
			rval = -1;
			break;
		}
		if (rc > 0 && pcap_dispatch(p, -1, on_packet, (u_char *)cap) ==
		    PCAP_ERROR) {
			warnx("%s: %s", iface, pcap_geterr(p));
			rval = -1;
			break;
		}
		/* A quiet interface must still end idle flows on time. */
		clock_gettime(CLOCK_REALTIME, &now);
		ni_flowtab_expire(cap->tab, (ni_time)now.tv_sec * 1000000 +
		    now.tv_nsec / 1000);
		if (fflush(stdout) == EOF)
			break;
	}
	current = NULL;
	print_stats(cap, p);
	pcap_close(p);
	return rval;
}

static void
drop_privileges(const char *user)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL)
		errx(1, "-u %s: no such user", user);
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1)
		err(1, "-u %s: cannot switch to that user", user);
	if (setuid(0) == 0)
		errx(1, "-u %s: root privileges could be regained", user);
}

static void
print_stats(const struct capture *cap, pcap_t *p)
{
	struct ni_flowtab_stats	 s;
	struct pcap_stat	 ps;
	int			 i;

	if (p != NULL) {
		/* Only for live captures, and only what the kernel dropped. */
		if (pcap_stats(p, &ps) == 0 && (ps.ps_drop > 0 ||
		    ps.ps_ifdrop > 0))
			warnx("%s: %u packets dropped by the kernel, %u by the "
			    "interface", cap->name, ps.ps_drop, ps.ps_ifdrop);
		return;
	}
	ni_flowtab_getstats(cap->tab, &s);
	fprintf(stderr, "ni-capture: %llu packets read, %llu decoded",
	    (unsigned long long)cap->read, (unsigned long long)s.packets);
	for (i = 1; i < NI_NSKIP; i++)
		if (cap->skipped[i] > 0)
			fprintf(stderr, ", %llu skipped: %s",
			    (unsigned long long)cap->skipped[i],
			    ni_skip_names[i]);
	if (s.orphans > 0)
		fprintf(stderr, ", %llu skipped: %s",
		    (unsigned long long)s.orphans,
		    ni_skip_names[NI_SKIP_ORPHAN]);
	fprintf(stderr, "\nni-capture: %llu flows written (%llu idle, %llu "
	    "active timeout, %llu ended, %llu evicted, %llu at the end)\n",
	    (unsigned long long)s.flows, (unsigned long long)s.idle,
	    (unsigned long long)s.active, (unsigned long long)s.ended,
	    (unsigned long long)s.evicted, (unsigned long long)(s.flows -
	    s.idle - s.active - s.ended - s.evicted));
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ni-capture [-cNS] [-A secs] [-f expression] [-I secs] "
	    "[-m max-flows] [-z seed]\n"
	    "                  -r [file ...]\n"
	    "       ni-capture [-cNpS] [-A secs] [-I secs] [-m max-flows] "
	    "[-s snaplen] [-u user]\n"
	    "                  [-z seed] -i interface [expression]\n");
	exit(status);
}
