/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpconnect's own ABI; events are struct inet_event (common/event.h). */
#ifndef SOCKTRACE_TCPCONNECT_H
#define SOCKTRACE_TCPCONNECT_H

#include "event.h"

struct tcpconnect_cfg {
	__u8 report_result;	/* -r: emit once the outcome is known */
	__u8 failed_only;	/* -x: with report_result, failures only */
	__u8 at_return;		/* no state hook: print when the connect returns 0 */
	__u8 no_stash;		/* fexit: the call's return needs no stash (connect_returned()) */
};

/* The stash ("pending"), by thread id: a connect() in progress */
struct tcpconnect_pending {
	__u64 sk;		/* 0 until known */
	__u8 dest[20];		/* struct dest (bpf/sock.bpf.h) */
	__u8 have_dest;
	__u8 syn_sent;		/* the SYN went out during this call */
	__u8 at_syn;		/* made when the SYN went out (no entry probe saw the call) */
	__u8 pad[5];
};

#endif
