/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TCP accepts on every backend, each reported exactly once. The including
 * tool defines, before this header,
 *
 *     static __always_inline void on_accept(struct sock *sk, struct sock *listener);
 *     static __always_inline bool accept_task_wanted(void);
 *
 * on_accept() is called in the accepting task with the new socket and its
 * listener (NULL if unknown). accept_task_wanted() is asked first, before any
 * read of a socket: a tool that filters accepts only by task returns
 * want_current() there, so that rejected tasks cost one check.
 *
 * Two kinds of hook feed on_accept():
 *  - fexit/kretprobe on inet_csk_accept see every accept, io_uring's too,
 *    but not one already blocked in accept() when they were attached;
 *  - the sys_exit_accept/accept4 tracepoints see every accept() syscall,
 *    blocked before the start or not, but not io_uring's.
 * The fentry and kprobe backends load both, attach the syscall side only if a
 * thread is blocked in accept() at the start (common/attach.c), and
 * the syscall side reports only what the function side did not
 * (accept_seen); the tracepoint backend has the syscall side alone.
 */
#ifndef SOCKTRACE_ACCEPT_BPF_H
#define SOCKTRACE_ACCEPT_BPF_H
#include "stash.bpf.h"

/*
 * Set to true by user space when the syscall side is not attached (struct
 * st_tool's .no_catch_up): the function side then stops writing
 * accept_seen, an entry per accept that nothing reads. Until then it
 * writes, so that an accept returning while the syscall side is being
 * attached is not reported twice.
 */
bool accept_no_catch_up = false;

/* The socket inet_csk_accept() last returned in this thread, for the syscall side. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} accept_seen SEC(".maps");

/* kprobe backend: the listener, from entry to return, by thread (the stash) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ST_THREADS_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
} accept_listener SEC(".maps");

static __always_inline bool is_tcp(const struct sock *sk)
{
	return sk_protocol(sk) == IPPROTO_TCP && sk_type(sk) == SOCK_STREAM;
}

/* inet_csk_accept() returned @sk: report it and tell the syscall side. */
static __always_inline void accept_returned(struct sock *sk, struct sock *listener)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 v = (__u64)sk;

	if (!accept_task_wanted() || !sk || !is_tcp(sk))
		return;
	if (!accept_no_catch_up)
		bpf_map_update_elem(&accept_seen, &tid, &v, BPF_ANY);
	on_accept(sk, listener);
}

/* The listener of an accept() returning now: its fd is still in the
 * syscall's saved registers (the first argument). */
static __always_inline struct sock *syscall_listener(void)
{
	return sock_from_fd((int)SYSCALL_EXIT_ARG1(syscall_regs()));
}

static __always_inline void accept_syscall_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *seen;
	struct sock *sk;
	bool done;

	if (!accept_task_wanted())
		return;
	seen = bpf_map_lookup_elem(&accept_seen, &tid);
	sk = ret >= 0 ? sock_from_fd((int)ret) : NULL;
	done = seen && *seen == (__u64)sk;
	if (seen)
		bpf_map_delete_elem(&accept_seen, &tid);
	if (!sk || done || !is_tcp(sk))
		return;
	/* the listener gives the backlog, which no metric has */
	on_accept(sk, events_out() ? syscall_listener() : NULL);
}

SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept, struct sock *listener)
{
	__u64 ret = 0;

	/* only the first argument and the return value: the others changed
	 * in 6.10 (struct proto_accept_arg) */
	bpf_get_func_ret(ctx, &ret);
	accept_returned((struct sock *)ret, listener);
	return 0;
}

SEC("kprobe/inet_csk_accept")
int BPF_KPROBE(kprobe_inet_csk_accept, struct sock *listener)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 v = (__u64)listener;

	if (accept_task_wanted())
		bpf_map_update_elem(&accept_listener, &tid, &v, BPF_ANY);
	return 0;
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kretprobe_inet_csk_accept, struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *listener = bpf_map_lookup_elem(&accept_listener, &tid);
	struct sock *l = listener ? (struct sock *)*listener : NULL;

	if (listener)
		bpf_map_delete_elem(&accept_listener, &tid);
	else	/* accepted all the same, its listener (the backlog) unknown */
		stash_missed(accept_task_wanted());
	accept_returned(sk, l);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_sys_exit_accept(SYSCALL_EXIT_CTX *ctx)
{
	accept_syscall_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_sys_exit_accept4(SYSCALL_EXIT_CTX *ctx)
{
	accept_syscall_exit(ctx->ret);
	return 0;
}

#endif
