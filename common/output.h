/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The trace stream: columns under a header, or JSON lines. Every event
 * starts with struct st_event_head, formatted here; the rest is its kind's
 * (struct st_event_fmt: fmt_inet.c, fmt_unix.c).
 */
#ifndef SOCKTRACE_OUTPUT_H
#define SOCKTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include "args.h"
#include "escape.h"
#include "event.h"
#include "dns.h"
#include "json.h"
#include "journal.h"
#include "workload.h"

/* What a column shows; its header is the tool's choice. */
enum st_field {
	/* the head's, any kind, all before ST_F_IP: put_cell() in output.c counts on it */
	ST_F_TIME_REL,		/* -t */
	ST_F_TIME_WALL,		/* -T */
	ST_F_UID,		/* -U */
	ST_F_PID,
	ST_F_COMM,
	ST_F_TYPE,		/* C, A, X, S */
	ST_F_TYPE_LONG,		/* connect, accept, close, send */
	ST_F_NETNS,
	ST_F_WORKLOAD,		/* -w: container, else unit, else cgroup */
	/* inet */
	ST_F_IP,
	ST_F_SADDR,
	ST_F_SPORT,
	ST_F_DADDR,
	ST_F_DPORT,
	ST_F_RESULT,
	ST_F_BACKLOG,		/* current/max */
	ST_F_DURATION_MS,
	ST_F_TX_KB,
	ST_F_RX_KB,
	ST_F_SERVICE_PORT,	/* a connect's remote port, an accept's local one */
	ST_F_LATENCY_MS,	/* a connect's, SYN to settled */
	ST_F_SYN_RETRANS,	/* a settled connect's SYN retransmits */
	ST_F_FAILURE,		/* refused, timeout, unreachable, local, closed */
	ST_F_QUERY,		/* -d: the name the destination was resolved from */
	/* -c */
	ST_F_COUNT,		/* a row's count: the table's, not an event's */
	/* unix */
	ST_F_SOCK_TYPE,		/* STREAM, DGRAM, SEQPACKET */
	ST_F_PEER_PID,		/* the other end's PID, or - */
	ST_F_PATH,		/* path, @abstract or (unnamed) */
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
	bool latency;		/* JSON: connect events carry latency_ns */
	/* what a cgroup id is: for JSON and -w (NULL: neither is asked for) */
	struct st_workloads *workloads;
	/* -d: the names of addresses (NULL: not asked for) */
	struct st_dns *dns;
	/* --journal: events go there, not to f (NULL: not asked for) */
	struct st_journal *journal;
	__u64 first_ns;
	__s64 mono_to_real_ns;
	/* JSON "ts": the date and time of the last second formatted, reused */
	time_t ts_secs;
	char ts_date[24];
};

/*
 * A cell being written: its text goes at @p, straight into the line, and
 * may run up to @end, where the line's next byte goes (the cell's writers
 * below stop there; a number or an address never comes near it). A line's
 * padding needs the terminal columns the cell took: its bytes, less the
 * UTF-8 continuation bytes an escaped string counted in @cont. Measuring
 * and copying each cell's text again was most of a line's cost
 * (docs/performance.md).
 */
struct st_cell {
	char *p;
	char *end;
	size_t cont;
};

/* How one kind of event is shown beyond its head. */
struct st_event_fmt {
	size_t size;		/* of the whole event */
	/* @f's text for @e into @c; false if @f is not a field of this kind */
	bool (*cell)(const struct st_output *o, const void *e, enum st_field f,
		     struct st_cell *c);
	/* the kind's JSON members, after the head's */
	void (*json)(const struct st_output *o, const void *e, struct st_json *j);
	/* field @f's member (one of the kind's fields): a count row's, and json()'s own */
	void (*json_field)(const struct st_output *o, const void *e, enum st_field f,
			   struct st_json *j);
};

/* Room for any cell's text and a NUL: an escaped cgroup path (WORKLOAD) is the longest */
#define ST_CELL_LEN (ST_ESCAPED_LEN(ST_CGROUP_PATH_MAX) + 2)
_Static_assert(ST_CELL_LEN > ST_ESCAPED_LEN(1025), "QUERY: a DNS name fits a cell");

/*
 * Opens the trace stream: -o FILE, else stderr in command mode, else stdout.
 * Adds the TIME and UID columns the options ask for before @cols, and
 * WORKLOAD (-w) after COMM; more than ST_MAX_COLUMNS is -E2BIG, said in one
 * line. JSON and WORKLOAD need @out->workloads set before the first event.
 */
int st_output_open(struct st_output *o, const struct st_opts *opts,
		   const char *tool, const struct st_column *cols, size_t ncols);
void st_output_header(struct st_output *o);
/*
 * One event from the ring buffer, of any kind: a line. 0, or -EINVAL for a
 * record too short for its kind or of a kind this build does not know (not
 * printed: the BPF object and the tool disagree).
 */
int st_output_event(struct st_output *o, const void *data, size_t size);
/* The size of @data's kind if @data is a whole event of a known kind, else 0 */
size_t st_output_valid(const void *data, size_t size);
/* Column @i's text for the valid event @e, as a line shows it, NUL-ended in
 * @buf (ST_CELL_LEN bytes) */
void st_output_cell(struct st_output *o, const void *e, size_t i, char *buf);
/*
 * A count row as a JSON line: "event":"count", the members of the columns'
 * fields taken from @e, the workload's members, then "count": @n. @cells
 * are the row's column texts, one after another, each NUL-ended: what was
 * looked up when the group began (QUERY) is taken from there, as it may
 * have changed since.
 */
void st_output_count_json(struct st_output *o, const void *e, const char *cells,
			  __u64 mono_ns, __u64 n);
/*
 * Starts a JSON line with the members every line has: "ts" and "time_ns"
 * (@mono_ns, CLOCK_MONOTONIC), "tool" and "event".
 */
void st_output_json_begin(struct st_output *o, struct st_json *j, __u64 mono_ns,
			  const char *event);
/*
 * -j: what the kernel lost since the last report, one line per kind, e.g.
 * {"ts":...,"time_ns":...,"tool":...,"event":"lost","reason":"ring_buffer_full","count":12}
 * (@delta by counter, enum st_lost_counter; zeros left out)
 */
void st_output_lost(struct st_output *o, const __u64 *delta);
/* -j: one such line, for a loss counted outside that map (the DNS cache's, the kprobes' misses) */
void st_output_lost_one(struct st_output *o, const char *reason, __u64 count);
/* Writes out what is buffered: 0 or -errno (-EPIPE: the reader left). */
int st_output_flush(struct st_output *o);
void st_output_close(struct st_output *o);

/*
 * Prints one cell of a line, @width wide, then at least one space, or the
 * newline if @last. A wider value shifts the cells after it; *@over (0 at
 * the start of each line) carries that shift, and the next cells' padding
 * takes it up, so the line is back under its header as soon as it can be.
 */
void st_column_print(FILE *f, const char *value, int width, int *over, bool last);
/* Terminal columns of an escaped value: its UTF-8 characters, not bytes */
int st_text_width(const char *s);

/* For the kinds' cells: @s (text of ours, or checked printable), or "-" for
 * a value the event does not know */
void st_cell_text(struct st_cell *c, const char *s);
/* @v in decimal if @known, else "-" */
void st_cell_num(struct st_cell *c, bool known, unsigned long long v);
/* @v in decimal */
void st_cell_u64(struct st_cell *c, unsigned long long v);
/* @len bytes of a foreign string, escaped (st_escape()) */
void st_cell_escaped(struct st_cell *c, const char *s, size_t len, bool keep_nul);
/* What printf makes of @fmt: for the cells that need its floating point */
void st_cell_printf(struct st_cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The kinds (enum st_event_kind) */
extern const struct st_event_fmt st_inet_fmt;	/* struct inet_event */
extern const struct st_event_fmt st_unix_fmt;	/* struct unix_event */

/* inet: RESULT's text ("ok", an errno name, "closed") */
const char *st_result_name(int result, char *buf, size_t len);
/* inet: the name QUERY's text @cell stands for, or NULL for "-" (none) */
const char *st_query_of_cell(const char *cell);
/* inet: how a connect failed (FAILURE), or NULL if it did not or is not known */
const char *st_failure_kind(const struct inet_event *e);
/* unix: PATH as printed: escaped path, "@" escaped abstract name, or NULL if unnamed */
const char *st_unix_path(const struct unix_event *e, char *buf, size_t len);

#endif
