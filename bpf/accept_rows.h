/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The accept hook's rows, for the user side of a tool whose BPF object
 * includes bpf/accept.bpf.h. The sys_exit_accept* tracepoints go along on
 * every backend: they alone see an accept() that was already blocked when
 * the tool started (fexit and kretprobe miss calls in progress at attach
 * time); beside function hooks they are attached only when such a call is
 * there (common/attach.c).
 */
#ifndef SOCKTRACE_ACCEPT_ROWS_H
#define SOCKTRACE_ACCEPT_ROWS_H

#define ST_ACCEPT_ROWS(skel)							\
	{ "accept", (skel)->progs.fexit_inet_csk_accept, 0 },			\
	{ "accept", (skel)->progs.kprobe_inet_csk_accept, 0 },			\
	{ "accept", (skel)->progs.kretprobe_inet_csk_accept, 0 },		\
	{ "accept", (skel)->progs.tp_sys_exit_accept, ST_ROW_CATCH_UP },	\
	{ "accept", (skel)->progs.tp_sys_exit_accept4, ST_ROW_CATCH_UP }

#endif
