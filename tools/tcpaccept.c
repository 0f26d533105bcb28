// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpaccept: trace passive TCP connections, as the accepting process sees them. */
#include "tool.h"
#include "accept_rows.h"
#include "tcpaccept.h"
#include "tcpaccept.skel.h"

ST_SKELETON(tcpaccept);

/* --max-threads sizes it */
static struct bpf_map *stash(void)
{
	return skel->maps.accept_listener;
}

static __u32 *catch_up(void)
{
	return &skel->bss->accept_catch_up;
}

/* --max-threads sizes it too */
static struct bpf_map *accept_seen(void)
{
	return skel->maps.accept_seen;
}

static bool backlog;	/* -b */

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these local ports", 0 },
	{ "backlog", 'b', NULL, 0,
	  "Add BL: the listener's accept queue, current/max, as accept returned", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'P':
		st_parse_ports(arg, state->input);
		break;
	case 'b':
		backlog = true;
		break;
	case ARGP_KEY_END:
		if (backlog && ((struct st_opts *)state->input)->count)
			st_usage_error("-c/--count: cannot be combined with -b (a queue per accept)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static size_t rows(struct st_prog *r)
{
	const struct st_prog t[] = { ST_ACCEPT_ROWS(skel) };

	return ST_ROWS(r, t);
}

/* bcc's columns: the remote end first, as a server's log would put it */
static size_t columns(struct st_column *c)
{
	size_t n = 0;

	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "RADDR", ST_F_DADDR, 15 };
	c[n++] = (struct st_column){ "RPORT", ST_F_DPORT, 5 };
	c[n++] = (struct st_column){ "LADDR", ST_F_SADDR, 15 };
	c[n++] = (struct st_column){ "LPORT", ST_F_SPORT, 5 };
	if (backlog)
		c[n++] = (struct st_column){ "BL", ST_F_BACKLOG, 5 };
	return n;
}

/* -c: per process, workload and the local address and port it serves */
static size_t count_columns(struct st_column *c)
{
	size_t n = 0;

	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "LADDR", ST_F_SADDR, 15 };
	c[n++] = (struct st_column){ "LPORT", ST_F_SPORT, 5 };
	c[n++] = (struct st_column){ "ACCEPTS", ST_F_COUNT, 7 };
	return n;
}

static const struct st_tool tool = {
	.name = "tcpaccept",
	.what = "TCP accepts",
	.doc = "Trace passive TCP connections: which process accepted a connection from\n"
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
	       "    tcpaccept -w           # add WORKLOAD: container or service\n"
	       "    tcpaccept -c -w -i 5   # accepts per process, workload and port, every 5 s\n"
	       "    tcpaccept --container 3f2a9c   # only the container with this ID prefix\n"
	       "    tcpaccept --unit nginx    # only nginx.service, also once it starts\n"
	       "    tcpaccept -j -o trace.json   # JSON lines into a file\n"
	       "    tcpaccept -- nginx -g 'daemon off;'   # nginx and its workers only",
	.options = options,
	.parse = parse,
	.family = true,
	.json_backlog = true,	/* in JSON with or without -b, null if unknown */
	.skel = &tcpaccept_skeleton,
	.stash = stash,
	.catch_up = catch_up,
	.accept_seen = accept_seen,
	.rows = rows,
	.columns = columns,
	.count_columns = count_columns,
};

ST_TOOL_MAIN(tool)
