/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Connects in SYN_SENT, by socket: who started each (struct owner, taken in
 * the connecting task), for the state hook that sees it end in softirq.
 * For tools that follow a connect past its syscall (tcpconnect, tcptracer).
 */
#ifndef SOCKTRACE_OWNERS_BPF_H
#define SOCKTRACE_OWNERS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct owner);
} owners SEC(".maps");

#endif
