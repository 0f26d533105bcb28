// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcptracer: trace established TCP connections: connect, accept, close. */
#include <errno.h>
#include <limits.h>
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

/* --max-threads sizes it too */
static struct bpf_map *accept_seen(void)
{
	return skel->maps.accept_seen;
}

/* --max-handshakes sizes it */
static struct bpf_map *owners(void)
{
	return skel->maps.owners;
}

static bool verbose;	/* -v */
static bool lifetime;	/* -l */
static __u32 max_conns = TCPTRACER_CONNS_DEFAULT;	/* --max-connections */
static unsigned int sweep_every = TCPTRACER_SWEEP_DEFAULT;	/* --sweep-every, s */

enum { OPT_MAX_CONNS = 0x200, OPT_SWEEP_EVERY };

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
	{ "sweep-every", OPT_SWEEP_EVERY, "SECONDS", 0,
	  "How often to look for connections whose end the kernel did not report, and "
	  "count them (default 30; 0: only at exit); each look reads every tracked "
	  "connection's socket, about 1.4 us of CPU each", 0 },
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
	case OPT_SWEEP_EVERY:
		if (st_parse_num(arg, 0, TCPTRACER_SWEEP_MAX, &n))
			st_usage_error("--sweep-every: invalid value '%s' (expected 0 to %d seconds)",
				       arg, TCPTRACER_SWEEP_MAX);
		sweep_every = n;
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
 * The sweep (sweep_conns, bpf/tcptracer.bpf.c) finds the entries whose
 * socket's end the kernel did not report, and that no new socket at their
 * address found, and counts them. The keys of conns are read here one by
 * one (BPF_MAP_GET_NEXT_KEY) into the program's own array and handed to
 * it, TCPTRACER_SWEEP_KEYS a run (BPF_PROG_TEST_RUN of a raw tracepoint
 * program, 5.10):
 *  - neither needs the kernel's BTF, which the kprobe and tracepoint
 *    backends do not load (common/btfcache.h), as an iterator would;
 *  - each run is short (about 130 us), where one walk of the map in the
 *    kernel (bpf_for_each_map_elem) held a CPU with preemption off for as
 *    long as the map was long: 66 ms at 100000 entries on this host;
 *  - not BPF_MAP_LOOKUP_BATCH: it reads with bpf_prog_active raised, and
 *    the kprobe programs (and syscall tracepoints') that fire on that CPU
 *    meanwhile are skipped, silently before 6.7.
 * A key deleted as the next is asked for sends the kernel back to the
 * first: a pass reads at most twice the map's size. A pass costs about
 * 1.4 us of CPU an entry, most of it the keys' reads, and is spread over
 * the event loop's looks at the losses.
 */
#define SWEEP_AGAIN_MS	20	/* at exit: the second pass, after the first marked */
#define SWEEP_RUNS	64	/* runs at one look; a pass goes on at the next */

static struct {
	bool off;		/* the kernel refused to run it */
	bool on;		/* a pass is under way */
	bool more;		/* and goes on from next, read ahead of the run before */
	__u64 next;
	__u64 read;		/* keys this pass */
	struct timespec done;	/* the last pass's end; none: due at the first look */
} sw;

/*
 * The next keys of the pass into sweep_keys: how many; 0 at its end. The
 * key after them is read before they are run: a run may delete any of
 * them, which would send the kernel back to the first.
 */
static __u32 sweep_keys(int fd)
{
	__u64 *keys = skel->bss->sweep_keys;
	__u32 n = 0;

	while (n < TCPTRACER_SWEEP_KEYS && sw.more && sw.read < 2ULL * max_conns) {
		keys[n++] = sw.next;
		sw.read++;
		sw.more = !bpf_map_get_next_key(fd, &sw.next, &sw.next);
	}
	return n;
}

/*
 * Up to @runs runs of a pass over conns (a new one with the next pass
 * number unless one is under way): 0 or -errno.
 */
static int sweep_runs(int runs)
{
	int fd = bpf_map__fd(skel->maps.conns), prog = bpf_program__fd(skel->progs.sweep_conns);
	__u32 n = 1;
	int err = 0;

	if (!sw.on) {
		skel->bss->sweep_nr = skel->bss->sweep_nr % 255 + 1;	/* never 0: not marked */
		sw.read = 0;
		sw.more = !bpf_map_get_next_key(fd, NULL, &sw.next);
		sw.on = true;
	}
	while (!err && n && runs--) {
		LIBBPF_OPTS(bpf_test_run_opts, o);

		n = skel->bss->sweep_n = sweep_keys(fd);
		if (n)
			err = bpf_prog_test_run_opts(prog, &o);
	}
	if (!n || err) {
		sw.on = false;
		clock_gettime(CLOCK_MONOTONIC, &sw.done);
	}
	return err;
}

static void sweep(int runs)
{
	int err = sweep_runs(runs);

	if (!err)
		return;
	sw.off = true;
	st_err("cannot look for connections whose end the kernel did not report: %s; an entry "
	       "they leave is counted only when its address is taken again", st_strerror(-err));
}

/*
 * Each look at the losses (about every 250 ms): SWEEP_RUNS runs of a pass
 * under way, or of a new one when due (the first at once; never with
 * --sweep-every 0), so that a long map does not hold the loop from the
 * events. At exit, two whole passes (one under way is left), so that the
 * entries the first marks are counted by the second.
 */
static void count_lost(struct st_run *r, bool final)
{
	struct timespec pause = { .tv_nsec = SWEEP_AGAIN_MS * 1000000L };
	bool due = sweep_every && (!sw.done.tv_sec ||
				   st_ms_since(&sw.done) >= sweep_every * 1000L);

	(void)r;
	if (!skel->bss->tracked)	/* nothing was ever put in conns */
		return;
	if (!sw.off && !final && (sw.on || due))
		sweep(SWEEP_RUNS);
	if (sw.off || !final)
		return;
	sw.on = false;
	sweep(INT_MAX);
	while (nanosleep(&pause, &pause) && errno == EINTR)
		;
	if (!sw.off)
		sweep(INT_MAX);
}

/* --max-connections: the conns map's size; what the output shows of a
 * close; the sweep */
static int before_load(struct st_run *r)
{
	int err = bpf_map__set_max_entries(skel->maps.conns, max_conns);
	bool shown = !r->opts.metrics_only && (lifetime || r->opts.json || r->opts.journal);

	/* run by count_lost(), not attached */
	bpf_program__set_autoload(skel->progs.sweep_conns, true);
	bpf_program__set_autoattach(skel->progs.sweep_conns, false);
	skel->rodata->cfg.bytes = shown;
	skel->rodata->cfg.lifetime = shown || r->opts.metrics;
	/* passive_at_handshake() (bpf/tcptracer.bpf.c): else a run less a
	 * connection, twice */
	if (!skel->rodata->cfg.lifetime || st_config_filters_tasks(&skel->rodata->st_cfg))
		bpf_program__set_autoload(skel->progs.fentry_tcp_init_transfer, false);
	if (err)
		st_err("--max-connections: cannot size the connection map: %s", st_strerror(-err));
	return err;
}

/*
 * Attached in this order (common/attach.c): the hooks that delete an entry
 * of conns before those that make one, the connect's last, so that none is
 * made whose end cannot be seen yet. fentry has one program per kernel
 * function that makes a change the tool keeps (bpf/tcptracer.bpf.c).
 */
static size_t rows(struct st_prog *r)
{
	const struct st_prog t[] = {
		{ "state", skel->progs.fentry___tcp_close, 0 },
		{ "state", skel->progs.fentry_tcp_shutdown, 0 },
		{ "state", skel->progs.fentry_tcp_disconnect, 0 },
		{ "state", skel->progs.fentry_tcp_done_with_error, 0 },
		{ "state", skel->progs.fentry_tcp_send_synack, 0 },
		{ "state", skel->progs.fentry_tcp_init_transfer, 0 },
		{ "state", skel->progs.fentry_tcp_finish_connect, 0 },
		{ "state", skel->progs.fexit_tcp_connect, 0 },
		ST_STATE_SLOW_ROWS(skel), ST_ACCEPT_ROWS(skel), ST_DNS_ROWS(skel),
	};

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
	.accept_seen = accept_seen,
	.owners = owners,
	.rows = rows,
	.columns = columns,
	.count_columns = count_columns,
	.before_load = before_load,
	.count_lost = count_lost,
};

ST_TOOL_MAIN(tool)
