/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Options every tool takes, and the one range-checked number parser. */
#ifndef SOCKTRACE_ARGS_H
#define SOCKTRACE_ARGS_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "event.h"
#include "backend.h"

enum st_time_mode { ST_TIME_NONE, ST_TIME_RELATIVE, ST_TIME_WALL };

#define ST_MAX_PID_ARGS	64

struct st_opts {
	__u32 pids[ST_MAX_PID_ARGS];	/* -p */
	size_t npids;
	__u16 ports[ST_MAX_PORTS];	/* the tool's -P */
	size_t nports;
	bool has_uid;
	__u32 uid;
	__u64 netns;
	const char *cgroup;
	const char *container;		/* --container ID-PREFIX|NAME */
	const char *unit;		/* --unit NAME */
	int family;			/* 0, ST_AF_INET, ST_AF_INET6 */
	bool print_uid;
	bool print_workload;		/* -w */
	bool dns;			/* -d: the name each destination was resolved from */
	enum st_time_mode time_mode;
	bool json;
	const char *output;
	bool journal;			/* --journal: entries in the systemd journal */
	bool count;			/* -c: a table of counts instead of events */
	__u32 interval_s;		/* -i: the table every N seconds too (0: at exit only) */
	enum st_backend backend;
	__u32 ringbuf_kib;		/* 0: the BPF object's default */
	const char *metrics;		/* --metrics, --metrics-only: [ADDR:]PORT as given */
	struct sockaddr_storage metrics_addr;	/* ... parsed */
	socklen_t metrics_addr_len;
	bool metrics_only;		/* no events: counted in the kernel only */
	__u32 metrics_series;		/* --metrics-max-series; 0: the default */
	__u32 max_handshakes;		/* --max-handshakes; 0: ST_HANDSHAKES_DEFAULT */
	__u32 max_threads;		/* --max-threads; 0: ST_THREADS_DEFAULT */
	__u32 max_processes;		/* --max-processes, with COMMAND; 0: ST_MAX_PIDS */
	char **command;			/* NULL, or COMMAND ARGS... */
};

/* Parses "N" in [min, max]: 0 or -EINVAL / -ERANGE. */
int st_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *out);
/* Parses "N[,N...]" in [min, max] into out[0..*n): 0 or -errno. */
int st_parse_list(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out, size_t max_n, size_t *n);
/* -P for every tool that filters on ports; exits 2 with one line on a bad list */
void st_parse_ports(const char *arg, struct st_opts *o);

/* One line "<tool>: <message>" and exit status 2, before anything started. */
__attribute__((format(printf, 1, 2), noreturn))
void st_usage_error(const char *fmt, ...);

/* The common options, COMMAND [ARGS...] included, and -4/-6 */
extern const struct argp st_common_argp;
extern const struct argp st_family_argp;
extern const struct argp st_dns_argp;
extern const struct argp st_handshakes_argp;
extern const struct argp st_threads_argp;

/* Which optional groups of common options a tool takes */
#define ST_ARGS_FAMILY	0x1	/* -4/-6 */
#define ST_ARGS_DNS	0x2	/* -d */
#define ST_ARGS_HANDSHAKES	0x4	/* --max-handshakes */
#define ST_ARGS_THREADS	0x8	/* --max-threads */

/*
 * Parses a tool's command line: its own @options (handled by @parse, which
 * finds @o as state->input), then the common ones and the @groups
 * (ST_ARGS_*), into @o. Exits 2 with one line on a bad one, 0 after --help
 * or -V.
 */
void st_parse_args(const struct argp_option *options, argp_parser_t parse,
		   const char *doc, unsigned int groups, int argc, char **argv,
		   struct st_opts *o);

#endif
