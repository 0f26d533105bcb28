/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Calls forgotten by a per-thread stash whose return cannot tell: a BPF side
 * that stashes a call and whose return may find nothing for a reason of its
 * own (a send that names no destination, a connect whose SYN never left)
 * counts the stashes it made and those its returns found, in two .bss
 * counters. Made, less those still in the map, less those found, read in
 * that order, is never more than the stashes the map forgot: a stash is in
 * the map before it is counted made, and counted found before it leaves.
 */
#ifndef SOCKTRACE_FORGOTTEN_H
#define SOCKTRACE_FORGOTTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "lost.h"

struct st_forgotten {
	const struct bpf_map *map;	/* the stash, keyed by a __u32 thread id */
	size_t value_size;		/* its value's, ST_FORGOTTEN_VALUE_MAX at most */
	bool (*counted)(const void *value);	/* an entry of the kind counted */
	const __u64 *made, *found;	/* the BPF side's counters */
	/* the counters at the last walk of the map, and the calls since */
	__u64 last_made, last_found;
	unsigned int idle;
};

#define ST_FORGOTTEN_VALUE_MAX	128
/*
 * Calls between two walks of the map while its counters hold still: an
 * entry left there for good (a call whose return is never seen) keeps made
 * above found, and a walk reads every entry; one a newer insert evicted
 * since is counted at the next walk.
 */
#define ST_FORGOTTEN_IDLE_CALLS	20

/*
 * Adds to ST_LOST_STASH what @f's counters say was forgotten since the last
 * call; the caller must be the only one adding there (st_lost_add()).
 */
void st_forgotten_count(struct st_lost *l, struct st_forgotten *f);

#endif
