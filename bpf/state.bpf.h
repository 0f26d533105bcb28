/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TCP state changes on every backend. The including tool defines, before
 * this header,
 *
 *     static __always_inline void on_state(struct sock *sk, int old, int new);
 *
 * It runs in whatever context changed the state: the owner's process for
 * CLOSE->SYN_SENT, often softirq for the rest.
 */
#ifndef SOCKTRACE_STATE_BPF_H
#define SOCKTRACE_STATE_BPF_H

SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}

/*
 * The raw tracepoint, not tracepoint/sock/inet_sock_set_state: it runs on
 * every state change of every socket, and the raw one skips building the
 * perf record (addresses, ports) that the classic one fills before the
 * program runs. Both exist since 4.16 and need no tracefs.
 */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	if (sk_protocol(sk) != IPPROTO_TCP)	/* MPTCP subflows are TCP too */
		return 0;
	on_state(sk, oldstate, newstate);
	return 0;
}

#endif
