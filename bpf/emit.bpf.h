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

/*
 * A zeroed event of @kind and @type from the ring buffer, its time taken,
 * or NULL after counting the loss.
 */
static __always_inline void *reserve_event(__u64 size, __u8 kind, __u8 type)
{
	struct st_event_head *h = bpf_ringbuf_reserve(&events, size, 0);

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
static __always_inline void submit_event(void *e)
{
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, queued >= st_cfg.wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
			   BPF_RB_NO_WAKEUP);
}

#endif
