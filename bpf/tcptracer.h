/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcptracer's own ABI; events are struct inet_event (common/event.h):
 * ST_EV_CONNECT when an active open completes its handshake, ST_EV_ACCEPT,
 * and ST_EV_CLOSE with duration_ns (ST_EVF_DURATION unset: established
 * before the tool started), bytes_sent (data bytes, retransmissions not
 * counted) and bytes_received (data bytes, the peer's FIN not counted).
 * saddr/sport are the local end.
 */
#ifndef SOCKTRACE_TCPTRACER_H
#define SOCKTRACE_TCPTRACER_H

#include "event.h"

/* conns: connections tracked at once, from SYN or accept to close (--max-connections) */
#define TCPTRACER_CONNS_DEFAULT	262144
#define TCPTRACER_CONNS_MAX	16777216
/* the sweep of entries whose end the kernel did not report (--sweep-every, s) */
#define TCPTRACER_SWEEP_DEFAULT	30
#define TCPTRACER_SWEEP_MAX	86400
/* keys of conns a run of sweep_conns takes (.bss sweep_keys): about 130 us
 * of a CPU, with preemption off, on this host */
#define TCPTRACER_SWEEP_KEYS	256

/* rodata */
struct tcptracer_cfg {
	/* a close's lifetime (and which end accepted it) is shown or counted:
	 * -l, JSON, the journal, --metrics */
	__u8 lifetime;
	__u8 bytes;	/* a close's byte counts are shown: -l, JSON, the journal */
};

#endif
