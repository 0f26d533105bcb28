/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The trace stream: columns with a header, or JSON lines, for inet events. */
#ifndef SOCKTRACE_OUTPUT_H
#define SOCKTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "args.h"
#include "escape.h"
#include "event.h"

/* What a column shows; its header is the tool's choice. */
enum st_field {
	ST_F_TIME_REL,		/* -t */
	ST_F_TIME_WALL,		/* -T */
	ST_F_UID,		/* -U */
	ST_F_PID,
	ST_F_TID,
	ST_F_COMM,
	ST_F_IP,
	ST_F_SADDR,
	ST_F_SPORT,
	ST_F_DADDR,
	ST_F_DPORT,
	ST_F_RESULT,
	ST_F_TYPE,		/* C, A, X, S */
	ST_F_TYPE_LONG,		/* connect, accept, close, send */
	ST_F_NETNS,
	ST_F_BACKLOG,		/* current/max */
	ST_F_DURATION_MS,
	ST_F_TX_KB,
	ST_F_RX_KB,
	ST_F_SOCK_TYPE,		/* unix: STREAM, DGRAM, SEQPACKET */
	ST_F_PEER_PID,		/* unix: the other end's PID, or - */
	ST_F_PATH,		/* unix: path, @abstract or (unnamed) */
};

struct st_column {
	const char *header;
	enum st_field field;
	int width;		/* as the header sets it: a wider value is never
				 * truncated, it pushes the rest of its own line */
};

#define ST_MAX_COLUMNS 20

struct st_output {
	FILE *f;
	bool json;
	bool own_file;
	const char *tool;
	struct st_column cols[ST_MAX_COLUMNS];	/* time and UID included */
	size_t ncols;
	enum st_time_mode time_mode;
	bool backlog;		/* JSON: accept events carry backlog, backlog_max */
	__u64 first_ns;
	__s64 mono_to_real_ns;
};

/*
 * Opens the trace stream: -o FILE, else stderr in command mode, else stdout.
 * Adds the TIME and UID columns the options ask for before @cols.
 */
int st_output_open(struct st_output *o, const struct st_opts *opts,
		   const char *tool, const struct st_column *cols, size_t ncols);
void st_output_header(struct st_output *o);
void st_output_event(struct st_output *o, const struct inet_event *e);
/* The same stream for struct unix_event (unixconnect). */
void st_output_unix_event(struct st_output *o, const struct unix_event *e);
/* Enough for any st_unix_path() text */
#define ST_UNIX_PATH_STRLEN (ST_ESCAPED_LEN(ST_UNIX_PATH_MAX) + 1)
/* PATH as printed: escaped path, "@" escaped abstract name, or NULL if unnamed */
const char *st_unix_path(const struct unix_event *e, char *buf, size_t len);
/* Writes out what is buffered: 0 or -errno (-EPIPE: the reader left). */
int st_output_flush(struct st_output *o);
void st_output_close(struct st_output *o);

/* Shared pieces for tools with their own tables (tcpconnect -c). */
const char *st_result_name(int result, char *buf, size_t len);
/*
 * Prints one cell of a line, @width wide, then at least one space, or the
 * newline if @last. A wider value shifts the cells after it; *@over (0 at
 * the start of each line) carries that shift, and the next cells' padding
 * takes it up, so the line is back under its header as soon as it can be.
 */
void st_column_print(FILE *f, const char *value, int width, int *over, bool last);
/* @sep ('{' or ','), then "key":"value" through st_json_string(), or "key":null */
void st_json_str(FILE *f, char sep, const char *key, const char *value);

#endif
