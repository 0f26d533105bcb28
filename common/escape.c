// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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

void st_json_string(FILE *f, const void *in, size_t len)
{
	const unsigned char *s = in;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		n = s[i] >= 0x80 ? utf8_len(s + i, len - i) : 1;
		if (s[i] == '"' || s[i] == '\\')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			fprintf(f, "\\u%04x", s[i]);
		else if (!n)	/* PEP 383: byte 0xNN as the lone surrogate U+DCNN */
			fprintf(f, "\\udc%02x", s[i]);
		else if (is_c1(s + i, n))
			fprintf(f, "\\u%04x", s[i + 1]);
		else
			fwrite(s + i, 1, n, f);
		i += n ? n : 1;
	}
	fputc('"', f);
}
