// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: an arbitrary event through both output modes. Every line
 * must be free of control bytes, and a JSON line must stay one line.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "output.h"

static const struct st_column cols[] = {
	{ "PID", ST_F_PID, 7 }, { "COMM", ST_F_COMM, 16 }, { "IP", ST_F_IP, 2 },
	{ "SADDR", ST_F_SADDR, 15 }, { "LPORT", ST_F_SPORT, 5 },
	{ "DADDR", ST_F_DADDR, 15 }, { "DPORT", ST_F_DPORT, 5 },
	{ "RESULT", ST_F_RESULT, 6 }, { "T", ST_F_TYPE, 1 },
	{ "TYPE", ST_F_TYPE_LONG, 7 }, { "NETNS", ST_F_NETNS, 10 },
	{ "BL", ST_F_BACKLOG, 5 }, { "MS", ST_F_DURATION_MS, 6 },
	{ "TX_KB", ST_F_TX_KB, 5 }, { "RX_KB", ST_F_RX_KB, 5 },
};

static void check_clean(const char *buf, size_t len)
{
	size_t i;

	/* exactly one newline, at the end: nothing else below 0x20 or DEL */
	for (i = 0; i < len; i++)
		if (((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) &&
		    !(buf[i] == '\n' && i == len - 1))
			abort();
}

static void render(const struct inet_event *e, int json)
{
	struct st_opts opts = { .json = json, .print_uid = 1,
				.time_mode = ST_TIME_RELATIVE };
	struct st_output o;
	char *buf = NULL;
	size_t len = 0;

	st_output_open(&o, &opts, "fuzz", cols, sizeof(cols) / sizeof(cols[0]));
	o.f = open_memstream(&buf, &len);
	st_output_event(&o, e);
	fclose(o.f);
	check_clean(buf, len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inet_event e;
	char out[ST_ESCAPED_LEN(128)];

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	render(&e, 0);
	render(&e, 1);
	st_escape((const char *)data + sizeof(e), size - sizeof(e) < 128 ?
		  size - sizeof(e) : 128, 1, out, sizeof(out));
	check_clean(out, strlen(out));
	return 0;
}
