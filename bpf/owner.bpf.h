/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who a socket belongs to, taken in process context and kept by socket, so
 * that events the kernel raises in softirq (the handshake's end, a reset)
 * name the process, not whatever task the interrupt happened to hit.
 */
#ifndef SOCKTRACE_OWNER_BPF_H
#define SOCKTRACE_OWNER_BPF_H

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

/*
 * @o from the current task: who, not when (start_ns), which only a
 * connect's latency needs (owner_of_connect()): a clock read less for
 * every close and accept.
 */
static __always_inline void owner_of_current(struct owner *o)
{
	struct task_struct *t = cur_task();

	current_ids(t, &o->pid, &o->tid);
	o->cgroup_id = cur_cgroup_id(t);
	if (events_out()) {
		o->ns_pid = cur_ns_tgid(t);
		o->uid = cur_uid(t);
	}
	cur_comm(t, o->comm);
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
	struct task_struct *t = cur_task();

	current_ids(t, &h->pid, &h->tid);
	h->cgroup_id = cur_cgroup_id(t);
	if (events_out()) {
		h->ns_pid = cur_ns_tgid(t);
		h->uid = cur_uid(t);
	}
	cur_comm(t, h->comm);
}

#endif
