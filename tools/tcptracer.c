// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcptracer: trace established TCP connections: connect, accept, close. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "tool.h"
#include "accept_rows.h"
#include "state_rows.h"
#include "tcptracer.h"
#include "tcptracer.skel.h"

ST_SKELETON(tcptracer);

/* --max-threads sizes it */
static struct bpf_map *stash(void)
{
	return skel->maps.accept_listener;
}

static __u32 *catch_up(void)
{
	return &skel->bss->accept_catch_up;
}

/* --max-handshakes sizes it */
static struct bpf_map *owners(void)
{
	return skel->maps.owners;
}

static bool verbose;	/* -v */
static bool lifetime;	/* -l */
static __u32 max_conns = TCPTRACER_CONNS_DEFAULT;	/* --max-connections */

enum { OPT_MAX_CONNS = 0x200 };

static const struct argp_option options[] = {
	{ "verbose", 'v', NULL, 0,
	  "TYPE with full names (connect, accept, close) and a NETNS column", 0 },
	{ "lifetime", 'l', NULL, 0,
	  "Add LAT(ms), MS, TX_KB and RX_KB: on connect lines, how long the handshake "
	  "took; on close lines, how long the connection lived and the data it sent "
	  "and received", 0 },
	{ "max-connections", OPT_MAX_CONNS, "N", 0,
	  "Connections tracked at once, from a connect's SYN or an accept to the close "
	  "(default 262144, about 128 bytes each in the kernel); more are counted and said, "
	  "their close lines have no lifetime", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	unsigned long long n;

	switch (key) {
	case 'v': verbose = true; break;
	case 'l': lifetime = true; break;
	case OPT_MAX_CONNS:
		if (st_parse_num(arg, 1, TCPTRACER_CONNS_MAX, &n))
			st_usage_error("--max-connections: invalid value '%s' (expected 1 to %d)", arg,
				       TCPTRACER_CONNS_MAX);
		max_conns = n;
		break;
	case ARGP_KEY_END:
		if (lifetime && ((struct st_opts *)state->input)->count)
			st_usage_error("-c/--count: cannot be combined with -l (a lifetime per connection)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/*
 * The sweep (sweep_conns, bpf/tcptracer.bpf.c): it finds the entries whose
 * socket's end the kernel did not report, and that no new socket at their
 * address found, and counts them. It walks conns with
 * bpf_for_each_map_elem (5.13), in a raw tracepoint program run by
 * BPF_PROG_TEST_RUN (5.10): neither needs the kernel's BTF, which the
 * kprobe and tracepoint backends do not load (common/btfcache.h).
 */
#define SWEEP_EVERY_MS	5000
#define SWEEP_AGAIN_MS	20	/* at exit: the second look, after the first marked */

static bool sweeps;		/* the kernel can run the sweep */
static struct timespec swept;

static bool sweep_supported(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
				       BPF_FUNC_for_each_map_elem, NULL) == 1;
}

static void sweep(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sweep_conns), &o);

	clock_gettime(CLOCK_MONOTONIC, &swept);
	if (!err)
		return;
	sweeps = false;
	st_err("cannot look for connections whose end the kernel did not report: %s; they are "
	       "counted only when a new socket takes their address", st_strerror(-err));
}

/* Each look at the losses: a sweep when one is due; at exit, two, so that
 * the entries the first marks are counted by the second */
static void count_lost(struct st_run *r, bool final)
{
	const struct timespec pause = { .tv_nsec = SWEEP_AGAIN_MS * 1000000L };

	(void)r;
	if (sweeps && (final || st_ms_since(&swept) >= SWEEP_EVERY_MS))
		sweep();
	if (sweeps && final) {
		nanosleep(&pause, NULL);
		sweep();
	}
}

/* --max-connections: the conns map's size; what the output shows of a
 * close; the sweep, where the kernel can run it, loaded but not attached */
static int before_load(struct st_run *r)
{
	int err = bpf_map__set_max_entries(skel->maps.conns, max_conns);
	bool shown = !r->opts.metrics_only && (lifetime || r->opts.json || r->opts.journal);

	sweeps = sweep_supported();
	st_dbg("the sweep of connections whose end was not reported: %s",
	       sweeps ? "yes" : "no: the kernel has no bpf_for_each_map_elem (5.13)");
	bpf_program__set_autoload(skel->progs.sweep_conns, sweeps);
	bpf_program__set_autoattach(skel->progs.sweep_conns, false);
	clock_gettime(CLOCK_MONOTONIC, &swept);
	skel->rodata->cfg.bytes = shown;
	skel->rodata->cfg.lifetime = shown || r->opts.metrics;
	if (err)
		st_err("--max-connections: cannot size the connection map: %s", st_strerror(-err));
	return err;
}

static size_t rows(struct st_prog *r)
{
	const struct st_prog t[] = { ST_STATE_ROWS(skel), ST_ACCEPT_ROWS(skel),
				     ST_DNS_ROWS(skel) };

	return ST_ROWS(r, t);
}

/* What a line and a count row both start with: what, who, between where */
static size_t who_and_where(struct st_column *c)
{
	size_t n = 0;

	c[n++] = verbose ? (struct st_column){ "TYPE", ST_F_TYPE_LONG, 7 } :
			   (struct st_column){ "T", ST_F_TYPE, 1 };
	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	c[n++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	return n;
}

static size_t columns(struct st_column *c)
{
	size_t n = who_and_where(c);

	c[n++] = (struct st_column){ "SPORT", ST_F_SPORT, 5 };
	c[n++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (verbose)
		c[n++] = (struct st_column){ "NETNS", ST_F_NETNS, 10 };
	if (lifetime) {
		c[n++] = (struct st_column){ "LAT(ms)", ST_F_LATENCY_MS, 8 };
		c[n++] = (struct st_column){ "MS", ST_F_DURATION_MS, 8 };
		c[n++] = (struct st_column){ "TX_KB", ST_F_TX_KB, 5 };
		c[n++] = (struct st_column){ "RX_KB", ST_F_RX_KB, 5 };
	}
	return n;
}

/*
 * -c: per kind, process, workload, addresses and the service's port (a
 * connect's remote one, an accept's local one); a close does not say which
 * end it was, so its rows count per address pair, PORT "-".
 */
static size_t count_columns(struct st_column *c)
{
	size_t n = who_and_where(c);

	c[n++] = (struct st_column){ "PORT", ST_F_SERVICE_PORT, 5 };
	if (verbose)
		c[n++] = (struct st_column){ "NETNS", ST_F_NETNS, 10 };
	c[n++] = (struct st_column){ "COUNT", ST_F_COUNT, 5 };
	return n;
}

static const struct st_tool tool = {
	.name = "tcptracer",
	.what = "TCP connects, accepts and closes",
	.doc = "Trace established TCP connections: C when a connect completes its handshake,\n"
	       "A when a connection is accepted, X when an established connection closes.\n"
	       "With COMMAND, run it and trace only it and its descendants.\n"
	       "\v"
	       "EXAMPLES:\n"
	       "    tcptracer              # trace TCP connects, accepts and closes\n"
	       "    tcptracer -v           # long type names and the NETNS column\n"
	       "    tcptracer -l           # add lifetime and bytes on close lines\n"
	       "    tcptracer -d           # add QUERY: the DNS name of each peer\n"
	       "    tcptracer -t -U        # add a timestamp and the UID\n"
	       "    tcptracer -p 181       # only this process\n"
	       "    tcptracer -4           # IPv4 only\n"
	       "    tcptracer -N 4026531840   # only this network namespace\n"
	       "    tcptracer --cgroup /sys/fs/cgroup/system.slice   # only this cgroup\n"
	       "    tcptracer -w           # add WORKLOAD: container or service\n"
	       "    tcptracer -c -i 10     # counts per process and peer, every 10 s\n"
	       "    tcptracer --container web -l   # only the container named web\n"
	       "    tcptracer --unit postgresql -j # only postgresql.service, as JSON\n"
	       "    tcptracer -j -o trace.json   # JSON lines into a file\n"
	       "    tcptracer -l -- curl -s https://example.com   # curl and its children only",
	.options = options,
	.parse = parse,
	.family = true,
	.dns = true,
	.json_latency = true,
	.skel = &tcptracer_skeleton,
	.stash = stash,
	.catch_up = catch_up,
	.owners = owners,
	.rows = rows,
	.columns = columns,
	.count_columns = count_columns,
	.before_load = before_load,
	.count_lost = count_lost,
};

ST_TOOL_MAIN(tool)
