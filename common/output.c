// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
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

void st_cell_text(char *buf, size_t len, const char *s)
{
	size_t n;

	if (!len)
		return;
	s = s ? s : "-";
	n = strnlen(s, len - 1);	/* cut as snprintf cuts */
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/*
 * Numbers are most of a row's cells, and printf's machinery was most of the
 * tool's time per event (docs/performance.md): digits by hand instead.
 */
size_t st_cell_u64(char *buf, size_t len, unsigned long long v)
{
	char tmp[20];		/* 2^64 - 1 has 20 digits */
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (!len)
		return 0;
	for (i = 0; i < n && i + 1 < len; i++)	/* cut as snprintf cuts */
		buf[i] = tmp[n - 1 - i];
	buf[i] = '\0';
	return i;
}

void st_cell_num(char *buf, size_t len, bool known, unsigned long long v)
{
	if (known)
		st_cell_u64(buf, len, v);
	else
		st_cell_text(buf, len, NULL);
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

/* @value's length and terminal columns (UTF-8 characters, not bytes) */
static size_t measure(const char *value, int *shown)
{
	size_t len;

	for (*shown = 0, len = 0; value[len]; len++)
		*shown += ((unsigned char)value[len] & 0xc0) != 0x80;
	return len;
}

int st_text_width(const char *s)
{
	int n;

	measure(s, &n);
	return n;
}

/* The spaces after a cell that bring the next to its header's offset */
static int pad_after(int shown, int width, int *over)
{
	int pad = width - shown - *over + 1;

	*over = pad < 1 ? 1 - pad : 0;
	return pad < 1 ? 1 : pad;
}

/*
 * A row is built here and written once: a lock and a printf per cell were
 * most of the tool's time per event (docs/performance.md). One thread (the
 * tool's loop) writes a stream, so the unlocked call.
 */
struct row {
	FILE *f;
	size_t n;
	char b[4096];
};

/* Not "= { .f = f }": that would clear the 4 KiB each time */
static void row_start(struct row *r, FILE *f)
{
	r->f = f;
	r->n = 0;
}

static void row_flush(struct row *r)
{
	fwrite_unlocked(r->b, 1, r->n, r->f);
	r->n = 0;
}

static void row_put(struct row *r, const char *s, size_t len)
{
	if (r->n + len > sizeof(r->b)) {
		row_flush(r);
		if (len > sizeof(r->b)) {	/* a long path: straight through */
			fwrite_unlocked(s, 1, len, r->f);
			return;
		}
	}
	memcpy(r->b + r->n, s, len);
	r->n += len;
}

static void row_cell(struct row *r, const char *value, int width, int *over, bool last)
{
	static const char spaces[] = "                                ";
	int shown, pad;
	size_t len = measure(value, &shown), chunk;

	row_put(r, value, len);
	if (last) {
		row_put(r, "\n", 1);
		*over = 0;
		return;
	}
	for (pad = pad_after(shown, width, over); pad > 0; pad -= (int)chunk) {
		chunk = (size_t)pad < sizeof(spaces) - 1 ? (size_t)pad : sizeof(spaces) - 1;
		row_put(r, spaces, chunk);
	}
}

void st_column_print(FILE *f, const char *value, int width, int *over, bool last)
{
	struct row r;

	row_start(&r, f);
	row_cell(&r, value, width, over, last);
	row_flush(&r);
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

static void time_cell(struct st_output *o, __u64 time_ns, char *buf, size_t len)
{
	time_t secs;
	struct tm tm;

	if (!o->first_ns)
		o->first_ns = time_ns;
	if (o->time_mode == ST_TIME_RELATIVE) {
		/* -t: seconds since the first event */
		snprintf(buf, len, "%.3f", (time_ns - o->first_ns) / 1e9);
		return;
	}
	secs = (time_ns + o->mono_to_real_ns) / 1000000000LL;
	localtime_r(&secs, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* WORKLOAD: foreign bytes (a container's or unit's name), escaped like COMM */
static void workload_cell(struct st_output *o, const struct st_event_head *h,
			  char *buf, size_t len)
{
	char id[16];
	const char *s = st_workload_short(st_workload_of(o->workloads, h->cgroup_id),
					  id, sizeof(id));

	if (s)
		st_escape(s, strlen(s), 0, buf, len);
	else
		st_cell_text(buf, len, NULL);
}

/* A field of the head into @buf; false if @f is the kind's */
static bool head_cell(struct st_output *o, const struct st_event_head *h,
		      enum st_field f, char *buf, size_t len)
{
	switch (f) {
	case ST_F_TIME_REL:
	case ST_F_TIME_WALL:
		time_cell(o, h->time_ns, buf, len);
		return true;
	case ST_F_UID: st_cell_u64(buf, len, h->uid); return true;
	case ST_F_PID: st_cell_u64(buf, len, h->pid); return true;
	case ST_F_COMM: st_escape(h->comm, sizeof(h->comm), 0, buf, len); return true;
	case ST_F_TYPE: st_cell_text(buf, len, event_name(h->type, false)); return true;
	case ST_F_TYPE_LONG: st_cell_text(buf, len, event_name(h->type, true)); return true;
	case ST_F_NETNS: st_cell_u64(buf, len, h->netns); return true;
	case ST_F_WORKLOAD: workload_cell(o, h, buf, len); return true;
	case ST_F_COUNT: buf[0] = '\0'; return true;	/* the table fills it in */
	default:
		return false;
	}
}

/* By the head's kind, of an event st_output_valid() took */
static const struct st_event_fmt *kind_of(const void *e)
{
	return kinds[((const struct st_event_head *)e)->kind];
}

void st_output_cell(struct st_output *o, const void *e, size_t i, char *buf, size_t len)
{
	if (!head_cell(o, e, o->cols[i].field, buf, len) &&
	    !kind_of(e)->cell(o, e, o->cols[i].field, buf, len))
		buf[0] = '\0';	/* a tool's column of another kind: a bug */
}

static void columns(struct st_output *o, const void *e)
{
	char buf[ST_CELL_LEN];
	struct row r;
	size_t i;
	int over = 0;

	row_start(&r, o->f);
	for (i = 0; i < o->ncols; i++) {
		st_output_cell(o, e, i, buf, sizeof(buf));
		row_cell(&r, buf, o->cols[i].width, &over, i + 1 == o->ncols);
	}
	row_flush(&r);
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
		st_output_cell(o, e, i, buf, sizeof(buf));
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
