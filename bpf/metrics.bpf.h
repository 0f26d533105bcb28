/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --metrics: every event counted in the kernel by its labels (struct
 * st_metric_key), with a histogram of its connect latency or lifetime.
 * User space reads the map at scrape time; with --metrics-only that is all
 * that leaves the kernel, however busy the machine.
 *
 * The map's size is the series limit (--metrics-max-series) plus the
 * overflow series user space put there first: when it is full, an event of
 * a new label set is counted in its kind's "other" series, and the number
 * of those in ST_LOST_SERIES, so that no event goes uncounted.
 *
 * Include from emit.bpf.h, after count_lost().
 */
#ifndef SOCKTRACE_METRICS_BPF_H
#define SOCKTRACE_METRICS_BPF_H

#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);		/* user space sizes it, when metrics are on */
	__type(key, struct st_metric_key);
	__type(value, struct st_metric_val);
} metrics SEC(".maps");

static const struct st_metric_val metric_zero = {};

/* The value of @k, made if new; the overflow series' when the map is full */
static __always_inline struct st_metric_val *metric_of(struct st_metric_key *k)
{
	struct st_metric_val *v = bpf_map_lookup_elem(&metrics, k);
	long err;

	if (v)
		return v;
	err = bpf_map_update_elem(&metrics, k, &metric_zero, BPF_NOEXIST);
	if (err && !st_update_exists(err)) {	/* -E2BIG: full (EEXIST: another CPU made it) */
		count_lost(ST_LOST_SERIES);
		__builtin_memset(k, 0, offsetof(struct st_metric_key, kind));
		k->result = 0;
		k->port = 0;
		k->other = 1;
	}
	return bpf_map_lookup_elem(&metrics, k);
}

/* Counts the event @e (struct inet_event or unix_event, by its head) */
static __always_inline void metric_count(const void *e)
{
	const struct st_event_head *h = e;
	const struct inet_event *ie = e;
	struct st_metric_key k = {};
	struct st_metric_val *v;
	__u64 ns = 0;
	__u32 b;
	bool timed = false;

	k.cgroup_id = h->cgroup_id;
	__builtin_memcpy(k.comm, h->comm, sizeof(k.comm));
	k.kind = h->kind;
	k.type = h->type;
	if (h->kind == ST_KIND_INET) {
		k.proto = ie->proto;
		k.port = h->type == ST_EV_ACCEPT ||
			 (h->type == ST_EV_CLOSE && (h->flags & ST_EVF_PASSIVE)) ? ie->sport : ie->dport;
		if (h->type == ST_EV_CONNECT) {
			/* without its outcome: tcptracer's, sent once established */
			k.result = ie->result == ST_RESULT_UNKNOWN ? 0 : ie->result;
			timed = h->flags & ST_EVF_LATENCY;
			ns = ie->latency_ns;
		} else if (h->type == ST_EV_CLOSE) {
			timed = h->flags & ST_EVF_DURATION;
			ns = ie->duration_ns;
		}
	}
	v = metric_of(&k);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	if (!timed)
		return;
	__sync_fetch_and_add(&v->timed, 1);
	__sync_fetch_and_add(&v->sum_ns, ns);
	b = st_metric_bucket(ns);
	if (b >= ST_METRIC_BUCKETS)
		return;		/* +Inf: timed counts it */
	barrier_var(b);		/* the mask, on the register used */
	__sync_fetch_and_add(&v->buckets[b & (ST_METRIC_BUCKETS - 1)], 1);
}

#endif
