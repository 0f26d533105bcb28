/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ABI between every socktrace BPF object and its user side: one event
 * layout and one configuration block for the whole suite. Fixed-width types
 * only; this header is included by BPF code (after vmlinux.h) and by C code.
 */
#ifndef SOCKTRACE_EVENT_H
#define SOCKTRACE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_COMM_LEN	16	/* TASK_COMM_LEN */
#define ST_AF_INET	2
#define ST_AF_INET6	10
#define ST_MAX_PIDS	16384	/* -p list plus followed descendants */
#define ST_MAX_WORKLOAD_CGROUPS	4096	/* --container, --unit: cgroups traced */
#define ST_MAX_PORTS	64

enum st_event_type {
	ST_EV_CONNECT = 1,
	ST_EV_ACCEPT,
	ST_EV_CLOSE,
	ST_EV_SEND,
};

/* inet_event.result: 0 success, > 0 an errno value, or one of these */
#define ST_RESULT_UNKNOWN	(-1)	/* outcome not known when emitted */
#define ST_RESULT_CLOSED	(-2)	/* closed before the handshake ended */

/*
 * st_event_head.flags: which of the kind's fields that may be unknown are
 * known; an unknown one prints as null in JSON and "-" in columns, never as
 * a 0 that looks like a value
 */
#define ST_EVF_DURATION	0x01	/* duration_ns (not for a connection older than the tool) */
#define ST_EVF_BACKLOG	0x02	/* backlog and backlog_max (the listener was found) */
#define ST_EVF_LATENCY	0x04	/* latency_ns (a connect followed from its SYN) */
#define ST_EVF_LOCAL	0x08	/* a connect that failed before any packet left */
#define ST_EVF_PASSIVE	0x10	/* close events: the connection was accepted here */

/* The owners map (bpf/owners.bpf.h): connects in their handshake, --max-handshakes */
#define ST_HANDSHAKES_DEFAULT	65536
#define ST_HANDSHAKES_MAX	16777216
/* A tool's per-thread stash (bpf/stash.bpf.h): threads inside a probed call, --max-threads */
#define ST_THREADS_DEFAULT	8192
#define ST_THREADS_MAX		4194304

/* bpf/accept.bpf.h's accept_catch_up: whether the syscall side is attached */
enum st_accept_catch_up {
	ST_ACCEPT_STARTING,	/* not known yet: both sides may see an accept */
	ST_ACCEPT_NO_CATCH_UP,	/* not attached: the function side reports all */
	ST_ACCEPT_CAUGHT_UP,	/* attached: it reports accept() syscalls */
};

/* sendmmsg() messages examined per call on the tracepoint backend (ST_LOST_MMSG) */
#define ST_MMSG_EXAMINED	16

/* Indexes of the per-CPU "lost" counters */
enum st_lost_counter {
	ST_LOST_EVENTS,		/* ring buffer full */
	ST_LOST_FOLLOW,		/* pids map full: a descendant not followed */
	ST_LOST_DNS,		/* ring buffer full: a DNS answer (-d) not read */
	ST_LOST_SERIES,		/* --metrics: series limit reached, counted as "other" */
	ST_LOST_OWNERS,		/* owners map full: a connect not followed to its end */
	ST_LOST_CONNS,		/* conns map full (tcptracer): a connection not tracked */
	ST_LOST_SEEN,		/* seen map full (udpconnect): a pair forgotten */
	ST_LOST_STASH,		/* thread map full: a call's entry evicted before its return */
	ST_LOST_MMSG,		/* udpconnect, tracepoints: a sendmmsg() message not examined */
	ST_LOST_UNSEEN,		/* tcptracer: a connection's end the state hook never saw */
	ST_LOST_CONNECT_UNSEEN,	/* tcpconnect: a connect's end the state hook never saw */
	ST_LOST_SKIPPED,	/* runs of a program the kernel skipped: user space adds them */
	ST_LOST_MAX,
};

/* What follows an event's head: one struct per kind */
enum st_event_kind {
	ST_KIND_INET = 1,	/* struct inet_event */
	ST_KIND_UNIX,		/* struct unix_event */
	ST_KIND_DNS,		/* struct dns_event: for the name cache (-d), never printed */
};

/*
 * What every event starts with, whatever its kind: when, where, who and
 * what happened. The user side formats these fields once for every kind
 * and finds the rest of the event by kind.
 */
struct st_event_head {
	__u64 time_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 netns;		/* network namespace inode */
	__u64 cgroup_id;	/* the task's cgroup v2 (its directory's inode) */
	__u32 pid;		/* tgid, as the tool's PID namespace sees it */
	__u32 tid;
	__u32 ns_pid;		/* tgid in the task's own PID namespace (a container's) */
	__u32 uid;
	__u8 kind;		/* enum st_event_kind */
	__u8 type;		/* enum st_event_type */
	__u8 flags;		/* ST_EVF_*: which of the kind's fields are known */
	__u8 pad[5];
	char comm[ST_COMM_LEN];
};

/*
 * One TCP or UDP event. Addresses are in network byte order, an IPv4
 * address in the first 4 bytes; ports are in host byte order. "s" is the
 * local end and "d" the remote end, whichever side opened the connection.
 */
struct inet_event {
	struct st_event_head h;	/* kind ST_KIND_INET */
	__u64 duration_ns;	/* close events: time since established, if ST_EVF_DURATION */
	__u64 bytes_sent;	/* close events */
	__u64 bytes_received;	/* close events */
	__s32 result;		/* see ST_RESULT_* */
	__u32 backlog;		/* accept events: queue length ... */
	__u32 backlog_max;	/* ... and its limit, if ST_EVF_BACKLOG */
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;		/* 0: none yet (a connect that failed before one was bound) */
	__u16 dport;
	__u8 family;		/* ST_AF_INET or ST_AF_INET6 */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 syn_retrans;	/* settled connects: SYNs sent again (at most 255) */
	__u8 pad[5];
	__u64 latency_ns;	/* connects: SYN sent to settled, if ST_EVF_LATENCY */
};

#define ST_AF_UNIX	1
#define ST_UNIX_PATH_MAX	108	/* sizeof(sockaddr_un.sun_path) */

/*
 * One AF_UNIX connect or accept (unixconnect). path holds path_len bytes of
 * the server's address: a filesystem path (NUL-terminated when it fits), an
 * abstract name (path[0] == 0, explicit length, may hold any byte), or
 * nothing (path_len 0: unnamed).
 */
struct unix_event {
	struct st_event_head h;	/* kind ST_KIND_UNIX */
	__u32 peer_pid;		/* tgid at the other end; 0 if unknown */
	__u16 path_len;		/* bytes used in path, <= ST_UNIX_PATH_MAX */
	__u8 sock_type;		/* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5 */
	__u8 pad;
	char path[ST_UNIX_PATH_MAX];
};

/*
 * Room for one DNS message: the EDNS buffer size resolvers advertise since
 * the 2020 DNS flag day, so a UDP answer is rarely longer; one that is, or a
 * TCP answer split over segments, comes with less than msg_len captured.
 */
#define ST_DNS_MSG_MAX	1232

/*
 * DNS from port 53 (-d), for the name cache. Over UDP, one message as a
 * network namespace received it: the head's netns and time only, as no task
 * is running then. Over TCP, the bytes one read() (recvfrom(), recvmsg())
 * returned from a socket whose peer is port 53: part of a stream of
 * length-prefixed messages, which user space puts together.
 */
struct dns_event {
	struct st_event_head h;	/* kind ST_KIND_DNS */
	__u64 stream;		/* TCP: the socket read (its address); 0 for UDP */
	__u16 msg_len;		/* UDP: the message's length; TCP: bytes read (at most 65535) */
	__u16 cap_len;		/* of them in msg: fewer if they were not all there */
	__u16 sport;		/* TCP: the local port, which tells a reused socket apart */
	__u8 proto;		/* IPPROTO_UDP or IPPROTO_TCP */
	__u8 family;		/* ST_AF_INET or ST_AF_INET6 */
	__u8 msg[ST_DNS_MSG_MAX];	/* a record may end before msg does: cap_len fits */
};

/*
 * --metrics: events are counted in the kernel, in the metrics hash map, by
 * these labels; user space turns cgroup ids into workloads at scrape time.
 * A key with .other set (every label zero) is the overflow series of its
 * kind, type and proto: user space puts one of each (ST_METRIC_OTHERS) in
 * the map before the start, so that it is there when the map is full.
 */
enum st_metrics_mode {
	ST_METRICS_OFF,
	ST_METRICS_EVENTS,	/* counted, and sent to user space as events */
	ST_METRICS_ONLY,	/* counted only: nothing per event leaves the kernel */
};

struct st_metric_key {
	__u64 cgroup_id;
	char comm[ST_COMM_LEN];
	__s32 result;		/* connects: as inet_event.result; else 0 */
	__u16 port;		/* the service port: a connect's or send's remote
				 * port, an accept's local one, a close's either */
	__u8 kind;		/* enum st_event_kind */
	__u8 type;		/* enum st_event_type */
	__u8 proto;		/* inet: IPPROTO_TCP or IPPROTO_UDP; unix: 0 */
	__u8 other;		/* the overflow series */
	__u8 pad[6];
};

#define ST_METRIC_OTHERS	7	/* tcp connect, accept, close; udp connect, send; unix connect, accept */

/* Histogram buckets: the upper bound of bucket i is 2^(i + ST_METRIC_LOG2_MIN) ns */
#define ST_METRIC_BUCKETS	32	/* 1.024 us ... 2^41 ns (36.6 min), then +Inf */
#define ST_METRIC_LOG2_MIN	10

/*
 * The bucket of @ns: the smallest i with ns <= 2^(i + ST_METRIC_LOG2_MIN),
 * ST_METRIC_BUCKETS if none (+Inf). Here so that the kernel's code and the
 * unit tests share it.
 */
static inline __u32 st_metric_bucket(__u64 ns)
{
	__u64 v = ns > 1 ? ns - 1 : 0;
	__u32 log2 = 0, shift;

	/* the bits v needs (floor(log2(v)) + 1), found in halves: no loop, no clz */
	shift = (v > 0xffffffffULL) << 5; v >>= shift; log2 |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; log2 |= shift;
	shift = (v > 0xff) << 3; v >>= shift; log2 |= shift;
	shift = (v > 0xf) << 2; v >>= shift; log2 |= shift;
	shift = (v > 0x3) << 1; v >>= shift; log2 |= shift;
	log2 |= (v >> 1);
	log2 += v ? 1 : 0;
	if (log2 <= ST_METRIC_LOG2_MIN)
		return 0;
	log2 -= ST_METRIC_LOG2_MIN;
	return log2 < ST_METRIC_BUCKETS ? log2 : ST_METRIC_BUCKETS;
}

struct st_metric_val {
	__u64 count;
	__u64 timed;		/* of them with a duration: connect latency, lifetime */
	__u64 sum_ns;		/* of those durations */
	__u64 buckets[ST_METRIC_BUCKETS];	/* not cumulative; timed less their sum went above the last */
};

/* A -p list this short is kept in st_config and compared in place. */
#define ST_CFG_PIDS	8

enum st_pid_filter {
	ST_PIDS_OFF,
	ST_PIDS_MAP,		/* tgids in the pids map: COMMAND, a long -p */
	ST_PIDS_LIST,		/* tgids in st_config.pid_list */
};

/*
 * Filters every tool applies in the kernel, as read-only data set before
 * load: a zero field means "filter off", so the verifier drops the branch.
 */
struct st_config {
	__u8 filter_pid;	/* enum st_pid_filter */
	__u8 follow_forks;	/* add children of kept tgids to the pids map */
	__u8 filter_uid;
	__u8 filter_cgroup;	/* keep only tasks under cgroups[0] */
	__u8 filter_port;	/* keep only ports in the ports map */
	__u8 family;		/* 0, ST_AF_INET or ST_AF_INET6 */
	__u8 filter_workload;	/* keep only tasks whose cgroup is in workload_cgroups */
	__u8 metrics;		/* enum st_metrics_mode */
	__u32 uid;
	__u32 pad2;
	__u64 netns;		/* 0 or a network namespace inode */
	/* PIDs are reported as this PID namespace sees them (the tool's own);
	 * 0 means the initial namespace, where the plain helpers do */
	__u64 pidns_ino;
	__u32 wakeup_bytes;	/* wake the reader once this much is queued */
	__u32 npids;		/* ST_PIDS_LIST: entries used in pid_list */
	__u32 pid_list[ST_CFG_PIDS];
};

#endif /* SOCKTRACE_EVENT_H */
