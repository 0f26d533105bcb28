// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <stdlib.h>
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
	j->fields = false;
	fputc_unlocked('{', f);
}

void st_json_begin_fields(struct st_json *j, FILE *f)
{
	j->f = f;
	j->first = true;
	j->fields = true;
}

void st_json_end(struct st_json *j)
{
	if (!j->fields)
		fwrite_unlocked("}\n", 1, 2, j->f);
}

/* A field's end */
static void end_field(struct st_json *j)
{
	if (j->fields)
		fputc_unlocked('\n', j->f);
}

/* A string: JSON's, or the columns' escaped text for a field */
static void string(struct st_json *j, const void *b, size_t len)
{
	char stack[ST_ESCAPED_LEN(256)], *buf = stack;

	if (!j->fields) {
		st_json_string(j->f, b, len);
		return;
	}
	if (len > 256)
		buf = malloc(ST_ESCAPED_LEN(len));
	if (buf) {	/* else no memory: the field is left empty */
		st_escape(b, len, 1, buf, ST_ESCAPED_LEN(len));
		fputs_unlocked(buf, j->f);
	}
	if (buf != stack)
		free(buf);
}

/* ,"key": — the keys are the tools' own names, never foreign text */
static void key(struct st_json *j, const char *k)
{
	if (j->fields) {
		fputs_unlocked("SOCKTRACE_", j->f);
		for (; *k; k++)
			fputc_unlocked(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k, j->f);
		fputc_unlocked('=', j->f);
		return;
	}
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
	string(j, b, len);
	end_field(j);
}

void st_json_str(struct st_json *j, const char *k, const char *value)
{
	if (!value) {
		st_json_null(j, k);
		return;
	}
	key(j, k);
	string(j, value, strlen(value));
	end_field(j);
}

void st_json_uint(struct st_json *j, const char *k, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	key(j, k);
	do
		*--p = '0' + v % 10;
	while (v /= 10);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->f);
	end_field(j);
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
	if (j->fields)
		return;		/* an unknown is an absent field */
	key(j, k);
	fwrite_unlocked("null", 1, 4, j->f);
}

void st_json_strs(struct st_json *j, const char *k, const char *strs, size_t n)
{
	size_t i;

	key(j, k);
	if (!j->fields)
		fputc_unlocked('[', j->f);
	for (i = 0; i < n; i++, strs += strlen(strs) + 1) {
		if (i)
			fputc_unlocked(j->fields ? ' ' : ',', j->f);
		string(j, strs, strlen(strs));
	}
	fputc_unlocked(j->fields ? '\n' : ']', j->f);
}
