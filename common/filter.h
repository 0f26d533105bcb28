/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The filters every tool applies in the kernel: -p, -u, -N, --cgroup,
 * --container, --unit, -P, -4/-6. Before load they become the object's
 * st_config rodata (zero: off, so the verifier drops the branch); after load
 * the maps get what rodata cannot hold (a long -p list, COMMAND's PID, the
 * ports, the cgroup, the workload's cgroup ids, and later the new ones).
 */
#ifndef SOCKTRACE_FILTER_H
#define SOCKTRACE_FILTER_H

#include <stdbool.h>
#include "args.h"
#include "idset.h"
#include "skeleton.h"
#include "workload_filter.h"

struct st_filter {
	int cgroup_fd;		/* --cgroup, or -1 */
	bool sees_all_tasks;	/* in the initial PID namespace: /proc shows every thread */
	/* --container, --unit: which cgroup ids, into the workload_cgroups map */
	struct st_workload_filter *workload;
	struct bpf_map *workload_map;
	struct st_cgroups *cgroups;	/* to tell a removed cgroup's id */
	/*
	 * Cgroups of the workload the map had no room for: each counted once
	 * in workload_dropped (past ST_MAX_WORKLOAD_CGROUPS refused ones, or
	 * without memory, at each offer) and kept in @refused, tried again
	 * when a prune of removed cgroups makes room. workload_said: what the
	 * tool has said of the count so far.
	 */
	struct st_idset refused;
	unsigned long long workload_dropped, workload_said;
	long prune_after;	/* CLOCK_MONOTONIC seconds: no prune of the map before */
};

/* The st_config for @opts (the PID namespace and map-held parts aside) */
void st_config_init(struct st_config *cfg, const struct st_opts *opts);
/* Whether @cfg filters on tasks: task_filter_on() in bpf/filter.bpf.h */
bool st_config_filters_tasks(const struct st_config *cfg);
/* -p and COMMAND: the pids map is used, not st_config.pid_list */
bool st_pids_in_map(const struct st_opts *opts);

/* Before load: @b's st_config, the tool's PID namespace, --cgroup opened. 0 or -errno. */
int st_filter_prepare(struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b);
/*
 * Before load, for --container and --unit: resolves them against @w (a
 * name that matches nothing is -ENOENT, an ambiguous one -EINVAL, said in
 * one line). 0 if neither is given.
 */
int st_filter_workload_open(struct st_filter *f, const struct st_opts *opts,
			    struct st_workloads *w);
/* After load: the filter maps. 0 or -errno, said in one line. */
int st_filter_fill(struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b);
/*
 * The workload's cgroups that appeared since: into the map, without
 * blocking. When the map is full the ids of removed cgroups are taken out;
 * if that leaves no room, a new cgroup is not traced until a later prune
 * makes room (counted in workload_dropped, for the caller to say).
 * 0 or -errno, said in one line.
 */
int st_filter_workload_update(struct st_filter *f);
/* Readable when st_filter_workload_update() has something to do; -1 if never */
int st_filter_workload_fd(const struct st_filter *f);
void st_filter_close(struct st_filter *f);

#endif
