// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpconnect: trace active TCP connects, and with -r whether they worked. */
#define _GNU_SOURCE
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "args.h"
#include "btfcache.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "tcpconnect.h"
#include "tcpconnect.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum { OPT_LPORT = 'L' };

static struct {
	struct st_opts common;
	bool lport;
	bool count;
	bool result;
	bool failed_only;
} opts;

static const struct st_prog progs[] = {
	{ "connect", ST_BACKEND_FENTRY, "fexit_tcp_v4_connect", "tcp_v4_connect", 4 },
	{ "connect", ST_BACKEND_FENTRY, "fexit_tcp_v6_connect", "tcp_v6_connect", 6 },
	{ "connect", ST_BACKEND_KPROBE, "kprobe_tcp_v4_connect", "tcp_v4_connect", 4 },
	{ "connect", ST_BACKEND_KPROBE, "kretprobe_tcp_v4_connect", "tcp_v4_connect", 4 },
	{ "connect", ST_BACKEND_KPROBE, "kprobe_tcp_v6_connect", "tcp_v6_connect", 6 },
	{ "connect", ST_BACKEND_KPROBE, "kretprobe_tcp_v6_connect", "tcp_v6_connect", 6 },
	{ "connect", ST_BACKEND_TRACEPOINT, "tp_sys_exit_connect", NULL, 0 },
	{ "state", ST_BACKEND_FENTRY, "fentry_tcp_set_state", "tcp_set_state", 0 },
	{ "state", ST_BACKEND_KPROBE, "kprobe_tcp_set_state", "tcp_set_state", 0 },
	{ "state", ST_BACKEND_TRACEPOINT, "tp_inet_sock_set_state", NULL, 0 },
};

static const char doc[] =
"Trace active TCP connects: who connected to where, and with -r whether it\n"
"worked. With COMMAND, run it and trace only it and its descendants.\n"
"\v"
"EXAMPLES:\n"
"    tcpconnect             # trace all TCP connects\n"
"    tcpconnect -r          # and their outcome: ok, ECONNREFUSED, ...\n"
"    tcpconnect -x          # only the connects that failed\n"
"    tcpconnect -t -U       # add a timestamp and the UID\n"
"    tcpconnect -p 181,182  # only these processes\n"
"    tcpconnect -P 80,443   # only these destination ports\n"
"    tcpconnect -L -4       # IPv4 only, with the local port\n"
"    tcpconnect -c          # count connects per destination, print at exit\n"
"    tcpconnect -N 4026531840   # only this network namespace\n"
"    tcpconnect --cgroup /sys/fs/cgroup/system.slice   # only this cgroup\n"
"    tcpconnect -j -o trace.json   # JSON lines into a file\n"
"    tcpconnect -- curl -s https://example.com   # curl and its children only";

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these destination ports", 0 },
	{ "lport", OPT_LPORT, NULL, 0, "Add LPORT, the local (source) port", 0 },
	{ "source-port", 's', NULL, 0, "Same as --lport", 0 },
	{ "count", 'c', NULL, 0, "Count connects per source, destination and port; print at exit", 0 },
	{ "result", 'r', NULL, 0, "Print each connect once its outcome is known, with RESULT", 0 },
	{ "failed", 'x', NULL, 0, "Print only connects that failed (implies -r)", 0 },
	{},
};

static const struct argp_child children[] = {
	{ &st_common_argp, 0, "Common options:", 1 },
	{ &st_family_argp, 0, NULL, 1 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		st_argp_init_children(state, &opts.common);
		break;
	case 'P':
		return st_parse_ports(state, arg, &opts.common);
	case OPT_LPORT:
	case 's':
		opts.lport = true;
		break;
	case 'c':
		opts.count = true;
		break;
	case 'x':
		opts.failed_only = true;
		/* fall through */
	case 'r':
		opts.result = true;
		break;
	case ARGP_KEY_END:
		if (opts.count && (opts.result || opts.lport || opts.common.time_mode ||
				   opts.common.print_uid))
			st_usage_error(state, "-c/--count: cannot be combined with -r, -x, -L, -t, -T or -U");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.args_doc = "[COMMAND [ARGS...]]",
	.doc = doc,
	.children = children,
};

/* -c: connects per (source, destination, port), kept in a tsearch tree */
struct count {
	__u8 family;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 dport;
	__u64 n;
};

struct counts {
	void *root;
	struct count **rows;
	size_t nrows;
};

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static int count_cmp(const void *a, const void *b)
{
	return memcmp(a, b, offsetof(struct count, n));
}

static int count_add(struct counts *c, const struct inet_event *e)
{
	struct count key = { .family = e->family, .dport = e->dport }, **slot, *row;

	memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	slot = tfind(&key, &c->root, count_cmp);
	if (slot) {
		(*slot)->n++;
		return 0;
	}
	row = malloc(sizeof(*row));
	if (!row)
		return -ENOMEM;
	*row = key;
	row->n = 1;
	if (!tsearch(row, &c->root, count_cmp)) {
		free(row);
		return -ENOMEM;
	}
	c->nrows++;
	return 0;
}

static void collect(const void *node, VISIT which, void *closure)
{
	struct counts *c = closure;

	if (which == postorder || which == leaf)
		c->rows[c->nrows++] = *(struct count *const *)node;
}

static int by_count(const void *a, const void *b)
{
	const struct count *x = *(struct count *const *)a, *y = *(struct count *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return count_cmp(x, y);
}

static void print_row(struct st_output *out, const struct count *r, const int *w)
{
	char sa[ST_ADDR_STRLEN], da[ST_ADDR_STRLEN], port[8], n[24];
	int over = 0;

	st_addr_format(r->family, r->saddr, sa, sizeof(sa));
	st_addr_format(r->family, r->daddr, da, sizeof(da));
	snprintf(port, sizeof(port), "%u", r->dport);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)r->n);
	if (out->json) {
		st_json_str(out->f, '{', "tool", "tcpconnect");
		st_json_str(out->f, ',', "event", "count");
		fprintf(out->f, ",\"ip\":%d", r->family == ST_AF_INET6 ? 6 : 4);
		st_json_str(out->f, ',', "saddr", sa);
		st_json_str(out->f, ',', "daddr", da);
		fprintf(out->f, ",\"dport\":%s,\"count\":%s}\n", port, n);
		return;
	}
	st_column_print(out->f, sa, w[0], &over, false);
	st_column_print(out->f, da, w[1], &over, false);
	st_column_print(out->f, port, w[2], &over, false);
	st_column_print(out->f, n, w[3], &over, true);
}

/* The table at exit, biggest first; frees the rows. */
static void print_counts(struct counts *c, struct st_output *out)
{
	int w[4] = { 15, 15, 5, 8 }, over = 0;
	size_t i, n = c->nrows;
	char sa[ST_ADDR_STRLEN];

	c->rows = calloc(n ? n : 1, sizeof(*c->rows));
	c->nrows = 0;
	if (c->rows)
		twalk_r(c->root, collect, c);
	qsort(c->rows, c->nrows, sizeof(*c->rows), by_count);
	for (i = 0; i < c->nrows; i++) {	/* widths first: a table, not a stream */
		w[0] = max_int(w[0], strlen(st_addr_format(c->rows[i]->family,
				c->rows[i]->saddr, sa, sizeof(sa))));
		w[1] = max_int(w[1], strlen(st_addr_format(c->rows[i]->family,
				c->rows[i]->daddr, sa, sizeof(sa))));
	}
	if (!out->json) {
		st_column_print(out->f, "LADDR", w[0], &over, false);
		st_column_print(out->f, "RADDR", w[1], &over, false);
		st_column_print(out->f, "RPORT", w[2], &over, false);
		st_column_print(out->f, "CONNECTS", w[3], &over, true);
	}
	for (i = 0; i < c->nrows; i++)
		print_row(out, c->rows[i], w);
	tdestroy(c->root, free);
	free(c->rows);
}

struct app {
	struct st_output out;
	struct counts counts;
	int err;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct app *a = ctx;

	if (size < sizeof(struct inet_event))
		return 0;
	if (!opts.count) {
		st_output_event(&a->out, data);
		return 0;
	}
	a->err = count_add(&a->counts, data);
	if (a->err)
		st_err("failed to count a connect: %s", strerror(-a->err));
	return a->err;
}

static void columns(struct st_column *cols, size_t *n)
{
	*n = 0;
	cols[(*n)++] = (struct st_column){ "PID", ST_F_PID, 7 };
	cols[(*n)++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	cols[(*n)++] = (struct st_column){ "IP", ST_F_IP, 2 };
	cols[(*n)++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	if (opts.lport)
		cols[(*n)++] = (struct st_column){ "LPORT", ST_F_SPORT, 5 };
	cols[(*n)++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	cols[(*n)++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (opts.result)
		cols[(*n)++] = (struct st_column){ "RESULT", ST_F_RESULT, 6 };
}

/*
 * Without -r a connect is printed when tcp_v4/v6_connect returns: fentry and
 * kprobes see that return, so the state hook, which runs on every state
 * change of every TCP socket, is not loaded. The tracepoint backend needs it
 * to learn which socket a connect() sent a SYN from.
 */
static void skip_state_hook(const struct st_selection *sel, struct tcpconnect_bpf *skel)
{
	size_t i;

	if (opts.result)
		return;
	for (i = 0; i < sel->nhooks; i++)
		if (!strcmp(sel->hooks[i], "connect") &&
		    sel->chosen[i] == ST_BACKEND_TRACEPOINT)
			return;
	for (i = 0; i < ARRAY_SIZE(progs); i++)
		if (!strcmp(progs[i].hook, "state"))
			bpf_program__set_autoload(bpf_object__find_program_by_name(
				skel->obj, progs[i].prog), false);
	skel->rodata->cfg.at_return = 1;
}

int main(int argc, char **argv)
{
	struct tcpconnect_bpf *skel = NULL;
	struct st_btf_cache btf = {};
	struct st_column cols[ST_MAX_COLUMNS];
	struct st_session s = {};
	struct app app = {};
	size_t ncols = 0;
	int err, status = 1;

	st_log_init("tcpconnect");
	st_parse_args(&argp, argc, argv, NULL);
	skel = tcpconnect_bpf__open_opts(st_btf_open_opts(&btf, "tcpconnect",
							  tcpconnect_bpf__elf_bytes));
	if (!skel) {
		err = -errno;
		st_err("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	skel->rodata->cfg.report_result = opts.result;
	skel->rodata->cfg.failed_only = opts.failed_only;
	err = st_session_prepare(&s, skel->obj, &skel->rodata->st_cfg, &opts.common,
				 progs, ARRAY_SIZE(progs), "TCP connects");
	if (err)
		goto cleanup;
	skip_state_hook(&s.sel, skel);
	err = tcpconnect_bpf__load(skel);
	if (err) {
		st_err("failed to load BPF programs: %s", st_strerror(-err));
		goto cleanup;
	}
	if (!opts.count)
		columns(cols, &ncols);
	err = st_output_open(&app.out, &opts.common, "tcpconnect", cols, ncols);
	if (err)
		goto cleanup;
	err = st_session_start(&s, &app.out, handle_event, &app);
	if (err)
		goto cleanup;
	status = st_session_run(&s, &app.out);
	if (opts.count) {
		print_counts(&app.counts, &app.out);
		st_output_flush(&app.out);
	}
cleanup:
	st_session_close(&s);
	st_output_close(&app.out);
	tcpconnect_bpf__destroy(skel);
	st_btf_cache_close(&btf);
	return err ? st_session_fail_status(&s) : status;
}
