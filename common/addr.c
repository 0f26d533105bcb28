// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "addr.h"
#include "event.h"

static const __u8 v4mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

/*
 * By hand, not snprintf: two addresses are in every event's row, and
 * printf's machinery was most of the tool's time per event
 * (docs/performance.md). Each writes at @p, which has room, and returns the end.
 */
static char *put_v4(char *p, const __u8 *a)
{
	unsigned int v;
	int i;

	for (i = 0; i < 4; i++) {
		v = a[i];
		if (i)
			*p++ = '.';
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
	}
	return p;
}

/* a group without leading zeros */
static char *put_hex(char *p, unsigned int w)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift && !(w >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[(w >> shift) & 0xf];
	return p;
}

static char *put_v6(char *p, const __u8 *a)
{
	int best = -1, best_len = 0, run = -1, i;
	unsigned int w[8];

	for (i = 0; i < 8; i++)
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i <= 8; i++) {
		if (i < 8 && !w[i]) {
			if (run < 0)
				run = i;
		} else if (run >= 0) {
			if (i - run > best_len && i - run >= 2) {
				best = run;
				best_len = i - run;
			}
			run = -1;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			*p++ = ':';
		p = put_hex(p, w[i]);
	}
	return p;
}

char *st_addr_format(int family, const __u8 *a, char *buf, size_t len)
{
	char tmp[48], *end = tmp;	/* the longest, 8 groups of 4 and 7 ':', is 39 */

	if (family == ST_AF_INET) {
		end = put_v4(tmp, a);
	} else if (family != ST_AF_INET6) {
		*end++ = '?';
	} else if (!memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix))) {
		memcpy(tmp, "::ffff:", 7);
		end = put_v4(tmp + 7, a + 12);
	} else {
		end = put_v6(tmp, a);
	}
	if (len) {		/* cut as snprintf cuts */
		if ((size_t)(end - tmp) >= len)
			end = tmp + len - 1;
		memcpy(buf, tmp, end - tmp);
		buf[end - tmp] = '\0';
	}
	return buf;
}
