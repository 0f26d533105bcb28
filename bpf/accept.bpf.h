/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TCP accepts on every backend, each reported exactly once. The including
 * tool defines, before this header,
 *
 *     static __always_inline void on_accept(struct sock *sk, struct sock *listener,
 *                                           bool typed);
 *     static __always_inline bool accept_task_wanted(void);
 *
 * on_accept() is called in the accepting task with the new socket and its
 * listener (NULL if unknown); @typed: both are typed by the kernel's BTF
 * (fexit), their struct sock fields plain loads (SK_READ(), sock.bpf.h).
 * accept_task_wanted() is asked first, before any
 * read of a socket: a tool that filters accepts only by task returns
 * want_current() there, so that rejected tasks cost one check.
 *
 * Two kinds of hook feed on_accept():
 *  - fexit/kretprobe on inet_csk_accept see every accept, io_uring's too,
 *    but not one already blocked in accept() when they were attached;
 *  - the sys_exit_accept/accept4 tracepoints see every accept() syscall,
 *    blocked before the start or not, but not io_uring's.
 * The fentry and kprobe backends load both, attach the syscall side only if a
 * thread is blocked in accept() at the start (common/attach.c), and split
 * the work once it is attached: the syscall side reports accept() syscalls,
 * the function side the rest (io_uring's). The tracepoint backend has the
 * syscall side alone.
 */
#ifndef SOCKTRACE_ACCEPT_BPF_H
#define SOCKTRACE_ACCEPT_BPF_H
#include "stash.bpf.h"

/*
 * Where the syscall side stands (enum st_accept_catch_up), set by user space
 * once st_attach_all() has decided (struct st_tool's .catch_up). While it is
 * ST_ACCEPT_STARTING, the syscall side may be attached between an accept's
 * function return and its syscall exit: the function side reports the accept
 * and leaves its socket in accept_seen, so that the syscall side does not
 * report it again. Only then: afterwards no accept writes a map.
 */
__u32 accept_catch_up = ST_ACCEPT_STARTING;
bool accept_seen_used = false;	/* an entry was written: the syscall side looks */

/*
 * The socket inet_csk_accept() returned in this thread during the start,
 * until its syscall exits. A plain hash, so that nothing is evicted: it
 * holds the accept() calls that return in those few milliseconds, as many
 * as --max-threads (user space sizes it; one entry on tracepoints, where
 * nothing writes it). When it
 * is full the accept is left to the syscall side and counted as forgotten
 * (ST_LOST_STASH), printed by the syscall side if that was attached in time.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_THREADS_DEFAULT);
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

static __always_inline bool is_tcp_as(const struct sock *sk, bool typed)
{
	/* typed: fentry, with ring buffers (5.8), past these bitfields (5.6) */
	if (typed)
		return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM;
	return sk_protocol(sk) == IPPROTO_TCP && sk_type(sk) == SOCK_STREAM;
}

/*
 * Whether this task is in the accept() or accept4() syscall, which the
 * syscall side sees: 1, 0 (io_uring, a 32-bit task's socketcall()), or -1
 * where this architecture's numbers are not known here.
 */
static __always_inline int in_accept_syscall(void)
{
	long nr = current_syscall();

#if defined(ST_NR_ACCEPT)
	return nr == ST_NR_ACCEPT || nr == ST_NR_ACCEPT4;
#else
	return nr < 0 ? -1 : 0;
#endif
}

/*
 * Whether the syscall side reports this accept of @sk, the function side
 * then not. While starting, the function side reports an accept() syscall's
 * and notes it for the syscall side, which may be attached by its exit;
 * when the note cannot be taken, the accept is left to the syscall side
 * and counted as forgotten: printed if it was attached in time.
 */
static __always_inline bool syscall_side_reports(__u64 sk)
{
	__u32 tid;
	int syscall;

	if (accept_catch_up == ST_ACCEPT_NO_CATCH_UP)
		return false;
	tid = (__u32)bpf_get_current_pid_tgid();	/* not needed before */
	syscall = in_accept_syscall();
	if (syscall > 0 && accept_catch_up == ST_ACCEPT_CAUGHT_UP)
		return true;
	if (!syscall)
		return false;
	accept_seen_used = true;	/* starting, or the syscall not known */
	if (!bpf_map_update_elem(&accept_seen, &tid, &sk, BPF_ANY))
		return false;
	count_lost(ST_LOST_STASH);
	return true;
}

/* inet_csk_accept() returned @sk: report it, unless the syscall side does. */
static __always_inline void accept_returned(struct sock *sk, struct sock *listener,
					    bool typed)
{
	if (!accept_task_wanted() || !sk || !is_tcp_as(sk, typed))
		return;
	if (!syscall_side_reports((__u64)sk))
		on_accept(sk, listener, typed);
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
	sk = ret >= 0 ? sock_from_fd((int)ret) : NULL;
	seen = accept_seen_used ? bpf_map_lookup_elem(&accept_seen, &tid) : NULL;
	done = seen && *seen == (__u64)sk;
	if (seen)
		bpf_map_delete_elem(&accept_seen, &tid);
	if (!sk || done || !is_tcp_as(sk, false))
		return;
	/* the listener gives the backlog, which no metric has */
	on_accept(sk, events_out() ? syscall_listener() : NULL, false);
}

/*
 * inet_csk_accept()'s second argument since 6.10, asked for by name: not
 * every vmlinux.h the objects are built from has it (arm64's is 6.1's), and
 * CO-RE matches a local type by its name without the ___ suffix.
 */
struct proto_accept_arg___st {
	int flags;
};

SEC("fexit/inet_csk_accept")
int BPF_PROG(fexit_inet_csk_accept, struct sock *listener)
{
	struct sock *sk;

	/*
	 * The return value, typed: it follows the arguments, two since 6.10
	 * (struct proto_accept_arg), four before. CO-RE settles the branch
	 * at load time, so the verifier never sees the other's access, which
	 * it would refuse. In asm: the compiler would otherwise make one load
	 * at a computed offset, which the verifier refuses on a context.
	 */
	if (bpf_core_type_exists(struct proto_accept_arg___st))
		asm volatile("%[sk] = *(u64 *)(%[ctx] + 16)" : [sk] "=r"(sk) : [ctx] "r"(ctx));
	else
		asm volatile("%[sk] = *(u64 *)(%[ctx] + 32)" : [sk] "=r"(sk) : [ctx] "r"(ctx));
	accept_returned(sk, listener, true);
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
	accept_returned(sk, l, false);
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
