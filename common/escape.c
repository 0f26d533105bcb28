// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include "escape.h"

/* Length of the valid UTF-8 sequence at @s (C1 controls included), or 0. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* U+0080..U+009F: terminals take some (0x9b is CSI) as control sequences */
static bool is_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

size_t st_escape(const char *in, size_t len, int keep_nul, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	if (!outsz)
		return 0;
	while (i < len && (s[i] || keep_nul)) {
		n = s[i] >= 0x80 ? utf8_len(s + i, len - i) : 0;
		if (n && !is_c1(s + i, n)) {
			if (o + n >= outsz)
				break;
			while (n--)
				out[o++] = s[i++];
		} else if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = s[i++];
		} else {
			if (o + 4 >= outsz)
				break;
			if (s[i] == '\\')
				o += snprintf(out + o, outsz - o, "\\\\");
			else
				o += snprintf(out + o, outsz - o, "\\x%02x", s[i]);
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

/* The escape for the byte(s) at @s (@n: their UTF-8 length, 0 if invalid) */
static int json_escape(const unsigned char *s, size_t n, char out[8])
{
	if (s[0] == '"' || s[0] == '\\')
		return snprintf(out, 8, "\\%c", s[0]);
	if (s[0] < 0x20 || s[0] == 0x7f)
		return snprintf(out, 8, "\\u%04x", s[0]);
	if (!n)		/* PEP 383: byte 0xNN as the lone surrogate U+DCNN */
		return snprintf(out, 8, "\\udc%02x", s[0]);
	return snprintf(out, 8, "\\u%04x", s[1]);	/* C1 */
}

/* Bytes that go out as they are: a run of them is written at once */
static size_t plain_len(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
			i++;
			continue;
		}
		n = s[i] >= 0x80 ? utf8_len(s + i, len - i) : 0;
		if (!n || is_c1(s + i, n))
			break;
		i += n;
	}
	return i;
}

void st_json_string(FILE *f, const void *in, size_t len)
{
	const unsigned char *s = in;
	char esc[8];
	size_t i = 0, n;

	fputc_unlocked('"', f);
	while (i < len) {
		n = plain_len(s + i, len - i);
		fwrite_unlocked(s + i, 1, n, f);
		i += n;
		if (i == len)
			break;
		n = s[i] >= 0x80 ? utf8_len(s + i, len - i) : 1;
		fwrite_unlocked(esc, 1, json_escape(s + i, n, esc), f);
		i += n ? n : 1;
	}
	fputc_unlocked('"', f);
}
