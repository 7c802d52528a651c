/* niconfig.c -- defaults for cron jobs: "key = value" lines of the file NI_CONFIG names. */
#include "config.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ni.h"

struct kv {
	char	*key, *value;
};

static struct kv	*kvs;
static size_t		 nkvs;
static int		 loaded;

/* Reads the file once; a bad line or a missing file ends the program. */
static void
load(void)
{
	const char	*path = getenv("NI_CONFIG");
	char		*line = NULL, *p, *eq, *k, *v;
	size_t		 cap = 0, lineno = 0;
	FILE		*fp;

	loaded = 1;
	if (path == NULL || *path == '\0')
		return;
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "NI_CONFIG %s", path);
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			continue;
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL)
			errx(1, "%s:%zu: expected \"key = value\"", path, lineno);
		for (k = eq; k > p && isspace((unsigned char)k[-1]); k--)
			continue;
		*k = '\0';
		for (v = eq + 1; isspace((unsigned char)*v); v++)
			continue;
		for (k = v + strlen(v); k > v && isspace((unsigned char)k[-1]);)
			*--k = '\0';
		kvs = ni_reallocarray(kvs, nkvs + 1, sizeof(*kvs));
		kvs[nkvs].key = ni_strdup(p);
		kvs[nkvs++].value = ni_strdup(v);
	}
	free(line);
	fclose(fp);
}

const char *
ni_config(const char *key)
{
	size_t	 i;

	if (!loaded)
		load();
	/* the last line that sets a key wins */
	for (i = nkvs; i-- > 0;)
		if (strcmp(kvs[i].key, key) == 0)
			return kvs[i].value;
	return NULL;
}

char **
ni_split(const char *s, const char *seps, size_t *n)
{
	char	**v = NULL, *c = ni_strdup(s), *p, *save = NULL;

	*n = 0;
	for (p = strtok_r(c, seps, &save); p != NULL;
	    p = strtok_r(NULL, seps, &save)) {
		v = ni_reallocarray(v, *n + 2, sizeof(char *));
		v[(*n)++] = ni_strdup(p);
		v[*n] = NULL;
	}
	free(c);
	return v;
}

void
ni_split_free(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
