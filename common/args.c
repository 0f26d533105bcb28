// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "http.h"
#include "metrics.h"
#include "log.h"

#define ST_PID_MAX	4194304ULL	/* PID_MAX_LIMIT on 64-bit */

enum {
	OPT_CGROUP = 0x100,
	OPT_CONTAINER,
	OPT_UNIT,
	OPT_BACKEND,
	OPT_DEBUG,
	OPT_DEBUG_LIBBPF,
	OPT_RINGBUF,
	OPT_JOURNAL,
	OPT_METRICS,
	OPT_METRICS_ONLY,
	OPT_METRICS_SERIES,
	OPT_MAX_HANDSHAKES,
	OPT_MAX_THREADS,
	OPT_MAX_PROCESSES,
};

int st_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *out)
{
	unsigned long long v;
	char *end;

	/* strtoull takes "-1" and spaces; a count or an id never has them */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int st_parse_list(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out, size_t max_n, size_t *n)
{
	char buf[1024], *tok, *save = NULL;
	size_t i, count = 0;
	int err;

	if (!s || !*s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (buf[strlen(buf) - 1] == ',' || buf[0] == ',' || strstr(buf, ",,"))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (count == max_n)
			return -E2BIG;
		err = st_parse_num(tok, min, max, &out[count]);
		if (err)
			return err;
		for (i = 0; i < count && out[i] != out[count]; i++)
			;
		if (i == count)		/* a repeated value is harmless: keep one */
			count++;
	}
	*n = count;
	return 0;
}

void st_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st_verr(fmt, ap);
	va_end(ap);
	exit(2);
}

__attribute__((noreturn))
static void list_error(const char *opt, const char *arg, const char *what,
		       unsigned long long min, unsigned long long max, size_t max_n, int err)
{
	if (err == -E2BIG)
		st_usage_error("%s: too many values in '%s' (at most %zu)",
			       opt, arg, max_n);
	st_usage_error("%s: invalid %s '%s' (expected numbers from %llu to %llu, separated by commas)",
		       opt, what, arg, min, max);
}

void st_parse_ports(const char *arg, struct st_opts *o)
{
	unsigned long long v[ST_MAX_PORTS];
	size_t i, n;
	int err;

	err = st_parse_list(arg, 1, 65535, v, ST_MAX_PORTS, &n);
	if (err)
		list_error("-P/--port", arg, "port list", 1, 65535,
			   ST_MAX_PORTS, err);
	for (i = 0; i < n; i++)
		o->ports[i] = v[i];
	o->nports = n;
}

/* /proc/sys/kernel/pid_max: every PID is below it. 0 if unknown. */
static unsigned long long read_pid_max(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * A PID that no process has would make the filter drop everything, and the
 * tool would look as if it saw nothing. kill(pid, 0) asks in the tool's own
 * PID namespace, the one the filter compares in; EPERM means it exists.
 */
static void check_pid(unsigned long long pid, unsigned long long max)
{
	if (max && pid >= max)
		st_usage_error("-p/--pid: PID %llu cannot exist: PIDs stay below the kernel's pid_max (%llu)",
			       pid, max);
	if (kill((pid_t)pid, 0) && errno == ESRCH)
		st_usage_error("-p/--pid: PID %llu: no such process", pid);
}

static void parse_pids(const char *arg, struct st_opts *o)
{
	unsigned long long v[ST_MAX_PID_ARGS], max;
	size_t i, n;
	int err;

	err = st_parse_list(arg, 1, ST_PID_MAX, v, ST_MAX_PID_ARGS, &n);
	if (err)
		list_error("-p/--pid", arg, "PID list", 1, ST_PID_MAX,
			   ST_MAX_PID_ARGS, err);
	max = read_pid_max();
	for (i = 0; i < n; i++) {
		check_pid(v[i], max);
		o->pids[i] = v[i];
	}
	o->npids = n;
}

static unsigned long long parse_one(const char *opt, const char *arg,
				    unsigned long long min, unsigned long long max)
{
	unsigned long long v;

	if (st_parse_num(arg, min, max, &v))
		st_usage_error("%s: invalid value '%s' (expected a number from %llu to %llu)",
			       opt, arg, min, max);
	return v;
}

static bool option_end(const struct argp_option *o)
{
	return !o->key && !o->name && !o->doc && !o->group;
}

/*
 * Does the option named by short @key, or by @name (@len bytes), take a
 * separate argument? 1 or 0, -1 if @argp and its children have no such
 * option. @prefix: @name may abbreviate it, as getopt_long allows. An alias
 * takes what its original takes.
 */
static int takes_arg(const struct argp *argp, int key, const char *name, size_t len,
		     bool prefix)
{
	const struct argp_option *o;
	const struct argp_child *c;
	bool arg = false;
	int r;

	for (o = argp->options; o && !option_end(o); o++) {
		if (!(o->flags & OPTION_ALIAS))
			arg = o->arg && !(o->flags & OPTION_ARG_OPTIONAL);
		if (name ? o->name && !strncmp(o->name, name, len) &&
			   (prefix || !o->name[len]) :
		    o->key == key && key > 0 && key < 128 && isprint(key))
			return arg;
	}
	for (c = argp->children; c && c->argp; c++) {
		r = takes_arg(c->argp, key, name, len, prefix);
		if (r >= 0)
			return r;
	}
	return -1;
}

static bool long_takes_arg(const struct argp *root, const char *name)
{
	size_t len = strlen(name);
	int r = takes_arg(root, 0, name, len, false);

	return (r < 0 ? takes_arg(root, 0, name, len, true) : r) > 0;
}

/*
 * Did a "--" end the options? argp does not say, and `tool --` looks like
 * `tool -o --` (a file named "--") once parsed, so this walks argv as
 * getopt did, stepping over option arguments, up to COMMAND.
 */
static bool has_dashdash(const struct argp *root, int argc, char **argv)
{
	const char *a, *p;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "--"))
			return true;
		if (a[0] != '-' || !a[1])
			return false;		/* COMMAND */
		if (a[1] == '-') {
			if (!strchr(a, '=') && long_takes_arg(root, a + 2))
				i++;
			continue;
		}
		for (p = a + 1; *p && takes_arg(root, (unsigned char)*p, NULL, 0, false) <= 0; p++)
			;
		if (*p && !p[1])	/* "-o FILE", not "-oFILE" */
			i++;
	}
	return false;
}

static const struct argp_option common_options[] = {
	{ "pid", 'p', "PID[,PID...]", 0, "Trace only these processes", 0 },
	{ "uid", 'u', "UID", 0, "Trace only this user ID", 0 },
	{ "print-uid", 'U', NULL, 0, "Add a UID column", 0 },
	{ "netns", 'N', "NETNS", 0,
	  "Trace only this network namespace (inode, as in /proc/PID/ns/net)", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Trace only tasks in this cgroup v2 directory or below it", 0 },
	{ "container", OPT_CONTAINER, "ID|NAME", 0,
	  "Trace only this container (an ID prefix or a name), also once it restarts", 0 },
	{ "unit", OPT_UNIT, "NAME", 0,
	  "Trace only this systemd unit (NAME.service if NAME has no dot), also once it starts", 0 },
	{ "workload", 'w', NULL, 0,
	  "Add WORKLOAD: the container (name or ID), else the systemd unit, else the cgroup", 0 },
	{ "timestamp", 't', NULL, 0, "Add TIME(s): seconds since the first event", 0 },
	{ "time", 'T', NULL, 0, "Add TIME: wall-clock time, HH:MM:SS", 0 },
	{ "json", 'j', NULL, 0, "Print one JSON object per event and line", 0 },
	{ "output", 'o', "FILE", 0, "Write the trace to FILE", 0 },
	{ "journal", OPT_JOURNAL, NULL, 0,
	  "Write each event to the systemd journal: SOCKTRACE_* fields and a MESSAGE", 0 },
	{ "count", 'c', NULL, 0,
	  "Count events per process, workload and destination; print the table at exit", 0 },
	{ "interval", 'i', "SECONDS", 0,
	  "With -c, also print (and restart) the table every SECONDS", 0 },
	{ "backend", OPT_BACKEND, "NAME", 0,
	  "Hook kind: auto (default), fentry, kprobe or tracepoint", 0 },
	{ "ring-buffer", OPT_RINGBUF, "KIB", 0,
	  "Ring buffer size in KiB, a power of two from 4 (default 1024)", 0 },
	{ "max-processes", OPT_MAX_PROCESSES, "N", 0,
	  "With COMMAND: processes followed at once, COMMAND included (default 16384, about 80 "
	  "bytes each in the kernel); one forked beyond is not traced, counted and said", 0 },
	{ "metrics", OPT_METRICS, "[ADDR:]PORT", 0,
	  "Also serve Prometheus metrics on http://ADDR:PORT/metrics (ADDR: 127.0.0.1 unless given)",
	  0 },
	{ "metrics-only", OPT_METRICS_ONLY, "[ADDR:]PORT", 0,
	  "Serve the metrics instead of printing events: counted in the kernel, nothing per event "
	  "leaves it", 0 },
	{ "metrics-max-series", OPT_METRICS_SERIES, "N", 0,
	  "Label sets the kernel counts in (default 4096, about 400 bytes each); more go to \"other\"", 0 },
	{ "debug", OPT_DEBUG, NULL, 0,
	  "Say which hook each program uses and why, and which BTF was used", 0 },
	{ "debug-libbpf", OPT_DEBUG_LIBBPF, NULL, 0,
	  "Also show libbpf's own messages, section by section (implies --debug)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Same as --help", 0 },
	{},
};

/* The filters: -p, -u, -N, --cgroup, --container, --unit */
static error_t parse_filter(int key, char *arg, struct st_opts *o)
{
	switch (key) {
	case 'p':
		parse_pids(arg, o);
		break;
	case 'u':
		o->uid = parse_one("-u/--uid", arg, 0, 4294967294ULL);
		o->has_uid = true;
		break;
	case 'N':
		o->netns = parse_one("-N/--netns", arg, 1, 4294967295ULL);
		break;
	case OPT_CGROUP:
		if (!*arg)
			st_usage_error("--cgroup: empty path (expected a cgroup v2 directory)");
		o->cgroup = arg;
		break;
	case OPT_CONTAINER:
		if (!*arg)
			st_usage_error("--container: empty (expected a container ID prefix or name)");
		o->container = arg;
		break;
	case OPT_UNIT:
		if (!*arg)
			st_usage_error("--unit: empty (expected a systemd unit name)");
		o->unit = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* What is printed, and where: -U, -w, -t, -T, -j, -o, -c, -i */
static error_t parse_output(int key, char *arg, struct st_opts *o)
{
	switch (key) {
	case 'U':
		o->print_uid = true;
		break;
	case 'w':
		o->print_workload = true;
		break;
	case 't':
	case 'T':
		if (o->time_mode && o->time_mode != (key == 't' ? ST_TIME_RELATIVE : ST_TIME_WALL))
			st_usage_error("-t/-T: choose one time column, not both");
		o->time_mode = key == 't' ? ST_TIME_RELATIVE : ST_TIME_WALL;
		break;
	case 'j':
		o->json = true;
		break;
	case 'o':
		if (!*arg)
			st_usage_error("-o/--output: empty file name");
		o->output = arg;
		break;
	case 'c':
		o->count = true;
		break;
	case OPT_JOURNAL:
		o->journal = true;
		break;
	case 'i':
		o->interval_s = parse_one("-i/--interval", arg, 1, 86400);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* How it traces: --backend, --ring-buffer, --max-processes, --metrics*, --debug* */
static error_t parse_tracing(int key, char *arg, struct st_opts *o)
{
	switch (key) {
	case OPT_BACKEND:
		if (st_backend_parse(arg, &o->backend))
			st_usage_error("--backend: unknown backend '%s' (expected auto, fentry, kprobe or tracepoint)",
				       arg);
		break;
	case OPT_RINGBUF:
		/* the kernel takes only a power of two of whole pages */
		o->ringbuf_kib = parse_one("--ring-buffer", arg, 4, 1048576);
		if (o->ringbuf_kib & (o->ringbuf_kib - 1))
			st_usage_error("--ring-buffer: %s is not a power of two (expected 4, 8, ... 1048576)",
				       arg);
		break;
	case OPT_MAX_PROCESSES:
		/* no more processes can live at once than there are PIDs */
		o->max_processes = parse_one("--max-processes", arg, 1, ST_PID_MAX);
		break;
	case OPT_METRICS_ONLY:
		o->metrics_only = true;
		/* fall through */
	case OPT_METRICS:
		if (o->metrics && strcmp(o->metrics, arg))
			st_usage_error("--metrics: given twice, '%s' and '%s'", o->metrics, arg);
		if (st_http_parse_addr(arg, &o->metrics_addr, &o->metrics_addr_len))
			st_usage_error("--metrics: bad address '%s' (expected PORT, ADDR:PORT or [IPV6]:PORT)",
				       arg);
		o->metrics = arg;
		break;
	case OPT_METRICS_SERIES:
		o->metrics_series = parse_one("--metrics-max-series", arg, 1, ST_METRICS_SERIES_MAX);
		break;
	case OPT_DEBUG_LIBBPF:
		st_debug_libbpf = true;
		/* fall through */
	case OPT_DEBUG:
		st_debug = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* --journal is where events go, with fields of their own: not -o, -j, -c */
static void check_journal(const struct st_opts *o)
{
	const char *what = o->output ? "-o" : o->json ? "-j" : o->count ? "-c" : NULL;

	if (o->journal && what)
		st_usage_error("--journal: cannot be combined with %s (entries are events, with fields)",
			       what);
}

/* --metrics-only prints no events: what shapes them has nothing to act on */
static void check_metrics(const struct st_opts *o)
{
	const char *what = o->count ? "-c" : o->json ? "-j" : o->output ? "-o" : o->time_mode ? "-t/-T" :
			   o->print_uid ? "-U" : o->print_workload ? "-w" : o->dns ? "-d" :
			   o->journal ? "--journal" : NULL;

	if (o->metrics_series && !o->metrics)
		st_usage_error("--metrics-max-series: needs --metrics or --metrics-only");
	if (o->metrics_only && what)
		st_usage_error("--metrics-only: cannot be combined with %s (no events are printed)", what);
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct st_opts *o = state->input;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		/* COMMAND [ARGS...]: the rest of argv is COMMAND's */
		o->command = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!o->command && has_dashdash(state->root_argp, state->argc, state->argv))
			st_usage_error("--: no COMMAND after it (expected -- COMMAND [ARGS...])");
		if (o->command && o->npids)
			st_usage_error("-p/--pid: cannot be combined with COMMAND");
		/* without COMMAND the map holds a fixed -p list: nothing to size */
		if (o->max_processes && !o->command)
			st_usage_error("--max-processes: needs COMMAND (it sizes the map of the "
				       "processes COMMAND forks)");
		if (o->cgroup && (o->container || o->unit))
			st_usage_error("--cgroup: cannot be combined with --container or --unit");
		if (o->interval_s && !o->count)
			st_usage_error("-i/--interval: needs -c/--count (it prints the count table)");
		if (o->count && o->time_mode)
			st_usage_error("-c/--count: cannot be combined with -t or -T (rows are not events)");
		check_journal(o);
		check_metrics(o);
		break;
	default:
		if (parse_filter(key, arg, o) == ARGP_ERR_UNKNOWN &&
		    parse_output(key, arg, o) == ARGP_ERR_UNKNOWN)
			return parse_tracing(key, arg, o);
	}
	return 0;
}

const struct argp st_common_argp = {
	.options = common_options,
	.parser = parse_common,
};

static const struct argp_option family_options[] = {
	{ "ipv4", '4', NULL, 0, "Trace IPv4 only", 0 },
	{ "ipv6", '6', NULL, 0, "Trace IPv6 only (v4-mapped included)", 0 },
	{},
};

static error_t parse_family(int key, char *arg, struct argp_state *state)
{
	struct st_opts *o = state->input;
	int family = key == '4' ? ST_AF_INET : ST_AF_INET6;

	(void)arg;
	if (key != '4' && key != '6')
		return ARGP_ERR_UNKNOWN;
	if (o->family && o->family != family)
		st_usage_error("-4/-6: choose one family, not both");
	o->family = family;
	return 0;
}

const struct argp st_family_argp = {
	.options = family_options,
	.parser = parse_family,
};

static const struct argp_option dns_options[] = {
	{ "dns", 'd', NULL, 0,
	  "Add QUERY: the DNS name the destination was resolved from (answers seen since the start)",
	  0 },
	{},
};

static error_t parse_dns(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	if (key != 'd')
		return ARGP_ERR_UNKNOWN;
	((struct st_opts *)state->input)->dns = true;
	return 0;
}

const struct argp st_dns_argp = {
	.options = dns_options,
	.parser = parse_dns,
};

static const struct argp_option handshakes_options[] = {
	{ "max-handshakes", OPT_MAX_HANDSHAKES, "N", 0,
	  "Connects followed at once while their handshake is in progress (default 65536, "
	  "about 130 bytes each in the kernel); more are counted and said, and not followed "
	  "to their end", 0 },
	{},
};

/* --max-handshakes and --max-threads: each its own group (a tool takes the
 * ones whose map it names), one parser */
static error_t parse_sizes(int key, char *arg, struct argp_state *state)
{
	struct st_opts *o = state->input;

	if (key == OPT_MAX_HANDSHAKES)
		o->max_handshakes = parse_one("--max-handshakes", arg, 1, ST_HANDSHAKES_MAX);
	else if (key == OPT_MAX_THREADS)
		o->max_threads = parse_one("--max-threads", arg, 1, ST_THREADS_MAX);
	else
		return ARGP_ERR_UNKNOWN;
	return 0;
}

const struct argp st_handshakes_argp = {
	.options = handshakes_options,
	.parser = parse_sizes,
};

static const struct argp_option threads_options[] = {
	{ "max-threads", OPT_MAX_THREADS, "N", 0,
	  "Threads followed at once inside a probed call, from its entry to its return "
	  "(default 8192, about 110 to 150 bytes each in the kernel); a call forgotten for "
	  "a newer one is counted and said on the kprobe backend", 0 },
	{},
};

const struct argp st_threads_argp = {
	.options = threads_options,
	.parser = parse_sizes,
};

static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "%s (socktrace) %s\n", st_tool_name, ST_VERSION);
}

/* The tool's own options' parser, and how many children its argp has */
static argp_parser_t tool_parse;
static size_t nchildren;

static error_t parse_root(int key, char *arg, struct argp_state *state)
{
	size_t i;

	/* (state->root_argp is argp's own wrapper, with --help and -V among
	 * its children: this argp's are the ones st_parse_args() gave) */
	if (key == ARGP_KEY_INIT) {
		for (i = 0; i < nchildren; i++)
			state->child_inputs[i] = state->input;
		return 0;
	}
	return tool_parse ? tool_parse(key, arg, state) : ARGP_ERR_UNKNOWN;
}

void st_parse_args(const struct argp_option *options, argp_parser_t parse,
		   const char *doc, unsigned int groups, int argc, char **argv,
		   struct st_opts *o)
{
	struct argp_child children[6] = { { &st_common_argp, 0, "Common options:", 1 } };
	const struct argp argp = {
		.options = options,
		.parser = parse_root,
		.args_doc = "[COMMAND [ARGS...]]",
		.doc = doc,
		.children = children,
	};

	nchildren = 1;
	if (groups & ST_ARGS_FAMILY)
		children[nchildren++] = (struct argp_child){ &st_family_argp, 0, NULL, 1 };
	if (groups & ST_ARGS_DNS)
		children[nchildren++] = (struct argp_child){ &st_dns_argp, 0, NULL, 1 };
	if (groups & ST_ARGS_HANDSHAKES)
		children[nchildren++] = (struct argp_child){ &st_handshakes_argp, 0, NULL, 1 };
	if (groups & ST_ARGS_THREADS)
		children[nchildren++] = (struct argp_child){ &st_threads_argp, 0, NULL, 1 };
	tool_parse = parse;
	argp_program_version_hook = print_version;
	argp_err_exit_status = 2;
	argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, o);
}
