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
	__u64 start_ns;		/* when it was taken: a connect's SYN */
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 ns_pid;
	__u32 uid;
	__u8 reported;
	char comm[ST_COMM_LEN];
};

static __always_inline void current_comm(char comm[ST_COMM_LEN])
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	/* io_uring's io-wq workers are threads named iou-wrk-N: name the process */
	if (BPF_CORE_READ(task, flags) & ST_PF_IO_WORKER)
		BPF_CORE_READ_STR_INTO((char (*)[ST_COMM_LEN])comm, task, group_leader, comm);
	else
		bpf_get_current_comm(comm, ST_COMM_LEN);
}

static __always_inline void owner_of_current(struct owner *o)
{
	o->start_ns = bpf_ktime_get_ns();
	current_ids(&o->pid, &o->tid);
	o->cgroup_id = bpf_get_current_cgroup_id();
	if (events_out()) {
		o->ns_pid = own_ns_tgid((struct task_struct *)bpf_get_current_task());
		o->uid = (__u32)bpf_get_current_uid_gid();
	}
	current_comm(o->comm);
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
		h->ns_pid = own_ns_tgid((struct task_struct *)bpf_get_current_task());
		h->uid = (__u32)bpf_get_current_uid_gid();
	}
	current_comm(h->comm);
}

#endif
