/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* unixconnect's own ABI; events are struct unix_event (common/event.h). */
#ifndef SOCKTRACE_UNIXCONNECT_H
#define SOCKTRACE_UNIXCONNECT_H

#include "event.h"

/* sk_type values, as in <linux/net.h> */
#define ST_SOCK_STREAM		1
#define ST_SOCK_DGRAM		2
#define ST_SOCK_SEQPACKET	5

#endif
