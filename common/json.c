// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <string.h>
#include "escape.h"
#include "json.h"

/*
 * A line per event, several thousand a second on a busy machine: the members
 * go out with plain writes, not printf's format parsing (three times the
 * cost of the event's formatting otherwise).
 */
void st_json_begin(struct st_json *j, FILE *f)
{
	j->f = f;
	j->first = true;
	fputc_unlocked('{', f);
}

void st_json_end(struct st_json *j)
{
	fwrite_unlocked("}\n", 1, 2, j->f);
}

/* ,"key": — the keys are the tools' own names, never foreign text */
static void key(struct st_json *j, const char *k)
{
	if (!j->first)
		fputc_unlocked(',', j->f);
	j->first = false;
	fputc_unlocked('"', j->f);
	fputs_unlocked(k, j->f);
	fwrite_unlocked("\":", 1, 2, j->f);
}

void st_json_bytes(struct st_json *j, const char *k, const void *b, size_t len)
{
	key(j, k);
	st_json_string(j->f, b, len);
}

void st_json_str(struct st_json *j, const char *k, const char *value)
{
	if (!value) {
		st_json_null(j, k);
		return;
	}
	key(j, k);
	st_json_string(j->f, value, strlen(value));
}

void st_json_uint(struct st_json *j, const char *k, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	key(j, k);
	do
		*--p = '0' + v % 10;
	while (v /= 10);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->f);
}

void st_json_uint_known(struct st_json *j, const char *k, bool known, unsigned long long v)
{
	if (known)
		st_json_uint(j, k, v);
	else
		st_json_null(j, k);
}

void st_json_null(struct st_json *j, const char *k)
{
	key(j, k);
	fwrite_unlocked("null", 1, 4, j->f);
}

void st_json_strs(struct st_json *j, const char *k, const char *strs, size_t n)
{
	size_t i;

	key(j, k);
	fputc_unlocked('[', j->f);
	for (i = 0; i < n; i++, strs += strlen(strs) + 1) {
		if (i)
			fputc_unlocked(',', j->f);
		st_json_string(j->f, strs, strlen(strs));
	}
	fputc_unlocked(']', j->f);
}
