// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer target: the number and list parsers every option goes through. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long v, list[8];
	char s[256];
	size_t n, i;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (st_parse_num(s, 1, 65535, &v) == 0 && (v < 1 || v > 65535))
		abort();
	if (st_parse_list(s, 1, 4194304, list, 8, &n) == 0) {
		if (n < 1 || n > 8)
			abort();
		for (i = 0; i < n; i++)
			if (list[i] < 1 || list[i] > 4194304)
				abort();
	}
	return 0;
}
