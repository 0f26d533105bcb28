// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary inet and unix events through both output modes. Every line
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

static const struct st_column unix_cols[] = {
	{ "T", ST_F_TYPE, 1 }, { "PID", ST_F_PID, 7 }, { "COMM", ST_F_COMM, 16 },
	{ "TYPE", ST_F_SOCK_TYPE, 9 }, { "PEER", ST_F_PEER_PID, 7 },
	{ "PATH", ST_F_PATH, 4 },
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

/* @inet or @unx through one output mode; the line must come out clean */
static void render(const struct inet_event *inet, const struct unix_event *unx, int json)
{
	struct st_opts opts = { .json = json, .print_uid = 1,
				.time_mode = ST_TIME_RELATIVE };
	struct st_output o;
	char *buf = NULL;
	size_t len = 0;

	if (inet)
		st_output_open(&o, &opts, "fuzz", cols, sizeof(cols) / sizeof(cols[0]));
	else
		st_output_open(&o, &opts, "fuzz", unix_cols,
			       sizeof(unix_cols) / sizeof(unix_cols[0]));
	o.f = open_memstream(&buf, &len);
	if (inet)
		st_output_event(&o, inet);
	else
		st_output_unix_event(&o, unx);
	fclose(o.f);
	check_clean(buf, len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inet_event e;
	struct unix_event u = {};
	char out[ST_ESCAPED_LEN(128)];

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	render(&e, NULL, 0);
	render(&e, NULL, 1);
	memcpy(&u, data, size < sizeof(u) ? size : sizeof(u));
	render(NULL, &u, 0);
	render(NULL, &u, 1);
	st_escape((const char *)data + sizeof(e), size - sizeof(e) < 128 ?
		  size - sizeof(e) : 128, 1, out, sizeof(out));
	check_clean(out, strlen(out));
	return 0;
}
