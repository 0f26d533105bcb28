// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpconnect: trace active TCP connects, and with -r whether they worked. */
#include "tool.h"
#include "forgotten.h"
#include "state_rows.h"
#include "tcpconnect.h"
#include "tcpconnect.skel.h"

ST_SKELETON(tcpconnect);

/* --max-threads sizes it */
static struct bpf_map *stash(void)
{
	return skel->maps.pending;
}

/* --max-handshakes sizes it */
static struct bpf_map *owners(void)
{
	return skel->maps.owners;
}

enum { OPT_LPORT = 'L' };

static bool lport, result, failed_only;	/* -L, -r, -x */

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these destination ports", 0 },
	{ "lport", OPT_LPORT, NULL, 0, "Add LPORT, the local (source) port", 0 },
	{ "source-port", 's', NULL, 0, "Same as --lport", 0 },
	{ "result", 'r', NULL, 0,
	  "Print each connect once its outcome is known: RESULT, LAT(ms), RETRANS (SYNs sent "
	  "again) and FAILURE (refused, timeout, unreachable, local, closed)", 0 },
	{ "failed", 'x', NULL, 0, "Print only connects that failed (implies -r)", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct st_opts *o = state->input;

	switch (key) {
	case 'P': st_parse_ports(arg, o); break;
	case OPT_LPORT:
	case 's': lport = true; break;
	case 'x': failed_only = true; /* fall through */
	case 'r': result = true; break;
	case ARGP_KEY_END:
		/* the metrics are by result, with a latency histogram */
		if (o->metrics)
			result = true;
		if (o->count && lport)
			st_usage_error("-c/--count: cannot be combined with -L (a port per connect)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static size_t rows(struct st_prog *r)
{
	const struct st_prog t[] = {
		{ "connect", skel->progs.fexit_tcp_v4_connect, ST_ROW_V4 },
		{ "connect", skel->progs.fexit_tcp_v6_connect, ST_ROW_V6 },
		{ "connect", skel->progs.kprobe_tcp_v4_connect, ST_ROW_V4 },
		{ "connect", skel->progs.kretprobe_tcp_v4_connect, ST_ROW_V4 },
		{ "connect", skel->progs.kprobe_tcp_v6_connect, ST_ROW_V6 },
		{ "connect", skel->progs.kretprobe_tcp_v6_connect, ST_ROW_V6 },
		{ "connect", skel->progs.tp_sys_exit_connect, 0 },
		ST_STATE_ROWS(skel),
		ST_DNS_ROWS(skel),
	};

	return ST_ROWS(r, t);
}

static size_t columns(struct st_column *c)
{
	size_t n = 0;

	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	if (lport)
		c[n++] = (struct st_column){ "LPORT", ST_F_SPORT, 5 };
	c[n++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	c[n++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (result) {
		c[n++] = (struct st_column){ "RESULT", ST_F_RESULT, 6 };
		c[n++] = (struct st_column){ "LAT(ms)", ST_F_LATENCY_MS, 8 };
		c[n++] = (struct st_column){ "RETRANS", ST_F_SYN_RETRANS, 7 };
		c[n++] = (struct st_column){ "FAILURE", ST_F_FAILURE, 7 };
	}
	return n;
}

/*
 * Without -r a connect is printed when tcp_v4/v6_connect returns: fentry and
 * kprobes see that return, so the state hook, which runs on every state
 * change of every TCP socket, is not loaded. The tracepoint backend needs it
 * to learn which socket a connect() sent a SYN from.
 */
static int before_load(struct st_run *r)
{
	enum st_backend connect = st_selection_backend(&r->sel, "connect");
	int err;

	skel->rodata->cfg.report_result = result;
	skel->rodata->cfg.failed_only = failed_only;
	if (!result && connect != ST_BACKEND_TRACEPOINT) {
		st_run_drop_hook(r, "state");
		skel->rodata->cfg.at_return = 1;	/* the connect programs print */
	}
	/* fexit sees the call return with its socket: the thread map is not
	 * used, and one entry is its least (0.9 MiB less at the default) */
	skel->rodata->cfg.no_stash = connect == ST_BACKEND_FENTRY;
	if (!skel->rodata->cfg.no_stash)
		return 0;
	err = bpf_map__set_max_entries(skel->maps.pending, 1);
	if (err)
		st_err("cannot size the thread map: %s", st_strerror(-err));
	return err;
}

/* -c: per process, workload and destination (and outcome, with -r) */
static size_t count_columns(struct st_column *c)
{
	size_t n = 0;

	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	c[n++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	c[n++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (result)
		c[n++] = (struct st_column){ "RESULT", ST_F_RESULT, 6 };
	c[n++] = (struct st_column){ "CONNECTS", ST_F_COUNT, 8 };
	return n;
}

/* A stash made when the SYN went out, its connect() not returned yet */
static bool syn_inside(const void *value)
{
	return ((const struct tcpconnect_pending *)value)->at_syn;
}

/*
 * fentry and tracepoint backends: a connect whose stash the thread map
 * forgot before connect() returned, which its return cannot tell
 * (bpf/tcpconnect.bpf.c, syn_made). Counted from the stashes made and
 * found (common/forgotten.h), said as ST_LOST_STASH.
 */
static void count_lost(struct st_run *r, bool final)
{
	static struct st_forgotten syns = {
		.value_size = sizeof(struct tcpconnect_pending),
		.counted = syn_inside,
	};

	(void)final;
	syns.map = skel->maps.pending;
	syns.made = &skel->bss->syn_made;
	syns.found = &skel->bss->syn_found;
	st_forgotten_count(&r->lost, &syns);
}

static const struct st_tool tool = {
	.name = "tcpconnect",
	.what = "TCP connects",
	.doc = "Trace active TCP connects: who connected to where, and with -r whether it\n"
	       "worked. With COMMAND, run it and trace only it and its descendants.\n"
	       "\v"
	       "EXAMPLES:\n"
	       "    tcpconnect             # trace all TCP connects\n"
	       "    tcpconnect -r          # and their outcome: ok, ECONNREFUSED, ...\n"
	       "    tcpconnect -x          # only the connects that failed\n"
	       "    tcpconnect -d -r       # which name each one resolved, how it went\n"
	       "    tcpconnect -t -U       # add a timestamp and the UID\n"
	       "    tcpconnect -p 181,182  # only these processes\n"
	       "    tcpconnect -P 80,443   # only these destination ports\n"
	       "    tcpconnect -L -4       # IPv4 only, with the local port\n"
	       "    tcpconnect -c          # count per process and destination, print at exit\n"
	       "    tcpconnect -c -x -i 10 # failed connects per destination, every 10 s\n"
	       "    tcpconnect -N 4026531840   # only this network namespace\n"
	       "    tcpconnect --cgroup /sys/fs/cgroup/system.slice   # only this cgroup\n"
	       "    tcpconnect -w          # add WORKLOAD: container or service\n"
	       "    tcpconnect --container web -r   # only the container named web\n"
	       "    tcpconnect --unit nginx   # only nginx.service, also once it starts\n"
	       "    tcpconnect -j -o trace.json   # JSON lines into a file\n"
	       "    tcpconnect -- curl -s https://example.com   # curl and its children only",
	.options = options,
	.parse = parse,
	.family = true,
	.dns = true,
	.skel = &tcpconnect_skeleton,
	.stash = stash,
	.owners = owners,
	.rows = rows,
	.columns = columns,
	.before_load = before_load,
	.count_columns = count_columns,
	.count_lost = count_lost,
};

ST_TOOL_MAIN(tool)
