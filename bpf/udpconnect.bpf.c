// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udpconnect: connect() on UDP sockets (C), and the first datagram an
 * unconnected UDP socket sends to each destination (S).
 *
 * Every backend runs the same two bodies once the call has succeeded:
 *  - on_connect(): the socket is connected, bound and has its source;
 *  - on_send():    one datagram went to @d; reported if the (socket,
 *                  destination) pair is new to the "seen" LRU map. The source
 *                  port is read after the send, when the kernel has bound it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "udpconnect.h"
#include "filter.bpf.h"
#include "emit.bpf.h"
#include "maps.bpf.h"
#include "sock.bpf.h"
#include "owner.bpf.h"
#include "follow.bpf.h"
#include "dns.bpf.h"
#include "stash.bpf.h"

/* kprobe backend: a call in progress, by thread id; struct udp_pending
 * (udpconnect.h) with its destination typed */
struct pending {
	__u64 sk;		/* struct sock *, or struct socket * */
	struct dest dest;	/* send: copied at entry */
	__u8 kind;		/* enum udp_pend_kind */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pending) == sizeof(struct udp_pending) &&
	       __builtin_offsetof(struct pending, kind) ==
	       __builtin_offsetof(struct udp_pending, kind),
	       "struct pending is struct udp_pending");

/* One (socket, destination) pair; the inode tells a reused sk address apart. */
struct seen_key {
	__u64 sk;
	__u64 ino;
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u32 pad;
};

/* the stash (bpf/stash.bpf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ST_THREADS_DEFAULT);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, UDP_SEEN_DEFAULT);
	__type(key, struct seen_key);
	__type(value, __u8);
} seen SEC(".maps");

/*
 * Pairs added to "seen". Nothing leaves it but by eviction, so user space
 * counts the pairs it forgot from this and the map (ST_LOST_SEEN,
 * tools/udpconnect.c). One counter for every CPU, as the capacity is.
 */
__u64 seen_added = 0;

/*
 * kprobe backend, sends that name a destination: stashed at entry, and
 * those whose return found their stash. A stash the LRU forgot leaves no
 * trace at the return, which cannot tell it from a send that names none
 * (not stashed, so that connected sockets' sends cost no map update): user
 * space counts send_stashed - send_found - the sends still inside the call
 * (tools/udpconnect.c) as calls forgotten (ST_LOST_STASH). The stash is
 * made before send_stashed grows and send_found grows before the stash is
 * removed, so that a count read in between is short, never over.
 */
__u64 send_stashed = 0;
__u64 send_found = 0;

static __always_inline bool is_udp(struct sock *sk)
{
	return sk && sk_protocol(sk) == IPPROTO_UDP && sk_type(sk) == SOCK_DGRAM;
}

static __always_inline bool is_connected(struct sock *sk)
{
	return sk_state(sk) == TCP_ESTABLISHED;
}

static __always_inline void emit(struct sock *sk, const struct dest *d, __u8 type)
{
	struct inet_event *e = reserve_event(sizeof(*e), ST_KIND_INET, type);

	if (!e)
		return;
	head_of_current(&e->h);
	read_sock(sk, e);
	if (d) {
		/* an unconnected socket has no peer: the datagram's address is it */
		__builtin_memcpy(e->daddr, d->addr, sizeof(e->daddr));
		e->dport = d->port;
	}
	e->proto = IPPROTO_UDP;
	e->result = ST_RESULT_UNKNOWN;
	submit_event(e, sizeof(*e));
}

/* After a connect() that returned @ret on @sk. */
static __always_inline void on_connect(struct sock *sk, int ret)
{
	/* AF_UNSPEC "connects" disconnect: the state says which happened */
	if (ret || !want_current() || !is_udp(sk) || !is_connected(sk))
		return;
	if (!want_sk(sk) || !want_sk_dport(sk))
		return;
	emit(sk, NULL, ST_EV_CONNECT);
}

/* An AF_INET address given to an AF_INET6 socket goes out v4-mapped. */
static __always_inline void map_v4(struct dest *d, __u16 sk_fam)
{
	if (sk_fam != ST_AF_INET6 || d->family != ST_AF_INET)
		return;
	d->addr[12] = d->addr[0];
	d->addr[13] = d->addr[1];
	d->addr[14] = d->addr[2];
	d->addr[15] = d->addr[3];
	__builtin_memset(d->addr, 0, 10);
	d->addr[10] = 0xff;
	d->addr[11] = 0xff;
	d->family = ST_AF_INET6;
}


/* After a datagram to @d was sent (@ret >= 0) on @sk. */
static __always_inline void on_send(struct sock *sk, struct dest *d, int ret)
{
	struct seen_key k = {};
	__u16 fam;
	__u8 one = 1;
	long err;

	/* every caller has asked want_current(), before reading anything */
	if (ret < 0 || !is_udp(sk) || is_connected(sk))
		return;
	fam = sk_family(sk);
	map_v4(d, fam);
	if (d->family != fam || !want_family(fam) || !want_sk_netns(sk) ||
	    !want_port(d->port))
		return;
	k.sk = (__u64)sk;
	k.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	__builtin_memcpy(k.addr, d->addr, sizeof(k.addr));
	k.port = d->port;
	k.family = d->family;
	err = bpf_map_update_elem(&seen, &k, &one, BPF_NOEXIST);
	/*
	 * -EEXIST: seen before (or being added on another CPU). Another error
	 * (an LRU takes a free entry before it looks for the key, and may find
	 * none) is asked again: a pair not there is reported all the same, and
	 * so maybe again at its next send, never missed.
	 */
	if (st_update_exists(err) || (err && bpf_map_lookup_elem(&seen, &k)))
		return;
	if (!err)
		__sync_fetch_and_add(&seen_added, 1);
	emit(sk, d, ST_EV_SEND);
}

/* Only for tasks the filters keep (the callers ask): no map update for others. */
static __always_inline void stash(const struct pending *p)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pending, &tid, p, BPF_ANY);
}

static __always_inline struct pending *stashed(__u8 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);

	return p && p->kind == kind ? p : NULL;
}

static __always_inline void unstash(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&pending, &tid);
}

/* Kernel msghdr: the destination, if the caller named one. */
static __always_inline int kmsg_dest(struct msghdr *msg, struct dest *d)
{
	void *name = BPF_CORE_READ(msg, msg_name);

	return name ? read_dest(d, name, false) : -1;
}

/* ---- fentry backend ---- */

SEC("fexit/inet_dgram_connect")
int BPF_PROG(fexit_inet_dgram_connect, struct socket *sock, struct sockaddr *uaddr,
	     int addr_len, int flags, int ret)
{
	on_connect(BPF_CORE_READ(sock, sk), ret);
	return 0;
}

SEC("fexit/udp_sendmsg")
int BPF_PROG(fexit_udp_sendmsg, struct sock *sk, struct msghdr *msg, size_t len, int ret)
{
	struct dest d = {};

	/* a v4-mapped send runs inside udpv6_sendmsg, which reports it */
	if (!want_current() || sk_family(sk) == ST_AF_INET6 || kmsg_dest(msg, &d))
		return 0;
	on_send(sk, &d, ret);
	return 0;
}

SEC("fexit/udpv6_sendmsg")
int BPF_PROG(fexit_udpv6_sendmsg, struct sock *sk, struct msghdr *msg, size_t len, int ret)
{
	struct dest d = {};

	if (!want_current() || kmsg_dest(msg, &d))
		return 0;
	on_send(sk, &d, ret);
	return 0;
}

/* ---- kprobe backend ---- */

SEC("kprobe/inet_dgram_connect")
int BPF_KPROBE(kprobe_inet_dgram_connect, struct socket *sock)
{
	struct pending p = { .sk = (__u64)sock, .kind = UDP_PEND_CONNECT };

	if (want_current())
		stash(&p);
	return 0;
}

SEC("kretprobe/inet_dgram_connect")
int BPF_KRETPROBE(kretprobe_inet_dgram_connect, int ret)
{
	struct pending *p = stashed(UDP_PEND_CONNECT);
	struct socket *sock;

	if (!p) {
		stash_missed(want_current());
		return 0;
	}
	sock = (struct socket *)p->sk;
	on_connect(BPF_CORE_READ(sock, sk), ret);
	unstash();
	return 0;
}

/* a v4-mapped send runs udp_sendmsg inside udpv6_sendmsg, which reports it */
static __always_inline void ksend_enter(struct sock *sk, struct msghdr *msg, bool v6)
{
	struct pending p = { .sk = (__u64)sk, .kind = UDP_PEND_KSEND };

	if (want_current() && (v6 || sk_family(sk) != ST_AF_INET6) &&
	    !kmsg_dest(msg, &p.dest)) {
		stash(&p);
		__sync_fetch_and_add(&send_stashed, 1);
	}
}

static __always_inline void ksend_exit(int ret, bool v6)
{
	struct pending *p = stashed(UDP_PEND_KSEND);
	struct sock *sk;

	if (!p)
		return;
	sk = (struct sock *)p->sk;
	/* the inner udp_sendmsg of a v4-mapped send leaves it to udpv6_sendmsg */
	if (!v6 && sk_family(sk) == ST_AF_INET6)
		return;
	__sync_fetch_and_add(&send_found, 1);
	on_send(sk, &p->dest, ret);
	unstash();
}

SEC("kprobe/udp_sendmsg")
int BPF_KPROBE(kprobe_udp_sendmsg, struct sock *sk, struct msghdr *msg)
{
	ksend_enter(sk, msg, false);
	return 0;
}

SEC("kretprobe/udp_sendmsg")
int BPF_KRETPROBE(kretprobe_udp_sendmsg, int ret)
{
	ksend_exit(ret, false);
	return 0;
}

SEC("kprobe/udpv6_sendmsg")
int BPF_KPROBE(kprobe_udpv6_sendmsg, struct sock *sk, struct msghdr *msg)
{
	ksend_enter(sk, msg, true);
	return 0;
}

SEC("kretprobe/udpv6_sendmsg")
int BPF_KRETPROBE(kretprobe_udpv6_sendmsg, int ret)
{
	ksend_exit(ret, true);
	return 0;
}

/*
 * ---- tracepoint backend: sys_exit alone ----
 * The arguments are still in the registers saved at entry (syscall_regs()),
 * and by the exit the kernel has bound the source port.
 */

/* The UDP socket behind the syscall's fd, its first argument, or NULL. */
static __always_inline struct sock *tp_sock(struct pt_regs *regs)
{
	struct sock *sk = sock_from_fd((int)SYSCALL_EXIT_ARG1(regs));

	return is_udp(sk) ? sk : NULL;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(SYSCALL_EXIT_CTX *ctx)
{
	struct sock *sk;

	if (ctx->ret || !want_current())
		return 0;
	sk = tp_sock(syscall_regs());
	if (sk)
		on_connect(sk, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int tp_sys_exit_sendto(SYSCALL_EXIT_CTX *ctx)
{
	struct pt_regs *regs;
	struct dest d = {};
	const void *uaddr;
	struct sock *sk;

	if (ctx->ret < 0 || !want_current())
		return 0;
	regs = syscall_regs();
	/* send() and sends on connected sockets name no destination */
	uaddr = (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs);
	if (!uaddr)
		return 0;
	sk = tp_sock(regs);
	if (sk && !read_dest(&d, uaddr, true))
		on_send(sk, &d, (int)ctx->ret);
	return 0;
}

static __always_inline int umsg_dest(const struct user_msghdr *m, struct dest *d)
{
	void *name = NULL;

	if (bpf_probe_read_user(&name, sizeof(name), &m->msg_name) || !name)
		return -1;
	return read_dest(d, name, true);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int tp_sys_exit_sendmsg(SYSCALL_EXIT_CTX *ctx)
{
	struct pt_regs *regs;
	struct dest d = {};
	struct sock *sk;

	if (ctx->ret < 0 || !want_current())
		return 0;
	regs = syscall_regs();
	/* most sendmsg() calls are TCP or connected: the name says it first */
	if (umsg_dest((const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), &d))
		return 0;
	sk = tp_sock(regs);
	if (sk)
		on_send(sk, &d, (int)ctx->ret);
	return 0;
}

/*
 * Messages past the first UDP_MMSG_MAX that name a destination: not
 * examined, so counted (ST_LOST_MMSG). Reading one pointer each keeps the
 * loop small enough for the kernel's own cap. A global function, so the
 * verifier checks it once on its own, not once per path that reaches it;
 * the count goes straight to the map, not through a register it would track.
 */
__noinline int mmsg_unexamined(__u64 vec, long sent)
{
	const struct mmsghdr *v = (const void *)vec;
	__u32 key = ST_LOST_MMSG;
	void *name;
	__u64 *n;
	int i;

	n = bpf_map_lookup_elem(&lost, &key);
	if (!n)
		return 0;
	for (i = UDP_MMSG_MAX; i < UDP_MMSG_VLEN && i < sent; i++) {
		name = NULL;
		if (!bpf_probe_read_user(&name, sizeof(name), &v[i].msg_hdr.msg_name) && name)
			(*n)++;		/* per-CPU slot: no atomics needed */
	}
	return 0;
}

/* ret messages went out; each names its own destination */
SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int tp_sys_exit_sendmmsg(SYSCALL_EXIT_CTX *ctx)
{
	long sent = ctx->ret;	/* read once: clang would offset ctx itself */
	const struct mmsghdr *v;
	struct pt_regs *regs;
	struct sock *sk;
	struct dest d;
	int i;

	if (sent <= 0 || !want_current())
		return 0;
	regs = syscall_regs();
	v = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	sk = tp_sock(regs);
	if (!sk)
		return 0;
	for (i = 0; i < UDP_MMSG_MAX && i < sent; i++) {
		__builtin_memset(&d, 0, sizeof(d));
		if (!umsg_dest(&v[i].msg_hdr, &d))
			on_send(sk, &d, 0);
	}
	if (sent > UDP_MMSG_MAX)
		mmsg_unexamined((__u64)v, sent);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
