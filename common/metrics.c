// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "escape.h"
#include "journal.h"
#include "log.h"
#include "lost.h"
#include "metrics.h"
#include "output.h"

#define PREFIX		"socktrace_"
#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define ST_METRIC_SHOWN_STEP	2	/* buckets shown: every other one */

/* One metric family per kind of event: its names, and which labels it has */
struct family {
	__u8 kind, proto, type;
	const char *name, *help;
	const char *hist, *hist_help;	/* its histogram, if any */
	bool port, result;
};

static const struct family families[] = {
	{ ST_KIND_INET, IPPROTO_TCP, ST_EV_CONNECT, "tcp_connects_total",
	  "TCP connects, by workload, command, remote port and result.",
	  "tcp_connect_latency_seconds",
	  "Time from a TCP connect's SYN to established or failed.", true, true },
	{ ST_KIND_INET, IPPROTO_TCP, ST_EV_ACCEPT, "tcp_accepts_total",
	  "TCP connections accepted, by workload, command and local port.", NULL, NULL, true, false },
	{ ST_KIND_INET, IPPROTO_TCP, ST_EV_CLOSE, "tcp_closes_total",
	  "TCP connections closed, by workload, command and port (the local one if accepted "
	  "here, else the remote one).",
	  "tcp_connection_lifetime_seconds",
	  "Time from a TCP connection's establishment to its close.", true, false },
	{ ST_KIND_INET, IPPROTO_UDP, ST_EV_CONNECT, "udp_connects_total",
	  "UDP sockets connected, by workload, command and remote port.", NULL, NULL, true, false },
	{ ST_KIND_INET, IPPROTO_UDP, ST_EV_SEND, "udp_first_sends_total",
	  "UDP sockets' first sends to a destination, by workload, command and remote port.",
	  NULL, NULL, true, false },
	{ ST_KIND_UNIX, 0, ST_EV_CONNECT, "unix_connects_total",
	  "Unix socket connects, by workload and command.", NULL, NULL, false, false },
	{ ST_KIND_UNIX, 0, ST_EV_ACCEPT, "unix_accepts_total",
	  "Unix socket connections accepted, by workload and command.", NULL, NULL, false, false },
};

_Static_assert(sizeof(families) / sizeof(families[0]) == ST_METRIC_OTHERS,
	       "one overflow series per family");

static const struct family *family_of(const struct st_metric_key *k)
{
	size_t i;

	for (i = 0; i < ST_METRIC_OTHERS; i++)
		if (families[i].kind == k->kind && families[i].type == k->type &&
		    families[i].proto == k->proto)
			return &families[i];
	return NULL;
}

/* @s as a label value: escaped for a terminal first, then for the format */
static void label(FILE *f, const char *name, const char *s, size_t len, bool first)
{
	char esc[ST_ESCAPED_LEN(ST_UNIT_NAME_MAX)];
	const char *p;

	st_escape(s, len, 0, esc, sizeof(esc));
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (p = esc; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static void key_labels(FILE *f, const struct family *fam, const struct st_metric_key *k,
		       struct st_workloads *w)
{
	const struct st_workload *wl = w ? st_workload_of(w, k->cgroup_id) : NULL;
	char buf[16], id[16];
	const char *name = wl ? st_workload_short(wl, id, sizeof(id)) : NULL;

	if (k->other) {
		fprintf(f, "workload=\"other\",comm=\"other\"%s%s", fam->port ? ",port=\"other\"" : "",
			fam->result ? ",result=\"other\"" : "");
		return;
	}
	label(f, "workload", name ? name : "", name ? strlen(name) : 0, true);
	label(f, "comm", k->comm, strnlen(k->comm, sizeof(k->comm)), false);
	if (fam->port)
		fprintf(f, ",port=\"%u\"", k->port);
	if (fam->result)
		fprintf(f, ",result=\"%s\"", k->result == ST_RESULT_UNKNOWN ? "unknown" :
			st_result_name(k->result, buf, sizeof(buf)));
}

/* A series: its family and labels, after the cgroups became workloads */
struct series {
	const struct family *fam;
	char *labels;
	struct st_metric_val v;
};

static int series_cmp(const void *a, const void *b)
{
	const struct series *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

static void add_val(struct st_metric_val *to, const struct st_metric_val *v)
{
	size_t i;

	to->count += v->count;
	to->timed += v->timed;
	to->sum_ns += v->sum_ns;
	for (i = 0; i < ST_METRIC_BUCKETS; i++)
		to->buckets[i] += v->buckets[i];
}

/* The labelled series of @e, sorted, the same labels added up: how many, or -ENOMEM */
static ssize_t make_series(struct st_metric_entry *e, size_t n, struct st_workloads *w,
			   struct series *s)
{
	size_t i, m = 0, len;
	FILE *f;

	for (i = 0; i < n; i++) {
		const struct family *fam = family_of(&e[i].k);

		if (!fam || !e[i].v.count)
			continue;
		s[m].fam = fam;
		s[m].v = e[i].v;
		s[m].labels = NULL;
		f = open_memstream(&s[m].labels, &len);
		if (!f)
			goto nomem;
		key_labels(f, fam, &e[i].k, w);
		m++;
		if (fclose(f))
			goto nomem;
	}
	qsort(s, m, sizeof(*s), series_cmp);
	for (i = 0, n = m, m = 0; i < n; i++) {
		if (m && s[m - 1].fam == s[i].fam && !strcmp(s[m - 1].labels, s[i].labels)) {
			add_val(&s[m - 1].v, &s[i].v);
			free(s[i].labels);
			continue;
		}
		s[m++] = s[i];
	}
	return m;
nomem:
	while (m--)
		free(s[m].labels);
	return -ENOMEM;
}

/*
 * The kernel's buckets are powers of 2; every other bound is shown (powers
 * of 4 of ns, 1.024 us to 1100 s): cumulative counts are exact at any bound,
 * and a page of thousands of series stays half as long.
 */
static void write_histogram(FILE *f, const char *name, const struct series *s)
{
	__u64 cum = 0;
	size_t i;

	for (i = 0; i < ST_METRIC_BUCKETS; i++) {
		cum += s->v.buckets[i];
		if (i % ST_METRIC_SHOWN_STEP)
			continue;
		fprintf(f, PREFIX "%s_bucket{%s,le=\"%.10g\"} %llu\n", name, s->labels,
			(double)(1ULL << (i + ST_METRIC_LOG2_MIN)) / 1e9, (unsigned long long)cum);
	}
	fprintf(f, PREFIX "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, s->labels,
		(unsigned long long)s->v.timed);
	fprintf(f, PREFIX "%s_sum{%s} %.9f\n", name, s->labels, (double)s->v.sum_ns / 1e9);
	fprintf(f, PREFIX "%s_count{%s} %llu\n", name, s->labels, (unsigned long long)s->v.timed);
}

/* Family by family: the counter, then its histogram */
static void write_families(FILE *f, const struct series *s, size_t n)
{
	size_t i, j, end;

	for (i = 0; i < n; i = end) {
		const struct family *fam = s[i].fam;

		for (end = i; end < n && s[end].fam == fam; end++)
			;
		fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s counter\n", fam->name,
			fam->help, fam->name);
		for (j = i; j < end; j++)
			fprintf(f, PREFIX "%s{%s} %llu\n", fam->name, s[j].labels,
				(unsigned long long)s[j].v.count);
		if (!fam->hist)
			continue;
		fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s histogram\n", fam->hist,
			fam->hist_help, fam->hist);
		for (j = i; j < end; j++)
			write_histogram(f, fam->hist, &s[j]);
	}
}

int st_metrics_write_series(FILE *f, struct st_metric_entry *e, size_t n,
			    struct st_workloads *workloads)
{
	struct series *s = calloc(n ? n : 1, sizeof(*s));
	ssize_t m = s ? make_series(e, n, workloads, s) : -ENOMEM;

	if (m >= 0)
		write_families(f, s, m);
	while (m > 0)
		free(s[--m].labels);
	free(s);
	return m < 0 ? (int)m : 0;
}

/* Every entry of the map into @e (room for @max): how many (the map only grows) */
static size_t read_map(int fd, struct st_metric_entry *e, size_t max)
{
	struct st_metric_key key, prev;
	bool first = true;
	size_t n = 0;

	while (n < max && !bpf_map_get_next_key(fd, first ? NULL : &prev, &key)) {
		first = false;
		prev = key;
		e[n].k = key;
		if (!bpf_map_lookup_elem(fd, &key, &e[n].v))
			n++;
	}
	return n;
}

static void write_gauge(FILE *f, const char *name, const char *help, const char *type,
			unsigned long long v)
{
	fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n" PREFIX "%s %llu\n", name, help,
		name, type, name, v);
}

/* What the kernel could not keep, and the tool itself */
static void write_self(FILE *f, const struct st_metrics *m, size_t series)
{
	__u64 n[ST_LOST_MAX] = {};
	__u32 i;

	for (i = 0; i < ST_LOST_MAX; i++)
		st_lost_sum(m->lost, i, &n[i]);
	fprintf(f, "# HELP " PREFIX "events_lost_total Events not counted or not sent, by why.\n"
		   "# TYPE " PREFIX "events_lost_total counter\n");
	for (i = 0; i < ST_LOST_MAX; i++)
		if (i != ST_LOST_SERIES)	/* counted, not lost: the next metric */
			fprintf(f, PREFIX "events_lost_total{reason=\"%s\"} %llu\n",
				st_lost_reason(i), (unsigned long long)n[i]);
	fprintf(f, PREFIX "events_lost_total{reason=\"kprobe_missed\"} %llu\n",
		(unsigned long long)m->kprobe_missed);
	for (i = 0; m->dns && i < ST_DNS_LOSSES; i++)
		fprintf(f, PREFIX "events_lost_total{reason=\"%s\"} %llu\n",
			st_dns_loss_reason(i), (unsigned long long)m->dns_lost[i]);
	if (m->workload)
		fprintf(f, PREFIX "events_lost_total{reason=\"" ST_WORKLOAD_LOSS "\"} %llu\n",
			(unsigned long long)m->workload_lost);
	if (m->journal)
		fprintf(f, PREFIX "events_lost_total{reason=\"" ST_JOURNAL_LOSS "\"} %llu\n",
			(unsigned long long)m->journal_lost);
	write_gauge(f, "metrics_overflow_total",
		    "Events counted in an \"other\" series: the series limit was reached.",
		    "counter", n[ST_LOST_SERIES]);
	write_gauge(f, "metrics_series", "Series the kernel counts in, the \"other\" ones included.",
		    "gauge", series);
	write_gauge(f, "metrics_series_limit", "Series the kernel may count in (--metrics-max-series).",
		    "gauge", m->limit);
	fprintf(f, "# HELP " PREFIX "build_info The tool, its version and the hooks it uses.\n"
		   "# TYPE " PREFIX "build_info gauge\n"
		   PREFIX "build_info{tool=\"%s\",version=\"%s\",backend=\"%s\"} 1\n",
		m->tool, ST_VERSION, m->backends);
}

static int page(void *ctx, FILE *f)
{
	struct st_metrics *m = ctx;
	size_t max = m->limit + ST_METRIC_OTHERS;
	struct st_metric_entry *e = calloc(max, sizeof(*e));
	size_t n = e ? read_map(bpf_map__fd(m->map), e, max) : 0;
	int err = e ? st_metrics_write_series(f, e, n, m->workloads) : -ENOMEM;

	if (!err)
		write_self(f, m, n);
	free(e);
	return err;
}

int st_metrics_prepare(struct st_metrics *m, const struct st_opts *o, const struct st_bpf *b,
		       const struct st_lost *lost)
{
	int err;

	m->map = b->metrics;
	m->lost = lost;
	m->http.fd = -1;
	if (!o->metrics)
		return 0;
	m->on = true;
	m->dns = o->dns;
	m->workload = o->container || o->unit;
	m->journal = o->journal;
	m->limit = o->metrics_series ? o->metrics_series : ST_METRICS_SERIES_DEFAULT;
	b->cfg->metrics = o->metrics_only ? ST_METRICS_ONLY : ST_METRICS_EVENTS;
	err = bpf_map__set_max_entries(m->map, m->limit + ST_METRIC_OTHERS);
	/* nothing per event is sent: the ring's smallest size will do */
	if (!err && o->metrics_only)
		err = bpf_map__set_max_entries(b->events, sysconf(_SC_PAGESIZE));
	if (err) {
		st_err("--metrics: failed to size the maps: %s", st_strerror(-err));
		return err;
	}
	/* before anything is loaded: a port in use is said first */
	return st_http_open(&m->http, &o->metrics_addr, o->metrics_addr_len, "/metrics",
			    CONTENT_TYPE, page, m);
}

/* Each family's overflow series, there before the map can be full */
static int put_others(struct st_metrics *m)
{
	struct st_metric_key k = { .other = 1 };
	struct st_metric_val v = {};
	size_t i;
	int err;

	for (i = 0; i < ST_METRIC_OTHERS; i++) {
		k.kind = families[i].kind;
		k.type = families[i].type;
		k.proto = families[i].proto;
		err = bpf_map__update_elem(m->map, &k, sizeof(k), &v, sizeof(v), BPF_NOEXIST);
		if (err) {
			st_err("--metrics: failed to set up the counters: %s", st_strerror(-err));
			return err;
		}
	}
	return 0;
}

int st_metrics_start(struct st_metrics *m, const char *tool, const char *backends,
		     struct st_workloads *workloads)
{
	int err;

	if (!m->on)
		return 0;
	m->tool = tool;
	m->workloads = workloads;
	snprintf(m->backends, sizeof(m->backends), "%s", backends);
	err = put_others(m);
	if (!err)
		fprintf(stderr, "Serving metrics on http://%s/metrics\n", m->http.where);
	return err;
}

void st_metrics_close(struct st_metrics *m)
{
	st_http_close(&m->http);
}
