/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one diagnostic printer: "<tool>: message\n" on stderr. */
#ifndef SOCKTRACE_LOG_H
#define SOCKTRACE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

extern const char *st_tool_name;
extern bool st_debug;		/* --debug: socktrace's own decisions */
extern bool st_debug_libbpf;	/* --debug-libbpf: libbpf's messages too */

__attribute__((format(printf, 1, 2))) void st_err(const char *fmt, ...);
/* printed only with --debug */
__attribute__((format(printf, 1, 2))) void st_dbg(const char *fmt, ...);
void st_verr(const char *fmt, va_list ap);
/*
 * strerror() for errors the kernel returns, which include its internal
 * codes that libc has no text for (ENOTSUPP, 524): @err is positive.
 */
const char *st_strerror(int err);
/* routes libbpf's messages through st_verr(), shown only with --debug-libbpf */
void st_log_init(const char *tool);

#endif
