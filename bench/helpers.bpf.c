// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What each helper and map operation the tools use costs on this kernel and
 * machine, apart from any tool's logic: one program per operation, which
 * makes it HELPER_CALLS times a run, all on fentry of tcp_v4_connect beside
 * an empty one. bench/bench --helpers holds them (floorhold) under loadgen's
 * tcp4 connects and reads their run times: an operation costs (its ns per
 * run - h_empty's) / HELPER_CALLS. Made to tell what a guest's emulation
 * makes costly (docs/performance.md, the arm64 guest).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define HELPER_CALLS 8		/* bench/bench's HELPER_CALLS */

/*
 * Nobody reads them, and a discarded record keeps its room until a reader
 * passes it: HELPER_CALLS records of 168 bytes a connect each, 26.9 MB for
 * the bench's 20000 connects at most (HELPER_MAX_CONNECTS), so that no
 * reserve is refused (which would make it look cheap). One each: a full
 * ring would be counted in ring_full, which the bench reads.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25);
} discard_ring SEC(".maps");

/* HELPER_CALLS keys, each added and removed in one run: never full */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

__u64 counter = 0;
__u64 ring_full = 0;	/* reserves refused: the bench fails the run */
__u64 sink = 0;		/* results kept, so that no call is optimised away */

/* the statements after @name HELPER_CALLS times, i their index */
#define HELPER(name, ...)					\
SEC("fentry/tcp_v4_connect")					\
int BPF_PROG(name)						\
{								\
	__u64 s = 0;						\
								\
	for (__u64 i = 0; i < HELPER_CALLS; i++) {		\
		__VA_ARGS__;					\
	}							\
	sink += s;						\
	return 0;						\
}

SEC("fentry/tcp_v4_connect")
int BPF_PROG(h_empty)
{
	return 0;
}

HELPER(h_ktime, s += bpf_ktime_get_ns())
HELPER(h_pid_tgid, s += bpf_get_current_pid_tgid())
HELPER(h_task_btf, s += bpf_get_current_task_btf()->tgid)
HELPER(h_comm, char c[16]; bpf_get_current_comm(c, sizeof(c)); s += c[0])
HELPER(h_probe_read, __u64 v = 0; bpf_probe_read_kernel(&v, sizeof(v), &counter); s += v)
HELPER(h_atomic, __sync_fetch_and_add(&counter, 1))
HELPER(h_percpu_lookup, __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&percpu, &k); if (v) *v += 1)
HELPER(h_hash_miss, __u64 k = i + 1000000; s += !!bpf_map_lookup_elem(&hash, &k))
HELPER(h_hash_update, __u64 k = i, v = i;
       bpf_map_update_elem(&hash, &k, &v, BPF_ANY); bpf_map_delete_elem(&hash, &k))
HELPER(h_lru_update, __u64 k = i, v = i;
       bpf_map_update_elem(&lru, &k, &v, BPF_ANY); bpf_map_delete_elem(&lru, &k))
HELPER(h_ring_query, s += bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA))
HELPER(h_ring_discard,
       void *e = bpf_ringbuf_reserve(&discard_ring, 160, 0);
       if (e) bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP); else __sync_fetch_and_add(&ring_full, 1))
HELPER(h_ring_submit,
       void *e = bpf_ringbuf_reserve(&ring, 160, 0);
       if (e) bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP); else __sync_fetch_and_add(&ring_full, 1))

char LICENSE[] SEC("license") = "Dual BSD/GPL";
