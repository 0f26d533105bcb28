// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcpaccept: passive TCP opens, reported by the task that accepted them.
 *
 * accept.bpf.h holds the hooks (fexit/kretprobe on inet_csk_accept and the
 * sys_exit_accept* tracepoints) and calls on_accept() once per accept, in
 * the accepting task, whatever the backend.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcpaccept.h"
#include "filter.bpf.h"
#include "emit.bpf.h"
#include "sock.bpf.h"
#include "owner.bpf.h"
#include "follow.bpf.h"

static __always_inline void on_accept(struct sock *sk, struct sock *listener, bool typed)
{
	struct inet_event *e;

	if (!want_sk_as(sk, typed) ||
	    (st_cfg.filter_port && !want_port(SK_READ(typed, sk, __sk_common.skc_num))))
		return;
	e = reserve_event(sizeof(*e), ST_KIND_INET, ST_EV_ACCEPT);
	if (!e)
		return;
	head_of_current(&e->h);
	read_sock_as(sk, e, typed);
	if (listener && events_out()) {
		e->backlog = SK_READ(typed, listener, sk_ack_backlog);
		e->backlog_max = SK_READ(typed, listener, sk_max_ack_backlog);
		e->h.flags |= ST_EVF_BACKLOG;
	}
	e->proto = IPPROTO_TCP;
	e->result = ST_RESULT_UNKNOWN;
	submit_event(e, sizeof(*e));
}

/* on_accept() leaves the task filters to this, which runs first */
static __always_inline bool accept_task_wanted(void)
{
	return want_current();
}

#include "accept.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
