/* nistore.c -- a bucket: S3-compatible object storage over libcurl (SigV4), or a local directory. */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ni.h"

struct buf {
	char		*p;
	size_t		 len, cap;
};

struct ni_store {
	char		*url;		/* as given, for messages */
	char		*prefix;	/* key prefix, "" or ending in '/' */
	int		 s3;
	/* local */
	char		*root;
	/* S3 */
	char		*bucket, *endpoint, *region, *sigv4;
	char		*akid, *secret, *token;
	int		 pathstyle, retries;
	CURL		*curl;
	uint64_t	 nretries;
	char		 meta_sha[65];	/* x-amz-meta-sha256 of the last GET */
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = ni_reallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(1, NULL);
	buf_add(b, s, (size_t)n);
	free(s);
}

/* RFC 3986 percent-encoding, as SigV4 wants it; '/' kept when asked. */
static void
buf_encode(struct buf *b, const char *s, int keepslash)
{
	static const char hex[] = "0123456789ABCDEF";
	char	 e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keepslash && c == '/'))
			buf_add(b, s, 1);
		else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			buf_add(b, e, 3);
		}
	}
}

/*
 * Credentials come from the environment or the shared credentials file of
 * the AWS tools, never from the command line, and are never printed.
 */
static int
load_credentials(struct ni_store *st, const char *profile)
{
	const char	*e, *home;
	char		*path = NULL, *line = NULL, *k, *v, *q;
	size_t		 cap = 0;
	ssize_t		 n;
	FILE		*fp;
	int		 in = 0;

	if ((e = getenv("AWS_ACCESS_KEY_ID")) != NULL && *e != '\0' &&
	    getenv("AWS_SECRET_ACCESS_KEY") != NULL) {
		st->akid = ni_strdup(e);
		st->secret = ni_strdup(getenv("AWS_SECRET_ACCESS_KEY"));
		if ((e = getenv("AWS_SESSION_TOKEN")) != NULL && *e != '\0')
			st->token = ni_strdup(e);
		return 0;
	}
	if (profile == NULL && (profile = getenv("AWS_PROFILE")) == NULL)
		profile = "default";
	if ((e = getenv("AWS_SHARED_CREDENTIALS_FILE")) != NULL)
		path = ni_strdup(e);
	else if ((home = getenv("HOME")) != NULL &&
	    asprintf(&path, "%s/.aws/credentials", home) == -1)
		err(1, NULL);
	if (path != NULL && (fp = fopen(path, "r")) != NULL) {
		while ((n = getline(&line, &cap, fp)) != -1) {
			for (k = line; isspace((unsigned char)*k); k++)
				continue;
			for (q = k + strlen(k); q > k &&
			    isspace((unsigned char)q[-1]);)
				*--q = '\0';
			if (*k == '[') {
				in = strncmp(k + 1, profile, strlen(profile)) == 0 &&
				    k[1 + strlen(profile)] == ']';
				continue;
			}
			if (!in || (v = strchr(k, '=')) == NULL)
				continue;
			for (q = v; q > k && isspace((unsigned char)q[-1]); q--)
				continue;
			*q = '\0';
			for (v++; isspace((unsigned char)*v); v++)
				continue;
			if (strcmp(k, "aws_access_key_id") == 0)
				st->akid = ni_strdup(v);
			else if (strcmp(k, "aws_secret_access_key") == 0)
				st->secret = ni_strdup(v);
			else if (strcmp(k, "aws_session_token") == 0)
				st->token = ni_strdup(v);
		}
		fclose(fp);
	}
	free(line);
	if (st->akid == NULL || st->secret == NULL) {
		warnx("%s: no credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY, or profile [%s] in %s", st->url,
		    profile, path != NULL ? path : "~/.aws/credentials");
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

struct ni_store *
ni_store_open(const char *url, const struct ni_store_opts *o)
{
	struct ni_store	*st;
	const char	*p, *e;
	size_t		 n;

	st = ni_calloc(1, sizeof(*st));
	st->url = ni_strdup(url);
	if (strncmp(url, "s3://", 5) != 0) {
		p = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
		if (*p == '\0') {
			warnx("%s: an empty directory name", url);
			ni_store_close(&st);
			return NULL;
		}
		st->root = ni_strdup(p);
		st->prefix = ni_strdup("");
		return st;
	}
	st->s3 = 1;
	p = url + 5;
	n = strcspn(p, "/");
	if (n == 0) {
		warnx("%s: no bucket name (s3://bucket/prefix)", url);
		ni_store_close(&st);
		return NULL;
	}
	st->bucket = ni_strndup(p, n);
	p += n;
	while (*p == '/')
		p++;
	if (*p == '\0')
		st->prefix = ni_strdup("");
	else if (p[strlen(p) - 1] == '/')
		st->prefix = ni_strdup(p);
	else if (asprintf(&st->prefix, "%s/", p) == -1)
		err(1, NULL);
	if ((e = o->region) == NULL && (e = getenv("AWS_REGION")) == NULL &&
	    (e = getenv("AWS_DEFAULT_REGION")) == NULL)
		e = "us-east-1";
	st->region = ni_strdup(e);
	if ((e = o->endpoint) == NULL && (e = getenv("AWS_ENDPOINT_URL_S3")) ==
	    NULL)
		e = getenv("AWS_ENDPOINT_URL");
	if (e != NULL) {
		st->endpoint = ni_strndup(e, strlen(e) -
		    (strlen(e) > 0 && e[strlen(e) - 1] == '/'));
		/* MinIO, Ceph and most private stores want path style. */
		st->pathstyle = o->addressing != 'v';
	} else {
		if (asprintf(&st->endpoint, "https://s3.%s.amazonaws.com",
		    st->region) == -1)
			err(1, NULL);
		st->pathstyle = o->addressing == 'p';
	}
	if (asprintf(&st->sigv4, "aws:amz:%s:s3", st->region) == -1)
		err(1, NULL);
	st->retries = o->retries;
	if (load_credentials(st, o->profile) == -1) {
		ni_store_close(&st);
		return NULL;
	}
	if ((st->curl = curl_easy_init()) == NULL)
		errx(1, "%s: cannot start libcurl", url);
	if (o->ca_file != NULL)
		curl_easy_setopt(st->curl, CURLOPT_CAINFO, o->ca_file);
	return st;
}

void
ni_store_opts_config(struct ni_store_opts *o)
{
	if (o->endpoint == NULL)
		o->endpoint = ni_config("endpoint");
	if (o->region == NULL)
		o->region = ni_config("region");
	if (o->profile == NULL)
		o->profile = ni_config("profile");
	if (o->ca_file == NULL)
		o->ca_file = ni_config("ca-file");
}

const char *
ni_store_prefix(const struct ni_store *st)
{
	return st->prefix;
}

const char *
ni_store_url(const struct ni_store *st)
{
	return st->url;
}

uint64_t
ni_store_retries(const struct ni_store *st)
{
	return st->nretries;
}

void
ni_store_close(struct ni_store **stp)
{
	struct ni_store	*st = *stp;

	if (st == NULL)
		return;
	if (st->curl != NULL)
		curl_easy_cleanup(st->curl);
	if (st->secret != NULL)
		explicit_bzero(st->secret, strlen(st->secret));
	free(st->url);
	free(st->prefix);
	free(st->root);
	free(st->bucket);
	free(st->endpoint);
	free(st->region);
	free(st->sigv4);
	free(st->akid);
	free(st->secret);
	free(st->token);
	free(st);
	*stp = NULL;
}

/* S3 ---------------------------------------------------------------- */

struct upload {
	const char	*p;
	size_t		 left;
};

static size_t
on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct upload	*u = arg;
	size_t		 k = size * n < u->left ? size * n : u->left;

	memcpy(dst, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static size_t
on_write(char *src, size_t size, size_t n, void *arg)
{
	buf_add(arg, src, size * n);
	return size * n;
}

static size_t
on_header(char *h, size_t size, size_t n, void *arg)
{
	struct ni_store	*st = arg;
	size_t		 len = size * n;
	static const char name[] = "x-amz-meta-sha256:";

	if (len > sizeof(name) + 64 - 1 &&
	    strncasecmp(h, name, sizeof(name) - 1) == 0) {
		const char *v = h + sizeof(name) - 1;

		while (*v == ' ')
			v++;
		if ((size_t)(h + len - v) >= 64) {
			memcpy(st->meta_sha, v, 64);
			st->meta_sha[64] = '\0';
		}
	}
	return len;
}

/* The text of <tag>...</tag> after *pos, entities decoded; NULL if none. */
static char *
xml_next(const char *xml, const char *tag, const char **pos)
{
	char		 open[64], close[64];
	const char	*s, *e;
	struct buf	 b = { NULL, 0, 0 };

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((s = strstr(*pos != NULL ? *pos : xml, open)) == NULL ||
	    (e = strstr(s, close)) == NULL)
		return NULL;
	*pos = e + strlen(close);
	buf_add(&b, "", 0);
	for (s += strlen(open); s < e; s++) {
		static const struct { const char *ent; char c; } ents[] = {
		    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		    { "&quot;", '"' }, { "&apos;", '\'' } };
		size_t	 i;

		for (i = 0; i < 5; i++)
			if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (i < 5) {
			buf_add(&b, &ents[i].c, 1);
			s += strlen(ents[i].ent) - 1;
		} else if (strncmp(s, "&#", 2) == 0 && strchr(s, ';') != NULL &&
		    strchr(s, ';') < e) {
			char c = (char)strtol(s + 2 + (s[2] == 'x'), NULL,
			    s[2] == 'x' ? 16 : 10);

			buf_add(&b, &c, 1);
			s = strchr(s, ';');
		} else
			buf_add(&b, s, 1);
	}
	return b.p;
}

/* What a person can do about an S3 error code. */
static const char *
hint(const char *code)
{
	if (code == NULL)
		return "";
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return "; check the secret key (AWS_SECRET_ACCESS_KEY or the "
		    "credentials file)";
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return "; check the access key id (AWS_ACCESS_KEY_ID or the "
		    "credentials file)";
	if (strcmp(code, "NoSuchBucket") == 0)
		return "; create the bucket first, or check its name";
	if (strcmp(code, "AccessDenied") == 0)
		return "; the credentials are not allowed to do this";
	if (strcmp(code, "AuthorizationHeaderMalformed") == 0)
		return "; check the region (--region or AWS_REGION)";
	return "";
}

static void
sleep_backoff(int attempt)
{
	struct timespec	 ts;
	double		 cap = 0.1 * (double)(1 << (attempt < 8 ? attempt : 8));

	/* Full jitter: many uploaders do not retry in step. */
	if (cap > 20)
		cap = 20;
	cap *= (double)random() / RAND_MAX;
	ts.tv_sec = (time_t)cap;
	ts.tv_nsec = (long)((cap - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/*
 * One S3 request, retried on connection errors, timeouts, 5xx and 429.
 * 0 with the body in resp on 2xx; -1 on an error retrying cannot fix; -2
 * when the store stayed unreachable.  Both reported, naming the object.
 */
static int
s3_request(struct ni_store *st, const char *method, const char *key,
    const char *query, const void *body, size_t blen,
    const char *const *meta, struct buf *resp, long *codep)
{
	struct curl_slist	*h = NULL;
	struct buf		 url = { NULL, 0, 0 }, hb = { NULL, 0, 0 };
	struct upload		 up;
	struct ni_sha256	 sha;
	char			 hex[65], err[CURL_ERROR_SIZE];
	char			*code = NULL, *msg = NULL;
	const char		*pos;
	long			 http = 0;
	CURLcode		 rc;
	int			 attempt, rval = -2;

	ni_sha256_init(&sha);
	ni_sha256_update(&sha, body, blen);
	ni_sha256_hex(&sha, hex);
	if (st->pathstyle) {
		buf_printf(&url, "%s/", st->endpoint);
		buf_encode(&url, st->bucket, 0);
		buf_add(&url, "/", 1);
	} else {
		const char *host = strstr(st->endpoint, "://");

		host = host != NULL ? host + 3 : st->endpoint;
		buf_add(&url, st->endpoint, (size_t)(host - st->endpoint));
		buf_printf(&url, "%s.%s/", st->bucket, host);
	}
	buf_encode(&url, key, 1);
	if (query != NULL)
		buf_printf(&url, "?%s", query);
	/* libcurl signs this header and uses it as the payload hash. */
	buf_printf(&hb, "x-amz-content-sha256: %s", hex);
	h = curl_slist_append(h, hb.p);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	if (st->token != NULL) {
		hb.len = 0;
		buf_printf(&hb, "x-amz-security-token: %s", st->token);
		h = curl_slist_append(h, hb.p);
	}
	for (; meta != NULL && *meta != NULL; meta += 2) {
		hb.len = 0;
		buf_printf(&hb, "x-amz-meta-%s: %s", meta[0], meta[1]);
		h = curl_slist_append(h, hb.p);
	}

	for (attempt = 0; attempt <= st->retries; attempt++) {
		if (attempt > 0) {
			st->nretries++;
			sleep_backoff(attempt);
		}
		resp->len = 0;
		st->meta_sha[0] = '\0';
		curl_easy_reset(st->curl);
		curl_easy_setopt(st->curl, CURLOPT_URL, url.p);
		curl_easy_setopt(st->curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(st->curl, CURLOPT_AWS_SIGV4, st->sigv4);
		curl_easy_setopt(st->curl, CURLOPT_USERNAME, st->akid);
		curl_easy_setopt(st->curl, CURLOPT_PASSWORD, st->secret);
		curl_easy_setopt(st->curl, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(st->curl, CURLOPT_WRITEDATA, resp);
		curl_easy_setopt(st->curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(st->curl, CURLOPT_HEADERDATA, st);
		curl_easy_setopt(st->curl, CURLOPT_ERRORBUFFER, err);
		curl_easy_setopt(st->curl, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(st->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(st->curl, CURLOPT_LOW_SPEED_TIME, 30L);
		curl_easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L);
		if (strcmp(method, "PUT") == 0) {
			up.p = body;
			up.left = blen;
			curl_easy_setopt(st->curl, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(st->curl, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(st->curl, CURLOPT_READDATA, &up);
			curl_easy_setopt(st->curl, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)blen);
		}
		err[0] = '\0';
		rc = curl_easy_perform(st->curl);
		if (rc != CURLE_OK) {
			/* TLS and URL errors will not get better. */
			if (rc == CURLE_PEER_FAILED_VERIFICATION ||
			    rc == CURLE_SSL_CACERT_BADFILE ||
			    rc == CURLE_URL_MALFORMAT ||
			    rc == CURLE_UNSUPPORTED_PROTOCOL) {
				warnx("%s: %s %s: %s", st->url, method, key,
				    *err ? err : curl_easy_strerror(rc));
				rval = -1;
				goto out;
			}
			if (attempt == st->retries)
				warnx("%s: %s %s: %s (%d tries)", st->url,
				    method, key, *err ? err :
				    curl_easy_strerror(rc), attempt + 1);
			continue;
		}
		curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &http);
		if (http >= 200 && http < 300) {
			rval = 0;
			goto out;
		}
		pos = NULL;
		free(code);
		free(msg);
		code = resp->p != NULL ? xml_next(resp->p, "Code", &pos) : NULL;
		pos = NULL;
		msg = resp->p != NULL ? xml_next(resp->p, "Message", &pos) : NULL;
		if (http >= 500 || http == 429 || http == 408) {
			if (attempt == st->retries)
				warnx("%s: %s %s: %ld %s (%d tries)", st->url,
				    method, key, http, code != NULL ? code :
				    "server error", attempt + 1);
			continue;
		}
		if (http != 404 || codep == NULL)
			warnx("%s: %s %s: %ld %s%s%s%s", st->url, method, key,
			    http, code != NULL ? code : "error",
			    msg != NULL && *msg != '\0' ? ": " : "",
			    msg != NULL ? msg : "", hint(code));
		rval = -1;
		goto out;
	}
out:
	if (codep != NULL)
		*codep = http;
	free(code);
	free(msg);
	free(url.p);
	free(hb.p);
	curl_slist_free_all(h);
	return rval;
}

/* local ------------------------------------------------------------- */

static int
mkdirs(char *path)
{
	char	*p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	char	*d = ni_strdup(path), *s;
	int	 fd, rval = 0;

	if ((s = strrchr(d, '/')) != NULL)
		*s = '\0';
	else
		strcpy(d, ".");
	if ((fd = open(s == d ? "/" : d, O_RDONLY | O_DIRECTORY)) == -1 ||
	    fsync(fd) == -1)
		rval = -1;
	if (fd != -1)
		close(fd);
	free(d);
	return rval;
}

/*
 * Writes a whole file durably: a temporary name, fsync, rename, fsync of
 * the directory; a reader never sees half an object.
 */
int
ni_write_durable(const char *path, const void *data, size_t len)
{
	char		*tmp, *dir = ni_strdup(path);
	const char	*p = data;
	ssize_t		 n;
	int		 fd, e;

	if (asprintf(&tmp, "%s.tmp-%ld", path, (long)getpid()) == -1)
		err(1, NULL);
	if (mkdirs(dir) == -1 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) ==
	    -1) {
		e = errno;
		goto fail;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			unlink(tmp);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1 ||
	    fsync_dir(path) == -1) {
		e = errno;
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	free(dir);
	return 0;
fail:
	free(tmp);
	free(dir);
	errno = e;
	return -1;
}

static char *
local_path(const struct ni_store *st, const char *key)
{
	char	*p;

	if (asprintf(&p, "%s/%s", st->root, key) == -1)
		err(1, NULL);
	return p;
}

/* interface ----------------------------------------------------------- */

int
ni_store_put(struct ni_store *st, const char *key, const void *data,
    size_t len, const char *const *meta)
{
	struct buf	 resp = { NULL, 0, 0 };
	char		*path;
	int		 rval;

	if (st->s3) {
		rval = s3_request(st, "PUT", key, NULL, data, len, meta, &resp,
		    NULL);
		free(resp.p);
		return rval;
	}
	path = local_path(st, key);
	if ((rval = ni_write_durable(path, data, len)) == -1)
		warn("%s", path);
	free(path);
	return rval;
}

int
ni_store_get(struct ni_store *st, const char *key, FILE *fp)
{
	struct buf		 resp = { NULL, 0, 0 };
	struct ni_sha256	 sha;
	char			 hex[65], *path, b[65536];
	long			 code = 0;
	size_t			 n;
	FILE			*in;
	int			 rval = 0;

	if (!st->s3) {
		path = local_path(st, key);
		if ((in = fopen(path, "rb")) == NULL) {
			warn("%s", path);
			free(path);
			return -1;
		}
		while ((n = fread(b, 1, sizeof(b), in)) > 0)
			fwrite(b, 1, n, fp);
		if (ferror(in)) {
			warn("%s", path);
			rval = -1;
		}
		fclose(in);
		free(path);
		return rval;
	}
	if ((rval = s3_request(st, "GET", key, NULL, "", 0, NULL, &resp,
	    &code)) != 0) {
		if (code == 404)
			warnx("%s: %s: no such object", st->url, key);
		free(resp.p);
		return rval;
	}
	/* ni-upload stores the SHA-256 of every object it writes. */
	if (st->meta_sha[0] != '\0') {
		ni_sha256_init(&sha);
		ni_sha256_update(&sha, resp.p, resp.len);
		ni_sha256_hex(&sha, hex);
		if (strcmp(hex, st->meta_sha) != 0) {
			warnx("%s: %s: corrupt: SHA-256 %s, stored as %s",
			    st->url, key, hex, st->meta_sha);
			free(resp.p);
			return -1;
		}
	}
	fwrite(resp.p, 1, resp.len, fp);
	free(resp.p);
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keys below root/dir that start with prefix; recursive unless delim. */
static void
local_walk(const struct ni_store *st, const char *dir, const char *prefix,
    int delim, char ***keys, size_t *nkeys)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		*path, *key;

	path = local_path(st, dir);
	if ((d = opendir(path)) == NULL) {
		free(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp-") != NULL)
			continue;
		if (asprintf(&key, "%s%s", dir, de->d_name) == -1)
			err(1, NULL);
		if (strncmp(key, prefix, strlen(prefix) < strlen(key) ?
		    strlen(prefix) : strlen(key)) != 0) {
			free(key);
			continue;
		}
		free(path);
		path = local_path(st, key);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			char *sub;

			if (asprintf(&sub, "%s/", key) == -1)
				err(1, NULL);
			if (delim && strlen(sub) > strlen(prefix)) {
				if ((*nkeys & (*nkeys - 1)) == 0)
					*keys = ni_reallocarray(*keys,
					    *nkeys * 2 + 1, sizeof(char *));
				(*keys)[(*nkeys)++] = sub;
			} else {
				local_walk(st, sub, prefix, delim, keys, nkeys);
				free(sub);
			}
			free(key);
		} else if (strlen(key) >= strlen(prefix)) {
			if ((*nkeys & (*nkeys - 1)) == 0)
				*keys = ni_reallocarray(*keys, *nkeys * 2 + 1,
				    sizeof(char *));
			(*keys)[(*nkeys)++] = key;
		} else
			free(key);
	}
	closedir(d);
	free(path);
}

int
ni_store_list(struct ni_store *st, const char *prefix, int delim,
    ni_store_list_cb cb, void *arg)
{
	struct buf	 q = { NULL, 0, 0 }, resp = { NULL, 0, 0 };
	char		**keys = NULL, *token = NULL, *s, *dir, *slash, *more;
	const char	*pos;
	size_t		 nkeys = 0, i;
	int		 rval = 0;

	if (!st->s3) {
		dir = ni_strdup(prefix);
		if ((slash = strrchr(dir, '/')) != NULL)
			slash[1] = '\0';
		else
			dir[0] = '\0';
		local_walk(st, dir, prefix, delim, &keys, &nkeys);
		if (nkeys > 0)
			qsort(keys, nkeys, sizeof(char *), cmpstr);
		for (i = 0; i < nkeys; i++) {
			cb(keys[i], keys[i][strlen(keys[i]) - 1] == '/', arg);
			free(keys[i]);
		}
		free(keys);
		free(dir);
		return 0;
	}
	do {
		/* Parameters sorted by name and encoded: libcurl signs them
		 * as they are written here. */
		q.len = 0;
		buf_add(&q, "", 0);
		if (token != NULL) {
			buf_add(&q, "continuation-token=", 19);
			buf_encode(&q, token, 0);
			buf_add(&q, "&", 1);
		}
		if (delim)
			buf_add(&q, "delimiter=%2F&", 14);
		buf_add(&q, "list-type=2&prefix=", 19);
		buf_encode(&q, prefix, 0);
		if ((rval = s3_request(st, "GET", "", q.p, "", 0, NULL, &resp,
		    NULL)) != 0)
			break;
		pos = NULL;
		while ((s = xml_next(resp.p, "Key", &pos)) != NULL) {
			cb(s, 0, arg);
			free(s);
		}
		pos = NULL;
		while ((s = xml_next(resp.p, "Prefix", &pos)) != NULL) {
			/* the listing's own <Prefix> is the one asked for */
			if (strcmp(s, prefix) != 0)
				cb(s, 1, arg);
			free(s);
		}
		free(token);
		token = NULL;
		pos = NULL;
		more = xml_next(resp.p, "IsTruncated", &pos);
		if (more != NULL && strcmp(more, "true") == 0) {
			pos = NULL;
			token = xml_next(resp.p, "NextContinuationToken", &pos);
		}
		free(more);
	} while (token != NULL);
	free(token);
	free(q.p);
	free(resp.p);
	return rval;
}
