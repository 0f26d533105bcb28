/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The JSON writer every JSON line goes through: one object per line, its
 * members in the order written, strings through st_json_string() (the real
 * bytes, nothing a terminal would take as a control sequence), and null for
 * what is not known.
 */
#ifndef SOCKTRACE_JSON_H
#define SOCKTRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct st_json {
	FILE *f;
	bool first;		/* no member yet: no comma before the next */
	bool fields;		/* journal fields instead: st_json_begin_fields() */
};

/* "{": the line's object starts */
void st_json_begin(struct st_json *j, FILE *f);

/*
 * The same members as journal fields instead (--journal): a line
 * "SOCKTRACE_KEY=value" each, KEY in capitals; strings as the columns
 * escape them (no control byte, no newline), a strings' array joined by
 * spaces, null members left out; no braces.
 */
void st_json_begin_fields(struct st_json *j, FILE *f);
/* "}" and the newline */
void st_json_end(struct st_json *j);

/* "key":"value", or "key":null if @value is NULL */
void st_json_str(struct st_json *j, const char *key, const char *value);
/* "key":"..." from @len bytes, whatever they hold (NULs included) */
void st_json_bytes(struct st_json *j, const char *key, const void *b, size_t len);
void st_json_uint(struct st_json *j, const char *key, unsigned long long v);
/* @v if @known, else null: a value the tool does not know is never a 0 */
void st_json_uint_known(struct st_json *j, const char *key, bool known,
			unsigned long long v);
void st_json_null(struct st_json *j, const char *key);
/* "key":["a","b"] from @n strings packed one after another, each NUL-ended */
void st_json_strs(struct st_json *j, const char *key, const char *strs, size_t n);

#endif
