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
	/* counted by user space (st_lost_add()), on top of the kernel's */
	__u64 added[ST_LOST_MAX];
	struct timespec checked;
};

/* The sum over every CPU of @key's slot in per-CPU array @map: 0 or -errno */
int st_percpu_sum(struct bpf_map *map, __u32 key, __u64 *sum);

void st_lost_init(struct st_lost *l, struct bpf_map *map);
/*
 * Adds @n to counter @key: a loss that user space, not the kernel, finds
 * (a tool's count_lost hook). Said, in JSON and on the metrics page with
 * the kernel's count, from the next check.
 */
void st_lost_add(struct st_lost *l, __u32 key, __u64 n);
/*
 * Adds to ST_LOST_SKIPPED the runs of @obj's programs the kernel skipped
 * since the last call: a hook that fired, from an interrupt, while the same
 * program ran on that CPU (struct bpf_prog_info's recursion_misses, 5.12).
 * The kernel counts them and says nothing; a skipped run's event, if it had
 * one, is lost.
 */
void st_lost_skipped(struct st_lost *l, struct bpf_object *obj);
/* The kernel's count of @key and what st_lost_add() added: 0 or -errno */
int st_lost_sum(const struct st_lost *l, __u32 key, __u64 *sum);
/*
 * Whether losses are to be looked at now: @now, or 250 ms since the last
 * time it said so. Every count of what was lost is asked at that pace.
 */
bool st_lost_due(struct st_lost *l, bool now);
/*
 * Says on stderr what was lost since the last call and puts it in @delta
 * (by counter; NULL: not wanted). Returns whether anything was.
 */
bool st_lost_check(struct st_lost *l, __u64 *delta);

/* The reason of the cgroups --container/--unit could not trace (common/filter.h's
 * workload_dropped), counted in user space: in JSON lost lines and metrics */
#define ST_WORKLOAD_LOSS	"workload_map_full"

/* The counter's name in JSON and metrics: "ring_buffer_full", ... */
const char *st_lost_reason(__u32 key);
/* At exit: the events lost in total, if any */
void st_lost_total(const struct st_lost *l);

#endif
