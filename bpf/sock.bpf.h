/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading sockets and socket addresses, the same way on every backend. */
#ifndef SOCKTRACE_SOCK_BPF_H
#define SOCKTRACE_SOCK_BPF_H

#define ST_S_IFMT	00170000
#define ST_S_IFSOCK	0140000

/* What connect() was asked for, copied from a struct sockaddr. */
struct dest {
	__u8 addr[16];
	__u16 port;		/* host byte order */
	__u16 family;
};

/*
 * A field of struct sock (its struct sock_common too, not the larger
 * inet_sock or tcp_sock: the verifier bounds a load by the type it knows).
 * @typed: @sk is a pointer the kernel's BTF types (a fentry or tp_btf
 * argument): the field is a plain load the kernel guards against faults.
 * Otherwise (kprobe) a bpf_probe_read_kernel() call. @typed is a constant
 * at every call and every caller inlines, so one branch is compiled.
 */
#define SK_READ(typed, sk, field) ((typed) ? (sk)->field : BPF_CORE_READ(sk, field))

static __always_inline __u16 sk_family_as(const struct sock *sk, bool typed)
{
	return SK_READ(typed, sk, __sk_common.skc_family);
}

static __always_inline __u16 sk_family(const struct sock *sk)
{
	return sk_family_as(sk, false);
}

static __always_inline int sk_state_as(const struct sock *sk, bool typed)
{
	return SK_READ(typed, sk, __sk_common.skc_state);
}

static __always_inline int sk_state(const struct sock *sk)
{
	return sk_state_as(sk, false);
}

static __always_inline __u64 sk_netns_as(const struct sock *sk, bool typed)
{
	struct net *net = SK_READ(typed, sk, __sk_common.skc_net.net);

	return typed ? net->ns.inum : BPF_CORE_READ(net, ns.inum);
}

static __always_inline __u64 sk_netns(const struct sock *sk)
{
	return sk_netns_as(sk, false);
}

/* sk_protocol was a bitfield before 5.6; this reads either layout. */
static __always_inline __u16 sk_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

static __always_inline __u16 sk_type(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
}

static __always_inline __u16 sk_dport_as(const struct sock *sk, bool typed)
{
	return bpf_ntohs(SK_READ(typed, sk, __sk_common.skc_dport));
}

static __always_inline __u16 sk_dport(const struct sock *sk)
{
	return sk_dport_as(sk, false);
}

/*
 * The filters on a socket, reading it only for a filter that is set: the
 * rodata is constant, so the verifier drops the other reads (an argument
 * such as want_netns(sk_netns(sk)) would be read whatever the filter).
 */
static __always_inline bool want_sk_netns_as(const struct sock *sk, bool typed)
{
	return !st_cfg.netns || want_netns(sk_netns_as(sk, typed));
}

static __always_inline bool want_sk_netns(const struct sock *sk)
{
	return want_sk_netns_as(sk, false);
}

/* family and netns of a TCP or UDP socket, which is AF_INET or AF_INET6 */
static __always_inline bool want_sk_as(const struct sock *sk, bool typed)
{
	return (!st_cfg.family || want_family(sk_family_as(sk, typed))) &&
	       want_sk_netns_as(sk, typed);
}

static __always_inline bool want_sk(const struct sock *sk)
{
	return want_sk_as(sk, false);
}

static __always_inline bool want_sk_dport_as(const struct sock *sk, bool typed)
{
	return !st_cfg.filter_port || want_port(sk_dport_as(sk, typed));
}

static __always_inline bool want_sk_dport(const struct sock *sk)
{
	return want_sk_dport_as(sk, false);
}

/* Fills family, addresses, ports and netns of @e from @sk (family and ports
 * alone with --metrics-only); @typed as for SK_READ(). */
static __always_inline void read_sock_as(const struct sock *sk, struct inet_event *e,
					 bool typed)
{
	e->family = sk_family_as(sk, typed);
	/*
	 * The local port. skc_num is in struct sock (a load where typed), but
	 * inet_put_port() zeroes it before inet_sock_set_state reports CLOSE;
	 * inet_sport, past struct sock (a read), outlives that. A typed hook
	 * (fentry) runs at tcp_set_state()'s entry, before inet_put_port().
	 */
	if (typed)
		e->sport = sk->__sk_common.skc_num;
	if (!e->sport)
		e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (!e->sport && !typed)
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = sk_dport_as(sk, typed);
	if (!events_out())
		return;		/* a metric's labels have the ports, not the rest */
	e->h.netns = sk_netns_as(sk, typed);
	if (typed) {
		if (e->family == ST_AF_INET) {
			__builtin_memcpy(e->saddr, &sk->__sk_common.skc_rcv_saddr, 4);
			__builtin_memcpy(e->daddr, &sk->__sk_common.skc_daddr, 4);
		} else {
			__builtin_memcpy(e->saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
			__builtin_memcpy(e->daddr, &sk->__sk_common.skc_v6_daddr, 16);
		}
		return;
	}
	/* explicit sizes: BPF_CORE_READ_INTO() would copy sizeof(__u8) */
	if (e->family == ST_AF_INET) {
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

static __always_inline void read_sock(const struct sock *sk, struct inet_event *e)
{
	read_sock_as(sk, e, false);
}

/*
 * Maps keyed by socket take its address, copied: with the socket
 * itself as the key (&sk), the 6.1 verifier turns the stack slot holding
 * it into plain bytes once a helper reads it, and a typed socket
 * (SK_READ()) could not be read after. The copy is a different slot.
 */
static __always_inline __u64 sk_key(const struct sock *sk)
{
	return (__u64)sk;
}

/*
 * The socket behind file descriptor @fd of the current task, or NULL. This is
 * how tracepoint programs, which see only syscall arguments, find the socket.
 */
static __always_inline struct sock *sock_from_fd(int fd)
{
	/*
	 * The task's own chain as typed pointers (5.11; every caller is a
	 * tracepoint program, which needs 5.15): plain loads the kernel guards
	 * against faults, not a helper call each, as BPF_CORE_READ would make.
	 * The table's slots are pointers to pointers, which the verifier does
	 * not type: from there on, reads.
	 */
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;
	struct socket *sock;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
	if (!file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & ST_S_IFMT) != ST_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

/*
 * The registers the current syscall saved at entry: its arguments are still
 * there when its sys_exit tracepoint runs (only the return value register
 * changed), so a sys_exit program needs no sys_enter one and no map between
 * them. Native calls only; the syscalls tracepoints skip compat ones anyway.
 */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/*
 * A syscalls:sys_exit_NAME program's context is that tracepoint's record,
 * struct syscall_trace_exit (trace_entry, nr, ret), not raw_syscalls' struct
 * trace_event_raw_sys_exit (trace_entry, id, ret). The two put ret at the same
 * offset only while trace_entry is 8 bytes: PREEMPT_RT kernels (6.1-rt) make
 * it longer, the other type then reads past the record and the kernel refuses
 * to attach the program (EACCES). With the real type CO-RE places ret.
 */
#define SYSCALL_EXIT_CTX struct syscall_trace_exit

/*
 * The first argument, at sys_exit: powerpc and riscv return the result in the
 * register that carried it and keep the argument in orig_gpr3 / orig_a0,
 * which libbpf 1.1's PT_REGS_PARM1_CORE_SYSCALL does not read there.
 */
#if defined(__TARGET_ARCH_powerpc)
#define SYSCALL_EXIT_ARG1(regs) BPF_CORE_READ(regs, orig_gpr3)
#elif defined(__TARGET_ARCH_riscv)
#define SYSCALL_EXIT_ARG1(regs) BPF_CORE_READ(regs, orig_a0)
#else
#define SYSCALL_EXIT_ARG1(regs) PT_REGS_PARM1_CORE_SYSCALL(regs)
#endif

/*
 * The syscall a task is in, from its saved registers, and the numbers the
 * tools ask about: x86-64's and arm64's own (a 32-bit task's differ, so its
 * calls do not match). Elsewhere not defined: current_syscall() says -1.
 */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#define ST_NR_CONNECT	42
#define ST_NR_SENDTO	44
#define ST_NR_SENDMSG	46
#define ST_NR_ACCEPT	43
#define ST_NR_ACCEPT4	288
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#define ST_NR_CONNECT	203
#define ST_NR_SENDTO	206
#define ST_NR_SENDMSG	211
#define ST_NR_ACCEPT	202
#define ST_NR_ACCEPT4	242
#endif

/* The syscall the current task is in (in softirq, the interrupted task's) */
static __always_inline long current_syscall(void)
{
#if defined(SYSCALL_NR)
	return SYSCALL_NR(syscall_regs());
#else
	return -1;
#endif
}

static __always_inline long read_mem(void *dst, __u32 size, const void *src, bool user)
{
	return user ? bpf_probe_read_user(dst, size, src) :
		      bpf_probe_read_kernel(dst, size, src);
}

/*
 * Copies a sockaddr_in or sockaddr_in6 into @d, from user memory (syscall
 * arguments) or kernel memory (function arguments). Returns 0 or -1.
 */
static __always_inline int read_dest(struct dest *d, const void *sa, bool user)
{
	struct sockaddr_in6 sin6 = {};	/* also holds a sockaddr_in */
	__u32 size = sizeof(struct sockaddr_in);

	/* a sockaddr_in may end a page: read the longer form only when due */
	if (read_mem(&sin6, size, sa, user))
		return -1;
	if (sin6.sin6_family == ST_AF_INET6 &&
	    read_mem(&sin6, sizeof(sin6), sa, user))
		return -1;
	d->family = sin6.sin6_family;
	d->port = bpf_ntohs(sin6.sin6_port);
	if (d->family == ST_AF_INET)
		__builtin_memcpy(d->addr, &((struct sockaddr_in *)&sin6)->sin_addr, 4);
	else if (d->family == ST_AF_INET6)
		__builtin_memcpy(d->addr, &sin6.sin6_addr, 16);
	else
		return -1;
	return 0;
}

#endif
