/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event channel: one ring buffer and in-kernel loss counters. */
#ifndef SOCKTRACE_EMIT_BPF_H
#define SOCKTRACE_EMIT_BPF_H

/* the kernel wants a power of two, page aligned */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* 1 MiB: 6553 inet events of 160 bytes */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &counter);

	if (n)
		(*n)++;		/* per-CPU slot: no atomics needed */
}

#include "metrics.bpf.h"

/*
 * False with --metrics-only: no event leaves the kernel, so the hooks read
 * only what a metric's labels need (struct st_metric_key: cgroup, comm,
 * port, result, times) and skip addresses, paths, namespaces, ids and
 * counters. st_cfg is rodata: the verifier drops the skipped reads, each a
 * helper call on the tracepoint backend.
 */
static __always_inline bool events_out(void)
{
	return st_cfg.metrics != ST_METRICS_ONLY;
}

/*
 * With --metrics an event is built in a per-CPU slot, counted, and (unless
 * --metrics-only) copied to the ring: so that an event the full ring drops
 * is counted all the same. A program that interrupts another on its CPU
 * (softirq over a task) takes the next slot; deeper than ST_SCRATCH_DEPTH,
 * the event is lost and counted as one.
 */
#define ST_SCRATCH_DEPTH	4

struct st_scratch {
	__u8 bytes[sizeof(struct unix_event) > sizeof(struct inet_event) ?
		   sizeof(struct unix_event) : sizeof(struct inet_event)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_SCRATCH_DEPTH + 1);	/* the last: the depth */
	__type(key, __u32);
	__type(value, struct st_scratch);
} scratch SEC(".maps");

static __always_inline __u32 *scratch_depth(void)
{
	__u32 key = ST_SCRATCH_DEPTH;

	return bpf_map_lookup_elem(&scratch, &key);
}

static __always_inline void *scratch_take(__u64 size)
{
	__u32 *depth = scratch_depth(), key;
	void *e;

	if (!depth || *depth >= ST_SCRATCH_DEPTH || size > sizeof(struct st_scratch))
		return NULL;
	key = *depth;
	e = bpf_map_lookup_elem(&scratch, &key);
	if (e)
		(*depth)++;
	return e;
}

/*
 * A zeroed event of @kind and @type (from the ring buffer, or a slot with
 * --metrics), its time taken, or NULL after counting the loss.
 */
static __always_inline void *reserve_event(__u64 size, __u8 kind, __u8 type)
{
	struct st_event_head *h;

	h = st_cfg.metrics ? scratch_take(size) : bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		count_lost(ST_LOST_EVENTS);
		return NULL;
	}
	__builtin_memset(h, 0, size);
	h->time_ns = bpf_ktime_get_ns();
	h->kind = kind;
	h->type = type;
	return h;
}

/*
 * Wakes the reader only once a batch has built up: a wake-up per event cost
 * the traced tasks more than the event itself (docs/performance.md). The
 * reader polls every 100 ms anyway, which bounds the delay.
 */
static __always_inline __u64 wakeup_flag(void)
{
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return queued >= st_cfg.wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* A record reserved from the ring goes to user space */
static __always_inline void ring_submit(void *e)
{
	bpf_ringbuf_submit(e, wakeup_flag());
}

/* reserve_event()'s @e, of @size bytes, is done: counted, sent */
static __always_inline void submit_event(void *e, __u64 size)
{
	__u32 *depth;

	if (!st_cfg.metrics) {
		ring_submit(e);
		return;
	}
	metric_count(e);
	if (st_cfg.metrics == ST_METRICS_EVENTS &&
	    bpf_ringbuf_output(&events, e, size, wakeup_flag()))
		count_lost(ST_LOST_EVENTS);
	depth = scratch_depth();
	if (depth && *depth)
		(*depth)--;
}

#endif
