// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* unixconnect: trace AF_UNIX connects and accepts, with the path on both sides. */
#define _GNU_SOURCE
#include <fnmatch.h>
#include "tool.h"
#include "unixconnect.h"
#include "unixconnect.skel.h"

ST_SKELETON(unixconnect);

/* --max-threads sizes it */
static struct bpf_map *stash(void)
{
	return skel->maps.pending;
}

enum { OPT_PATH = 0x200 };

static const char *path_glob;	/* --path */

static const struct argp_option options[] = {
	{ "path", OPT_PATH, "PATTERN", 0,
	  "Trace only sockets whose PATH matches this glob (as printed: '@name' "
	  "for abstract names, '(unnamed)')", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	if (key != OPT_PATH)
		return ARGP_ERR_UNKNOWN;
	if (!*arg)
		st_usage_error("--path: empty pattern");
	path_glob = arg;
	return 0;
}

static size_t rows(struct st_prog *r)
{
	const struct st_prog t[] = {
		{ "connect", skel->progs.fexit_unix_stream_connect, 0 },
		{ "connect", skel->progs.fexit_unix_dgram_connect, 0 },
		{ "connect", skel->progs.kprobe_unix_stream_connect, 0 },
		{ "connect", skel->progs.kretprobe_unix_stream_connect, 0 },
		{ "connect", skel->progs.kprobe_unix_dgram_connect, 0 },
		{ "connect", skel->progs.kretprobe_unix_dgram_connect, 0 },
		{ "connect", skel->progs.tp_sys_exit_connect, 0 },
		{ "accept", skel->progs.fexit_unix_accept, 0 },
		{ "accept", skel->progs.kprobe_unix_accept, 0 },
		{ "accept", skel->progs.kretprobe_unix_accept, 0 },
		{ "accept", skel->progs.tp_sys_exit_accept, 0 },
		{ "accept", skel->progs.tp_sys_exit_accept4, 0 },
	};

	return ST_ROWS(r, t);
}

static size_t columns(struct st_column *c)
{
	const struct st_column t[] = {
		{ "T", ST_F_TYPE, 1 },
		{ "PID", ST_F_PID, 7 },
		{ "COMM", ST_F_COMM, 16 },
		{ "TYPE", ST_F_SOCK_TYPE, 9 },
		{ "PEER", ST_F_PEER_PID, 7 },
		{ "PATH", ST_F_PATH, 4 },
	};

	memcpy(c, t, sizeof(t));
	return ARRAY_SIZE(t);
}

/* -c: per process, workload, kind and socket; PATH last, as it may hold spaces */
static size_t count_columns(struct st_column *c)
{
	const struct st_column t[] = {
		{ "T", ST_F_TYPE, 1 },
		{ "PID", ST_F_PID, 7 },
		{ "COMM", ST_F_COMM, 16 },
		{ "TYPE", ST_F_SOCK_TYPE, 9 },
		{ "COUNT", ST_F_COUNT, 5 },
		{ "PATH", ST_F_PATH, 4 },
	};

	memcpy(c, t, sizeof(t));
	return ARRAY_SIZE(t);
}

/* --path: matched here, on the text PATH shows, so hostile names match as printed */
static int on_event(struct st_run *r, const void *data, size_t size)
{
	char buf[ST_CELL_LEN];
	const char *path;

	if (path_glob && size >= sizeof(struct unix_event)) {
		path = st_unix_path(data, buf, sizeof(buf));
		if (fnmatch(path_glob, path ? path : "(unnamed)", 0))
			return 0;
	}
	return st_run_emit(r, data, size);
}

static const struct st_tool tool = {
	.name = "unixconnect",
	.what = "Unix connects and accepts",
	.doc = "Trace AF_UNIX connects (stream, seqpacket, datagram) and accepts (stream,\n"
	       "seqpacket): who connected to which socket path, and the process at the other\n"
	       "end. With COMMAND, run it and trace only it and its descendants.\n"
	       "\v"
	       "EXAMPLES:\n"
	       "    unixconnect                      # trace all Unix connects and accepts\n"
	       "    unixconnect --path '/run/*'      # only sockets whose path matches\n"
	       "    unixconnect --path '@*'          # only abstract names\n"
	       "    unixconnect -t -U                # add a timestamp and the UID\n"
	       "    unixconnect -p 181               # only this process\n"
	       "    unixconnect -w                   # add WORKLOAD: container or service\n"
	       "    unixconnect -c                   # count per process and socket, at exit\n"
	       "    unixconnect --container web      # only the container named web\n"
	       "    unixconnect --unit ssh -j        # only ssh.service, as JSON\n"
	       "    unixconnect -j -o trace.json     # JSON lines into a file\n"
	       "    unixconnect -- systemctl status  # systemctl and its children only",
	.options = options,
	.parse = parse,
	.skel = &unixconnect_skeleton,
	.stash = stash,
	.rows = rows,
	.columns = columns,
	.count_columns = count_columns,
	.on_event = on_event,
};

ST_TOOL_MAIN(tool)
