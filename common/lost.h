/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loss accounting: what the kernel counted in the per-CPU "lost" map
 * (enum st_lost_counter), said on stderr as it grows and in total at exit.
 */
#ifndef SOCKTRACE_LOST_H
#define SOCKTRACE_LOST_H

#include <stdbool.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "event.h"

struct st_lost {
	struct bpf_map *map;
	__u64 said[ST_LOST_MAX];	/* reported so far */
	struct timespec checked;
};

/* The sum over every CPU of @key's slot in per-CPU array @map: 0 or -errno */
int st_percpu_sum(struct bpf_map *map, __u32 key, __u64 *sum);

void st_lost_init(struct st_lost *l, struct bpf_map *map);
/*
 * Says on stderr what was lost since the last call, at most every 250 ms
 * unless @now, and puts it in @delta (by counter; NULL: not wanted).
 * Returns whether anything was.
 */
bool st_lost_check(struct st_lost *l, bool now, __u64 *delta);

/* The counter's name in JSON and metrics: "ring_buffer_full", ... */
const char *st_lost_reason(__u32 key);
/* At exit: the events lost in total, if any */
void st_lost_total(const struct st_lost *l);

#endif
