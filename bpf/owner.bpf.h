/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who a socket belongs to, taken in process context and kept by socket, so
 * that events the kernel raises in softirq (the handshake's end, a reset)
 * name the process, not whatever task the interrupt happened to hit.
 */
#ifndef SOCKTRACE_OWNER_BPF_H
#define SOCKTRACE_OWNER_BPF_H

#define ST_PF_IO_WORKER	0x00000010	/* include/linux/sched.h */

struct owner {
	__u64 start_ns;		/* a connect's SYN: owner_of_connect() */
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 ns_pid;
	__u32 uid;
	char comm[ST_COMM_LEN];	/* 8-aligned, as the event's: copied in two loads */
	__u8 reported;
};

static __always_inline void current_comm(char comm[ST_COMM_LEN])
{
	struct task_struct *task;
	unsigned int flags;

	/* typed where the kernel has it (5.11): a load, not a helper call */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		flags = bpf_get_current_task_btf()->flags;
	} else {
		task = (struct task_struct *)bpf_get_current_task();
		flags = BPF_CORE_READ(task, flags);
	}
	/* io_uring's io-wq workers are threads named iou-wrk-N: name the process */
	if (flags & ST_PF_IO_WORKER) {
		task = (struct task_struct *)bpf_get_current_task();
		BPF_CORE_READ_STR_INTO((char (*)[ST_COMM_LEN])comm, task, group_leader, comm);
	} else {
		bpf_get_current_comm(comm, ST_COMM_LEN);
	}
}

/*
 * @o from the current task: who, not when (start_ns), which only a
 * connect's latency needs (owner_of_connect()): a clock read less for
 * every close and accept.
 */
static __always_inline void owner_of_current(struct owner *o)
{
	current_ids(&o->pid, &o->tid);
	o->cgroup_id = bpf_get_current_cgroup_id();
	if (events_out()) {
		o->ns_pid = own_ns_tgid();
		o->uid = (__u32)bpf_get_current_uid_gid();
	}
	current_comm(o->comm);
}

/* @o from the current task, as its connect's SYN leaves: its latency's start */
static __always_inline void owner_of_connect(struct owner *o)
{
	owner_of_current(o);
	o->start_ns = bpf_ktime_get_ns();
}

/* Copies who into an event's head. */
static __always_inline void owner_to_event(const struct owner *o, struct st_event_head *h)
{
	h->pid = o->pid;
	h->tid = o->tid;
	h->ns_pid = o->ns_pid;
	h->cgroup_id = o->cgroup_id;
	h->uid = o->uid;
	__builtin_memcpy(h->comm, o->comm, sizeof(h->comm));
}

/* The current task into an event's head, for events taken in its context. */
static __always_inline void head_of_current(struct st_event_head *h)
{
	current_ids(&h->pid, &h->tid);
	h->cgroup_id = bpf_get_current_cgroup_id();
	if (events_out()) {
		h->ns_pid = own_ns_tgid();
		h->uid = (__u32)bpf_get_current_uid_gid();
	}
	current_comm(h->comm);
}

#endif
