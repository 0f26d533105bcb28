/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Command mode: the pids map starts with COMMAND's pid and grows with every
 * process it forks, at any depth. raw_tp needs neither tracefs nor BTF-typed
 * arguments, so these run beside any backend; user space loads them only in
 * command mode.
 */
#ifndef SOCKTRACE_FOLLOW_BPF_H
#define SOCKTRACE_FOLLOW_BPF_H

SEC("raw_tp/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid, tid;
	__u8 one = 1;

	if (!task_ids(parent, &ptgid, &tid) || !task_ids(child, &ctgid, &tid))
		return 0;
	if (ptgid == ctgid || !bpf_map_lookup_elem(&pids, &ptgid))
		return 0;	/* a new thread, or not ours */
	if (bpf_map_update_elem(&pids, &ctgid, &one, BPF_ANY))
		count_lost(ST_LOST_FOLLOW);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(follow_exit, struct task_struct *task)
{
	__u32 tgid, tid;

	/* signal->live reaches 0 when the last thread of the group exits */
	if (BPF_CORE_READ(task, signal, live.counter) == 0 && task_ids(task, &tgid, &tid))
		bpf_map_delete_elem(&pids, &tgid);
	return 0;
}

#endif
