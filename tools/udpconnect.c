// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udpconnect: trace UDP connects and each socket's first datagram to a destination. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "args.h"
#include "btfcache.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "udpconnect.h"
#include "udpconnect.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum { OPT_CONNECT_ONLY = 0x200 };

static struct {
	struct st_opts common;
	bool connect_only;
} opts;

static const struct st_prog progs[] = {
	{ "connect", ST_BACKEND_FENTRY, "fexit_inet_dgram_connect", "inet_dgram_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kprobe_inet_dgram_connect", "inet_dgram_connect", 0 },
	{ "connect", ST_BACKEND_KPROBE, "kretprobe_inet_dgram_connect", "inet_dgram_connect", 0 },
	{ "connect", ST_BACKEND_TRACEPOINT, "tp_sys_exit_connect", NULL, 0 },
	{ "send", ST_BACKEND_FENTRY, "fexit_udp_sendmsg", "udp_sendmsg", 0 },
	{ "send", ST_BACKEND_FENTRY, "fexit_udpv6_sendmsg", "udpv6_sendmsg", 0 },
	{ "send", ST_BACKEND_KPROBE, "kprobe_udp_sendmsg", "udp_sendmsg", 0 },
	{ "send", ST_BACKEND_KPROBE, "kretprobe_udp_sendmsg", "udp_sendmsg", 0 },
	{ "send", ST_BACKEND_KPROBE, "kprobe_udpv6_sendmsg", "udpv6_sendmsg", 0 },
	{ "send", ST_BACKEND_KPROBE, "kretprobe_udpv6_sendmsg", "udpv6_sendmsg", 0 },
	{ "send", ST_BACKEND_TRACEPOINT, "tp_sys_exit_sendto", NULL, 0 },
	{ "send", ST_BACKEND_TRACEPOINT, "tp_sys_exit_sendmsg", NULL, 0 },
	{ "send", ST_BACKEND_TRACEPOINT, "tp_sys_exit_sendmmsg", NULL, 0 },
};

static const char doc[] =
"Trace UDP connects (C) and the first datagram each unconnected UDP socket\n"
"sends to a new destination (S), with the real source port. With COMMAND, run\n"
"it and trace only it and its descendants.\n"
"\v"
"EXAMPLES:\n"
"    udpconnect                 # trace UDP connects and first sends\n"
"    udpconnect -P 53           # only DNS queries, however they are sent\n"
"    udpconnect --connect-only  # only connect() on UDP sockets\n"
"    udpconnect -t -U           # add a timestamp and the UID\n"
"    udpconnect -p 181,182      # only these processes\n"
"    udpconnect -6              # IPv6 sockets only\n"
"    udpconnect -j -o trace.json    # JSON lines into a file\n"
"    udpconnect -- dig example.com  # dig and its children only";

static const struct argp_option options[] = {
	{ "port", 'P', "PORT[,PORT...]", 0, "Trace only these destination ports", 0 },
	{ "connect-only", OPT_CONNECT_ONLY, NULL, 0,
	  "Trace connect() only, not sends on unconnected sockets", 0 },
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
	case OPT_CONNECT_ONLY:
		opts.connect_only = true;
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

struct app {
	struct st_output out;
	int seen_fd;		/* the seen_added counter */
	bool seen_full;		/* said so already */
};

/* Says once that the "seen" LRU is full: repeats may show from then on. */
static void check_seen(struct app *a)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	__u64 vals[ncpu > 0 ? ncpu : 1], sum = 0;
	__u32 zero = 0;

	if (a->seen_full || ncpu <= 0 || bpf_map_lookup_elem(a->seen_fd, &zero, vals))
		return;
	for (cpu = 0; cpu < ncpu; cpu++)
		sum += vals[cpu];
	if (sum < UDP_SEEN_MAX)
		return;
	a->seen_full = true;
	st_err("memory for seen destinations is full (%d socket/destination pairs): "
	       "the oldest are forgotten, so a destination may be reported again",
	       UDP_SEEN_MAX);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct app *a = ctx;
	const struct inet_event *e = data;

	if (size < sizeof(*e))
		return 0;
	st_output_event(&a->out, e);
	if (e->type == ST_EV_SEND)
		check_seen(a);
	return 0;
}

static const struct st_column cols[] = {
	{ "T", ST_F_TYPE, 1 },
	{ "PID", ST_F_PID, 7 },
	{ "COMM", ST_F_COMM, 16 },
	{ "IP", ST_F_IP, 2 },
	{ "SADDR", ST_F_SADDR, 15 },
	{ "SPORT", ST_F_SPORT, 5 },
	{ "DADDR", ST_F_DADDR, 15 },
	{ "DPORT", ST_F_DPORT, 5 },
};

/* --connect-only: the send programs are neither chosen nor loaded. */
static int prepare(struct st_session *s, struct udpconnect_bpf *skel)
{
	size_t i, n = ARRAY_SIZE(progs);
	int err;

	if (opts.connect_only)	/* the "connect" rows lead the table */
		for (n = 0; n < ARRAY_SIZE(progs) && !strcmp(progs[n].hook, "connect"); n++)
			;

	err = st_session_prepare(s, skel->obj, &skel->rodata->st_cfg, &opts.common,
				 progs, n, opts.connect_only ? "UDP connects" :
				 "UDP connects and first sends");
	for (i = n; !err && i < ARRAY_SIZE(progs); i++)
		bpf_program__set_autoload(
			bpf_object__find_program_by_name(skel->obj, progs[i].prog), false);
	return err;
}

int main(int argc, char **argv)
{
	struct udpconnect_bpf *skel = NULL;
	struct st_btf_cache btf = {};
	struct st_session s = {};
	struct app app = {};
	int err, status = 1;

	st_log_init("udpconnect");
	st_parse_args(&argp, argc, argv, NULL);
	skel = udpconnect_bpf__open_opts(st_btf_open_opts(&btf, "udpconnect",
							  udpconnect_bpf__elf_bytes));
	if (!skel) {
		err = -errno;
		st_err("failed to open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	err = prepare(&s, skel);
	if (err)
		goto cleanup;
	err = udpconnect_bpf__load(skel);
	if (err) {
		st_err("failed to load BPF programs: %s", st_strerror(-err));
		goto cleanup;
	}
	app.seen_fd = bpf_map__fd(skel->maps.seen_added);
	err = st_output_open(&app.out, &opts.common, "udpconnect", cols, ARRAY_SIZE(cols));
	if (err)
		goto cleanup;
	err = st_session_start(&s, &app.out, handle_event, &app);
	if (err)
		goto cleanup;
	status = st_session_run(&s, &app.out);
	check_seen(&app);	/* also when the ring buffer dropped the S lines */
cleanup:
	st_session_close(&s);
	st_output_close(&app.out);
	udpconnect_bpf__destroy(skel);
	st_btf_cache_close(&btf);
	return err ? st_session_fail_status(&s) : status;
}
