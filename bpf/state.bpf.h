/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TCP state changes on every backend. The including tool defines, before
 * this header,
 *
 *     static __always_inline bool state_change_wanted(int old, int new);
 *     static __always_inline void on_state(struct sock *sk, int old, int new,
 *                                          bool typed);
 *
 * The hook runs on every state change of every socket on the machine:
 * state_change_wanted() drops the changes the tool ignores before anything
 * is read from the socket. on_state() runs in whatever context changed the
 * state: the owner's process for CLOSE->SYN_SENT, often softirq for the rest.
 * @typed: @sk is typed by the kernel's BTF (fentry), so its struct sock
 * fields are plain loads (SK_READ()); on kprobes and raw tracepoints not.
 */
#ifndef SOCKTRACE_STATE_BPF_H
#define SOCKTRACE_STATE_BPF_H

/* a tool that hooks the functions that change the states it wants defines
 * ST_STATE_OWN_FENTRY (and its rows: bpf/state_rows.h) */
#ifndef ST_STATE_OWN_FENTRY
SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_tcp_set_state, struct sock *sk, int state)
{
	int old = sk_state_as(sk, true);

	if (state_change_wanted(old, state))
		on_state(sk, old, state, true);
	return 0;
}
#endif

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_tcp_set_state, struct sock *sk, int state)
{
	int old = sk_state(sk);

	if (state_change_wanted(old, state))
		on_state(sk, old, state, false);
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
	/* SCTP and MPTCP sockets report here too; MPTCP subflows are TCP */
	if (!state_change_wanted(oldstate, newstate) || sk_protocol(sk) != IPPROTO_TCP)
		return 0;
	on_state(sk, oldstate, newstate, false);
	return 0;
}

#endif
