// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the --metrics page (common/metrics.c) of whatever the
 * kernel's map could hold. The input is cut into map entries (key and
 * value bytes as they come; the first byte of each picks its kind of event,
 * mostly a real one). The page must be the text format: every line a
 * "# HELP"/"# TYPE" line or a sample `name{label="value",...} number`,
 * label values escaped (no control byte, no bare quote or backslash), no
 * sample given twice.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "metrics.h"

static const __u8 kinds[][3] = {
	{ ST_KIND_INET, IPPROTO_TCP, ST_EV_CONNECT }, { ST_KIND_INET, IPPROTO_TCP, ST_EV_ACCEPT },
	{ ST_KIND_INET, IPPROTO_TCP, ST_EV_CLOSE }, { ST_KIND_INET, IPPROTO_UDP, ST_EV_CONNECT },
	{ ST_KIND_INET, IPPROTO_UDP, ST_EV_SEND }, { ST_KIND_UNIX, 0, ST_EV_CONNECT },
	{ ST_KIND_UNIX, 0, ST_EV_ACCEPT },
};

/* The end of a label value at @p (after its opening quote), or NULL */
static const char *value_end(const char *p)
{
	for (; *p && *p != '"'; p++) {
		if (*p == '\\') {
			p++;
			if (*p != '\\' && *p != '"' && *p != 'n')
				return NULL;
		}
	}
	return *p == '"' ? p : NULL;
}

/* One sample line: its name and labels (up to the value) must be sane */
static void check_sample(const char *line, size_t len)
{
	const char *p = line, *end = line + len, *v;

	while (p < end && (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
		p++;
	if (p == line || p >= end)
		abort();
	if (*p == '{') {
		for (p++; p < end && *p != '}';) {
			while (p < end && (*p == '_' || (*p >= 'a' && *p <= 'z')))
				p++;
			if (p + 1 >= end || p[0] != '=' || p[1] != '"')
				abort();
			v = value_end(p + 2);
			if (!v || v >= end)
				abort();
			p = v + 1;
			if (p < end && *p == ',')
				p++;
		}
		if (p >= end || *p++ != '}')
			abort();
	}
	if (p >= end || *p++ != ' ' || p >= end)
		abort();
	for (; p < end; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			abort();
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_page(char *text)
{
	char **lines = NULL, *line, *save = NULL;
	size_t n = 0, i;
	const unsigned char *b;

	for (b = (const unsigned char *)text; *b; b++)
		if ((*b < 0x20 && *b != '\n') || *b == 0x7f)
			abort();
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))
			continue;
		check_sample(line, strlen(line));
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		if (!lines)
			abort();
		*strrchr(line, ' ') = '\0';	/* the sample's name and labels */
		lines[n++] = line;
	}
	qsort(lines, n, sizeof(*lines), cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(lines[i - 1], lines[i]))
			abort();	/* a sample twice: Prometheus would refuse the page */
	free(lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct st_metric_entry) + (size % sizeof(struct st_metric_entry) != 0);
	struct st_metric_entry *e = calloc(n ? n : 1, sizeof(*e));
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	if (!e)
		return 0;
	memcpy(e, data, size);
	for (i = 0; i < n; i++) {
		if (e[i].k.kind % 8 < 7) {	/* mostly a real kind: its family is shown */
			e[i].k.proto = kinds[e[i].k.kind % 8][1];
			e[i].k.type = kinds[e[i].k.kind % 8][2];
			e[i].k.kind = kinds[e[i].k.kind % 8][0];
		}
		/* sums of many must not wrap, as the kernel's counts do not */
		e[i].v.count %= 1000;
		e[i].v.timed %= 1000;
		for (size_t j = 0; j < ST_METRIC_BUCKETS; j++)
			e[i].v.buckets[j] %= 1000;
	}
	f = open_memstream(&text, &len);
	if (!f || st_metrics_write_series(f, e, n, NULL))
		abort();
	fclose(f);
	check_page(text);
	free(text);
	free(e);
	return 0;
}
