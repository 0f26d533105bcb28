// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An observer beside the tool under test: every TCP state change the kernel
 * reports to raw tracepoint programs, counted by (old, new), the way
 * tcptracer's tracepoint backend receives them. hardening.py's
 * million_events_tcptracer holds it with bench's floorhold and reads
 * `counts` with bpftool: a change missing here as well as from the tool's
 * output is one the kernel did not report, not one the tool lost
 * (docs/limits.md, section 6).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define STATES	16	/* TCP states fit in 4 bits */

/* (old * STATES + new) -> changes; per CPU, so that nothing is lost to a race */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STATES * STATES);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(count_state, struct sock *sk, int oldstate, int newstate)
{
	__u32 key = (oldstate & (STATES - 1)) * STATES + (newstate & (STATES - 1));
	__u64 *n;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		(*n)++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
