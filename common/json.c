// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "escape.h"
#include "json.h"

void st_json_begin(struct st_json *j, FILE *f)
{
	j->f = f;
	j->first = true;
	fputc('{', f);
}

void st_json_end(struct st_json *j)
{
	fputs("}\n", j->f);
}

/* ,"key": — the keys are the tools' own names, never foreign text */
static void key(struct st_json *j, const char *k)
{
	fprintf(j->f, "%s\"%s\":", j->first ? "" : ",", k);
	j->first = false;
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
	key(j, k);
	fprintf(j->f, "%llu", v);
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
	fputs("null", j->f);
}
