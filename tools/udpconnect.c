// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udpconnect: trace UDP connects and each socket's first datagram to a destination. */
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

enum { OPT_CONNECT_ONLY = 0x200 };

static bool connect_only;	/* --connect-only */

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these destination ports", 0 },
	{ "connect-only", OPT_CONNECT_ONLY, NULL, 0,
	  "Trace connect() only, not sends on unconnected sockets", 0 },
	{},
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	if (key == 'P')
		st_parse_ports(arg, state->input);
	else if (key == OPT_CONNECT_ONLY)
		connect_only = true;
	else
		return ARGP_ERR_UNKNOWN;
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

/*
 * kprobe backend: a send naming a destination whose stash the thread map
 * forgot is not reported, and its return cannot tell (bpf/udpconnect.bpf.c,
 * send_stashed): counted from the stashes made and found (common/forgotten.h),
 * said with the connects' (ST_LOST_STASH).
 */
static void count_lost(struct st_run *r)
{
	static struct st_forgotten sends = {
		.value_size = sizeof(struct udp_pending),
		.counted = send_inside,
	};

	sends.map = skel->maps.pending;
	sends.made = &skel->bss->send_stashed;
	sends.found = &skel->bss->send_found;
	st_forgotten_count(&r->lost, &sends);
}

static int before_load(struct st_run *r)
{
	if (connect_only)
		r->what = "UDP connects";
	return 0;
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
