/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --metrics: the counts the kernel keeps (bpf/metrics.bpf.h) in the
 * Prometheus text format, on /metrics. At scrape time the map is read,
 * cgroup ids become workloads, and series that end up with the same labels
 * (two cgroups of one container) are added up.
 *
 *   socktrace_tcp_connects_total{workload,comm,port,result}
 *   socktrace_tcp_connect_latency_seconds (histogram, same labels)
 *   socktrace_tcp_accepts_total{workload,comm,port}
 *   socktrace_tcp_closes_total{workload,comm,port}
 *   socktrace_tcp_connection_lifetime_seconds (histogram, same labels)
 *   socktrace_udp_connects_total, socktrace_udp_first_sends_total{workload,comm,port}
 *   socktrace_unix_connects_total, socktrace_unix_accepts_total{workload,comm}
 *   socktrace_events_lost_total{reason} (the kernel's counters, its kprobes'
 *   misses, -d's forgotten names), socktrace_metrics_overflow_total,
 *   socktrace_metrics_series, socktrace_metrics_series_limit,
 *   socktrace_build_info{tool,version,backend}
 *
 * The series over the limit are counted in one whose labels all say
 * "other".
 */
#ifndef SOCKTRACE_METRICS_H
#define SOCKTRACE_METRICS_H
#include <stdio.h>
#include <bpf/libbpf.h>
#include "args.h"
#include "dns.h"
#include "http.h"
#include "lost.h"
#include "skeleton.h"
#include "workload.h"

#define ST_METRICS_SERIES_DEFAULT	4096
#define ST_METRICS_SERIES_MAX		262144	/* 100 MiB in the kernel, 80 MiB a scrape */

struct st_metric_entry {
	struct st_metric_key k;
	struct st_metric_val v;
};

struct st_metrics {
	bool on;
	struct bpf_map *map;
	const struct st_lost *lost;	/* the kernel's counters and the tool's */
	struct st_workloads *workloads;	/* NULL: the workload label is "" */
	const char *tool;
	char backends[64];
	__u32 limit;			/* series, the overflow ones not included */
	struct st_http http;
	/* Losses user space finds, added by the tool as it says them and shown
	 * beside the kernel's: its kprobes' misses, names -d forgot and
	 * the CNAME chains it cut, cgroups of --container/--unit not traced,
	 * entries the journal did not take */
	__u64 kprobe_missed;
	__u64 dns_lost[ST_DNS_LOSSES];	/* by enum st_dns_loss */
	bool dns;			/* -d: the dns_lost reasons are on the page */
	__u64 workload_lost;
	bool workload;			/* --container/--unit: workload_map_full is */
	__u64 journal_lost;
	bool journal;			/* --journal: journal_not_written is */
};

/*
 * Before load: the map's size and st_config.metrics, from @o, and the
 * server's socket (it answers once the loop runs); 0 or -errno after one line.
 * The page shows @lost's counts (st_lost_sum()).
 */
int st_metrics_prepare(struct st_metrics *m, const struct st_opts *o, const struct st_bpf *b,
		       const struct st_lost *lost);

/* After load: the overflow series; the page names @tool and @backends */
int st_metrics_start(struct st_metrics *m, const char *tool, const char *backends,
		     struct st_workloads *workloads);

/* The page: every series of @e[0..n) (reordered here), then nothing else */
int st_metrics_write_series(FILE *f, struct st_metric_entry *e, size_t n,
			    struct st_workloads *workloads);

void st_metrics_close(struct st_metrics *m);

#endif
