// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include "escape.h"
#include "log.h"
#include "lost.h"
#include "output.h"

#define OUT_BUFSZ (64 * 1024)	/* one write per poll batch, not per line */

static char out_buf[OUT_BUFSZ];

/* By enum st_event_kind */
static const struct st_event_fmt *const kinds[] = {
	[ST_KIND_INET] = &st_inet_fmt,
	[ST_KIND_UNIX] = &st_unix_fmt,
};

/* By enum st_event_type; NULL (unknown) prints as null or "-" */
static const char *const type_short[] = { NULL, "C", "A", "X", "S" };
static const char *const type_long[] = { NULL, "connect", "accept", "close", "send" };

static const char *event_name(__u8 type, bool long_name)
{
	if (type >= sizeof(type_long) / sizeof(type_long[0]))
		return NULL;
	return long_name ? type_long[type] : type_short[type];
}

void st_cell_text(struct st_cell *c, const char *s)
{
	size_t n, room = (size_t)(c->end - c->p);

	s = s ? s : "-";
	n = strlen(s);		/* not strnlen(): the room is far longer than ours */
	n = n < room ? n : room;
	memcpy(c->p, s, n);
	c->p += n;
}

/*
 * Numbers are most of a row's cells, and printf's machinery was most of the
 * tool's time per event (docs/performance.md): digits by hand, two at a
 * time, each where it belongs in the line.
 */
void st_cell_u64(struct st_cell *c, unsigned long long v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	unsigned long long t = 10;
	size_t n = 1, i;
	char *p;

	for (; n < 20 && v >= t; n++)	/* 2^64 - 1 has 20 digits */
		t = n < 19 ? t * 10 : t;
	p = c->p + n;
	c->p = p;
	for (; v >= 100; v /= 100) {
		i = (size_t)(v % 100) * 2;
		*--p = pairs[i + 1];
		*--p = pairs[i];
	}
	if (v >= 10) {
		*--p = pairs[v * 2 + 1];
		*--p = pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
}

void st_cell_num(struct st_cell *c, bool known, unsigned long long v)
{
	if (known)
		st_cell_u64(c, v);
	else
		st_cell_text(c, NULL);
}

void st_cell_escaped(struct st_cell *c, const char *s, size_t len, bool keep_nul)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t room = (size_t)(c->end - c->p), i, n;

	/* most are printable ASCII: as they are, a column a byte */
	for (i = 0; i < len && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\'; i++)
		;
	if ((i == len || (!u[i] && !keep_nul)) && i <= room) {
		memcpy(c->p, s, i);
		c->p += i;
		return;
	}
	n = st_escape(s, len, keep_nul, c->p, room + 1);	/* its NUL at @end */
	c->cont += n - (size_t)st_text_width(c->p);
	c->p += n;
}

void st_cell_printf(struct st_cell *c, const char *fmt, ...)
{
	size_t room = (size_t)(c->end - c->p);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->p, room + 1, fmt, ap);	/* its NUL at @end */
	va_end(ap);
	if (n > 0)
		c->p += (size_t)n < room ? (size_t)n : room;
}

static __s64 mono_to_real(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (real.tv_sec - mono.tv_sec) * 1000000000LL + real.tv_nsec - mono.tv_nsec;
}

static int add_column(struct st_output *o, struct st_column c)
{
	if (o->ncols == ST_MAX_COLUMNS) {
		st_err("too many columns (at most %d)", ST_MAX_COLUMNS);
		return -E2BIG;
	}
	o->cols[o->ncols++] = c;
	return 0;
}

static int add_columns(struct st_output *o, const struct st_opts *opts,
		       const struct st_column *cols, size_t ncols)
{
	const struct st_column query = { "QUERY", ST_F_QUERY, 20 };
	bool counting = false;
	int err = 0;
	size_t i;

	for (i = 0; i < ncols; i++)
		counting |= cols[i].field == ST_F_COUNT;

	if (opts->time_mode == ST_TIME_RELATIVE)
		err = add_column(o, (struct st_column){ "TIME(s)", ST_F_TIME_REL, 9 });
	else if (opts->time_mode == ST_TIME_WALL)
		err = add_column(o, (struct st_column){ "TIME", ST_F_TIME_WALL, 8 });
	if (!err && opts->print_uid)
		err = add_column(o, (struct st_column){ "UID", ST_F_UID, 6 });
	for (; !err && ncols; ncols--, cols++) {
		/* QUERY ends a line; in a count row, the count comes after it */
		if (cols->field == ST_F_COUNT && opts->dns)
			err = add_column(o, query);
		if (!err)
			err = add_column(o, *cols);
		/* who, then which workload it belongs to */
		if (!err && cols->field == ST_F_COMM && opts->print_workload)
			err = add_column(o, (struct st_column){ "WORKLOAD", ST_F_WORKLOAD, 20 });
	}
	if (!err && opts->dns && !counting)
		err = add_column(o, query);
	return err;
}

int st_output_open(struct st_output *o, const struct st_opts *opts,
		   const char *tool, const struct st_column *cols, size_t ncols)
{
	int err;

	memset(o, 0, sizeof(*o));
	o->tool = tool;
	o->json = opts->json;
	o->time_mode = opts->time_mode;
	o->mono_to_real_ns = mono_to_real();
	err = add_columns(o, opts, cols, ncols);
	if (err)
		return err;
	if (opts->output) {
		o->f = fopen(opts->output, "w");
		if (!o->f) {
			err = -errno;
			st_err("-o/--output: cannot open %s: %s", opts->output, strerror(-err));
			return err;
		}
		o->own_file = true;
	} else {
		o->f = opts->command ? stderr : stdout;
	}
	/* one stream per process, and stdout may outlive this struct */
	setvbuf(o->f, out_buf, _IOFBF, sizeof(out_buf));
	return 0;
}

/*
 * A line is built here and written once: a lock and a printf per cell were
 * most of the tool's time per event (docs/performance.md). Its cells are
 * written straight into it (struct st_cell), so before each there is room
 * for the longest cell and a short padding. One thread (the tool's loop)
 * writes the stream, so one line at a time, and the unlocked call.
 */
#define PAD_FAST 32			/* a padding this long is one store */
#define ROW_ROOM (ST_CELL_LEN + PAD_FAST)

static struct row {
	FILE *f;
	char *p;			/* where the next byte goes */
	char b[2 * ROW_ROOM];
} row;

static void row_start(FILE *f)
{
	row.f = f;
	row.p = row.b;
}

static void row_flush(void)
{
	fwrite_unlocked(row.b, 1, (size_t)(row.p - row.b), row.f);
	row.p = row.b;
}

/* Room for a cell and its padding: a long path's line goes out in parts */
static void row_room(void)
{
	if ((size_t)(row.b + sizeof(row.b) - row.p) < ROW_ROOM)
		row_flush();
}

static const char spaces[PAD_FAST + 1] = "                                ";

/* A padding longer than PAD_FAST: a count table's wide column */
static void row_spaces(int pad)
{
	size_t chunk;

	for (; pad > 0; pad -= (int)chunk) {
		row_room();
		chunk = pad < PAD_FAST ? (size_t)pad : PAD_FAST;
		memcpy(row.p, spaces, chunk);
		row.p += chunk;
	}
}

/*
 * Ends a cell that took @shown terminal columns of @width: at least one
 * space after it, or the newline if @last. A wider value shifts the cells
 * after it; *@over carries that shift, and the next cells' padding takes
 * it up, so the line is back under its header as soon as it can be.
 */
static void row_end_cell(int shown, int width, int *over, bool last)
{
	int pad = width - shown - *over + 1;

	if (last) {
		*row.p++ = '\n';	/* a cell ends a byte short of its room */
		*over = 0;
		return;
	}
	*over = pad < 1 ? 1 - pad : 0;
	pad = pad < 1 ? 1 : pad;
	if (pad > PAD_FAST) {
		row_spaces(pad);
		return;
	}
	memcpy(row.p, spaces, PAD_FAST);	/* row_room() left room for it */
	row.p += pad;
}

int st_text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;	/* UTF-8 characters */
	return n;
}

void st_column_print(FILE *f, const char *value, int width, int *over, bool last)
{
	size_t len = strlen(value);

	row_start(f);
	if (len < ST_CELL_LEN) {
		memcpy(row.p, value, len);
		row.p += len;
	} else {		/* none of ours is that long: a caller's text */
		fwrite_unlocked(value, 1, len, f);
	}
	row_end_cell(st_text_width(value), width, over, last);
	row_flush();
}

void st_output_header(struct st_output *o)
{
	size_t i;
	int over = 0;

	if (o->json)
		return;
	for (i = 0; i < o->ncols; i++)
		st_column_print(o->f, o->cols[i].header, o->cols[i].width, &over,
				i + 1 == o->ncols);
}

static void time_cell(struct st_output *o, __u64 time_ns, struct st_cell *c)
{
	time_t secs;
	struct tm tm;

	if (!o->first_ns)
		o->first_ns = time_ns;
	if (o->time_mode == ST_TIME_RELATIVE) {
		/* -t: seconds since the first event */
		st_cell_printf(c, "%.3f", (time_ns - o->first_ns) / 1e9);
		return;
	}
	secs = (time_ns + o->mono_to_real_ns) / 1000000000LL;
	localtime_r(&secs, &tm);
	c->p += strftime(c->p, (size_t)(c->end - c->p) + 1, "%H:%M:%S", &tm);
}

/* WORKLOAD: foreign bytes (a container's or unit's name), escaped like COMM */
static void workload_cell(struct st_output *o, const struct st_event_head *h,
			  struct st_cell *c)
{
	char id[16];
	const char *s = st_workload_short(st_workload_of(o->workloads, h->cgroup_id),
					  id, sizeof(id));

	if (s)
		st_cell_escaped(c, s, strlen(s), false);
	else
		st_cell_text(c, NULL);
}

/* A field of the head into @c */
static void head_cell(struct st_output *o, const struct st_event_head *h,
		      enum st_field f, struct st_cell *c)
{
	switch (f) {
	case ST_F_TIME_REL:
	case ST_F_TIME_WALL: time_cell(o, h->time_ns, c); break;
	case ST_F_UID: st_cell_u64(c, h->uid); break;
	case ST_F_PID: st_cell_u64(c, h->pid); break;
	case ST_F_COMM: st_cell_escaped(c, h->comm, sizeof(h->comm), false); break;
	case ST_F_TYPE: st_cell_text(c, event_name(h->type, false)); break;
	case ST_F_TYPE_LONG: st_cell_text(c, event_name(h->type, true)); break;
	case ST_F_NETNS: st_cell_u64(c, h->netns); break;
	case ST_F_WORKLOAD: workload_cell(o, h, c); break;
	default: break;		/* COUNT: the table fills it in */
	}
}

/* By the head's kind, of an event st_output_valid() took */
static const struct st_event_fmt *kind_of(const void *e)
{
	return kinds[((const struct st_event_head *)e)->kind];
}

static inline void put_cell(struct st_output *o, const void *e, enum st_field f,
			    struct st_cell *c)
{
	/* the head's fields come first (enum st_field), and the count's */
	if (f < ST_F_IP || f == ST_F_COUNT)
		head_cell(o, e, f, c);
	else
		kind_of(e)->cell(o, e, f, c);	/* false: a tool's column of another
						 * kind, a bug; the cell stays empty */
}

void st_output_cell(struct st_output *o, const void *e, size_t i, char *buf)
{
	struct st_cell c = { buf, buf + ST_CELL_LEN - 1, 0 };

	put_cell(o, e, o->cols[i].field, &c);
	*c.p = '\0';
}

static void columns(struct st_output *o, const void *e)
{
	struct st_cell c;
	size_t i;
	int over = 0, shown;

	row_start(o->f);
	for (i = 0; i < o->ncols; i++) {
		row_room();
		c = (struct st_cell){ row.p, row.p + ST_CELL_LEN - 1, 0 };
		put_cell(o, e, o->cols[i].field, &c);
		shown = (int)(c.p - row.p - c.cont);
		row.p = c.p;
		row_end_cell(shown, o->cols[i].width, &over, i + 1 == o->ncols);
	}
	row_flush();
}

void st_output_json_begin(struct st_output *o, struct st_json *j, __u64 mono_ns,
			  const char *event)
{
	__u64 real = mono_ns + o->mono_to_real_ns;
	time_t secs = real / 1000000000ULL;
	char ts[48];
	struct tm tm;

	if (secs != o->ts_secs || !o->ts_date[0]) {	/* most lines share their second */
		gmtime_r(&secs, &tm);
		strftime(o->ts_date, sizeof(o->ts_date), "%Y-%m-%dT%H:%M:%S", &tm);
		o->ts_secs = secs;
	}
	snprintf(ts, sizeof(ts), "%s.%06lluZ", o->ts_date,
		 (unsigned long long)(real % 1000000000ULL) / 1000);
	if (o->journal)
		st_json_begin_fields(j, o->f);
	else
		st_json_begin(j, o->f);
	st_json_str(j, "ts", ts);
	st_json_uint(j, "time_ns", mono_ns);
	st_json_str(j, "tool", o->tool);
	st_json_str(j, "event", event);
}

/* A foreign string's bytes as they are (the writer escapes them), or null */
static void json_text(struct st_json *j, const char *key, const char *s)
{
	if (s)
		st_json_bytes(j, key, s, strlen(s));
	else
		st_json_null(j, key);
}

/* The workload's members: every line has them, null for what is not known */
static void json_workload(struct st_output *o, const struct st_event_head *h,
			  struct st_json *j)
{
	const struct st_workload *wl = st_workload_of(o->workloads, h->cgroup_id);

	st_json_uint_known(j, "cgroup_id", h->cgroup_id != 0, h->cgroup_id);
	json_text(j, "cgroup", wl->cgroup);
	json_text(j, "unit", wl->unit);
	st_json_str(j, "container_runtime", wl->runtime);
	st_json_str(j, "container_id", wl->container_id);
	json_text(j, "container_name", wl->container_name);
	/* what `ps` in the container shows */
	st_json_uint_known(j, "container_pid", wl->container_id && h->ns_pid, h->ns_pid);
	st_json_str(j, "pod_uid", wl->pod_uid);
	st_json_str(j, "pod_qos", wl->pod_qos);
}

/* A head field's JSON member (an event's, a count row's); false if @f is the kind's */
static bool head_json(const struct st_event_head *h, enum st_field f, struct st_json *j)
{
	switch (f) {
	case ST_F_UID: st_json_uint(j, "uid", h->uid); return true;
	case ST_F_PID: st_json_uint(j, "pid", h->pid); return true;
	case ST_F_COMM: st_json_bytes(j, "comm", h->comm, strnlen(h->comm, sizeof(h->comm)));
		return true;
	case ST_F_TYPE:
	case ST_F_TYPE_LONG: st_json_str(j, "event_type", event_name(h->type, true)); return true;
	case ST_F_NETNS: st_json_uint(j, "netns", h->netns); return true;
	case ST_F_WORKLOAD: return true;	/* every row has the workload's members */
	case ST_F_COUNT: return true;		/* "count" ends the row */
	default:
		return false;
	}
}

void st_output_count_json(struct st_output *o, const void *e, const char *cells,
			  __u64 mono_ns, __u64 n)
{
	const struct st_event_head *h = e;
	struct st_json j;
	size_t i;

	st_output_json_begin(o, &j, mono_ns, "count");
	for (i = 0; i < o->ncols; i++, cells += strlen(cells) + 1) {
		if (o->cols[i].field == ST_F_QUERY)
			st_json_str(&j, "query", st_query_of_cell(cells));
		else if (!head_json(h, o->cols[i].field, &j))
			kind_of(e)->json_field(o, e, o->cols[i].field, &j);
	}
	json_workload(o, h, &j);
	st_json_uint(&j, "count", n);
	st_json_end(&j);
}

static void json_line(struct st_output *o, const struct st_event_fmt *k, const void *e)
{
	const struct st_event_head *h = e;
	struct st_json j;

	st_output_json_begin(o, &j, h->time_ns, event_name(h->type, true));
	head_json(h, ST_F_PID, &j);
	st_json_uint(&j, "tid", h->tid);	/* no column: never counted by */
	head_json(h, ST_F_COMM, &j);
	head_json(h, ST_F_UID, &j);
	head_json(h, ST_F_NETNS, &j);
	json_workload(o, h, &j);
	k->json(o, e, &j);
	st_json_end(&j);
}

size_t st_output_valid(const void *data, size_t size)
{
	const struct st_event_head *h = data;

	if (size < sizeof(*h) || h->kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[h->kind])
		return 0;
	return size < kinds[h->kind]->size ? 0 : kinds[h->kind]->size;
}

/* --journal's MESSAGE: the event and its columns, as NAME=value */
static void message(struct st_output *o, const void *e, FILE *f)
{
	const struct st_event_head *h = e;
	char buf[ST_CELL_LEN];
	size_t i;

	fputs(event_name(h->type, true), f);
	for (i = 0; i < o->ncols; i++) {
		st_output_cell(o, e, i, buf);
		fprintf(f, " %s=%s", o->cols[i].header, buf);
	}
}

/* --journal: the JSON line's members as the entry's fields */
static void journal_entry(struct st_output *o, const void *e)
{
	FILE *saved = o->f;

	o->f = st_journal_fields(o->journal);
	json_line(o, kind_of(e), e);
	o->f = saved;
	message(o, e, st_journal_message(o->journal));
	st_journal_send(o->journal);	/* a failure is counted there */
}

int st_output_event(struct st_output *o, const void *data, size_t size)
{
	if (!st_output_valid(data, size))
		return -EINVAL;
	if (o->journal)
		journal_entry(o, data);
	else if (o->json)
		json_line(o, kind_of(data), data);
	else
		columns(o, data);
	return 0;
}

void st_output_lost_one(struct st_output *o, const char *reason, __u64 count)
{
	struct timespec now;
	struct st_json j;

	clock_gettime(CLOCK_MONOTONIC, &now);
	st_output_json_begin(o, &j, now.tv_sec * 1000000000ULL + now.tv_nsec, "lost");
	st_json_str(&j, "reason", reason);
	st_json_uint(&j, "count", count);
	st_json_end(&j);
}

void st_output_lost(struct st_output *o, const __u64 *delta)
{
	__u32 key;

	for (key = 0; key < ST_LOST_MAX; key++)
		if (delta[key])
			st_output_lost_one(o, st_lost_reason(key), delta[key]);
}

int st_output_flush(struct st_output *o)
{
	if (fflush(o->f) == EOF || ferror(o->f))
		return errno ? -errno : -EIO;
	return 0;
}

void st_output_close(struct st_output *o)
{
	if (!o->f)
		return;
	if (o->own_file)
		fclose(o->f);
	else
		fflush(o->f);
	o->f = NULL;
}
