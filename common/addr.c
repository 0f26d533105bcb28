// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "event.h"

static const __u8 v4mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

static void format_v6(const __u8 *a, char *buf, size_t len)
{
	int best = -1, best_len = 0, run = -1, i, off = 0;
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
	buf[0] = '\0';
	for (i = 0; i < 8 && (size_t)off < len; i++) {
		if (i == best) {
			off += snprintf(buf + off, len - off, "::");
			i += best_len - 1;
			continue;
		}
		off += snprintf(buf + off, len - off, "%s%x",
				i && i != best + best_len ? ":" : "", w[i]);
	}
}

char *st_addr_format(int family, const __u8 *a, char *buf, size_t len)
{
	if (family == ST_AF_INET)
		snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else if (family != ST_AF_INET6)
		snprintf(buf, len, "?");
	else if (!memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)))
		snprintf(buf, len, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
	else
		format_v6(a, buf, len);
	return buf;
}
