/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcpconnect's own ABI; events are struct inet_event (common/event.h). */
#ifndef SOCKTRACE_TCPCONNECT_H
#define SOCKTRACE_TCPCONNECT_H

#include "event.h"

struct tcpconnect_cfg {
	__u8 report_result;	/* -r: emit once the outcome is known */
	__u8 failed_only;	/* -x: with report_result, failures only */
	__u8 at_return;		/* no state hook: print when the connect returns 0 */
};

#endif
