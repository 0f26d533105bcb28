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

	/* per-CPU, but a program in a task (tcptracer's sweep, a connect's
	 * hook) can be interrupted on its CPU by one in softirq that counts
	 * too; an increment of the lost would be lost. Only losses pay it */
	if (n)
		__sync_fetch_and_add(n, 1);
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
 * the event is lost and counted as one. A build may set fewer: the tests'
 * knob build (Makefile, KNOB_DIR) sets none, so that every event finds the
 * slots full, which no test could make happen by nesting programs.
 */
#ifndef ST_SCRATCH_DEPTH
#define ST_SCRATCH_DEPTH	4
#endif

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
 * the traced tasks more than the event itself (docs/performance.md). And
 * only as the queue passes a multiple of wakeup_bytes, not at every record
 * past it: until the woken reader runs and drains the ring, each forced
 * wake-up queues an irq_work, a self-IPI (an MSR write: a VM exit, and most
 * of a hook's run time in a guest). A multiple passed unseen (another CPU
 * reserved in between, its record counted in @queued) is seen at the next
 * one, and the reader polls every 100 ms anyway, which bounds the delay.
 */
static __always_inline __u64 wakeup_flag(__u64 before, __u64 after)
{
	__u64 step = st_cfg.wakeup_bytes;

	if (!step || after < step || before / step == after / step)
		return BPF_RB_NO_WAKEUP;
	return BPF_RB_FORCE_WAKEUP;
}

/* A record reserved from the ring, of @size bytes, goes to user space */
static __always_inline void ring_submit(void *e, __u64 size)
{
	/* this record, reserved, is counted already: the queue ends with it */
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, wakeup_flag(queued > size ? queued - size : 0, queued));
}

/* A copy of @e, of @size bytes, to user space: 0 or -errno */
static __always_inline long ring_output(const void *e, __u64 size)
{
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return bpf_ringbuf_output(&events, (void *)e, size, wakeup_flag(queued, queued + size));
}

/* reserve_event()'s @e, of @size bytes, is done: counted, sent */
static __always_inline void submit_event(void *e, __u64 size)
{
	__u32 *depth;

	if (!st_cfg.metrics) {
		ring_submit(e, size);
		return;
	}
	metric_count(e);
	if (st_cfg.metrics == ST_METRICS_EVENTS && ring_output(e, size))
		count_lost(ST_LOST_EVENTS);
	depth = scratch_depth();
	if (depth && *depth)
		(*depth)--;
}

#endif
