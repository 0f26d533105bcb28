// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpconnect: active TCP opens and, with -r, their outcome.
 *
 * Every backend runs the same three bodies:
 *  - connect_enter(): a connect starts (kprobe entry);
 *  - on_state():      a socket changes state (tcp_set_state or
 *                     inet_sock_set_state); CLOSE->SYN_SENT runs in the
 *                     connecting task and records the owner, the rest may
 *                     run in softirq and uses that record;
 *  - connect_exit():  the connect returns (fexit, kretprobe,
 *                     sys_exit_connect): the source port is known by now;
 *                     fexit and sys_exit through connect_returned(), which
 *                     has the address a failed call asked for.
 * The tracepoint backend needs no sys_enter_connect: on_state() records the
 * connect that sends a SYN, and sys_exit finds the arguments in the
 * registers (syscall_regs()).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcpconnect.h"
#include "filter.bpf.h"
#include "emit.bpf.h"
#include "sock.bpf.h"
#include "owner.bpf.h"
#include "owners.bpf.h"
#include "follow.bpf.h"
#include "dns.bpf.h"
#include "stash.bpf.h"

#define EINTR		4
#define ECONNRESET	104
#define EISCONN		106
#define ETIMEDOUT	110
#define EALREADY	114
#define EINPROGRESS	115

const volatile struct tcpconnect_cfg cfg = {};

/* A connect() in progress, by thread id: struct tcpconnect_pending
 * (tcpconnect.h) with its destination typed */
struct pending {
	__u64 sk;		/* 0 until known */
	struct dest dest;
	__u8 have_dest;
	__u8 syn_sent;		/* the SYN went out during this call */
	__u8 at_syn;		/* made by syn_sent(): no entry probe saw the call */
	__u8 pad[5];
};
_Static_assert(sizeof(struct pending) == sizeof(struct tcpconnect_pending) &&
	       __builtin_offsetof(struct pending, at_syn) ==
	       __builtin_offsetof(struct tcpconnect_pending, at_syn),
	       "struct pending is struct tcpconnect_pending");

/*
 * The stashes syn_sent() made (fentry and tracepoint backends, which have
 * no entry probe) and those the call's return found. A return that finds
 * none cannot tell a forgotten stash from a call whose SYN never left, so
 * user space counts made - found - those still in the map as calls
 * forgotten (common/forgotten.h, ST_LOST_STASH). A stash is made before
 * syn_made grows, and syn_found grows before it is removed or replaced.
 */
__u64 syn_made = 0;
__u64 syn_found = 0;

/* the stash (bpf/stash.bpf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ST_THREADS_DEFAULT);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

/* How a connect ended: @result, and with @settled, how long and how many
 * SYNs; @typed as for on_state() (bpf/state.bpf.h) */
static __always_inline void emit(struct sock *sk, const struct owner *o,
				 const struct dest *d, int result, bool settled, bool typed)
{
	struct inet_event *e = reserve_event(sizeof(*e), ST_KIND_INET, ST_EV_CONNECT);
	__u32 retrans;

	if (!e)
		return;
	owner_to_event(o, &e->h);
	read_sock_as(sk, e, typed);
	if (d && d->family == e->family) {
		/* the connect failed before the socket took the destination */
		__builtin_memcpy(e->daddr, d->addr, sizeof(e->daddr));
		e->dport = d->port;
	}
	if (settled) {
		e->latency_ns = e->h.time_ns - o->start_ns;
		e->h.flags |= ST_EVF_LATENCY;
		/* no data has left yet: every retransmit was of the SYN */
		retrans = events_out() ? BPF_CORE_READ((struct tcp_sock *)sk, total_retrans) : 0;
		e->syn_retrans = retrans > 255 ? 255 : retrans;
	} else if (result != ST_RESULT_UNKNOWN) {
		e->h.flags |= ST_EVF_LOCAL;	/* it failed inside connect() */
	}
	e->proto = IPPROTO_TCP;
	e->result = result;
	submit_event(e, sizeof(*e));
}

static __always_inline void connect_enter(struct sock *sk, const void *addr, bool user)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending p = { .sk = (__u64)sk };

	/* a task the filters drop costs one check, not a map update */
	if (!want_current())
		return;
	if (cfg.report_result)
		p.have_dest = read_dest(&p.dest, addr, user) == 0;
	bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
}

/* This thread's connect() sent @sk's SYN: in its stash, made if none */
static __always_inline void stash_syn(struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending fresh = { .sk = (__u64)sk, .syn_sent = 1, .at_syn = 1 };
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);

	if (p) {
		p->sk = (__u64)sk;
		p->syn_sent = 1;
		return;
	}
	/* one the map could not take is never found: counted forgotten */
	bpf_map_update_elem(&pending, &tid, &fresh, BPF_ANY);
	__sync_fetch_and_add(&syn_made, 1);
}

static __always_inline void syn_sent(struct sock *sk, bool typed)
{
	struct owner o = {};

	if (!want_current())
		return;
	if (!cfg.no_stash)
		stash_syn(sk);
	if (!want_sk_as(sk, typed) || !want_sk_dport_as(sk, typed))
		return;
	owner_of_connect(&o);
	own(sk, &o);
}

static __always_inline int connect_error(struct sock *sk, bool typed)
{
	int err = SK_READ(typed, sk, sk_err);

	return err ? err : ST_RESULT_CLOSED;
}

/*
 * This thread is inside connect() on @sk (SYN_SENT was set there). Without
 * a stash (none kept, cfg.no_stash, or one forgotten, counted), inside a
 * connect() syscall: a socket closed without an error in the task of that
 * syscall is its own. With cfg.no_stash also in a sendto() or sendmsg():
 * TCP Fast Open's MSG_FASTOPEN connects there, and only fexit sees that
 * return (no sys_exit hook does). Elsewhere (io_uring) the close is said
 * here, and the call's errno again at its return.
 */
static __always_inline bool inside_connect(struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = cfg.no_stash ? NULL : bpf_map_lookup_elem(&pending, &tid);

	if (p)
		return p->sk == (__u64)sk;
#if defined(ST_NR_CONNECT)
	long nr = current_syscall();

	return nr == ST_NR_CONNECT ||
	       (cfg.no_stash && (nr == ST_NR_SENDTO || nr == ST_NR_SENDMSG));
#else
	return false;
#endif
}

/*
 * @sk is still inside tcp_v4/v6_connect(): __inet_stream_connect() marks
 * its struct socket SS_CONNECTING only once that returned 0. A close or a
 * connect(AF_UNSPEC) (tcp_disconnect()) of a socket still connecting comes
 * later, inside a close() or connect() call too, and must be said here: no
 * return of tcp_v4/v6_connect() follows it. An orphan has no struct socket.
 */
static __always_inline bool in_proto_connect(struct sock *sk)
{
	struct socket *so = BPF_CORE_READ(sk, sk_socket);

	return so && BPF_CORE_READ(so, state) == SS_UNCONNECTED;
}

static __always_inline bool state_change_wanted(int old, int new)
{
	return (old == TCP_CLOSE && new == TCP_SYN_SENT) || old == TCP_SYN_SENT;
}

static __always_inline void on_state(struct sock *sk, int old, int new, bool typed)
{
	__u64 key = sk_key(sk);
	struct owner *o;
	int result;

	if (old == TCP_CLOSE && new == TCP_SYN_SENT) {
		syn_sent(sk, typed);
		return;
	}
	if (old != TCP_SYN_SENT)
		return;
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o)
		return;
	/*
	 * tcp_v4/v6_connect() set SYN_SENT, then failed before the SYN left
	 * (no local port left: EADDRNOTAVAIL) and put the socket back to CLOSE
	 * without an error; connect_exit() has the errno and says it.
	 */
	if (new == TCP_CLOSE && !SK_READ(typed, sk, sk_err) && in_proto_connect(sk) &&
	    inside_connect(sk))
		return;
	/* tcp_reset() and tcp_done_with_error() set sk_err before CLOSE */
	result = new == TCP_ESTABLISHED ? 0 : connect_error(sk, typed);
	if (cfg.report_result) {
		if (!cfg.failed_only || result)
			emit(sk, o, NULL, result, true, typed);
	} else if (!o->reported) {
		emit(sk, o, NULL, ST_RESULT_UNKNOWN, false, typed);
	}
	bpf_map_delete_elem(&owners, &key);
}

static __always_inline bool in_progress(int ret)
{
	/* kernel-internal restart codes (>= 512) mean "interrupted" too */
	return ret == -EINPROGRESS || ret == -EALREADY || ret == -EISCONN ||
	       ret == -EINTR || ret <= -512;
}

/* A connect that failed before any SYN left: only -r reports those. */
static __always_inline void failed_early(struct sock *sk, const struct pending *p,
					 int ret, bool typed)
{
	struct owner o = {};

	if (!cfg.report_result || in_progress(ret) || !p || !p->have_dest)
		return;
	/*
	 * Called without a stash, the call's may have been forgotten (counted)
	 * after its SYN left: then the state hook said how it ended. Where the
	 * socket shows it, it is not said again: tcp_v4/v6_connect() clear the
	 * destination port when they fail (a port still set: the SYN left),
	 * and only a SYN can time out or be reset (a blocking connect() that
	 * failed so has cleared the port too). A refusal or an unreachable
	 * network after a forgotten stash may still be said twice.
	 */
	if (sk_dport_as(sk, typed) || ret == -ETIMEDOUT || ret == -ECONNRESET)
		return;
	if (!want_sk_as(sk, typed) || !want_port(p->dest.port) || !want_current())
		return;
	owner_of_current(&o);
	emit(sk, &o, &p->dest, -ret, false, typed);
}

/*
 * cfg.at_return (no -r, on fentry and kprobes): tcp_v4/v6_connect returned
 * @ret; 0 means the connect went ahead with its source port bound (the SYN
 * queued, or held back by TCP_FASTOPEN_CONNECT until the first write), which
 * is all the default output needs, as in bcc. No state hook is loaded then.
 */
static __always_inline void report_now(struct sock *sk, int ret, bool typed)
{
	struct owner o = {};

	if (ret || !want_current() || !want_sk_as(sk, typed) || !want_sk_dport_as(sk, typed))
		return;
	owner_of_current(&o);
	emit(sk, &o, NULL, ST_RESULT_UNKNOWN, false, typed);
}

/* The connect returned @ret; @typed as for connect_returned() */
static __always_inline void connect_exit(struct sock *sk, int ret, bool typed)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct dest asked = {};		/* family 0: none */
	__u64 key = sk_key(sk);
	struct owner *o;

	if (!p)
		return;		/* a task the filters drop, or one we missed */
	if (p->at_syn)
		__sync_fetch_and_add(&syn_found, 1);
	if (!sk)
		goto out;
	if (cfg.at_return) {
		report_now(sk, ret, typed);
		goto out;
	}
	if (!p->syn_sent || p->sk != (__u64)sk) {
		if (ret < 0)
			failed_early(sk, p, ret, typed);
		goto out;
	}
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o)
		goto out;
	if (ret < 0 && !in_progress(ret)) {
		/* on_state() left it to us: no SYN left; -r says it, the default not.
		 * A copy, not "have_dest ? &p->dest : NULL": 6.1's verifier loses
		 * that pointer's type. */
		if (p->have_dest)
			asked = p->dest;
		if (cfg.report_result)
			emit(sk, o, &asked, -ret, false, typed);
		bpf_map_delete_elem(&owners, &key);
	} else if (!cfg.report_result && !o->reported) {
		emit(sk, o, NULL, ST_RESULT_UNKNOWN, false, typed);
		o->reported = 1;
	}
out:
	bpf_map_delete_elem(&pending, &tid);
}

/* state changes, every backend: on_state() */
#include "state.bpf.h"

/*
 * A failure (not EINPROGRESS), reported from the address the call asked
 * for, kept on the stack: where no SYN left in this call (or its stash was
 * forgotten), or where no stash is kept (cfg.no_stash).
 */
static __always_inline void failed_asked(struct sock *sk, const void *uaddr, bool user,
					 int ret, bool typed)
{
	struct pending asked = { .sk = (__u64)sk };

	if (ret < 0 && cfg.report_result && want_current()) {
		asked.have_dest = read_dest(&asked.dest, uaddr, user) == 0;
		failed_early(sk, &asked, ret, typed);
	}
}

/*
 * cfg.no_stash (fexit): tcp_v4/v6_connect() returned, with its socket, which
 * is all a stash would have told. A call that set SYN_SENT and then failed
 * (no local port left) is one whose socket is still in owners, where
 * on_state() left it (inside_connect()): no other call can have put it
 * there, since only a socket in CLOSE is connected and its entry leaves
 * with SYN_SENT. A map update and three lookups or deletes less a connect.
 */
static __always_inline void returned_unstashed(struct sock *sk, const void *uaddr,
					       bool user, int ret, bool typed)
{
	struct dest asked = {};		/* family 0 if unread: none */
	__u64 key = sk_key(sk);
	struct owner *o;

	if (ret >= 0 || in_progress(ret))
		return;		/* on_state() says how it ends */
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o) {
		/* as with a stash, unless owners was full at its SYN_SENT
		 * (counted lost): then said here after all */
		failed_asked(sk, uaddr, user, ret, typed);
		return;
	}
	if (cfg.report_result) {
		read_dest(&asked, uaddr, user);
		emit(sk, o, &asked, -ret, false, typed);
	}
	bpf_map_delete_elem(&owners, &key);
}

/*
 * fexit and sys_exit, which have no entry hook: the stash is syn_sent()'s.
 * @typed: @sk is fexit's argument, which the kernel's BTF types: its fields
 * are loads, not a bpf_probe_read_kernel() each (SK_READ()); sys_exit's
 * socket comes from the fd table, read.
 * Without one for @sk no SYN left in this call (or its stash was forgotten):
 * a failure is reported from the address the call asked for (failed_asked()),
 * so that a return never takes a stash another thread still needs.
 */
static __always_inline void connect_returned(struct sock *sk, const void *uaddr,
					     bool user, int ret, bool typed)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p;

	if (cfg.at_return) {
		report_now(sk, ret, typed);
		return;
	}
	if (cfg.no_stash) {
		returned_unstashed(sk, uaddr, user, ret, typed);
		return;
	}
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->sk == (__u64)sk) {
		/* a failure: the address asked for, which the socket may have dropped */
		if (ret < 0 && cfg.report_result && !p->have_dest)
			p->have_dest = read_dest(&p->dest, uaddr, user) == 0;
		connect_exit(sk, ret, typed);
		return;
	}
	if (p)		/* another socket's, left by sendto(MSG_FASTOPEN) */
		connect_exit(NULL, ret, false);
	failed_asked(sk, uaddr, user, ret, typed);
}

/* ---- fentry backend ---- */

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr,
	     int addr_len, int ret)
{

	/* a v4-mapped connect runs inside tcp_v6_connect, which reports it */
	if (!want_current() || sk_family_as(sk, true) == ST_AF_INET6)
		return 0;
	connect_returned(sk, uaddr, false, ret, true);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr,
	     int addr_len, int ret)
{
	connect_returned(sk, uaddr, false, ret, true);
	return 0;
}

/* ---- kprobe backend ---- */

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk, struct sockaddr *uaddr)
{
	if (want_current() && sk_family(sk) != ST_AF_INET6)
		connect_enter(sk, uaddr, false);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct sock *sk = p ? (struct sock *)p->sk : NULL;

	if (sk && sk_family(sk) != ST_AF_INET6)
		connect_exit(sk, ret, false);
	/* (the inner call of a forgotten v4-mapped connect counts it twice) */
	if (!p)
		stash_missed(want_current());
	return 0;
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk, struct sockaddr *uaddr)
{
	connect_enter(sk, uaddr, false);
	return 0;
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);

	if (p)
		connect_exit((struct sock *)p->sk, ret, false);
	else
		stash_missed(want_current());
	return 0;
}

/* ---- tracepoint backend ---- */

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(SYSCALL_EXIT_CTX *ctx)
{
	struct pt_regs *regs;
	struct sock *sk;

	if (!want_current())
		return 0;
	/* -r and no error: the state hook says how it ended, no socket to read */
	if (cfg.report_result && (ctx->ret == 0 || in_progress(ctx->ret))) {
		connect_exit(NULL, (int)ctx->ret, false);	/* drops what this thread had */
		return 0;
	}
	regs = syscall_regs();
	sk = sock_from_fd((int)SYSCALL_EXIT_ARG1(regs));
	if (sk && sk_protocol(sk) == IPPROTO_TCP && sk_type(sk) == SOCK_STREAM)
		connect_returned(sk, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), true,
				 (int)ctx->ret, false);
	else
		connect_exit(NULL, (int)ctx->ret, false);	/* drops what this thread had */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
