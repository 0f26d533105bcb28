// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udpconnect: trace UDP connects and each socket's first datagram to a destination. */
#include <errno.h>
#include <string.h>
#include "tool.h"
#include "forgotten.h"
#include "udpconnect.h"
#include "udpconnect.skel.h"

ST_SKELETON(udpconnect);

/* --max-threads sizes it */
static struct bpf_map *stash(void)
{
	return skel->maps.pending;
}

enum { OPT_CONNECT_ONLY = 0x200, OPT_MAX_DESTS };

static bool connect_only;	/* --connect-only */
static __u32 max_seen = UDP_SEEN_DEFAULT;	/* --max-destinations */

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these destination ports", 0 },
	{ "connect-only", OPT_CONNECT_ONLY, NULL, 0,
	  "Trace connect() only, not sends on unconnected sockets", 0 },
	{ "max-destinations", OPT_MAX_DESTS, "N", 0,
	  "Socket and destination pairs remembered as reported (default 16384, about "
	  "112 bytes each in the kernel); past it the least recent are forgotten, "
	  "counted and said, and reported again if sent to again", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	unsigned long long n;

	if (key == 'P') {
		st_parse_ports(arg, state->input);
	} else if (key == OPT_CONNECT_ONLY) {
		connect_only = true;
	} else if (key == OPT_MAX_DESTS) {
		if (st_parse_num(arg, 1, UDP_SEEN_MAX, &n))
			st_usage_error("--max-destinations: invalid value '%s' (expected 1 to %d)",
				       arg, UDP_SEEN_MAX);
		max_seen = n;
	} else {
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* --connect-only: the send programs are neither chosen nor loaded */
static size_t rows(struct st_prog *r)
{
	const struct st_prog connect[] = {
		{ "connect", skel->progs.fexit_inet_dgram_connect, 0 },
		{ "connect", skel->progs.kprobe_inet_dgram_connect, 0 },
		{ "connect", skel->progs.kretprobe_inet_dgram_connect, 0 },
		{ "connect", skel->progs.tp_sys_exit_connect, 0 },
	}, send[] = {
		{ "send", skel->progs.fexit_udp_sendmsg, 0 },
		{ "send", skel->progs.fexit_udpv6_sendmsg, 0 },
		{ "send", skel->progs.kprobe_udp_sendmsg, 0 },
		{ "send", skel->progs.kretprobe_udp_sendmsg, 0 },
		{ "send", skel->progs.kprobe_udpv6_sendmsg, 0 },
		{ "send", skel->progs.kretprobe_udpv6_sendmsg, 0 },
		{ "send", skel->progs.tp_sys_exit_sendto, 0 },
		{ "send", skel->progs.tp_sys_exit_sendmsg, 0 },
		{ "send", skel->progs.tp_sys_exit_sendmmsg, 0 },
	};
	const struct st_prog dns[] = { ST_DNS_ROWS(skel) };
	size_t n = ST_ROWS(r, connect);

	n += ST_ROWS(r + n, dns);

	return connect_only ? n : n + ST_ROWS(r + n, send);
}

/* The columns of a line (@count false) or of a count row, which has no
 * source port (one per socket) and ends with COUNT */
static size_t some_columns(struct st_column *c, bool count)
{
	size_t n = 0;

	c[n++] = (struct st_column){ "T", ST_F_TYPE, 1 };
	c[n++] = (struct st_column){ "PID", ST_F_PID, 7 };
	c[n++] = (struct st_column){ "COMM", ST_F_COMM, 16 };
	c[n++] = (struct st_column){ "IP", ST_F_IP, 2 };
	c[n++] = (struct st_column){ "SADDR", ST_F_SADDR, 15 };
	if (!count)
		c[n++] = (struct st_column){ "SPORT", ST_F_SPORT, 5 };
	c[n++] = (struct st_column){ "DADDR", ST_F_DADDR, 15 };
	c[n++] = (struct st_column){ "DPORT", ST_F_DPORT, 5 };
	if (count)
		c[n++] = (struct st_column){ "COUNT", ST_F_COUNT, 5 };
	return n;
}

static size_t columns(struct st_column *c)
{
	return some_columns(c, false);
}

/* -c: per process, workload, kind and destination */
static size_t count_columns(struct st_column *c)
{
	return some_columns(c, true);
}

/* A send naming a destination, between its entry and return probes */
static bool send_inside(const void *value)
{
	return ((const struct udp_pending *)value)->kind == UDP_PEND_KSEND;
}

/* LRU free entries a CPU may hold for itself (the kernel's LOCAL_FREE_TARGET) */
#define LRU_LOCAL_FREE	128

/* Entries of @map now, walked key by key (keys of at most 64 bytes): or -errno */
static long long map_entries(const struct bpf_map *map)
{
	__u8 key[64], next[64];
	size_t size = bpf_map__key_size(map);
	const void *prev = NULL;
	long long n = 0;
	int err;

	if (size > sizeof(key))
		return -E2BIG;
	while (!(err = bpf_map__get_next_key(map, prev, next, size))) {
		memcpy(key, next, size);
		prev = key;
		n++;
	}
	return err == -ENOENT ? n : err;
}

/*
 * The pairs "seen" forgot (ST_LOST_SEEN). Nothing leaves it but by
 * eviction, so every pair added past max_seen made it forget one, and
 * pairs added less pairs held is every eviction, those an LRU makes early
 * too (while CPUs keep free entries for themselves; before Linux 6.16
 * without bound, docs/limits.md section 6). Both only grow and neither is
 * ever above the truth, so the larger is said. The map is walked only
 * where an early eviction can be (past max_seen less LRU_LOCAL_FREE a
 * CPU) and once the adds held still for a look: late, never high.
 */
static __u64 seen_added(void)
{
	return __atomic_load_n(&skel->bss->seen_added, __ATOMIC_ACQUIRE);
}

static void count_seen_lost(struct st_run *r)
{
	static __u64 last_added, walked_at, evicted;
	__u64 added = seen_added(), said = r->lost.added[ST_LOST_SEEN], past, total;
	int cpus = libbpf_num_possible_cpus();
	long long held;

	if (added == last_added && added != walked_at && cpus > 0 &&
	    added + (__u64)LRU_LOCAL_FREE * cpus >= max_seen) {
		held = map_entries(skel->maps.seen);
		/* a pair an add racing the walk evicted was forgotten all the
		 * same: counting it before that add is late, not high */
		if (held >= 0 && seen_added() == added) {
			walked_at = added;
			if (added > (__u64)held && added - (__u64)held > evicted)
				evicted = added - (__u64)held;
		}
	}
	last_added = added;
	past = added > max_seen ? added - max_seen : 0;
	total = past > evicted ? past : evicted;
	if (total > said)	/* only this adds to ST_LOST_SEEN */
		st_lost_add(&r->lost, ST_LOST_SEEN, total - said);
}

/*
 * kprobe backend: a send naming a destination whose stash the thread map
 * forgot is not reported, and its return cannot tell (bpf/udpconnect.bpf.c,
 * send_stashed): counted from the stashes made and found (common/forgotten.h),
 * said with the connects' (ST_LOST_STASH). And the pairs "seen" forgot.
 */
static void count_lost(struct st_run *r, bool final)
{
	static struct st_forgotten sends = {
		.value_size = sizeof(struct udp_pending),
		.counted = send_inside,
	};

	(void)final;
	sends.map = skel->maps.pending;
	sends.made = &skel->bss->send_stashed;
	sends.found = &skel->bss->send_found;
	st_forgotten_count(&r->lost, &sends);
	count_seen_lost(r);
}

/* --connect-only: what the banner says; --max-destinations */
static int before_load(struct st_run *r)
{
	/* preallocated, as every LRU: with the sends not traced, one entry */
	int err = bpf_map__set_max_entries(skel->maps.seen, connect_only ? 1 : max_seen);

	if (connect_only)
		r->what = "UDP connects";
	if (err)
		st_err("--max-destinations: cannot size the map: %s", st_strerror(-err));
	return err;
}

static const struct st_tool tool = {
	.name = "udpconnect",
	.what = "UDP connects and first sends",
	.doc = "Trace UDP connects (C) and the first datagram each unconnected UDP socket\n"
	       "sends to a new destination (S), with the real source port. With COMMAND, run\n"
	       "it and trace only it and its descendants.\n"
	       "\v"
	       "EXAMPLES:\n"
	       "    udpconnect                 # trace UDP connects and first sends\n"
	       "    udpconnect -P 53           # only DNS queries, however they are sent\n"
	       "    udpconnect -d              # add QUERY: the DNS name of each destination\n"
	       "    udpconnect --connect-only  # only connect() on UDP sockets\n"
	       "    udpconnect -t -U           # add a timestamp and the UID\n"
	       "    udpconnect -p 181,182      # only these processes\n"
	       "    udpconnect -6              # IPv6 sockets only\n"
	       "    udpconnect -P 53 -w        # which container or service asks DNS\n"
	       "    udpconnect -c -P 53        # who asks which DNS server, how often\n"
	       "    udpconnect --container web # only the container named web\n"
	       "    udpconnect -j -o trace.json    # JSON lines into a file\n"
	       "    udpconnect -- dig example.com  # dig and its children only",
	.options = options,
	.parse = parse,
	.family = true,
	.dns = true,
	.skel = &udpconnect_skeleton,
	.stash = stash,
	.rows = rows,
	.columns = columns,
	.count_columns = count_columns,
	.before_load = before_load,
	.count_lost = count_lost,
};

ST_TOOL_MAIN(tool)
