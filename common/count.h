/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Count mode (-c, every tool): events counted per group instead of printed.
 * A group is what the output's columns show of an event (the tool's count
 * columns: process, workload, destination...) and its cgroup; the table is
 * printed biggest first at exit and, with -i, every interval (then emptied):
 * the columns (the count in the ST_F_COUNT one), or one JSON line a row
 * through the output's writer ("event":"count").
 *
 * The table holds ST_COUNT_MAX_ROWS groups; once full (or out of memory), an
 * event of a new group is not counted (those of its groups still are),
 * and the table says how many were not, on stderr and, with -j, in a lost
 * line after its rows ("reason": "count_table_full" or "count_no_memory").
 */
#ifndef SOCKTRACE_COUNT_H
#define SOCKTRACE_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include "output.h"

#define ST_COUNT_MAX_ROWS 65536

struct st_counts {
	void *root;			/* tsearch tree of rows */
	size_t nrows;
	size_t max_rows;		/* ST_COUNT_MAX_ROWS: a unit test fills a smaller one */
	unsigned long long dropped;	/* events of groups past max_rows */
	unsigned long long no_memory;	/* events of groups there was no memory for */
	__u64 interval_ns;		/* -i, or 0: at exit only */
	__u64 due_ns;			/* CLOCK_MONOTONIC of the next table */
	bool printed;			/* a table before: the next is set apart */
};

void st_count_init(struct st_counts *c, unsigned interval_s);
/* One more for @data's group (an event of @out's columns): 0, or -EINVAL for
 * a malformed record (not counted) */
int st_count_add(struct st_counts *c, struct st_output *out, const void *data, size_t size);
/* The table on @out if an interval is over (@force: now), then an empty one */
void st_count_print(struct st_counts *c, struct st_output *out, bool force);
/* Frees the rows, printed or not */
void st_count_free(struct st_counts *c);

#endif
