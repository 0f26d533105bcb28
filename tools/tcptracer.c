// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcptracer: trace established TCP connections: connect, accept, close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "btfcache.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "tcptracer.h"
#include "tcptracer.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct {
	struct st_opts common;
	bool verbose;
	bool lifetime;
} opts;

/* as in tcpaccept: sys_exit_accept* go along on every backend, for an
 * accept() blocked before the start */
static const struct st_prog progs[] = {
	{ "state", ST_BACKEND_FENTRY, "fentry_tcp_set_state", "tcp_set_state", 0 },
	{ "state", ST_BACKEND_KPROBE, "kprobe_tcp_set_state", "tcp_set_state", 0 },
	{ "state", ST_BACKEND_TRACEPOINT, "tp_inet_sock_set_state", NULL, 0 },
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
"Trace established TCP connections: C when a connect completes its handshake,\n"
"A when a connection is accepted, X when an established connection closes.\n"
"With COMMAND, run it and trace only it and its descendants.\n"
"\v"
"EXAMPLES:\n"
"    tcptracer              # trace TCP connects, accepts and closes\n"
"    tcptracer -v           # long type names and the NETNS column\n"
"    tcptracer -l           # add lifetime and bytes on close lines\n"
"    tcptracer -t -U        # add a timestamp and the UID\n"
"    tcptracer -p 181       # only this process\n"
"    tcptracer -4           # IPv4 only\n"
"    tcptracer -N 4026531840   # only this network namespace\n"
"    tcptracer --cgroup /sys/fs/cgroup/system.slice   # only this cgroup\n"
"    tcptracer -j -o trace.json   # JSON lines into a file\n"
"    tcptracer -l -- curl -s https://example.com   # curl and its children only";

static const struct argp_option options[] = {
	{ "verbose", 'v', NULL, 0,
	  "TYPE with full names (connect, accept, close) and a NETNS column", 0 },
	{ "lifetime", 'l', NULL, 0,
	  "Add MS, TX_KB and RX_KB: on close lines, how long the connection lived "
	  "and the data it sent and received", 0 },
	{},
};

static const struct argp_child children[] = {
	{ &st_common_argp, 0, "Common options:", 1 },
	{ &st_family_argp, 0, NULL, 1 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	switch (key) {
	case ARGP_KEY_INIT:
		st_argp_init_children(state, &opts.common);
		break;
	case 'v':
		opts.verbose = true;
		break;
	case 'l':
		opts.lifetime = true;
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

static size_t columns(struct st_column *cols)
{
	size_t n = 0;

	if (opts.verbose)
		cols[n++] = (struct st_column){ "TYPE", ST_F_TYPE_LONG, 7 };
	else
		cols[n++] = (struct st_column){ "T", ST_F_TYPE, 1 };
	cols[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	cols[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	cols[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	cols[n++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	cols[n++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	cols[n++] = (struct st_column){ "SPORT", ST_F_SPORT, 5 };
	cols[n++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (opts.verbose)
		cols[n++] = (struct st_column){ "NETNS", ST_F_NETNS, 10 };
	if (opts.lifetime) {
		cols[n++] = (struct st_column){ "MS", ST_F_DURATION_MS, 8 };
		cols[n++] = (struct st_column){ "TX_KB", ST_F_TX_KB, 5 };
		cols[n++] = (struct st_column){ "RX_KB", ST_F_RX_KB, 5 };
	}
	return n;
}

int main(int argc, char **argv)
{
	struct tcptracer_bpf *skel = NULL;
	struct st_btf_cache btf = {};
	struct st_column cols[ST_MAX_COLUMNS];
	struct st_session s = {};
	struct st_output out = {};
	int err, status = 1;

	st_log_init("tcptracer");
	st_parse_args(&argp, argc, argv, NULL);
	skel = tcptracer_bpf__open_opts(st_btf_open_opts(&btf, "tcptracer",
							 tcptracer_bpf__elf_bytes));
	if (!skel) {
		err = -errno;
		st_err("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = st_session_prepare(&s, skel->obj, &skel->rodata->st_cfg, &opts.common,
				 progs, ARRAY_SIZE(progs), "TCP connects, accepts and closes");
	if (err)
		goto cleanup;
	err = tcptracer_bpf__load(skel);
	if (err) {
		st_err("failed to load BPF programs: %s", st_strerror(-err));
		goto cleanup;
	}
	err = st_output_open(&out, &opts.common, "tcptracer", cols, columns(cols));
	if (err)
		goto cleanup;
	err = st_session_start(&s, &out, handle_event, &out);
	if (err)
		goto cleanup;
	status = st_session_run(&s, &out);
cleanup:
	st_session_close(&s);
	st_output_close(&out);
	tcptracer_bpf__destroy(skel);
	st_btf_cache_close(&btf);
	return err ? st_session_fail_status(&s) : status;
}
