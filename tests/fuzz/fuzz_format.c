// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary inet and unix events through both output modes, as events
 * and as count rows (-c). Every line must be free of control bytes (C1 included) and end
 * in its only newline; a JSON line must be one valid JSON object whose comm and path give
 * back the event's exact bytes.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "count.h"
#include "escape.h"
#include "json_check.h"
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
	const unsigned char *b = (const unsigned char *)buf;
	size_t i;

	/* exactly one newline, at the end: nothing else below 0x20, no DEL, no C1 */
	for (i = 0; i < len; i++)
		if (((b[i] < 0x20 || b[i] == 0x7f) && !(b[i] == '\n' && i == len - 1)) ||
		    (b[i] == 0xc2 && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] < 0xa0))
			abort();
}

/* The JSON line is valid and member @key carries exactly @want (NULL: null) */
static void check_json(const char *buf, size_t len, const char *key, const void *want,
		       size_t want_len)
{
	unsigned char got[2 * ST_UNIX_PATH_MAX];
	size_t n = 0;
	int found;

	if (jc_line(buf, len, key, got, sizeof(got), &n, &found))
		abort();
	if (!want ? found != 2 : found != 1 || n != want_len || memcmp(got, want, n))
		abort();
}

/* What "path" must decode to: the path, or "@" and the abstract name's bytes */
static const char *unix_path_bytes(const struct unix_event *u, char *buf, size_t *len)
{
	size_t n = u->path_len < ST_UNIX_PATH_MAX ? u->path_len : ST_UNIX_PATH_MAX;

	if (!n)
		return NULL;
	if (u->path[0]) {
		*len = strnlen(u->path, n);
		return u->path;
	}
	buf[0] = '@';
	memcpy(buf + 1, u->path + 1, n - 1);
	*len = n;
	return buf;
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
	o.backlog = 1;		/* tcpaccept's accept keys too */
	o.f = open_memstream(&buf, &len);
	if (inet)
		st_output_event(&o, inet, sizeof(*inet));
	else
		st_output_event(&o, unx, sizeof(*unx));
	fclose(o.f);
	check_clean(buf, len);
	if (json && inet)
		check_json(buf, len, "comm", inet->h.comm, strnlen(inet->h.comm, ST_COMM_LEN));
	if (json && unx) {
		char path[ST_UNIX_PATH_MAX];
		size_t plen = 0;
		const char *want = unix_path_bytes(unx, path, &plen);

		check_json(buf, len, "comm", unx->h.comm, strnlen(unx->h.comm, ST_COMM_LEN));
		check_json(buf, len, "path", want, plen);
	}
	free(buf);
}

/* Each line of @buf clean on its own; the last one's JSON checked as render()'s */
static void check_lines(const char *buf, size_t len)
{
	const char *p = buf, *nl;

	while (p < buf + len) {
		nl = memchr(p, '\n', buf + len - p);
		if (!nl)
			abort();	/* a line without its newline */
		check_clean(p, nl + 1 - p);
		p = nl + 1;
	}
}

/* @e (a valid event of @cols) counted twice: a table of one row, clean */
static void render_count(const void *e, size_t size, const struct st_column *c, size_t n,
			 int json)
{
	struct st_opts opts = { .json = json, .print_uid = 1, .count = 1 };
	const struct st_event_head *h = e;
	struct st_counts counts;
	struct st_output o;
	char *buf = NULL;
	size_t len = 0;

	st_output_open(&o, &opts, "fuzz", c, n);
	o.f = open_memstream(&buf, &len);
	st_count_init(&counts, 0);
	if (st_count_add(&counts, &o, e, size) || st_count_add(&counts, &o, e, size))
		abort();
	st_count_print(&counts, &o, 1);
	fclose(o.f);
	check_lines(buf, len);
	if (json && (len == 0 || memchr(buf, '\n', len) != buf + len - 1))
		abort();	/* one row */
	if (json)
		check_json(buf, len, "comm", h->comm, strnlen(h->comm, ST_COMM_LEN));
	free(buf);
}

/* A record as the ring buffer gives it: any kind, any size. It is one clean
 * line, or refused (-EINVAL) with nothing printed. */
static void render_raw(const uint8_t *data, size_t size, int json)
{
	struct st_opts opts = { .json = json };
	struct st_output o;
	char *buf = NULL;
	size_t len = 0;
	int err;

	st_output_open(&o, &opts, "fuzz", cols, sizeof(cols) / sizeof(cols[0]));
	o.f = open_memstream(&buf, &len);
	err = st_output_event(&o, data, size);
	fclose(o.f);
	if (err ? len != 0 : len == 0)
		abort();
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
	render_raw(data, size, 0);
	render_raw(data, size, 1);
	memcpy(&e, data, sizeof(e));
	e.h.kind = ST_KIND_INET;
	render(&e, NULL, 0);
	render(&e, NULL, 1);
	render_count(&e, sizeof(e), cols, sizeof(cols) / sizeof(cols[0]), 0);
	render_count(&e, sizeof(e), cols, sizeof(cols) / sizeof(cols[0]), 1);
	memcpy(&u, data, size < sizeof(u) ? size : sizeof(u));
	u.h.kind = ST_KIND_UNIX;
	render(NULL, &u, 0);
	render(NULL, &u, 1);
	render_count(&u, sizeof(u), unix_cols, sizeof(unix_cols) / sizeof(unix_cols[0]), 0);
	render_count(&u, sizeof(u), unix_cols, sizeof(unix_cols) / sizeof(unix_cols[0]), 1);
	st_escape((const char *)data + sizeof(e), size - sizeof(e) < 128 ?
		  size - sizeof(e) : 128, 1, out, sizeof(out));
	check_clean(out, strlen(out));
	return 0;
}
