// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include "escape.h"
#include "tool.h"

#define ST_CAP_BPF	39	/* not in every libc's headers yet */
#define ST_CAP_PERFMON	38

size_t st_rows(struct st_prog *rows, const struct st_prog *from, size_t n)
{
	memcpy(rows, from, n * sizeof(*rows));
	return n;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &hdr, d))
		return 0;	/* let the kernel say no later */
	if (has_cap(d, CAP_SYS_ADMIN) ||
	    (has_cap(d, ST_CAP_BPF) && has_cap(d, ST_CAP_PERFMON)))
		return 0;
	st_err("needs root (or the CAP_BPF and CAP_PERFMON capabilities)");
	return -EPERM;
}

static int open_object(struct st_run *r)
{
	const struct st_skeleton *sk = r->tool->skel;
	int err;

	/* before the open: libbpf takes the section handlers then */
	st_backend_register(&r->sel);
	err = sk->open(st_btf_open_opts(&r->btf, sk->name, sk->elf_bytes), &r->bpf);
	if (err)
		st_err("failed to open BPF object: %s", st_strerror(-err));
	return err;
}

/* Leaves out the rows of @hook: neither probed nor loaded */
static size_t without_hook(struct st_prog *rows, size_t n, const char *hook)
{
	size_t i, kept = 0;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].hook, hook))
			rows[kept++] = rows[i];
	return kept;
}

/* A backend for every hook; COMMAND's followers when there is one */
static int choose_backends(struct st_run *r)
{
	bool command = r->opts.command != NULL;
	int err;

	r->nrows = r->tool->rows(r->rows);
	if (!r->opts.dns)
		r->nrows = without_hook(r->rows, r->nrows, "dns");
	err = st_backend_select(r->bpf.obj, r->rows, r->nrows, r->opts.backend,
				r->opts.family, &r->sel);
	if (err)
		return err;
	bpf_program__set_autoload(r->bpf.follow_fork, command);
	bpf_program__set_autoload(r->bpf.follow_exit, command);
	return 0;
}

/* What a cgroup is, when the output or a filter needs to know */
static int open_workloads(struct st_run *r)
{
	const struct st_opts *o = &r->opts;
	bool asked = o->print_workload || o->container || o->unit;
	int err;

	if (!asked && !o->json && !o->metrics && !o->journal)
		return 0;
	/* a missing cgroup2 mount: null says it in JSON, the filters say it */
	err = st_workloads_open(!o->print_workload || o->container || o->unit, &r->workloads);
	if (!err)
		err = st_filter_workload_open(&r->filter, o, r->workloads);
	if (err == -ENOENT || err == -EINVAL)
		r->fail_status = 2;	/* bad input, as a usage error */
	return err;
}

/* --max-processes, --max-handshakes and --max-threads: the pids map's (in
 * command mode only: args.c refuses it without COMMAND, so a -p list keeps
 * all of ST_MAX_PIDS), the owners map's and the stash's sizes */
static int size_maps(struct st_run *r)
{
	int err = 0;

	if (r->opts.max_processes)
		err = bpf_map__set_max_entries(r->bpf.pids, r->opts.max_processes);
	if (err) {
		st_err("--max-processes: cannot size the process map: %s", st_strerror(-err));
		return err;
	}
	if (r->tool->owners && r->opts.max_handshakes)
		err = bpf_map__set_max_entries(r->tool->owners(), r->opts.max_handshakes);
	if (err) {
		st_err("--max-handshakes: cannot size the connect map: %s", st_strerror(-err));
		return err;
	}
	if (r->tool->stash && r->opts.max_threads)
		err = bpf_map__set_max_entries(r->tool->stash(), r->opts.max_threads);
	if (err)
		st_err("--max-threads: cannot size the thread map: %s", st_strerror(-err));
	return err;
}

/* accept_seen, once the backends are chosen: --max-threads entries where
 * the function side writes it while starting (catch-up programs beside
 * it), one where nothing does (the tracepoint backend) */
static int size_accept_seen(struct st_run *r)
{
	__u32 n = r->opts.max_threads ? r->opts.max_threads : ST_THREADS_DEFAULT;
	int err;

	if (!r->tool->accept_seen)
		return 0;
	err = bpf_map__set_max_entries(r->tool->accept_seen(), r->sel.ncatch_up ? n : 1);
	if (err)
		st_err("--max-threads: cannot size the accept map: %s", st_strerror(-err));
	return err;
}

static int prepare(struct st_run *r)
{
	int err;

	if (r->opts.command && !st_command_found(r->opts.command[0])) {
		st_err("failed to run %s: command not found", r->opts.command[0]);
		r->fail_status = 127;	/* as shells, env and timeout say it */
		return -ENOENT;
	}
	err = check_privileges();
	if (!err)
		err = open_workloads(r);
	if (!err)
		err = open_object(r);
	if (!err)
		err = st_filter_prepare(&r->filter, &r->opts, &r->bpf);
	if (!err)
		err = st_loop_size(&r->bpf, &r->opts);
	if (!err)
		err = st_metrics_prepare(&r->metrics, &r->opts, &r->bpf, &r->lost);
	if (!err)
		err = size_maps(r);
	if (!err)
		err = choose_backends(r);
	if (!err)
		err = size_accept_seen(r);
	if (!err && r->tool->before_load)
		err = r->tool->before_load(r);
	return err;
}

void st_run_drop_hook(struct st_run *r, const char *hook)
{
	struct st_selection *sel = &r->sel;
	size_t i;

	for (i = 0; i < r->nrows; i++)
		if (!strcmp(r->rows[i].hook, hook))
			bpf_program__set_autoload(r->rows[i].prog, false);
	for (i = 0; i < sel->nhooks; i++) {
		if (strcmp(sel->hooks[i], hook))
			continue;
		memmove(&sel->hooks[i], &sel->hooks[i + 1],
			(sel->nhooks - i - 1) * sizeof(sel->hooks[0]));
		memmove(&sel->chosen[i], &sel->chosen[i + 1],
			(sel->nhooks - i - 1) * sizeof(sel->chosen[0]));
		sel->nhooks--;
		break;
	}
}

static int load(struct st_run *r)
{
	int err = r->tool->skel->load();

	if (err)
		st_err("failed to load BPF programs: %s", st_strerror(-err));
	return err;
}

int st_run_emit(struct st_run *r, const void *data, size_t size)
{
	/* a malformed record is neither printed nor counted */
	if (r->opts.count)
		st_count_add(&r->counts, &r->out, data, size);
	else
		st_output_event(&r->out, data, size);
	return 0;
}

static int handle(void *ctx, void *data, size_t size)
{
	const struct st_event_head *h = data;
	struct st_run *r = ctx;

	/* -d's answers go to the cache, before the connects that follow them */
	if (size >= sizeof(*h) && h->kind == ST_KIND_DNS) {
		st_dns_add(&r->dns, data, size);
		return 0;
	}
	if (r->tool->on_event)
		return r->tool->on_event(r, data, size);
	return st_run_emit(r, data, size);
}

/*
 * The ready line on stderr. In command mode the tool ends with COMMAND, so
 * it names COMMAND (escaped: it is the user's text, maybe a hostile file
 * name) instead of saying Ctrl-C; "(backend: NAME)" stays where scripts
 * look for it.
 */
static void print_ready(const struct st_run *r)
{
	const char *cmd = r->opts.command ? r->opts.command[0] : NULL;
	size_t len = cmd ? strlen(cmd) : 0;
	char backends[64], *shown = NULL;

	st_selection_describe(&r->sel, backends, sizeof(backends));
	if (!cmd) {
		fprintf(stderr, "Tracing %s (backend: %s). Ctrl-C to end.\n", r->what, backends);
		return;
	}
	shown = malloc(ST_ESCAPED_LEN(len));
	if (shown)
		st_escape(cmd, len, 0, shown, ST_ESCAPED_LEN(len));
	fprintf(stderr, "Tracing %s by %s and its descendants (backend: %s).\n", r->what,
		shown ? shown : "COMMAND", backends);
	free(shown);
}

/* --metrics: the server, once the hooks it names are chosen */
static int start_metrics(struct st_run *r)
{
	char backends[64];
	int err;

	if (!r->metrics.on)
		return 0;
	st_selection_describe(&r->sel, backends, sizeof(backends));
	err = st_metrics_start(&r->metrics, r->tool->name, backends, r->workloads);
	if (err)
		return err;
	return st_loop_watch(&r->loop, st_http_fd(&r->metrics.http));
}

static int start(struct st_run *r)
{
	struct st_column cols[ST_MAX_COLUMNS];
	size_t ncols = r->opts.count ? r->tool->count_columns(cols) : r->tool->columns(cols);
	int err;

	err = st_output_open(&r->out, &r->opts, r->tool->name, cols, ncols);
	if (err)
		return err;
	st_count_init(&r->counts, r->opts.interval_s);
	r->out.backlog = r->tool->json_backlog;
	r->out.latency = r->tool->json_latency;
	r->out.workloads = r->workloads;
	if (r->opts.journal) {
		err = st_journal_open(&r->journal, r->tool->name);
		if (err)
			return err;
		r->out.journal = &r->journal;
	}
	if (r->opts.dns) {
		err = st_dns_init(&r->dns, ST_DNS_CACHE_MAX);
		if (err) {
			st_err("-d: no memory for the DNS cache");
			return err;
		}
		r->out.dns = &r->dns;
	}
	err = st_filter_fill(&r->filter, &r->opts, &r->bpf);
	if (!err)
		err = st_loop_open(&r->loop, r->bpf.events, handle, r);
	if (!err && st_filter_workload_fd(&r->filter) >= 0)
		err = st_loop_watch(&r->loop, st_filter_workload_fd(&r->filter));
	if (!err)
		err = st_attach_all(&r->links, r->bpf.obj, r->rows, r->nrows, &r->sel,
				    r->filter.sees_all_tasks);
	if (!err && r->tool->catch_up)
		*r->tool->catch_up() = r->links.caught_up ? ST_ACCEPT_CAUGHT_UP
							  : ST_ACCEPT_NO_CATCH_UP;
	if (!err)
		err = start_metrics(r);
	if (err)
		return err;
	st_loop_signals();
	print_ready(r);
	/* a table has its own, each time; the journal and metrics none */
	if (!r->opts.count && !r->opts.metrics_only && !r->opts.journal)
		st_output_header(&r->out);
	err = st_loop_flush(&r->loop, &r->out);
	if (!err && r->opts.command)
		err = st_command_start(&r->cmd, r->opts.command, r->bpf.pids, &r->fail_status);
	return err;
}

/* Calls the kernel's kprobes missed since the last call, said on stderr (0: none, or
 * the kernel does not tell) */
static __u64 kprobe_missed(struct st_run *r)
{
	__u64 missed;

	if (st_links_missed(&r->links, &missed) || missed <= r->kprobe_missed)
		return 0;
	missed -= r->kprobe_missed;
	r->kprobe_missed += missed;
	st_err("the kernel missed %llu calls of the probed functions (more at once than its "
	       "kretprobes follow, max(10, 2 x CPUs)): their events are not printed",
	       (unsigned long long)missed);
	return missed;
}

/* Cgroups of --container/--unit the map refused since the last call (each
 * once), said as the kernel's losses are */
static void report_workload_lost(struct st_run *r)
{
	struct st_filter *f = &r->filter;
	unsigned long long n = f->workload_dropped - f->workload_said;

	if (!n)
		return;
	f->workload_said += n;
	r->metrics.workload_lost += n;
	st_err("--container/--unit: %llu new cgroups of the workload not traced: more than %d "
	       "at once (each is tried again as cgroups are removed)", n, ST_MAX_WORKLOAD_CGROUPS);
	if (r->opts.json)
		st_output_lost_one(&r->out, ST_WORKLOAD_LOSS, n);
}

/*
 * What the kernel lost (and the tool's user side found lost), its kprobes
 * missed, the workload's cgroups not traced and -d lost: on stderr, with -j
 * in the trace too, and on the metrics page; every 250 ms at most, and at
 * exit (@final)
 */
static void report_lost(struct st_run *r, bool final)
{
	__u64 delta[ST_LOST_MAX], missed;
	struct st_dns_lost dns;
	int i;

	if (!st_lost_due(&r->lost, final))
		return;
	if (r->tool->count_lost)
		r->tool->count_lost(r, final);
	st_lost_skipped(&r->lost, r->bpf.obj);
	if (st_lost_check(&r->lost, delta) && r->opts.json)
		st_output_lost(&r->out, delta);
	missed = kprobe_missed(r);
	r->metrics.kprobe_missed += missed;
	if (missed && r->opts.json)
		st_output_lost_one(&r->out, "kprobe_missed", missed);
	report_workload_lost(r);
	if (r->opts.journal)
		r->metrics.journal_lost += st_journal_check(&r->journal);
	if (!r->opts.dns)
		return;
	dns = st_dns_check(&r->dns);
	for (i = 0; i < ST_DNS_LOSSES; i++) {
		r->metrics.dns_lost[i] += dns.n[i];
		if (dns.n[i] && r->opts.json)
			st_output_lost_one(&r->out, st_dns_loss_reason(i), dns.n[i]);
	}
}

/* After each batch: losses said as they come, new cgroups of the workload traced, COMMAND's end noticed */
static bool tick(void *ctx)
{
	struct st_run *r = ctx;

	report_lost(r, false);
	st_http_run(&r->metrics.http);		/* scrapes, between two batches */
	if (r->opts.count)
		st_count_print(&r->counts, &r->out, false);	/* -i: when it is due */
	st_filter_workload_update(&r->filter);	/* a failure is said, the trace goes on */
	st_command_reap(&r->cmd, false);
	return !r->cmd.done;
}

/* The loop and what ends it; the exit status */
static int run(struct st_run *r)
{
	int err, werr;

	st_lost_init(&r->lost, r->bpf.lost);
	err = st_loop_run(&r->loop, &r->out, tick, r);
	report_lost(r, true);
	st_lost_total(&r->lost);
	if (r->kprobe_missed)
		st_err("%llu calls of the probed functions missed in total by the kernel's kprobes",
		       (unsigned long long)r->kprobe_missed);
	if (r->filter.workload_dropped)
		st_err("%llu new cgroups of the workload not traced in total: more than %d at once",
		       r->filter.workload_dropped, ST_MAX_WORKLOAD_CGROUPS);
	if (r->workloads && st_workloads_uncached(r->workloads))
		st_err("%llu workloads were looked up without the cache: more than %d cgroups",
		       st_workloads_uncached(r->workloads), ST_WORKLOADS_MAX);
	/* the trace stops with the reader; COMMAND runs on to its end */
	st_command_reap(&r->cmd, true);
	if (r->tool->after_run)
		r->tool->after_run(r);
	if (r->opts.count)
		st_count_print(&r->counts, &r->out, true);
	st_dns_report(&r->dns);
	st_journal_report(&r->journal);
	/* with -c the table is all the output: a failed write is a failure,
	 * a reader that left is not */
	werr = st_loop_flush(&r->loop, &r->out);
	if (!err && werr && r->loop.write_err != -EPIPE)
		err = werr;
	if (r->opts.command && r->cmd.done)
		return st_command_exit_status(&r->cmd);
	return err ? 1 : 0;
}

static void finish(struct st_run *r)
{
	st_metrics_close(&r->metrics);
	st_loop_close(&r->loop);
	st_detach_all(&r->links);
	st_filter_close(&r->filter);
	st_workloads_close(r->workloads);
	st_command_reap(&r->cmd, false);
	st_count_free(&r->counts);
	st_dns_free(&r->dns);
	st_output_close(&r->out);
	st_journal_close(&r->journal);
	if (r->bpf.obj)
		r->tool->skel->destroy();
	st_backend_unregister(&r->sel);
	st_btf_cache_close(&r->btf);
}

int st_tool_main(const struct st_tool *tool, int argc, char **argv)
{
	static struct st_run r;
	int err, status = 1;

	r.tool = tool;
	r.what = tool->what;
	r.fail_status = 1;
	r.filter.cgroup_fd = -1;
	r.loop.epfd = -1;
	r.metrics.http.fd = -1;
	r.cmd.child = -1;
	st_log_init(tool->name);
	st_parse_args(tool->options, tool->parse, tool->doc,
		      (tool->family ? ST_ARGS_FAMILY : 0) | (tool->dns ? ST_ARGS_DNS : 0) |
		      (tool->owners ? ST_ARGS_HANDSHAKES : 0) |
		      (tool->stash ? ST_ARGS_THREADS : 0),
		      argc, argv, &r.opts);
	if (r.opts.count && !tool->count_columns)
		st_usage_error("-c/--count: %s has no count mode", tool->name);
	err = prepare(&r);
	if (!err)
		err = load(&r);
	if (!err)
		err = start(&r);
	if (!err)
		status = run(&r);
	finish(&r);
	return err ? r.fail_status : status;
}
