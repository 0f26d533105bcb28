/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* udpconnect's own ABI; events are struct inet_event (common/event.h). */
#ifndef SOCKTRACE_UDPCONNECT_H
#define SOCKTRACE_UDPCONNECT_H

#include "event.h"

/* Destinations remembered per socket ("already seen"); LRU beyond this. */
#define UDP_SEEN_MAX	16384
/* sendmmsg() messages examined per call on the tracepoint backend */
#define UDP_MMSG_MAX	16

#endif
