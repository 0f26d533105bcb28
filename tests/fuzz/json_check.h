/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A strict reader of socktrace's JSON lines, for the fuzz target and the
 * unit tests, written apart from common/escape.c so that it checks it: one
 * object per line, of strings, numbers and null; no raw control byte, no raw
 * C1 control, no invalid UTF-8; and each string decoded back to bytes the
 * way Python's json.loads() then .encode("utf-8", "surrogateescape") would.
 */
#ifndef SOCKTRACE_JSON_CHECK_H
#define SOCKTRACE_JSON_CHECK_H

#include <stddef.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at @p (@left bytes), or 0. */
static inline size_t jc_utf8(const unsigned char *p, size_t left)
{
	unsigned int cp;
	size_t n, i;

	if (p[0] >= 0xf0)
		n = 4, cp = p[0] & 0x07;
	else if (p[0] >= 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else
		return 0;
	if (n > left || p[0] > 0xf7)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Appends code point @cp as UTF-8 to @out (@cap bytes) at *@k. */
static inline void jc_put_utf8(unsigned char *out, size_t cap, size_t *k, unsigned int cp)
{
	unsigned char b[4];
	size_t n, i;

	if (cp < 0x80)
		b[0] = cp, n = 1;
	else if (cp < 0x800)
		b[0] = 0xc0 | cp >> 6, b[1] = 0x80 | (cp & 0x3f), n = 2;
	else
		b[0] = 0xe0 | cp >> 12, b[1] = 0x80 | ((cp >> 6) & 0x3f),
		b[2] = 0x80 | (cp & 0x3f), n = 3;
	for (i = 0; i < n; i++, (*k)++)
		if (out && *k < cap)
			out[*k] = b[i];
}

static inline int jc_hex4(const char *p, const char *end, unsigned int *v)
{
	int i;

	*v = 0;
	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/*
 * The string whose opening quote *@pp is just past, decoded into @out (@cap
 * bytes; NULL to only check) with its length in *@n. 0 or -1 if not one we
 * would write: a lone \udc80..\udcff is the byte it escapes; any other
 * surrogate escape is refused, as the writer never makes one.
 */
static inline int jc_string(const char **pp, const char *end, unsigned char *out,
			    size_t cap, size_t *n)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
	unsigned int cp;
	size_t k = 0, m;
	const char *s;

	while (p < e && *p != '"') {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p == '\\') {
			if (++p >= e)
				return -1;
			if (*p == 'u') {
				if (jc_hex4((const char *)p + 1, end, &cp))
					return -1;
				p += 5;
				if (cp >= 0xdc80 && cp <= 0xdcff) {
					if (out && k < cap)
						out[k] = cp & 0xff;
					k++;
				} else if (cp >= 0xd800 && cp <= 0xdfff) {
					return -1;
				} else {
					jc_put_utf8(out, cap, &k, cp);
				}
				continue;
			}
			for (s = simple; *s && *s != (char)*p; s += 2)
				;
			if (!*s)
				return -1;
			if (out && k < cap)
				out[k] = s[1];
			k++, p++;
			continue;
		}
		m = *p < 0x80 ? 1 : jc_utf8(p, e - p);
		if (!m || (m == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			return -1;
		for (; m; m--, k++, p++)
			if (out && k < cap)
				out[k] = *p;
	}
	if (p >= e)
		return -1;
	*pp = (const char *)p + 1;
	*n = k;
	return 0;
}

/* -?[0-9]+(.[0-9]+)? */
static inline int jc_number(const char **pp, const char *end)
{
	const char *p = *pp, *d;

	if (p < end && *p == '-')
		p++;
	for (d = p; p < end && *p >= '0' && *p <= '9'; p++)
		;
	if (p == d)
		return -1;
	if (p < end && *p == '.') {
		for (d = ++p; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p == d)
			return -1;
	}
	*pp = p;
	return 0;
}

/* An array of strings (-d's "cnames") at *@pp, '[' included */
static inline int jc_strings(const char **pp, const char *end)
{
	const char *p = *pp + 1;
	size_t n;

	if (p < end && *p == ']') {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		if (p >= end || *p++ != '"' || jc_string(&p, end, NULL, 0, &n) || p >= end)
			return -1;
		if (*p == ']') {
			*pp = p + 1;
			return 0;
		}
		if (*p++ != ',')
			return -1;
	}
}

/*
 * Checks that @line (@len bytes) is one JSON object and a newline. The
 * string value of member @want is decoded into @out (@cap bytes), its length
 * in *@outlen; *@found is 1 for a string, 2 for null, 0 if absent.
 * Returns 0, or -1 if the line is not valid.
 */
static inline int jc_line(const char *line, size_t len, const char *want,
			  unsigned char *out, size_t cap, size_t *outlen, int *found)
{
	const char *p = line, *end = line + len;
	unsigned char key[64];
	size_t klen, n;
	int mine;

	*found = 0;
	if (len < 3 || end[-1] != '\n' || *p++ != '{')
		return -1;
	end--;
	if (*p == '}')
		return p + 1 == end ? 0 : -1;
	for (;;) {
		if (p >= end || *p++ != '"' || jc_string(&p, end, key, sizeof(key), &klen) ||
		    klen >= sizeof(key) || p >= end || *p++ != ':' || p >= end)
			return -1;
		mine = want && strlen(want) == klen && !memcmp(key, want, klen);
		if (*p == '"') {
			p++;
			if (jc_string(&p, end, mine ? out : NULL, cap, &n))
				return -1;
			if (mine)
				*found = 1, *outlen = n;
		} else if (end - p >= 4 && !memcmp(p, "null", 4)) {
			p += 4;
			if (mine)
				*found = 2;
		} else if (*p == '[') {
			if (jc_strings(&p, end))
				return -1;
		} else if (jc_number(&p, end)) {
			return -1;
		}
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		return p < end && *p == '}' && p + 1 == end ? 0 : -1;
	}
}

#endif
