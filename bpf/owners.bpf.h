/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Connects in SYN_SENT, by socket: who started each (struct owner, taken in
 * the connecting task), for the state hook that sees it end in softirq.
 * For tools that follow a connect past its syscall (tcpconnect, tcptracer),
 * which name it in struct st_tool's .owners: common/tool.c sizes it
 * (--max-handshakes).
 *
 * A plain hash, not an LRU: every entry leaves when its socket leaves
 * SYN_SENT, which every socket does, unless the kernel does not report it
 * (docs/limits.md, section 6): tcptracer's inserts find and count such an
 * entry, tcpconnect's own() counts it (ST_LOST_CONNECT_UNSEEN) when a new
 * connect at its address takes its place. When it is full, a new connect
 * is refused and counted (ST_LOST_OWNERS), never an older one forgotten in
 * silence.
 */
#ifndef SOCKTRACE_OWNERS_BPF_H
#define SOCKTRACE_OWNERS_BPF_H

#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_HANDSHAKES_DEFAULT);
	__type(key, __u64);
	__type(value, struct owner);
} owners SEC(".maps");

/*
 * @o as @sk's owner; a full map counts the connect as not followed. An
 * entry already at @sk's address is a former connect whose end the kernel
 * did not report (a skipped run of the state hook; that socket's memory is
 * @sk's now): its line, not printed, is counted, and @o takes its place.
 */
static __always_inline long own(struct sock *sk, const struct owner *o)
{
	__u64 key = sk_key(sk);
	long err = bpf_map_update_elem(&owners, &key, o, BPF_NOEXIST);

	if (st_update_exists(err)) {
		count_lost(ST_LOST_CONNECT_UNSEEN);
		err = bpf_map_update_elem(&owners, &key, o, BPF_ANY);
	}
	if (err)
		count_lost(ST_LOST_OWNERS);
	return err;
}

#endif
