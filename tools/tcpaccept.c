// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpaccept: trace passive TCP connections, as the accepting process sees them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "btfcache.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "tcpaccept.h"
#include "tcpaccept.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct {
	struct st_opts common;
	bool backlog;
} opts;

/*
 * The sys_exit_accept* tracepoints are listed on every backend: they alone
 * see an accept() that was already blocked when the tool started (fexit and
 * kretprobe miss calls in progress at attach time). Beside function hooks
 * they are attached only when such a call is there (attach_all()).
 */
static const struct st_prog progs[] = {
	{ "accept", ST_BACKEND_FENTRY, "fexit_inet_csk_accept", "inet_csk_accept", 0 },
	{ "accept", ST_BACKEND_FENTRY, "tp_sys_exit_accept", NULL, 0 },
	{ "accept", ST_BACKEND_FENTRY, "tp_sys_exit_accept4", NULL, 0 },
	{ "accept", ST_BACKEND_KPROBE, "kprobe_inet_csk_accept", "inet_csk_accept", 0 },
	{ "accept", ST_BACKEND_KPROBE, "kretprobe_inet_csk_accept", "inet_csk_accept", 0 },
	{ "accept", ST_BACKEND_KPROBE, "tp_sys_exit_accept", NULL, 0 },
	{ "accept", ST_BACKEND_KPROBE, "tp_sys_exit_accept4", NULL, 0 },
	{ "accept", ST_BACKEND_TRACEPOINT, "tp_sys_exit_accept", NULL, 0 },
	{ "accept", ST_BACKEND_TRACEPOINT, "tp_sys_exit_accept4", NULL, 0 },
};

static const char doc[] =
"Trace passive TCP connections: which process accepted a connection from\n"
"where, on which local address and port. With COMMAND, run it and trace\n"
"only it and its descendants.\n"
"\v"
"EXAMPLES:\n"
"    tcpaccept              # trace all TCP accepts\n"
"    tcpaccept -t -U        # add a timestamp and the UID\n"
"    tcpaccept -T           # add the wall-clock time\n"
"    tcpaccept -b           # add BL, the listener's accept queue\n"
"    tcpaccept -p 181,182   # only these processes\n"
"    tcpaccept -P 80,443    # only these local ports\n"
"    tcpaccept -6           # IPv6 only\n"
"    tcpaccept -N 4026531840   # only this network namespace\n"
"    tcpaccept --cgroup /sys/fs/cgroup/system.slice   # only this cgroup\n"
"    tcpaccept -j -o trace.json   # JSON lines into a file\n"
"    tcpaccept -- nginx -g 'daemon off;'   # nginx and its workers only";

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these local ports", 0 },
	{ "backlog", 'b', NULL, 0,
	  "Add BL: the listener's accept queue, current/max, as accept returned", 0 },
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
	case 'b':
		opts.backlog = true;
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

static int handle_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(struct inet_event))
		st_output_event(ctx, data);
	return 0;
}

/* bcc's columns: the remote end first, as a server's log would put it */
static size_t columns(struct st_column *cols)
{
	size_t n = 0;

	cols[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	cols[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	cols[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	cols[n++] = (struct st_column){ "RADDR", ST_F_DADDR, 15 };
	cols[n++] = (struct st_column){ "RPORT", ST_F_DPORT, 5 };
	cols[n++] = (struct st_column){ "LADDR", ST_F_SADDR, 15 };
	cols[n++] = (struct st_column){ "LPORT", ST_F_SPORT, 5 };
	if (opts.backlog)
		cols[n++] = (struct st_column){ "BL", ST_F_BACKLOG, 5 };
	return n;
}

int main(int argc, char **argv)
{
	struct tcpaccept_bpf *skel = NULL;
	struct st_btf_cache btf = {};
	struct st_column cols[ST_MAX_COLUMNS];
	struct st_session s = {};
	struct st_output out = {};
	int err, status = 1;

	st_log_init("tcpaccept");
	st_parse_args(&argp, argc, argv, NULL);
	skel = tcpaccept_bpf__open_opts(st_btf_open_opts(&btf, "tcpaccept",
							 tcpaccept_bpf__elf_bytes));
	if (!skel) {
		err = -errno;
		st_err("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = st_session_prepare(&s, skel->obj, &skel->rodata->st_cfg, &opts.common,
				 progs, ARRAY_SIZE(progs), "TCP accepts");
	if (err)
		goto cleanup;
	err = tcpaccept_bpf__load(skel);
	if (err) {
		st_err("failed to load BPF programs: %s", st_strerror(-err));
		goto cleanup;
	}
	err = st_output_open(&out, &opts.common, "tcpaccept", cols, columns(cols));
	if (err)
		goto cleanup;
	out.backlog = true;	/* in JSON with or without -b, null if unknown */
	err = st_session_start(&s, &out, handle_event, &out);
	if (err)
		goto cleanup;
	status = st_session_run(&s, &out);
cleanup:
	st_session_close(&s);
	st_output_close(&out);
	tcpaccept_bpf__destroy(skel);
	st_btf_cache_close(&btf);
	return err ? st_session_fail_status(&s) : status;
}
