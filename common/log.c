// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

const char *st_tool_name = "socktrace";
bool st_debug;

void st_verr(const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')	/* libbpf ends its lines itself */
		msg[--len] = '\0';
	fprintf(stderr, "%s: %s\n", st_tool_name, msg);
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

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (st_debug)
		st_verr(fmt, ap);
	return 0;
}

void st_log_init(const char *tool)
{
	st_tool_name = tool;
	libbpf_set_print(libbpf_print);
}
