/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The filters every tool applies in the kernel: -p, -u, -N, --cgroup, -P, -4/-6.
 * Before load they become the object's st_config rodata (zero: off, so the
 * verifier drops the branch); after load the maps get what rodata cannot
 * hold (a long -p list, COMMAND's PID, the ports, the cgroup).
 */
#ifndef SOCKTRACE_FILTER_H
#define SOCKTRACE_FILTER_H

#include <stdbool.h>
#include "args.h"
#include "skeleton.h"

struct st_filter {
	int cgroup_fd;		/* --cgroup, or -1 */
	bool sees_all_tasks;	/* in the initial PID namespace: /proc shows every thread */
};

/* The st_config for @opts (the PID namespace and map-held parts aside) */
void st_config_init(struct st_config *cfg, const struct st_opts *opts);
/* -p and COMMAND: the pids map is used, not st_config.pid_list */
bool st_pids_in_map(const struct st_opts *opts);

/* Before load: @b's st_config, the tool's PID namespace, --cgroup opened. 0 or -errno. */
int st_filter_prepare(struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b);
/* After load: the filter maps. 0 or -errno, said in one line. */
int st_filter_fill(const struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b);
void st_filter_close(struct st_filter *f);

#endif
