// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unixconnect: AF_UNIX connects (stream, seqpacket, datagram) and accepts.
 *
 * Every backend runs the same two bodies once the call has succeeded:
 *  - on_connect(): the client's socket; the path is on its peer
 *                  (unix_peer(sk)), since clients rarely bind;
 *  - on_accept():  the new server-side socket, which carries a copy of the
 *                  listener's address and the client's credentials.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "unixconnect.h"
#include "filter.bpf.h"
#include "emit.bpf.h"
#include "sock.bpf.h"
#include "owner.bpf.h"
#include "follow.bpf.h"
#include "stash.bpf.h"

/* kprobe backend: the struct socket * of a call in progress, by thread id
 * (the stash, bpf/stash.bpf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ST_THREADS_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
} pending SEC(".maps");

static __always_inline struct sock *unix_peer_of(struct sock *sk)
{
	return BPF_CORE_READ((struct unix_sock *)sk, peer);
}

/* The tgid the kernel recorded for the other end (SO_PEERCRED), or 0. */
static __always_inline __u32 peer_tgid(struct sock *sk)
{
	struct pid *pid = BPF_CORE_READ(sk, sk_peer_pid);
	__u32 nr = 0;

	if (!st_cfg.pidns_ino)
		return pid ? BPF_CORE_READ(pid, numbers[0].nr) : 0;
	return ns_pid(pid, &nr) ? nr : 0;	/* 0: not visible from here */
}

/* The address bound to @sk: sun_path with its length, as the kernel has it. */
static __always_inline void read_path(struct sock *sk, struct unix_event *e)
{
	struct unix_address *addr = BPF_CORE_READ((struct unix_sock *)sk, addr);
	__u64 n;

	if (!addr)
		return;		/* never bound: unnamed */
	n = BPF_CORE_READ(addr, len);
	if (n <= sizeof(__u16))	/* sun_family only */
		return;
	n -= sizeof(__u16);
	if (n > ST_UNIX_PATH_MAX)
		n = ST_UNIX_PATH_MAX;
	/* hide the bound from clang so that it keeps the check the verifier needs */
	asm volatile("" : "+r"(n));
	if (n > ST_UNIX_PATH_MAX)
		return;
	/* abstract names hold NULs: copy the explicit length, not a string */
	if (bpf_probe_read_kernel(e->path, n, addr->name[0].sun_path))
		return;
	e->path_len = n;
}

static __always_inline void emit(struct sock *sk, struct sock *named, __u8 type)
{
	struct unix_event *e = reserve_event(sizeof(*e), ST_KIND_UNIX, type);

	if (!e)
		return;
	head_of_current(&e->h);
	if (events_out()) {	/* no metric has these */
		e->h.netns = sk_netns(sk);
		e->sock_type = sk_type(sk);
		e->peer_pid = peer_tgid(sk);
		read_path(named, e);
	}
	submit_event(e, sizeof(*e));
}

/* want_current() first: with -p, -u or --cgroup it rejects most calls at
 * the cost of one check, before any read of the socket */
static __always_inline bool want_sock(struct sock *sk)
{
	return want_current() && sk && sk_family(sk) == ST_AF_UNIX && want_sk_netns(sk);
}

/* After a connect() that returned 0 on @sk. */
static __always_inline void on_connect(struct sock *sk)
{
	struct sock *peer;

	if (!want_sock(sk))
		return;
	/* a datagram connect to AF_UNSPEC disconnects: no peer left */
	peer = unix_peer_of(sk);
	if (peer)
		emit(sk, peer, ST_EV_CONNECT);
}

/* After an accept() that returned @sk. */
static __always_inline void on_accept(struct sock *sk)
{
	if (want_sock(sk))
		emit(sk, sk, ST_EV_ACCEPT);
}

/* Only for tasks the filters keep: the others cost no map update. */
static __always_inline void stash(struct socket *sock)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 v = (__u64)sock;

	if (want_current())
		bpf_map_update_elem(&pending, &tid, &v, BPF_ANY);
}

/* The stashed socket's sk, removing the stash; NULL if none. */
static __always_inline struct sock *unstash(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *p = bpf_map_lookup_elem(&pending, &tid);
	struct socket *sock;

	if (!p) {
		stash_missed(want_current());
		return NULL;
	}
	sock = (struct socket *)*p;	/* outside BPF_CORE_READ: ours */
	bpf_map_delete_elem(&pending, &tid);
	return BPF_CORE_READ(sock, sk);
}

/* ---- fentry backend ---- */

SEC("fexit/unix_stream_connect")
int BPF_PROG(fexit_unix_stream_connect, struct socket *sock, struct sockaddr *uaddr,
	     int addr_len, int flags, int ret)
{
	if (!ret)
		on_connect(BPF_CORE_READ(sock, sk));
	return 0;
}

SEC("fexit/unix_dgram_connect")
int BPF_PROG(fexit_unix_dgram_connect, struct socket *sock, struct sockaddr *uaddr,
	     int addr_len, int flags, int ret)
{
	if (!ret)
		on_connect(BPF_CORE_READ(sock, sk));
	return 0;
}

/*
 * unix_accept(sock, newsock, flags, kern) became (sock, newsock, arg) in
 * 6.10: name only the two arguments both share, take the return value from
 * bpf_get_func_ret() (5.17+).
 */
SEC("fexit/unix_accept")
int BPF_PROG(fexit_unix_accept, struct socket *sock, struct socket *newsock)
{
	__u64 ret = -1;

	bpf_get_func_ret(ctx, &ret);
	if ((int)ret == 0)
		on_accept(BPF_CORE_READ(newsock, sk));
	return 0;
}

/* ---- kprobe backend ---- */

SEC("kprobe/unix_stream_connect")
int BPF_KPROBE(kprobe_unix_stream_connect, struct socket *sock)
{
	stash(sock);
	return 0;
}

SEC("kretprobe/unix_stream_connect")
int BPF_KRETPROBE(kretprobe_unix_stream_connect, int ret)
{
	struct sock *sk = unstash();

	if (!ret)
		on_connect(sk);
	return 0;
}

SEC("kprobe/unix_dgram_connect")
int BPF_KPROBE(kprobe_unix_dgram_connect, struct socket *sock)
{
	stash(sock);
	return 0;
}

SEC("kretprobe/unix_dgram_connect")
int BPF_KRETPROBE(kretprobe_unix_dgram_connect, int ret)
{
	struct sock *sk = unstash();

	if (!ret)
		on_connect(sk);
	return 0;
}

SEC("kprobe/unix_accept")
int BPF_KPROBE(kprobe_unix_accept, struct socket *sock, struct socket *newsock)
{
	stash(newsock);
	return 0;
}

SEC("kretprobe/unix_accept")
int BPF_KRETPROBE(kretprobe_unix_accept, int ret)
{
	struct sock *sk = unstash();

	if (!ret)
		on_accept(sk);
	return 0;
}

/* ---- tracepoint backend: sys_exit alone (see syscall_regs()) ---- */

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(SYSCALL_EXIT_CTX *ctx)
{
	if (!ctx->ret && want_current())
		on_connect(sock_from_fd((int)SYSCALL_EXIT_ARG1(syscall_regs())));
	return 0;
}

/* the new fd is installed by now: it leads to the accepted socket */
SEC("tracepoint/syscalls/sys_exit_accept")
int tp_sys_exit_accept(SYSCALL_EXIT_CTX *ctx)
{
	if (ctx->ret >= 0 && want_current())
		on_accept(sock_from_fd((int)ctx->ret));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_sys_exit_accept4(SYSCALL_EXIT_CTX *ctx)
{
	if (ctx->ret >= 0 && want_current())
		on_accept(sock_from_fd((int)ctx->ret));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
