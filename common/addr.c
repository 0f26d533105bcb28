// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "addr.h"
#include "event.h"

/* ::ffff:a.b.c.d, compared a word at a time: half a line's addresses are IPv6 */
static bool v4mapped(const __u8 *a)
{
	static const __u8 prefix[4] = { 0, 0, 0xff, 0xff };	/* bytes 8 to 11 */
	__u64 zero;
	__u32 tail, want;

	memcpy(&zero, a, sizeof(zero));
	memcpy(&tail, a + 8, sizeof(tail));
	memcpy(&want, prefix, sizeof(want));
	return !zero && tail == want;
}

/*
 * By hand, not snprintf: two addresses are in every event's row, and
 * printf's machinery was most of the tool's time per event
 * (docs/performance.md). Each writes at @p, which has room, and returns the end.
 */
static char *put_v4(char *p, const __u8 *a)
{
	unsigned int v, i;

	for (i = 0; i < 4; i++) {
		v = a[i];
		if (v >= 100) {		/* the hundreds without a division */
			*p++ = v >= 200 ? '2' : '1';
			v -= v >= 200 ? 200 : 100;
			*p++ = (char)('0' + v / 10);
		} else if (v >= 10) {
			*p++ = (char)('0' + v / 10);
		}
		*p++ = (char)('0' + v % 10);
		*p++ = '.';
	}
	return p - 1;		/* not the last '.' */
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
	int best = -1, best_len = 0, i;
	unsigned int w[8], zero = 0, m, starts = 0;

	for (i = 0; i < 8; i++) {
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
		zero |= (unsigned int)!w[i] << i;
	}
	/* after k rounds, bit i of m says groups i..i+k are all zero: the
	 * rounds are the longest run, the last bits left where such runs start */
	for (m = zero; m; best_len++) {
		starts = m;
		m &= m >> 1;
	}
	if (best_len >= 2)
		best = __builtin_ctz(starts);	/* the first on a tie */
	else
		best_len = 0;
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

char *st_addr_put(int family, const __u8 *a, char *p)
{
	if (family == ST_AF_INET)
		return put_v4(p, a);
	if (family != ST_AF_INET6) {
		*p++ = '?';
		return p;
	}
	if (v4mapped(a)) {
		memcpy(p, "::ffff:", 7);
		return put_v4(p + 7, a + 12);
	}
	return put_v6(p, a);
}

char *st_addr_format(int family, const __u8 *a, char *buf, size_t len)
{
	char tmp[ST_ADDR_STRLEN], *end = st_addr_put(family, a, tmp);

	if (len) {		/* cut as snprintf cuts */
		if ((size_t)(end - tmp) >= len)
			end = tmp + len - 1;
		memcpy(buf, tmp, end - tmp);
		buf[end - tmp] = '\0';
	}
	return buf;
}
