/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Count mode (tcpconnect -c): events counted per (family, local address,
 * remote address, remote port) instead of printed, and the table printed at
 * exit, biggest first: LADDR RADDR RPORT CONNECTS, or one JSON line a row.
 */
#ifndef SOCKTRACE_COUNT_H
#define SOCKTRACE_COUNT_H

#include <stddef.h>
#include "event.h"
#include "output.h"

struct st_counts {
	void *root;		/* tsearch tree of rows */
	size_t nrows;
};

/* One more for @e's row: 0, or -ENOMEM said in one line */
int st_count_add(struct st_counts *c, const struct inet_event *e);
/* The table on @out (@event: the JSON rows' "event"), biggest first; frees the rows */
void st_count_print(struct st_counts *c, struct st_output *out, const char *event);

#endif
