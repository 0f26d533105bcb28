/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Filters shared by every tool: configuration, their maps and predicates. */
#ifndef SOCKTRACE_FILTER_BPF_H
#define SOCKTRACE_FILTER_BPF_H

#include "task.bpf.h"

const volatile struct st_config st_cfg = {};

/* tgids to trace: the -p list, or COMMAND and its descendants */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

/*
 * --container, --unit: the cgroups of that workload, by id. User space fills
 * it at start and adds the cgroups that appear later (a container or unit
 * that starts after the tool): one lookup per check, whatever the workload.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_MAX_WORKLOAD_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} workload_cgroups SEC(".maps");

#define ST_MAX_PIDNS_LEVEL 32	/* the kernel's own MAX_PID_NS_LEVEL */

/*
 * @p's number in the tool's PID namespace, false if it has none there. Its
 * level there is unknown to user space (/proc's NSpid starts at /proc's own
 * namespace), so the levels are searched from the outermost: as many reads
 * as the task is deep, and every depth the kernel allows.
 */
static __always_inline bool ns_pid(struct pid *p, __u32 *nr)
{
	__u32 i, top = p ? BPF_CORE_READ(p, level) : 0;
	struct upid up;

	for (i = 0; p && i <= ST_MAX_PIDNS_LEVEL && i <= top; i++) {
		if (bpf_probe_read_kernel(&up, sizeof(up), (void *)p +
					  bpf_core_field_offset(struct pid, numbers) +
					  i * sizeof(struct upid)))
			return false;
		if (BPF_CORE_READ(up.ns, ns.inum) == st_cfg.pidns_ino) {
			*nr = up.nr;
			return true;
		}
	}
	return false;
}

/*
 * @task's tgid and tid as `ps` shows them where the tool runs (bcc #5145:
 * in a container, not the host's numbers); false if it is not visible there.
 */
static __always_inline bool task_ids(struct task_struct *task, __u32 *tgid, __u32 *tid)
{
	if (!st_cfg.pidns_ino) {
		*tgid = BPF_CORE_READ(task, tgid);
		*tid = BPF_CORE_READ(task, pid);
		return true;
	}
	return ns_pid(BPF_CORE_READ(task, group_leader, thread_pid), tgid) &&
	       ns_pid(BPF_CORE_READ(task, thread_pid), tid);
}

/* @t: cur_task() (task.bpf.h) */
static __always_inline bool current_ids(struct task_struct *t, __u32 *tgid, __u32 *tid)
{
	__u64 pid_tgid;

	if (st_cfg.pidns_ino)
		return task_ids((struct task_struct *)bpf_get_current_task(), tgid, tid);
	pid_tgid = cur_pid_tgid(t);
	*tgid = pid_tgid >> 32;
	*tid = (__u32)pid_tgid;
	return true;
}

/*
 * -p: a short list is compared in place. The syscall hooks ask this of
 * every task's calls, and st_cfg is in cache already; a hash lookup there
 * costs several cache misses, most of a rejecting hook's time.
 */
static __always_inline bool want_tgid(__u32 tgid)
{
	__u32 i;

	if (st_cfg.filter_pid == ST_PIDS_MAP)
		return bpf_map_lookup_elem(&pids, &tgid);
#pragma unroll
	for (i = 0; i < ST_CFG_PIDS; i++)
		if (i < st_cfg.npids && st_cfg.pid_list[i] == tgid)
			return true;
	return false;
}

/* A filter on the task is set (-p or COMMAND, -u, --cgroup, --container,
 * --unit); the user side asks the same: st_config_filters_tasks() */
static __always_inline bool task_filter_on(void)
{
	return st_cfg.filter_pid || st_cfg.filter_uid || st_cfg.filter_cgroup ||
	       st_cfg.filter_workload;
}

/* Filters on the current task; call only in the owner's process context. */
static __always_inline bool want_current(void)
{
	struct task_struct *t = cur_task();
	__u32 tgid, tid;

	if (!current_ids(t, &tgid, &tid))
		return false;	/* outside the tool's PID namespace */
	if (st_cfg.filter_pid && !want_tgid(tgid))
		return false;
	if (st_cfg.filter_uid && cur_uid(t) != st_cfg.uid)
		return false;
	if (st_cfg.filter_cgroup && bpf_current_task_under_cgroup(&cgroups, 0) != 1)
		return false;
	if (st_cfg.filter_workload) {
		__u64 id = cur_cgroup_id(t);

		if (!bpf_map_lookup_elem(&workload_cgroups, &id))
			return false;
	}
	return true;
}

static __always_inline bool want_family(__u16 family)
{
	if (family != ST_AF_INET && family != ST_AF_INET6)
		return false;
	return !st_cfg.family || st_cfg.family == family;
}

static __always_inline bool want_netns(__u64 netns)
{
	return !st_cfg.netns || st_cfg.netns == netns;
}

/* port in host byte order */
static __always_inline bool want_port(__u16 port)
{
	return !st_cfg.filter_port || bpf_map_lookup_elem(&ports, &port);
}

#endif
