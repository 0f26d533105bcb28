/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -d: DNS messages from port 53, IPv4 or IPv6, copied to user space, where
 * the answers are parsed and cached per network namespace (common/dns.c).
 * Nothing is parsed here. None of this depends on which resolver library, if
 * any, the process uses.
 *
 * The hooks are tracepoints on every backend (ST_ROW_ANY), as no function
 * hook would see more:
 *  - UDP: net:netif_receive_skb. Every received packet passes it, loopback
 *    included (a local stub resolver's answers), with skb->data at the
 *    network header. Only the linear part of the skb is read: an answer that
 *    is not all there (rare; a large one on some NICs) arrives with less than
 *    msg_len captured, and is counted as truncated by user space.
 *  - TCP: the read(), recvfrom() and recvmsg() syscalls' exits, on sockets
 *    connected to port 53 (dns_read() says why).
 *
 * Include after emit.bpf.h and sock.bpf.h.
 */
#ifndef SOCKTRACE_DNS_BPF_H
#define SOCKTRACE_DNS_BPF_H

#define DNS_PORT	53
#define DNS_ETH_P_IP	0x0800
#define DNS_ETH_P_IPV6	0x86DD
#define DNS_IP_OFFSET	0x1fff	/* a fragment's offset, in 8 bytes */

/* Where a message starts in a packet, and how long it is */
struct dns_where {
	__u32 off;		/* from skb->data */
	__u32 len;		/* the message's, as the packet says */
	__u32 avail;		/* bytes of it this packet holds */
	__u8 proto;
	__u8 family;
};

/* The network header: the transport's offset, protocol and the packet's end */
static __always_inline bool dns_ip(const unsigned char *data, __u16 eth_proto,
				   struct dns_where *w, __u32 *end)
{
	struct ipv6hdr ip6;
	struct iphdr ip;

	if (eth_proto == DNS_ETH_P_IP) {
		if (bpf_probe_read_kernel(&ip, sizeof(ip), data) ||
		    (ip.frag_off & bpf_htons(DNS_IP_OFFSET)))
			return false;	/* a later fragment: no transport header */
		w->off = ip.ihl * 4;
		w->proto = ip.protocol;
		w->family = ST_AF_INET;
		*end = bpf_ntohs(ip.tot_len);
		return true;
	}
	if (eth_proto != DNS_ETH_P_IPV6 || bpf_probe_read_kernel(&ip6, sizeof(ip6), data))
		return false;
	w->off = sizeof(ip6);	/* extension headers: not a resolver's answer */
	w->proto = ip6.nexthdr;
	w->family = ST_AF_INET6;
	*end = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
	return true;
}

/* From UDP port 53: where the message is */
static __always_inline bool dns_udp(const unsigned char *data, struct dns_where *w, __u32 end)
{
	struct udphdr uh;

	if (w->proto != IPPROTO_UDP ||
	    bpf_probe_read_kernel(&uh, sizeof(uh), data + w->off) ||
	    uh.source != bpf_htons(DNS_PORT) || bpf_ntohs(uh.len) < sizeof(uh))
		return false;
	w->off += sizeof(uh);
	w->len = bpf_ntohs(uh.len) - sizeof(uh);
	w->avail = end > w->off ? end - w->off : 0;
	return true;
}

/* What a record says about its message; the bytes are copied after it */
struct dns_meta {
	__u64 netns;
	__u64 stream;
	__u16 msg_len;
	__u16 sport;
	__u8 proto;
	__u8 family;
};

/* Most answers fit this: their records take a quarter of the ring's room */
#define DNS_SMALL	256

/*
 * One record of @room bytes of message (a constant), @cap of them copied
 * from @src (user memory if @user). The bound is checked on the register
 * the copy is given: 64 bits, so that no 32-bit copy of it is checked.
 */
static __always_inline void dns_record(const struct dns_meta *m, const void *src, __u32 cap,
				       bool user, const __u32 room)
{
	struct dns_event *e;
	__u64 n = cap;
	long err;

	e = bpf_ringbuf_reserve(&events, offsetof(struct dns_event, msg) + room, 0);
	if (!e) {
		count_lost(ST_LOST_DNS);
		return;
	}
	__builtin_memset(e, 0, offsetof(struct dns_event, msg));
	e->h.time_ns = bpf_ktime_get_ns();
	e->h.kind = ST_KIND_DNS;
	e->h.netns = m->netns;
	e->stream = m->stream;
	e->msg_len = m->msg_len;
	e->sport = m->sport;
	e->proto = m->proto;
	e->family = m->family;
	barrier_var(n);
	if (n <= room) {
		err = user ? bpf_probe_read_user(e->msg, n, src) :
			     bpf_probe_read_kernel(e->msg, n, src);
		if (!err)
			e->cap_len = n;
	}
	ring_submit(e, offsetof(struct dns_event, msg) + room);
}

/*
 * Connects come first: answers only take the ring's first half, so that a
 * flood of them (a busy resolver) costs names, counted, not events.
 */
static __always_inline void dns_emit(const struct dns_meta *m, const void *src, __u32 cap,
				     bool user)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2) {
		count_lost(ST_LOST_DNS);
		return;
	}
	if (cap <= DNS_SMALL)
		dns_record(m, src, cap, user, DNS_SMALL);
	else
		dns_record(m, src, cap, user, ST_DNS_MSG_MAX);
}

static __always_inline void dns_packet(struct sk_buff *skb)
{
	const unsigned char *data = BPF_CORE_READ(skb, data);
	__u32 linear = BPF_CORE_READ(skb, len) - BPF_CORE_READ(skb, data_len);
	struct dns_where w = {};
	struct dns_meta m = {};
	__u32 end, cap;

	if (!dns_ip(data, bpf_ntohs(BPF_CORE_READ(skb, protocol)), &w, &end) ||
	    !dns_udp(data, &w, end < linear ? end : linear))
		return;
	cap = w.len < w.avail ? w.len : w.avail;
	m.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	m.msg_len = w.len;
	m.proto = IPPROTO_UDP;
	m.family = w.family;
	dns_emit(&m, data + w.off, cap > ST_DNS_MSG_MAX ? ST_DNS_MSG_MAX : cap, false);
}

/* UDP answers: the packet, whoever reads it and however */
SEC("tracepoint/net/netif_receive_skb")
int tp_dns_answer(struct trace_event_raw_net_dev_template *ctx)
{
	dns_packet((struct sk_buff *)ctx->skbaddr);
	return 0;
}

/*
 * TCP answers: what a process read from a socket connected to port 53.
 * Their packets hold the payload in page fragments a tracing program
 * cannot read, but the bytes a read returned are in the reader's buffer.
 * The socket is looked up first: most reads are of something else.
 */

/* The socket behind @fd if it is TCP and connected to port 53, else NULL */
static __always_inline struct sock *dns_tcp_sock(int fd)
{
	struct sock *sk = sock_from_fd(fd);

	if (!sk || sk_dport(sk) != DNS_PORT || sk_protocol(sk) != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* @ret bytes read from @sk into @ubuf, which took @len */
static __always_inline void dns_read(struct sock *sk, long ret, const void *ubuf, __u64 len)
{
	struct dns_meta m = {};
	__u32 cap;

	m.netns = sk_netns(sk);
	m.stream = (__u64)sk;
	m.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	m.msg_len = ret > 0xffff ? 0xffff : ret;
	m.proto = IPPROTO_TCP;
	m.family = sk_family(sk);
	cap = (__u64)ret < len ? ret : len;
	dns_emit(&m, ubuf, cap > ST_DNS_MSG_MAX ? ST_DNS_MSG_MAX : cap, true);
}

/* read() and recvfrom(): the fd, then the buffer */
static __always_inline void dns_read_buf(SYSCALL_EXIT_CTX *ctx)
{
	struct pt_regs *regs;
	struct sock *sk;

	if (ctx->ret <= 0)
		return;
	regs = syscall_regs();
	sk = dns_tcp_sock((int)SYSCALL_EXIT_ARG1(regs));
	if (sk)
		dns_read(sk, ctx->ret, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_dns_read(SYSCALL_EXIT_CTX *ctx)
{
	dns_read_buf(ctx);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_dns_recvfrom(SYSCALL_EXIT_CTX *ctx)
{
	dns_read_buf(ctx);
	return 0;
}

/* The first buffer only: what went further is not captured (a stream cut) */
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_dns_recvmsg(SYSCALL_EXIT_CTX *ctx)
{
	const struct user_msghdr *m;
	struct iovec *iov = NULL;
	struct iovec first = {};
	struct pt_regs *regs;
	struct sock *sk;

	if (ctx->ret <= 0)
		return 0;
	regs = syscall_regs();
	sk = dns_tcp_sock((int)SYSCALL_EXIT_ARG1(regs));
	if (!sk)
		return 0;
	m = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	if (bpf_probe_read_user(&iov, sizeof(iov), &m->msg_iov) || !iov ||
	    bpf_probe_read_user(&first, sizeof(first), iov))
		return 0;
	dns_read(sk, ctx->ret, first.iov_base, first.iov_len);
	return 0;
}

#endif
