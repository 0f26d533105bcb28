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
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u8 reported;
	char comm[ST_COMM_LEN];
};

static __always_inline void owner_of_current(struct owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	current_ids(&o->pid, &o->tid);
	o->uid = (__u32)bpf_get_current_uid_gid();
	/* io_uring's io-wq workers are threads named iou-wrk-N: name the process */
	if (BPF_CORE_READ(task, flags) & ST_PF_IO_WORKER)
		BPF_CORE_READ_STR_INTO(&o->comm, task, group_leader, comm);
	else
		bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Copies who into an event. */
static __always_inline void owner_to_event(const struct owner *o, struct inet_event *e)
{
	e->pid = o->pid;
	e->tid = o->tid;
	e->uid = o->uid;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
}

#endif
