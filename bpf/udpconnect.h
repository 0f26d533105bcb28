/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* udpconnect's own ABI; events are struct inet_event (common/event.h). */
#ifndef SOCKTRACE_UDPCONNECT_H
#define SOCKTRACE_UDPCONNECT_H

#include "event.h"

/* (Socket, destination) pairs remembered ("already seen"), LRU beyond:
 * --max-destinations, from 1 to UDP_SEEN_MAX */
#define UDP_SEEN_DEFAULT	16384
#define UDP_SEEN_MAX		16777216
#define UDP_MMSG_MAX	ST_MMSG_EXAMINED
/* the kernel's own cap on a sendmmsg() vector (UIO_MAXIOV): past
 * UDP_MMSG_MAX, messages are only looked at to count those naming a place */
#define UDP_MMSG_VLEN	1024

/* kprobe backend: the stash ("pending"), by thread id */
enum udp_pend_kind { UDP_PEND_CONNECT = 1, UDP_PEND_KSEND };

struct udp_pending {
	__u64 sk;		/* struct sock *, or struct socket * */
	__u8 dest[20];		/* a send's struct dest (bpf/sock.bpf.h), copied at entry */
	__u8 kind;		/* enum udp_pend_kind */
	__u8 pad[3];
};

#endif
