// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "escape.h"
#include "log.h"

#define ST_ENOTSUPP	524	/* include/linux/errno.h, not in the uapi */

const char *st_tool_name = "socktrace";
bool st_debug;
bool st_debug_libbpf;

/*
 * Messages quote paths and commands that are not ours: escape them, and
 * keep line breaks only in libbpf's multi-line logs (@lines).
 */
static void print_escaped(const char *msg, size_t len, bool lines)
{
	char buf[ST_ESCAPED_LEN(256)];
	size_t n;

	while (len) {
		for (n = 0; n < len && n < 256 && (!lines || msg[n] != '\n'); n++)
			;
		st_escape(msg, n, 0, buf, sizeof(buf));
		fputs(buf, stderr);
		if (lines && n < len && msg[n] == '\n') {
			fputc('\n', stderr);
			n++;
		}
		msg += n;
		len -= n;
	}
	fputc('\n', stderr);
}

static void vlog(bool lines, const char *fmt, va_list ap)
{
	char *msg = NULL;
	size_t len;

	/* no fixed buffer: a verifier log is long, and its end says why */
	if (vasprintf(&msg, fmt, ap) < 0) {
		fprintf(stderr, "%s: (out of memory)\n", st_tool_name);
		return;
	}
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')	/* libbpf ends its lines itself */
		msg[--len] = '\0';
	fprintf(stderr, "%s: ", st_tool_name);
	print_escaped(msg, len, lines);
	free(msg);
}

void st_verr(const char *fmt, va_list ap)
{
	vlog(false, fmt, ap);
}

void st_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st_verr(fmt, ap);
	va_end(ap);
}

void st_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!st_debug)
		return;
	va_start(ap, fmt);
	st_verr(fmt, ap);
	va_end(ap);
}

const char *st_strerror(int err)
{
	/* e.g. fexit where the arch cannot attach trampolines (arm64 6.1):
	 * libc would print "Unknown error 524" */
	if (err == ST_ENOTSUPP)
		return "not supported by this kernel (ENOTSUPP)";
	return strerror(err);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	/* thousands of lines per object: only when asked for by name */
	if (st_debug_libbpf)
		vlog(true, fmt, ap);
	return 0;
}

void st_log_init(const char *tool)
{
	st_tool_name = tool;
	libbpf_set_print(libbpf_print);
}
