/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The current task: its ids, uid, cgroup, name and PID in its own
 * namespace. Where the kernel types the current task
 * (bpf_get_current_task_btf(), 5.11), one helper call gives it and each
 * field is a plain load the kernel guards against faults. Before, one
 * helper call a field, as the kernel offers them. Every event takes
 * these: in the 6.12 guest the five helper calls (and the user namespace
 * mapping inside bpf_get_current_uid_gid()) were about a third of
 * tcptracer's BPF time (docs/performance.md).
 *
 * Pass cur_task() to the others, taken once for the fields one caller
 * reads together: on the untyped path it is NULL and they call the
 * helpers.
 */
#ifndef SOCKTRACE_TASK_BPF_H
#define SOCKTRACE_TASK_BPF_H

/* Settled at load time (CO-RE): the verifier sees one branch */
#define ST_TASK_TYPED bpf_core_enum_value_exists(enum bpf_func_id, \
						 BPF_FUNC_get_current_task_btf)

#define ST_PF_IO_WORKER	0x00000010	/* include/linux/sched.h */

static __always_inline struct task_struct *cur_task(void)
{
	return ST_TASK_TYPED ? bpf_get_current_task_btf() : NULL;
}

/* tgid << 32 | tid, as bpf_get_current_pid_tgid() gives them */
static __always_inline __u64 cur_pid_tgid(struct task_struct *t)
{
	if (ST_TASK_TYPED)
		return (__u64)t->tgid << 32 | (__u32)t->pid;
	return bpf_get_current_pid_tgid();
}

/* The cgroup v2 id, as bpf_get_current_cgroup_id() (its cgroup_id()) */
static __always_inline __u64 cur_cgroup_id(struct task_struct *t)
{
	if (ST_TASK_TYPED)
		return t->cgroups->dfl_cgrp->kn->id;
	return bpf_get_current_cgroup_id();
}

/* The uid in the initial user namespace: there a kuid_t is the number */
static __always_inline __u32 cur_uid(struct task_struct *t)
{
	if (ST_TASK_TYPED)
		return t->cred->uid.val;
	return (__u32)bpf_get_current_uid_gid();
}

/*
 * @w, 8 bytes of a string (little-endian: the first byte is the lowest),
 * with every byte from its first NUL on zeroed, as the helper's copy pads
 * them; *@nul set if it has one. The lowest byte the test flags is always
 * a NUL (a borrow only flags bytes above one).
 */
static __always_inline __u64 cut_at_nul(__u64 w, bool *nul)
{
	__u64 z = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;

	if (!z)
		return w;
	*nul = true;
	return w & ((z & -z) - 1);
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "cut_at_nul() reads little-endian");

/*
 * The task's name into @comm, 8-aligned (struct owner's, an event head's).
 * Typed: two loads. Bytes after the first NUL are cut, so that one name is
 * one metric label whatever an earlier, longer name left there. At rest
 * comm ends with a NUL; an exec renaming the task may leave 16 bytes
 * without one for an instant, which the helper's copy would not: user
 * space bounds every name to ST_COMM_LEN bytes (st_escape(), strnlen()).
 */
static __always_inline void task_comm(struct task_struct *t, char comm[ST_COMM_LEN])
{
	__u64 *dst = (__u64 *)comm;
	bool nul = false;

	dst[0] = cut_at_nul(*(__u64 *)&t->comm[0], &nul);
	dst[1] = nul ? 0 : cut_at_nul(*(__u64 *)&t->comm[8], &nul);
}

static __always_inline void cur_comm(struct task_struct *t, char comm[ST_COMM_LEN])
{
	unsigned int flags;

	if (ST_TASK_TYPED) {
		/* io_uring's io-wq workers are threads named iou-wrk-N: name the process */
		task_comm(t->flags & ST_PF_IO_WORKER ? t->group_leader : t, comm);
		return;
	}
	t = (struct task_struct *)bpf_get_current_task();
	flags = BPF_CORE_READ(t, flags);
	if (flags & ST_PF_IO_WORKER)
		BPF_CORE_READ_STR_INTO((char (*)[ST_COMM_LEN])comm, t, group_leader, comm);
	else
		bpf_get_current_comm(comm, ST_COMM_LEN);
}

/*
 * The task's tgid in its own (innermost) PID namespace: what `ps` in its
 * container shows. Typed, the chain to its struct pid is loads, and so is
 * the host's level 0; a slot at another level (the verifier takes no
 * variable offset into a typed pointer) is read.
 */
static __always_inline __u32 cur_ns_tgid(struct task_struct *t)
{
	__u64 off = bpf_core_field_offset(struct pid, numbers);
	struct upid up;
	struct pid *p;
	__u32 level, nr;

	if (ST_TASK_TYPED) {
		p = t->group_leader->thread_pid;
		if (!p)
			return 0;
		level = p->level;
		/* every struct pid has level 0's slot. Kept before the
		 * branch (barrier_var()): the compiler would otherwise share
		 * one load with the read's (up.nr), from two kinds of pointer,
		 * which the verifier refuses */
		nr = p->numbers[0].nr;
		barrier_var(nr);
		if (!level)
			return nr;
	} else {
		t = (struct task_struct *)bpf_get_current_task();
		p = BPF_CORE_READ(t, group_leader, thread_pid);
		level = p ? BPF_CORE_READ(p, level) : 0;
	}
	if (!p || bpf_probe_read_kernel(&up, sizeof(up),
					(void *)((__u64)p + off + level * sizeof(struct upid))))
		return 0;
	return up.nr;
}

#endif
