/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A few lines of test harness: CHECK() records, main() prints the tally. */
#ifndef SOCKTRACE_UNIT_H
#define SOCKTRACE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		unit_passed++;						\
	} else {							\
		unit_failed++;						\
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#define CHECK_STR(got, want) \
	CHECK(strcmp((got), (want)) == 0, "got '%s', want '%s'", (got), (want))

static inline int unit_report(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
