// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "log.h"
#include "lost.h"

#define CHECK_MS	250
#define STR_(x)		#x
#define STR(x)		STR_(x)

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

/* What each counter is called, and what its growth and total say */
static const struct {
	const char *reason;	/* JSON's and the metrics' name */
	const char *now;	/* "... %llu ..." as it happens */
	const char *total;	/* at exit; NULL: the last check said it all */
} said_as[ST_LOST_MAX] = {
	[ST_LOST_EVENTS] = { "ring_buffer_full", "lost %llu events",
			     "%llu events lost in total (ring buffer full)" },
	[ST_LOST_FOLLOW] = { "process_map_full",
			     "process map full: %llu new processes not followed (--max-processes)",
			     "%llu new processes not followed in total (process map full)" },
	[ST_LOST_DNS] = { "dns_ring_buffer_half_full",
			  "lost %llu DNS answers (ring buffer half full): their names are not known",
			  "%llu DNS answers lost in total (ring buffer half full)" },
	[ST_LOST_SERIES] = { "metrics_series_limit",
			     "--metrics: %llu events counted in the \"other\" series: more label "
			     "sets than the limit",
			     "%llu events counted in total in the \"other\" series (more label sets "
			     "than --metrics-max-series)" },
	[ST_LOST_OWNERS] = { "connect_map_full",
			     "connect map full: %llu connects not followed to their end: too "
			     "many waiting for a handshake at once (--max-handshakes)",
			     "%llu connects not followed in total (connect map full)" },
	[ST_LOST_CONNS] = { "connection_map_full",
			    "connection map full: %llu connections not tracked: no lifetime on "
			    "their close (--max-connections)",
			    "%llu connections not tracked in total (connection map full)" },
	[ST_LOST_SEEN] = { "seen_map_full",
			   "memory for seen destinations is full: %llu socket/destination pairs "
			   "forgotten, so a destination sent to again is reported again",
			   "%llu socket/destination pairs forgotten in total (memory for seen "
			   "destinations full)" },
	[ST_LOST_STASH] = { "thread_map_full",
			    "thread map full: %llu calls forgotten before they returned: more "
			    "threads inside the probed calls at once than it holds (--max-threads)",
			    "%llu calls forgotten in total before they returned (thread map full)" },
	[ST_LOST_MMSG] = { "sendmmsg_unexamined",
			   "%llu sendmmsg() messages naming a destination not examined (past the "
			   "first " STR(ST_MMSG_EXAMINED) " of a call): a first send among them is "
			   "not reported",
			   "%llu sendmmsg() messages not examined in total (past the first "
			   STR(ST_MMSG_EXAMINED) " of a call)" },
	[ST_LOST_UNSEEN] = { "close_unseen",
			     "the kernel did not report the end of %llu connections to the state "
			     "hook (found later, their sockets reused or gone): their close lines, if "
			     "any, are missing",
			     "%llu connection ends not reported by the kernel in total (their "
			     "close lines, if any, are missing)" },
	[ST_LOST_CONNECT_UNSEEN] = { "connect_unseen",
				     "the kernel did not report the end of %llu connects to the "
				     "state hook (found when a new connect took their sockets): their "
				     "lines, if any were still to come, are missing",
				     "%llu connect ends not reported by the kernel in total (their "
				     "lines, if any were still to come, are missing)" },
	[ST_LOST_SKIPPED] = { "recursion_missed",
			      "the kernel skipped %llu runs of the tool's BPF programs (a hook fired "
			      "on a CPU where the same program was running: in an interrupt, or in "
			      "a task that preempted it): their events, if any, are not printed",
			      "%llu runs of the tool's BPF programs skipped in total by the kernel "
			      "(recursion)" },
};

void st_lost_add(struct st_lost *l, __u32 key, __u64 n)
{
	if (key < ST_LOST_MAX)
		l->added[key] += n;
}

void st_lost_skipped(struct st_lost *l, struct bpf_object *obj)
{
	struct bpf_prog_info info;
	struct bpf_program *p;
	__u64 sum = 0;
	__u32 len;

	bpf_object__for_each_program(p, obj) {
		if (bpf_program__fd(p) < 0)	/* not loaded: never run */
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			sum += info.recursion_misses;
	}
	/* only this adds to ST_LOST_SKIPPED: what it holds is the kernel's sum so far */
	if (sum > l->added[ST_LOST_SKIPPED])
		st_lost_add(l, ST_LOST_SKIPPED, sum - l->added[ST_LOST_SKIPPED]);
}

int st_lost_sum(const struct st_lost *l, __u32 key, __u64 *sum)
{
	int err = 0;

	*sum = 0;
	if (l->map)
		err = st_percpu_sum(l->map, key, sum);
	if (err)
		return err;
	*sum += l->added[key];
	return 0;
}

const char *st_lost_reason(__u32 key)
{
	return key < ST_LOST_MAX ? said_as[key].reason : NULL;
}

bool st_lost_due(struct st_lost *l, bool now)
{
	if (!now && st_ms_since(&l->checked) < CHECK_MS)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &l->checked);
	return true;
}

bool st_lost_check(struct st_lost *l, __u64 *delta)
{
	bool any = false;
	__u64 sum;
	__u32 key;

	if (delta)
		memset(delta, 0, ST_LOST_MAX * sizeof(*delta));
	for (key = 0; key < ST_LOST_MAX; key++) {
		if (st_lost_sum(l, key, &sum) || sum == l->said[key])
			continue;
		st_err(said_as[key].now, (unsigned long long)(sum - l->said[key]));
		if (delta)
			delta[key] = sum - l->said[key];
		l->said[key] = sum;
		any = true;
	}
	return any;
}

void st_lost_total(const struct st_lost *l)
{
	__u32 key;

	for (key = 0; key < ST_LOST_MAX; key++)
		if (l->said[key] && said_as[key].total)
			st_err(said_as[key].total, (unsigned long long)l->said[key]);
}
