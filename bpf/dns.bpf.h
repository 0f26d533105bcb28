/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -d: DNS messages from port 53 as they arrive, UDP or TCP, IPv4 or IPv6,
 * copied to user space whole, where the answers are parsed and cached per
 * network namespace (common/dns.c). Nothing is parsed here.
 *
 * The hook is the net:netif_receive_skb tracepoint on every backend: every
 * received packet passes it, loopback included (a local stub resolver's
 * answers), with skb->data at the network header. It is a stable tracepoint
 * every kernel has, so no function hook would see more; and it does not
 * depend on which resolver library, if any, the process uses. Only what is
 * in the linear part of the skb is read: an answer that is not (rare; a
 * large one on some NICs) arrives with less than msg_len captured, and is
 * counted as truncated by user space.
 *
 * Include after emit.bpf.h.
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

/* From port 53, over UDP or TCP (after its two-byte length): where the message is */
static __always_inline bool dns_transport(const unsigned char *data, struct dns_where *w,
					  __u32 end)
{
	struct tcphdr th;
	struct udphdr uh;
	__u16 prefix;

	if (w->proto == IPPROTO_UDP) {
		if (bpf_probe_read_kernel(&uh, sizeof(uh), data + w->off) ||
		    uh.source != bpf_htons(DNS_PORT) || bpf_ntohs(uh.len) < sizeof(uh))
			return false;
		w->off += sizeof(uh);
		w->len = bpf_ntohs(uh.len) - sizeof(uh);
		w->avail = end > w->off ? end - w->off : 0;
		return true;
	}
	if (w->proto != IPPROTO_TCP ||
	    bpf_probe_read_kernel(&th, sizeof(th), data + w->off) ||
	    th.source != bpf_htons(DNS_PORT))
		return false;
	w->off += th.doff * 4;
	/* an ACK, or a segment too short for a length: nothing to read */
	if (end < w->off + sizeof(prefix) ||
	    bpf_probe_read_kernel(&prefix, sizeof(prefix), data + w->off))
		return false;
	w->off += sizeof(prefix);
	w->len = bpf_ntohs(prefix);
	w->avail = end - w->off;
	return true;
}

static __always_inline void dns_capture(struct sk_buff *skb)
{
	const unsigned char *data = BPF_CORE_READ(skb, data);
	__u32 linear = BPF_CORE_READ(skb, len) - BPF_CORE_READ(skb, data_len);
	struct dns_where w = {};
	struct dns_event *e;
	__u32 end, cap;
	__u64 n;

	if (!dns_ip(data, bpf_ntohs(BPF_CORE_READ(skb, protocol)), &w, &end) ||
	    !dns_transport(data, &w, end < linear ? end : linear))
		return;
	cap = w.len < w.avail ? w.len : w.avail;
	if (cap > ST_DNS_MSG_MAX)
		cap = ST_DNS_MSG_MAX;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(ST_LOST_DNS);
		return;
	}
	__builtin_memset(e, 0, offsetof(struct dns_event, msg));
	e->h.time_ns = bpf_ktime_get_ns();
	e->h.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	e->h.kind = ST_KIND_DNS;
	e->msg_len = w.len;
	e->proto = w.proto;
	e->family = w.family;
	/* the bound checked on the register the copy is given: 64 bits, so
	 * that no 32-bit copy of it is checked instead */
	n = cap;
	barrier_var(n);
	if (n <= ST_DNS_MSG_MAX && !bpf_probe_read_kernel(e->msg, n, data + w.off))
		e->cap_len = n;
	submit_event(e);
}

/* The program a tool lists in its rows as hook "dns", ST_ROW_ANY */
SEC("tracepoint/net/netif_receive_skb")
int tp_dns_answer(struct trace_event_raw_net_dev_template *ctx)
{
	dns_capture((struct sk_buff *)ctx->skbaddr);
	return 0;
}

#endif
