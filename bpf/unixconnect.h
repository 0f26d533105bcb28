/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* unixconnect's own ABI; events are struct unix_event (common/event.h). */
#ifndef SOCKTRACE_UNIXCONNECT_H
#define SOCKTRACE_UNIXCONNECT_H

#include "event.h"

#endif
