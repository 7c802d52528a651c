/* ni.h -- libni: the flow format, flow tables and helpers shared by every tool. */
#ifndef NI_H
#define NI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Allocation.  These never return NULL: out of memory ends the program with
 * err(1, NULL), because no tool can do anything useful without memory and a
 * half-written record is worse than a clear death.
 */
void	*ni_malloc(size_t);
void	*ni_calloc(size_t, size_t);
void	*ni_reallocarray(void *, size_t, size_t);
char	*ni_strdup(const char *);
char	*ni_strndup(const char *, size_t);

/*
 * Checks for a write error on an output stream and closes it; warns with the
 * given name and returns -1 on failure.  Tools call it on stdout before exit
 * so that "disk full" and EPIPE are not lost.
 */
int	 ni_fclose_out(FILE *, const char *);

/*
 * A default from the file that NI_CONFIG names ("key = value" lines, #
 * comments), or NULL.  Options on the command line come first.
 */
const char	*ni_config(const char *);
/* The words of a list ("a,b c"), NULL-terminated; *n of them. */
char		**ni_split(const char *, const char *, size_t *);
void		  ni_split_free(char **);

/* An option's number, or exit: "prog: -m 0: too small (1 to 9)". */
long long ni_number(const char *, const char *, long long, long long);

#ifndef HAVE_STRTONUM
long long strtonum(const char *, long long, long long, const char **);
#endif

/*
 * Time.  Every tool works in event time: microseconds since the epoch, UTC,
 * as found in the records.  NI_TIME_LEN is enough for the longest string
 * ni_time_fmt() writes ("2026-12-04T19:20:14.123456Z" plus NUL).
 */
#define NI_TIME_LEN	32
typedef int64_t	ni_time;
/* RFC 3339 UTC with six fractional digits; returns the length written. */
size_t	 ni_time_fmt(ni_time, char *);
/* 20261204T192014.123456Z, for file names; the length written. */
size_t	 ni_time_fmt_compact(ni_time, char *);
/* The same back, n bytes of it; 0 or -1. */
int	 ni_time_parse_compact(const char *, size_t, ni_time *);
/*
 * Parses RFC 3339 ("2026-12-04T19:20:14.123456Z", fewer or no fractional
 * digits, "+01:00" offsets, a space for the "T").  0 on success, -1 if not.
 */
int	 ni_time_parse(const char *, ni_time *);

/*
 * Addresses.  IPv4 is kept in the first four bytes; family tells which.
 * The remaining bytes are zero so that memcmp() and hashing work.
 */
struct ni_addr {
	uint8_t		family;		/* 4 or 6; 0 means unset */
	uint8_t		a[16];
};
#define NI_ADDR_LEN	46		/* INET6_ADDRSTRLEN */
int	 ni_addr_parse(const char *, struct ni_addr *);
size_t	 ni_addr_fmt(const struct ni_addr *, char *);
int	 ni_addr_cmp(const struct ni_addr *, const struct ni_addr *);

/*
 * The flow format, ni-flow(5): CSV (RFC 4180) with a header row.  Readers
 * find columns by name; writers add columns and pass unknown ones through.
 */
struct ni_rec {
	char		**field;	/* field[0] .. field[nfield - 1] */
	size_t		  nfield;
	size_t		  lineno;	/* 1-based line in the input */
	int		  quoted;	/* fields were unquoted: not split in place */
};

struct ni_reader;
struct ni_writer;

/* Reader options (ni_reader_setopt). */
#define NI_READ_STRICT	0x01	/* a malformed line ends the input */

/*
 * "-" is stdin; a name ending in ".gz" is decompressed on the fly.  NULL means
 * the problem was already reported (prog: file: reason).  The header line is
 * read here so that ni_reader_col() works before the first record.
 */
struct ni_reader	*ni_reader_open(const char *, int);
/* The same on an open descriptor (taken over), named so in messages. */
struct ni_reader	*ni_reader_fdopen(int, const char *, int);
/*
 * 1 and *rec on a record, 0 at the end, -1 on a read error or (with
 * NI_READ_STRICT) a malformed line.  Malformed lines are reported as
 * "prog: file:line: what", counted, and skipped.  Fields stay valid until the
 * next call: they point into the reader's buffer.
 */
int			 ni_read(struct ni_reader *, struct ni_rec *);
const char *const	*ni_reader_names(const struct ni_reader *, size_t *);
/* The column index of a name, or -1 if the input has no such column. */
int			 ni_reader_col(const struct ni_reader *, const char *);
const char		*ni_reader_name(const struct ni_reader *);
/* Counts and reports a bad record: "prog: file:line: message". */
void			 ni_reader_bad(struct ni_reader *, const struct ni_rec *,
			    const char *, ...)
			    __attribute__((__format__(__printf__, 3, 4)));
size_t			 ni_reader_skipped(const struct ni_reader *);
/*
 * 1 if the next ni_read() is answered from what is buffered, 0 if it may
 * wait for input: the moment for a streaming tool to flush its output.
 */
int			 ni_reader_pending(const struct ni_reader *);
/*
 * Frees, sets *rp to NULL, accepts NULL.  Prints how many lines were skipped
 * and returns -1 if anything was reported while reading.
 */
int			 ni_reader_close(struct ni_reader **);

/*
 * The header is written before the first record, or at close, so an empty
 * input still yields a header.  Fields are quoted only when they must be.
 */
struct ni_writer	*ni_writer_new(FILE *, const char *const *, size_t);
void			 ni_write(struct ni_writer *, const struct ni_rec *);
/* Writes one field list (nfield must match the header). */
void			 ni_write_fields(struct ni_writer *, const char *const *,
			    size_t);
/*
 * One CSV line of n fields, quoted where needed, ending in LF, into *line
 * (grown as needed, *cap its size); returns its length.
 */
size_t			 ni_csv_join(char **, size_t *, const char *const *,
			    size_t);
int			 ni_writer_close(struct ni_writer **);

/*
 * Flow records.  A flow is one bidirectional conversation; src started it.
 * The core columns, in the order the collectors write them, come first.
 */
enum ni_col {
	NI_COL_START, NI_COL_END, NI_COL_PROTO, NI_COL_SRC, NI_COL_SPORT,
	NI_COL_DST, NI_COL_DPORT, NI_COL_PKTS, NI_COL_BYTES, NI_COL_RPKTS,
	NI_COL_RBYTES, NI_COL_FLAGS, NI_COL_RFLAGS, NI_COL_STATE,
	NI_NCORE,
	/* optional columns the library understands when present */
	NI_COL_VLAN = NI_NCORE, NI_COL_APP, NI_COL_COMMUNITY,
	NI_NCOLS
};
extern const char *const ni_col_names[NI_NCOLS];

/* How a conversation went; see ni-flow(5) for the exact rules. */
enum ni_state {
	NI_ST_ATTEMPTED,	/* no answer */
	NI_ST_REJECTED,		/* TCP RST to the SYN, or an ICMP error */
	NI_ST_HALFOPEN,		/* SYN answered, handshake never completed */
	NI_ST_ESTABLISHED,	/* both sides talked, not ended */
	NI_ST_CLOSED,		/* ended by FIN */
	NI_ST_RESET,		/* established, then RST */
	NI_ST_MIDSTREAM,	/* TCP without the SYN: started before we saw it */
	NI_NSTATE
};
extern const char *const ni_state_names[NI_NSTATE];

/* TCP flag bits, in header order; letters "FSRPAUEC". */
#define NI_TH_FIN	0x01
#define NI_TH_SYN	0x02
#define NI_TH_RST	0x04
#define NI_TH_PUSH	0x08
#define NI_TH_ACK	0x10
#define NI_TH_URG	0x20
#define NI_TH_ECE	0x40
#define NI_TH_CWR	0x80
size_t	 ni_flags_fmt(unsigned, char *);		/* needs 9 bytes */
int	 ni_flags_parse(const char *, unsigned *);

const char	*ni_proto_name(unsigned);		/* NULL if none */
int		 ni_proto_parse(const char *, unsigned *);

/* A flow as typed values; what collectors write and analysers read. */
struct ni_flow {
	ni_time		start, end;
	struct ni_addr	src, dst;
	uint16_t	sport, dport;
	uint8_t		proto;
	uint8_t		flags, rflags;
	uint8_t		state;		/* enum ni_state */
	uint64_t	pkts, bytes, rpkts, rbytes;
	int		vlan;		/* -1 if none */
	const char	*app;		/* NULL if none */
};

/*
 * Column indices of the flow columns in one reader's input, looked up once
 * so that each record costs no name lookups.  Missing optional columns are -1;
 * ni_flowcols_init() reports missing core columns and returns -1.
 */
struct ni_flowcols {
	int	col[NI_NCOLS];
};
int	 ni_flowcols_init(struct ni_reader *, struct ni_flowcols *);
/* Parses one record into *f; reports, counts and returns -1 if it is bad. */
int	 ni_flow_get(struct ni_reader *, const struct ni_flowcols *,
	    const struct ni_rec *, struct ni_flow *);

/*
 * A flow writer: the core columns, plus the optional ones asked for with
 * NI_FW_* bits, straight from struct ni_flow.
 */
#define NI_FW_VLAN	0x01
#define NI_FW_APP	0x02
#define NI_FW_COMMUNITY	0x04	/* community_id, computed from the flow */
struct ni_flow_writer;
struct ni_flow_writer	*ni_flow_writer_new(FILE *, int);
/* The Community ID seed (default 0). */
void			 ni_flow_writer_seed(struct ni_flow_writer *, uint16_t);
void			 ni_flow_write(struct ni_flow_writer *,
			    const struct ni_flow *);
int			 ni_flow_writer_close(struct ni_flow_writer **);

/*
 * Packet decoding (libpcap link types down to the transport header) and the
 * flow table that turns packets into flows: see nipkt.c and niflowtab.c.
 */
struct ni_pkt {
	ni_time		 ts;
	struct ni_addr	 src, dst;
	uint16_t	 sport, dport;	/* ICMP: type, code */
	uint8_t		 proto;
	uint8_t		 tcpflags;
	uint8_t		 frag;		/* NI_FRAG_* */
	int		 vlan;		/* outermost 802.1Q id, -1 if none */
	uint32_t	 iplen;		/* IP bytes as the header says */
	uint32_t	 fragid;	/* IPv4 id or IPv6 fragment id */
	const uint8_t	*payload;	/* transport payload, as captured */
	size_t		 paylen;
	/* an ICMP error's quoted packet, to find the flow it answers */
	struct ni_addr	 qsrc, qdst;
	uint16_t	 qsport, qdport;
	uint8_t		 qproto;
	uint8_t		 icmperr;
	uint8_t		 echo;		/* 1 echo request, 2 echo reply */
	uint16_t	 echoid;	/* ICMP echo identifier */
};
#define NI_FRAG_FIRST	0x01	/* a fragment at offset 0: has ports */
#define NI_FRAG_LATER	0x02	/* a later fragment: no transport header */

/* Why a packet was not turned into a flow update; counted for --stats. */
enum ni_skip {
	NI_SKIP_NONE,
	NI_SKIP_LINK,		/* link layer we do not decode (ARP, LLDP ...) */
	NI_SKIP_TRUNC,		/* cut short by the snap length or damaged */
	NI_SKIP_BADIP,		/* bad version, header length or total length */
	NI_SKIP_ORPHAN,		/* later fragment whose first one we missed */
	NI_NSKIP
};
extern const char *const ni_skip_names[NI_NSKIP];

/* 1 if libni decodes this DLT_ value. */
int		 ni_dlt_supported(int);
/*
 * Decodes one captured frame of the given DLT_ type, caplen bytes captured of
 * wirelen sent; NI_SKIP_NONE and *p filled, or the reason to skip it.
 */
enum ni_skip	 ni_pkt_decode(int, const uint8_t *, size_t, size_t,
		    struct ni_pkt *);

/*
 * Protocol parameters worth keeping from the first packets of a flow: the
 * DNS query name, TLS server name or HTTP Host, as "dns:NAME", "tls:NAME",
 * "http:HOST".  Never payload.  Returns the length written to buf (0: none).
 */
size_t	 ni_app_extract(const struct ni_pkt *, char *, size_t);

struct ni_flowtab;
struct ni_flowtab_conf {
	ni_time		idle;		/* end a flow after this quiet time */
	ni_time		active;		/* cut a flow that lasts longer */
	size_t		max_flows;	/* evict the least recently seen */
	int		want_app;
};
struct ni_flowtab_stats {
	uint64_t	packets, flows, evicted, idle, active, ended;
	uint64_t	orphans, icmp_linked;
};
typedef void	(*ni_flow_out)(const struct ni_flow *, void *);
struct ni_flowtab	*ni_flowtab_new(const struct ni_flowtab_conf *,
			    ni_flow_out, void *);
/* Adds a packet; flows that end or time out go to the output callback. */
void			 ni_flowtab_add(struct ni_flowtab *, const struct ni_pkt *);
/*
 * The same for n <= NI_BATCH packets at once, faster on large tables: their
 * memory is fetched ahead.  Payload pointers need only last for the call.
 */
#define NI_BATCH	32
void			 ni_flowtab_add_batch(struct ni_flowtab *,
			    const struct ni_pkt *, size_t);
/* Writes out flows that have been quiet for the idle timeout as of now. */
void			 ni_flowtab_expire(struct ni_flowtab *, ni_time);
/* Writes out every active flow, oldest activity first. */
void			 ni_flowtab_flush(struct ni_flowtab *);
void			 ni_flowtab_getstats(const struct ni_flowtab *,
			    struct ni_flowtab_stats *);
void			 ni_flowtab_free(struct ni_flowtab **);

/*
 * A bucket: "s3://bucket/prefix" (AWS S3, IBM COS, MinIO, Ceph), or a local
 * directory ("file://dir" or a path) laid out exactly like one.  Keys are
 * full keys, ni_store_prefix() included.  Errors are reported naming the
 * store and the key; credentials are never printed.
 */
struct ni_store;
struct ni_store_opts {
	const char	*endpoint;	/* NULL: AWS_ENDPOINT_URL, else AWS */
	const char	*region;	/* NULL: AWS_REGION, else us-east-1 */
	const char	*profile;	/* NULL: AWS_PROFILE, else "default" */
	const char	*ca_file;	/* NULL: the system's */
	int		 addressing;	/* 'p' path, 'v' virtual host, 0 auto */
	int		 retries;	/* on 5xx, timeouts, lost connections */
};
typedef void	(*ni_store_list_cb)(const char *, int, void *);
struct ni_store	*ni_store_open(const char *, const struct ni_store_opts *);
/* Fills what the options left unset from NI_CONFIG (endpoint, region ...). */
void		 ni_store_opts_config(struct ni_store_opts *);
const char	*ni_store_prefix(const struct ni_store *);
const char	*ni_store_url(const struct ni_store *);
/*
 * 0 when stored (the store confirmed it); -1 on an error retrying cannot
 * fix (403, missing bucket); -2 when the store stayed unreachable.  meta is
 * name, value, ..., NULL: x-amz-meta-* on S3, ignored in a directory.
 */
int		 ni_store_put(struct ni_store *, const char *, const void *,
		    size_t, const char *const *);
/* Writes the object to the stream, its SHA-256 checked; 0, -1 or -2. */
int		 ni_store_get(struct ni_store *, const char *, FILE *);
/*
 * Calls cb(key, 0, arg) for each key starting with the prefix, in key
 * order; with delim, keys below a further '/' come once as cb(dir/, 1, arg).
 */
int		 ni_store_list(struct ni_store *, const char *, int,
		    ni_store_list_cb, void *);
uint64_t	 ni_store_retries(const struct ni_store *);
void		 ni_store_close(struct ni_store **);
/* Writes a file via a temporary name, fsync and rename; -1 and errno. */
int		 ni_write_durable(const char *, const void *, size_t);

/*
 * The Community ID (v1) of a flow, "1:" and base64 of a SHA-1 over the
 * seed, ordered addresses and ports: what Zeek, Suricata and Elastic write,
 * for correlation with them.  out needs NI_COMMUNITY_LEN bytes.
 */
#define NI_COMMUNITY_LEN	32
size_t	 ni_community_id(const struct ni_flow *, uint16_t, char *);

/*
 * Filter expressions, ni-filter(1): compiled once, bound to each input's
 * header (columns by name), then matched record by record; fields are
 * parsed only when a condition needs them.
 */
struct ni_filter;
/* NULL and the reason ("column 12: ...") in err if the syntax is wrong. */
struct ni_filter	*ni_filter_compile(const char *, char *, size_t);
/* -1 (reported) if the expression names a column the input lacks. */
int			 ni_filter_bind(struct ni_filter *, struct ni_reader *);
/* 1 if the record matches; a bad field is reported and does not match. */
int			 ni_filter_match(struct ni_filter *, struct ni_reader *,
			    const struct ni_rec *);
void			 ni_filter_free(struct ni_filter **);
/* RFC 3339, or a date, or minutes (2026-12-04T10:00Z). */
int			 ni_time_parse_loose(const char *, ni_time *);
/* 90, 90s, 250ms, 5m, 2h, 1d as microseconds; -1 if not a duration. */
int			 ni_duration_parse(const char *, int64_t *);

/*
 * Threat intelligence: feeds named in a config file ("category source
 * [name]" a line), loaded in their published formats; a lookup returns
 * the feeds (a bit each) whose entries cover an address.  Private,
 * loopback, reserved and the given cluster ranges are never matched.
 */
#define NI_INTEL_MAXFEEDS	64
struct ni_intel;
/* verbose: 1 says what each feed gave; -1 reads the config alone. */
struct ni_intel	*ni_intel_load(const char *, const char *const *, int);
uint64_t	 ni_intel_lookup(const struct ni_intel *, const struct ni_addr *);
void		 ni_intel_describe(const struct ni_intel *, uint64_t, char *,
		    size_t, char *, size_t);
size_t		 ni_intel_nfeeds(const struct ni_intel *);
/* Feed i's name; its source (file or URL) and local path. */
const char	*ni_intel_feed(const struct ni_intel *, size_t, const char **,
		    const char **);
void		 ni_intel_stats(const struct ni_intel *, size_t *, size_t *);
void		 ni_intel_free(struct ni_intel **);

/*
 * Findings, ni-finding(5): one CSV line a finding, written by the analysers
 * (ni-recon, ni-compromise, ni-baseline) and read by ni-report.
 */
#define NI_FINDING_NCOLS	19
extern const char *const ni_finding_cols[NI_FINDING_NCOLS];
extern const char *const ni_severity_names[4];
enum ni_severity { NI_LOW, NI_MEDIUM, NI_HIGH, NI_CRITICAL };
struct ni_finding {
	ni_time		 time;		/* event time it became certain */
	const char	*card;		/* recon, compromise, behavior */
	const char	*kind;		/* port-scan, inbound-volume, ... */
	enum ni_severity severity;
	int		 score;		/* 0 to 100 */
	const char	*subject, *counterpart;
	const char	*intel, *feeds, *mitre;
	ni_time		 first, last;
	uint64_t	 flows, pkts, bytes, targets;
	const char	*ports, *threshold, *evidence;
};
struct ni_finding_writer;
struct ni_finding_writer *ni_finding_writer_new(FILE *);
void		 ni_finding_write(struct ni_finding_writer *,
		    const struct ni_finding *);
int		 ni_finding_writer_close(struct ni_finding_writer **);

/*
 * A hash map of fixed-size keys (compared as bytes: zero their padding) to
 * fixed-size values, stored inline, for analysers' keyed state.  A value
 * pointer stays valid until the next insertion or removal.
 */
struct ni_map;
/* A 32-bit hash of bytes, never 0: keys that differ in a few bytes spread. */
uint32_t	 ni_hash_bytes(const void *, size_t);
struct ni_map	*ni_map_new(size_t, size_t);
/* The value of a key; with create, a zeroed new one (and *created 1). */
void		*ni_map_get(struct ni_map *, const void *, int, int *);
void		 ni_map_del(struct ni_map *, const void *);
/* Walks the entries: start *iter at 0; NULL at the end. */
void		*ni_map_next(const struct ni_map *, size_t *, const void **);
size_t		 ni_map_count(const struct ni_map *);
void		 ni_map_clear(struct ni_map *);
void		 ni_map_free(struct ni_map **);

/* SHA-256, hex digest: S3 payload hashes and download checks. */
struct ni_sha256 {
	uint32_t	h[8];
	uint64_t	len;
	uint8_t		buf[64];
	size_t		nbuf;
};
void	 ni_sha256_init(struct ni_sha256 *);
void	 ni_sha256_update(struct ni_sha256 *, const void *, size_t);
void	 ni_sha256_hex(struct ni_sha256 *, char [65]);	/* ends it */

#endif /* NI_H */
