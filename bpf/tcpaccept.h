/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcpaccept's own ABI; events are struct inet_event (common/event.h) with
 * type ST_EV_ACCEPT, saddr/sport the local end, daddr/dport the remote end,
 * and backlog/backlog_max the listener's accept queue when it returned
 * (ST_EVF_BACKLOG: the listener was found).
 */
#ifndef SOCKTRACE_TCPACCEPT_H
#define SOCKTRACE_TCPACCEPT_H

#include "event.h"

#endif
