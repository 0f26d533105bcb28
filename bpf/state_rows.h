/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The TCP state change hook's rows, for the user side of a tool whose BPF
 * object includes bpf/state.bpf.h.
 */
#ifndef SOCKTRACE_STATE_ROWS_H
#define SOCKTRACE_STATE_ROWS_H

#define ST_STATE_ROWS(skel)							\
	{ "state", (skel)->progs.fentry_tcp_set_state, 0 },			\
	ST_STATE_SLOW_ROWS(skel)

/* Without fentry/tcp_set_state: a tool that defines ST_STATE_OWN_FENTRY */
#define ST_STATE_SLOW_ROWS(skel)						\
	{ "state", (skel)->progs.kprobe_tcp_set_state, 0 },			\
	{ "state", (skel)->progs.tp_inet_sock_set_state, 0 }

#endif
