/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tool is a description: what it traces, its options and columns, its
 * BPF object (skeleton) and hook rows, and the few things only it does.
 * st_tool_main() runs every tool the same way:
 *
 *   options -> open the object -> filters, ring size -> backend per hook
 *   -> before_load -> load -> trace stream, filter maps, attach -> ready
 *   line, header -> COMMAND -> event loop -> after_run -> clean up
 *
 * docs/adding-a-tool.md walks through a whole tool.
 */
#ifndef SOCKTRACE_TOOL_H
#define SOCKTRACE_TOOL_H

#include <argp.h>
#include <stdbool.h>
#include "args.h"
#include "attach.h"
#include "backend.h"
#include "btfcache.h"
#include "command.h"
#include "count.h"
#include "dns.h"
#include "filter.h"
#include "log.h"
#include "loop.h"
#include "lost.h"
#include "metrics.h"
#include "output.h"
#include "skeleton.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Most hook rows a tool has (programs of every backend) */
#define ST_MAX_PROGS	32

struct st_run;

struct st_tool {
	const char *name;
	const char *what;		/* "TCP connects", for the ready line */
	/* --help: what it traces, then "\v" and EXAMPLES */
	const char *doc;
	/* its own options, parsed by @parse (state->input: struct st_opts) */
	const struct argp_option *options;
	argp_parser_t parse;
	bool family;			/* takes -4/-6 */
	/* takes -d: its rows list dns.bpf.h's tp_dns_answer as hook "dns",
	 * which runs only with -d; its events' destinations get QUERY */
	bool dns;
	bool json_backlog;		/* JSON: accept events carry backlog, backlog_max */
	bool json_latency;		/* JSON: connect events carry latency_ns */
	/* optional: its owners map (bpf/owners.bpf.h), which --max-handshakes sizes */
	struct bpf_map *(*owners)(void);
	/* optional: its per-thread stash (bpf/stash.bpf.h), which --max-threads sizes */
	struct bpf_map *(*stash)(void);
	/* optional: bpf/accept.bpf.h's accept_catch_up, set once the catch-up
	 * programs are attached or known not to be (enum st_accept_catch_up) */
	__u32 *(*catch_up)(void);
	/* optional: bpf/accept.bpf.h's accept_seen, a thread's accept while the
	 * tool starts, which --max-threads sizes too (per thread, as the stash;
	 * one entry where no function side writes it) */
	struct bpf_map *(*accept_seen)(void);
	const struct st_skeleton *skel;
	/* its hook rows, from the open skeleton (ST_MAX_PROGS at most) */
	size_t (*rows)(struct st_prog *rows);
	/* its columns after TIME and UID (ST_MAX_COLUMNS at most) */
	size_t (*columns)(struct st_column *cols);
	/* -c: the columns an event is counted by (after UID), ST_F_COUNT among them */
	size_t (*count_columns)(struct st_column *cols);

	/* optional: after the backends are chosen, before load */
	int (*before_load)(struct st_run *r);
	/* optional: takes each event instead of the trace stream (st_run_emit() it) */
	int (*on_event)(struct st_run *r, const void *data, size_t size);
	/* optional: after the loop, before the stream is closed */
	void (*after_run)(struct st_run *r);
	/* optional: before each look at the losses (250 ms at most apart, and
	 * at exit: @final), st_lost_add()s those its user side finds, or makes
	 * the kernel's counters count them */
	void (*count_lost)(struct st_run *r, bool final);
};

/* A run of a tool: what its hooks may look at or adjust */
struct st_run {
	const struct st_tool *tool;
	struct st_opts opts;
	const char *what;		/* the ready line's: the tool's, a hook may refine it */
	struct st_bpf bpf;
	struct st_prog rows[ST_MAX_PROGS];
	size_t nrows;
	struct st_selection sel;
	struct st_output out;
	struct st_workloads *workloads;	/* for JSON, -w, --container, --unit; else NULL */
	int fail_status;		/* the exit status after a failure: 1, 127 for COMMAND */
	/* the library's own */
	struct st_btf_cache btf;
	struct st_filter filter;
	struct st_links links;
	struct st_loop loop;
	struct st_lost lost;
	__u64 kprobe_missed;		/* the kernel's kprobes' misses said so far */
	struct st_command cmd;
	struct st_counts counts;	/* -c */
	struct st_dns dns;		/* -d */
	struct st_metrics metrics;	/* --metrics */
	struct st_journal journal;	/* --journal */
};

/* Every tool's main(). */
int st_tool_main(const struct st_tool *tool, int argc, char **argv);
#define ST_TOOL_MAIN(tool)							\
int main(int argc, char **argv)							\
{										\
	return st_tool_main(&(tool), argc, argv);				\
}

/* For a tool's rows(): copies @n rows into @rows, returns @n. */
size_t st_rows(struct st_prog *rows, const struct st_prog *from, size_t n);
/* The same for the array @table; one longer than ST_MAX_PROGS fails the build */
#define ST_ROWS(rows, table)							\
	((void)sizeof(char[ARRAY_SIZE(table) <= ST_MAX_PROGS ? 1 : -1]),	\
	 st_rows(rows, table, ARRAY_SIZE(table)))

/* For on_event: the event goes on as any other, to the trace or the counts */
int st_run_emit(struct st_run *r, const void *data, size_t size);

/* For before_load: the programs of @hook stay out (not loaded, not attached) */
void st_run_drop_hook(struct st_run *r, const char *hook);

#endif
