/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Options every tool takes, and the one range-checked number parser. */
#ifndef SOCKTRACE_ARGS_H
#define SOCKTRACE_ARGS_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
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
	int family;			/* 0, ST_AF_INET, ST_AF_INET6 */
	bool print_uid;
	enum st_time_mode time_mode;
	bool json;
	const char *output;
	enum st_backend backend;
	__u32 ringbuf_kib;		/* 0: the BPF object's default */
	char **command;			/* NULL, or COMMAND ARGS... */
};

/* Parses "N" in [min, max]: 0 or -EINVAL / -ERANGE. */
int st_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *out);
/* Parses "N[,N...]" in [min, max] into out[0..*n): 0 or -errno. */
int st_parse_list(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out, size_t max_n, size_t *n);
/* -P for every tool that filters on ports */
int st_parse_ports(struct argp_state *state, const char *arg, struct st_opts *o);

/* One line "<tool>: <message>" and exit status 2, before anything started. */
__attribute__((format(printf, 2, 3), noreturn))
void st_usage_error(struct argp_state *state, const char *fmt, ...);

/*
 * The common options as argp children; the tool's parser passes its
 * struct st_opts to them with st_argp_init_children() on ARGP_KEY_INIT.
 * st_common_argp also takes COMMAND [ARGS...]; st_family_argp is -4/-6.
 */
extern const struct argp st_common_argp;
extern const struct argp st_family_argp;
void st_argp_init_children(struct argp_state *state, struct st_opts *o);

/* The in-kernel filter block for these options (maps are filled later). */
void st_config_init(struct st_config *cfg, const struct st_opts *opts);

/* -p and COMMAND: the pids map is used, not st_config.pid_list */
bool st_pids_in_map(const struct st_opts *opts);

/* Runs argp_parse() with the suite's flags and exit status. */
int st_parse_args(const struct argp *argp, int argc, char **argv, void *input);

#endif
