/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Filters shared by every tool: configuration, their maps and predicates. */
#ifndef SOCKTRACE_FILTER_BPF_H
#define SOCKTRACE_FILTER_BPF_H

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

/* Filters on the current task; call only in the owner's process context. */
static __always_inline bool want_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (st_cfg.filter_pid && !bpf_map_lookup_elem(&pids, &tgid))
		return false;
	if (st_cfg.filter_uid && (__u32)bpf_get_current_uid_gid() != st_cfg.uid)
		return false;
	if (st_cfg.filter_cgroup && bpf_current_task_under_cgroup(&cgroups, 0) != 1)
		return false;
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
