/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Elapsed time on the monotonic clock, for timeouts and rate limits. */
#ifndef SOCKTRACE_CLOCK_H
#define SOCKTRACE_CLOCK_H

#include <time.h>

/* Milliseconds since @t (CLOCK_MONOTONIC) */
static inline long st_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

#endif
