// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* unixconnect: trace AF_UNIX connects and accepts, with the path on both sides. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "btfcache.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "unixconnect.h"
#include "unixconnect.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum { OPT_PATH = 0x200 };

static struct {
	struct st_opts common;
	const char *path;
} opts;

static const struct st_prog progs[] = {
	{ "connect", ST_BACKEND_FENTRY, "fexit_unix_stream_connect", "unix_stream_connect", 0 },
	{ "connect", ST_BACKEND_FENTRY, "fexit_unix_dgram_connect", "unix_dgram_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kprobe_unix_stream_connect", "unix_stream_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kretprobe_unix_stream_connect", "unix_stream_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kprobe_unix_dgram_connect", "unix_dgram_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kretprobe_unix_dgram_connect", "unix_dgram_connect", 0 },
	{ "connect", ST_BACKEND_TRACEPOINT, "tp_sys_exit_connect", NULL, 0 },
	{ "accept", ST_BACKEND_FENTRY, "fexit_unix_accept", "unix_accept", 0 },
	{ "accept", ST_BACKEND_KPROBE, "kprobe_unix_accept", "unix_accept", 0 },
	{ "accept", ST_BACKEND_KPROBE, "kretprobe_unix_accept", "unix_accept", 0 },
	{ "accept", ST_BACKEND_TRACEPOINT, "tp_sys_exit_accept", NULL, 0 },
	{ "accept", ST_BACKEND_TRACEPOINT, "tp_sys_exit_accept4", NULL, 0 },
};

static const char doc[] =
"Trace AF_UNIX connects (stream, seqpacket, datagram) and accepts (stream,\n"
"seqpacket): who connected to which socket path, and the process at the other\n"
"end. With COMMAND, run it and trace only it and its descendants.\n"
"\v"
"EXAMPLES:\n"
"    unixconnect                      # trace all Unix connects and accepts\n"
"    unixconnect --path '/run/*'      # only sockets whose path matches\n"
"    unixconnect --path '@*'          # only abstract names\n"
"    unixconnect -t -U                # add a timestamp and the UID\n"
"    unixconnect -p 181               # only this process\n"
"    unixconnect -j -o trace.json     # JSON lines into a file\n"
"    unixconnect -- systemctl status  # systemctl and its children only";

static const struct argp_option options[] = {
	{ "path", OPT_PATH, "PATTERN", 0,
	  "Trace only sockets whose PATH matches this glob (as printed: '@name' "
	  "for abstract names, '(unnamed)')", 0 },
	{},
};

static const struct argp_child children[] = {
	{ &st_common_argp, 0, "Common options:", 1 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		st_argp_init_children(state, &opts.common);
		break;
	case OPT_PATH:
		if (!*arg)
			st_usage_error(state, "--path: empty pattern");
		opts.path = arg;
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

/* --path: matched here, on the text PATH shows, so hostile names match as printed */
static bool want_path(const struct unix_event *e)
{
	char buf[ST_UNIX_PATH_STRLEN];
	const char *path;

	if (!opts.path)
		return true;
	path = st_unix_path(e, buf, sizeof(buf));
	return fnmatch(opts.path, path ? path : "(unnamed)", 0) == 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct st_output *out = ctx;

	if (size < sizeof(struct unix_event) || !want_path(data))
		return 0;
	st_output_unix_event(out, data);
	return 0;
}

static const struct st_column cols[] = {
	{ "T", ST_F_TYPE, 1 },
	{ "PID", ST_F_PID, 7 },
	{ "COMM", ST_F_COMM, 16 },
	{ "TYPE", ST_F_SOCK_TYPE, 9 },
	{ "PEER", ST_F_PEER_PID, 7 },
	{ "PATH", ST_F_PATH, 4 },
};

int main(int argc, char **argv)
{
	struct unixconnect_bpf *skel = NULL;
	struct st_btf_cache btf = {};
	struct st_session s = {};
	struct st_output out = {};
	int err, status = 1;

	st_log_init("unixconnect");
	st_parse_args(&argp, argc, argv, NULL);
	skel = unixconnect_bpf__open_opts(st_btf_open_opts(&btf, "unixconnect",
							   unixconnect_bpf__elf_bytes));
	if (!skel) {
		err = -errno;
		st_err("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = st_session_prepare(&s, skel->obj, &skel->rodata->st_cfg, &opts.common,
				 progs, ARRAY_SIZE(progs), "Unix connects and accepts");
	if (err)
		goto cleanup;
	err = unixconnect_bpf__load(skel);
	if (err) {
		st_err("failed to load BPF programs: %s", st_strerror(-err));
		goto cleanup;
	}
	err = st_output_open(&out, &opts.common, "unixconnect", cols, ARRAY_SIZE(cols));
	if (err)
		goto cleanup;
	err = st_session_start(&s, &out, handle_event, &out);
	if (err)
		goto cleanup;
	status = st_session_run(&s, &out);
cleanup:
	st_session_close(&s);
	st_output_close(&out);
	unixconnect_bpf__destroy(skel);
	st_btf_cache_close(&btf);
	return err ? st_session_fail_status(&s) : status;
}
