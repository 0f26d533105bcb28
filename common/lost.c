// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "clock.h"
#include "log.h"
#include "lost.h"

#define CHECK_MS	250

int st_percpu_sum(struct bpf_map *map, __u32 key, __u64 *sum)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err;
	__u64 *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map__lookup_elem(map, &key, sizeof(key), vals, ncpu * sizeof(*vals), 0);
	for (*sum = 0, cpu = 0; !err && cpu < ncpu; cpu++)
		*sum += vals[cpu];
	free(vals);
	return err;
}

void st_lost_init(struct st_lost *l, struct bpf_map *map)
{
	l->map = map;
	clock_gettime(CLOCK_MONOTONIC, &l->checked);
}

void st_lost_check(struct st_lost *l, bool now)
{
	__u64 sum;
	__u32 key;

	if (!l->map || (!now && st_ms_since(&l->checked) < CHECK_MS))
		return;
	clock_gettime(CLOCK_MONOTONIC, &l->checked);
	for (key = 0; key < ST_LOST_MAX; key++) {
		if (st_percpu_sum(l->map, key, &sum) || sum == l->said[key])
			continue;
		if (key == ST_LOST_EVENTS)
			st_err("lost %llu events", (unsigned long long)(sum - l->said[key]));
		else if (key == ST_LOST_SERIES)
			st_err("--metrics: %llu events counted in the \"other\" series: more label sets than the limit",
			       (unsigned long long)(sum - l->said[key]));
		else if (key == ST_LOST_DNS)
			st_err("lost %llu DNS answers (ring buffer half full): their names are not known",
			       (unsigned long long)(sum - l->said[key]));
		else
			st_err("process map full: %llu new processes not followed",
			       (unsigned long long)(sum - l->said[key]));
		l->said[key] = sum;
	}
}

void st_lost_total(const struct st_lost *l)
{
	if (l->said[ST_LOST_EVENTS])
		st_err("%llu events lost in total (ring buffer full)",
		       (unsigned long long)l->said[ST_LOST_EVENTS]);
	if (l->said[ST_LOST_DNS])
		st_err("%llu DNS answers lost in total (ring buffer half full)",
		       (unsigned long long)l->said[ST_LOST_DNS]);
}
