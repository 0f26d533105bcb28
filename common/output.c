// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "escape.h"
#include "log.h"
#include "output.h"

#define OUT_BUFSZ (64 * 1024)	/* one write per poll batch, not per line */

static char out_buf[OUT_BUFSZ];

/*
 * A value the event does not know is null in JSON and "-" in a column,
 * never a 0 or a "?" that reads like a value. These give NULL for it.
 */
static const char *const type_short[] = { NULL, "C", "A", "X", "S" };
static const char *const type_long[] = { NULL, "connect", "accept", "close", "send" };

static const char *event_name(__u8 type, bool long_name)
{
	if (type >= sizeof(type_long) / sizeof(type_long[0]))
		return NULL;
	return long_name ? type_long[type] : type_short[type];
}

static const char *proto_name(__u8 proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : NULL;
}

/* 4 or 6, or 0 if the family is not one of ours */
static int ip_version(__u8 family)
{
	return family == ST_AF_INET ? 4 : family == ST_AF_INET6 ? 6 : 0;
}

static const char *addr_text(const struct inet_event *e, const __u8 *addr, char *buf,
			     size_t len)
{
	return ip_version(e->family) ? st_addr_format(e->family, addr, buf, len) : NULL;
}

/* @s into the column buffer, "-" for unknown */
static void column_text(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s ? s : "-");
}

/* @fmt with @v into the column buffer if @known, else "-" */
static void column_num(char *buf, size_t len, bool known, const char *fmt,
		       unsigned long long v)
{
	if (known)
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "-");
}

static __s64 mono_to_real(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (real.tv_sec - mono.tv_sec) * 1000000000LL + real.tv_nsec - mono.tv_nsec;
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
	if (opts->time_mode == ST_TIME_RELATIVE)
		o->cols[o->ncols++] = (struct st_column){ "TIME(s)", ST_F_TIME_REL, 9 };
	else if (opts->time_mode == ST_TIME_WALL)
		o->cols[o->ncols++] = (struct st_column){ "TIME", ST_F_TIME_WALL, 8 };
	if (opts->print_uid)
		o->cols[o->ncols++] = (struct st_column){ "UID", ST_F_UID, 6 };
	while (ncols-- && o->ncols < ST_MAX_COLUMNS)
		o->cols[o->ncols++] = *cols++;

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

/* Terminal columns of an escaped value: its UTF-8 characters, not bytes */
static int text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void st_column_print(FILE *f, const char *value, int width, int *over, bool last)
{
	/* the spaces that bring the next cell to its header's offset */
	int pad = width - text_width(value) - *over + 1;

	fputs(value, f);
	if (last) {
		fputc('\n', f);
		*over = 0;
		return;
	}
	*over = pad < 1 ? 1 - pad : 0;
	fprintf(f, "%*s", pad < 1 ? 1 : pad, "");
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

const char *st_result_name(int result, char *buf, size_t len)
{
	const char *name;

	if (result == 0)
		return "ok";
	if (result == ST_RESULT_CLOSED)
		return "closed";
	name = result > 0 ? strerrorname_np(result) : NULL;
	if (name)
		return name;
	snprintf(buf, len, "E%d", result);
	return buf;
}

static void time_column(struct st_output *o, __u64 time_ns, char *buf, size_t len)
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

static void field(struct st_output *o, const struct inet_event *e,
		  enum st_field f, char *buf, size_t len)
{
	bool closed = e->type == ST_EV_CLOSE;
	char tmp[ST_ADDR_STRLEN];

	switch (f) {
	case ST_F_TIME_REL:
	case ST_F_TIME_WALL:
		time_column(o, e->time_ns, buf, len);
		return;
	case ST_F_UID: snprintf(buf, len, "%u", e->uid); return;
	case ST_F_PID: snprintf(buf, len, "%u", e->pid); return;
	case ST_F_TID: snprintf(buf, len, "%u", e->tid); return;
	case ST_F_COMM: st_escape(e->comm, sizeof(e->comm), 0, buf, len); return;
	case ST_F_IP:
		column_num(buf, len, ip_version(e->family), "%llu", ip_version(e->family));
		return;
	case ST_F_SADDR: column_text(buf, len, addr_text(e, e->saddr, tmp, sizeof(tmp))); return;
	case ST_F_SPORT: column_num(buf, len, e->sport, "%llu", e->sport); return;
	case ST_F_DADDR: column_text(buf, len, addr_text(e, e->daddr, tmp, sizeof(tmp))); return;
	case ST_F_DPORT: snprintf(buf, len, "%u", e->dport); return;
	case ST_F_RESULT:
		column_text(buf, len, e->result == ST_RESULT_UNKNOWN ? NULL :
			    st_result_name(e->result, tmp, sizeof(tmp)));
		return;
	case ST_F_TYPE: column_text(buf, len, event_name(e->type, false)); return;
	case ST_F_TYPE_LONG: column_text(buf, len, event_name(e->type, true)); return;
	case ST_F_NETNS: snprintf(buf, len, "%llu", (unsigned long long)e->netns); return;
	case ST_F_BACKLOG:
		if (e->flags & ST_EVF_BACKLOG)
			snprintf(buf, len, "%u/%u", e->backlog, e->backlog_max);
		else
			snprintf(buf, len, "-");
		return;
	case ST_F_DURATION_MS:	/* close events, when the start was seen */
		if (closed && (e->flags & ST_EVF_DURATION))
			snprintf(buf, len, "%.3f", e->duration_ns / 1e6);
		else
			snprintf(buf, len, "-");
		return;
	case ST_F_TX_KB: column_num(buf, len, closed, "%llu", e->bytes_sent / 1024); return;
	case ST_F_RX_KB: column_num(buf, len, closed, "%llu", e->bytes_received / 1024); return;
	case ST_F_SOCK_TYPE:
	case ST_F_PEER_PID:
	case ST_F_PATH:
		break;		/* unix_event fields */
	}
	buf[0] = '\0';
}

static void columns(struct st_output *o, const struct inet_event *e)
{
	char buf[ST_ESCAPED_LEN(ST_COMM_LEN) + ST_ADDR_STRLEN];
	size_t i;
	int over = 0;

	for (i = 0; i < o->ncols; i++) {
		field(o, e, o->cols[i].field, buf, sizeof(buf));
		st_column_print(o->f, buf, o->cols[i].width, &over, i + 1 == o->ncols);
	}
}

void st_json_str(FILE *f, char sep, const char *key, const char *value)
{
	fprintf(f, "%c\"%s\":", sep, key);
	if (value)
		st_json_string(f, value, strlen(value));
	else
		fputs("null", f);
}

/* ,"key":@v, or ,"key":null if not @known */
static void json_num(FILE *f, const char *key, unsigned long long v, bool known)
{
	if (known)
		fprintf(f, ",\"%s\":%llu", key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

/* The members every event starts with, up to "netns" */
static void json_head(struct st_output *o, __u64 time_ns, __u8 type, __u32 pid, __u32 tid,
		      const char *comm, __u32 uid, __u64 netns)
{
	__u64 real = time_ns + o->mono_to_real_ns;
	time_t secs = real / 1000000000ULL;
	char buf[32], ts[48];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts, sizeof(ts), "%s.%06lluZ", buf,
		 (unsigned long long)(real % 1000000000ULL) / 1000);
	st_json_str(o->f, '{', "ts", ts);
	fprintf(o->f, ",\"time_ns\":%llu", (unsigned long long)time_ns);
	st_json_str(o->f, ',', "tool", o->tool);
	st_json_str(o->f, ',', "event", event_name(type, true));
	fprintf(o->f, ",\"pid\":%u,\"tid\":%u,\"comm\":", pid, tid);
	st_json_string(o->f, comm, strnlen(comm, ST_COMM_LEN));
	fprintf(o->f, ",\"uid\":%u,\"netns\":%llu", uid, (unsigned long long)netns);
}

static void json_event(struct st_output *o, const struct inet_event *e)
{
	char addr[ST_ADDR_STRLEN], tmp[32];

	json_head(o, e->time_ns, e->type, e->pid, e->tid, e->comm, e->uid, e->netns);
	st_json_str(o->f, ',', "proto", proto_name(e->proto));
	json_num(o->f, "ip", ip_version(e->family), ip_version(e->family));
	st_json_str(o->f, ',', "saddr", addr_text(e, e->saddr, addr, sizeof(addr)));
	json_num(o->f, "sport", e->sport, e->sport);
	st_json_str(o->f, ',', "daddr", addr_text(e, e->daddr, addr, sizeof(addr)));
	json_num(o->f, "dport", e->dport, true);
	if (e->result != ST_RESULT_UNKNOWN)	/* result mode: known by then */
		st_json_str(o->f, ',', "result", st_result_name(e->result, tmp, sizeof(tmp)));
	if (e->type == ST_EV_CLOSE) {
		json_num(o->f, "duration_ns", e->duration_ns, e->flags & ST_EVF_DURATION);
		json_num(o->f, "bytes_sent", e->bytes_sent, true);
		json_num(o->f, "bytes_received", e->bytes_received, true);
	}
	if (o->backlog && e->type == ST_EV_ACCEPT) {
		json_num(o->f, "backlog", e->backlog, e->flags & ST_EVF_BACKLOG);
		json_num(o->f, "backlog_max", e->backlog_max, e->flags & ST_EVF_BACKLOG);
	}
	fputs("}\n", o->f);
}

void st_output_event(struct st_output *o, const struct inet_event *e)
{
	if (o->json)
		json_event(o, e);
	else
		columns(o, e);
}

/* ---- struct unix_event (unixconnect) ---- */

static const char *unix_type(__u8 sock_type, bool upper)
{
	switch (sock_type) {
	case 1: return upper ? "STREAM" : "stream";
	case 2: return upper ? "DGRAM" : "dgram";
	case 5: return upper ? "SEQPACKET" : "seqpacket";
	}
	return NULL;
}

const char *st_unix_path(const struct unix_event *e, char *buf, size_t len)
{
	size_t n = e->path_len < ST_UNIX_PATH_MAX ? e->path_len : ST_UNIX_PATH_MAX;

	if (!n || len < 2)
		return NULL;
	if (e->path[0]) {
		st_escape(e->path, n, 0, buf, len);
		return buf;
	}
	/* abstract: a NUL, then exactly n - 1 bytes of anything, NULs included */
	buf[0] = '@';
	st_escape(e->path + 1, n - 1, 1, buf + 1, len - 1);
	return buf;
}

static void unix_field(struct st_output *o, const struct unix_event *e,
		       enum st_field f, char *buf, size_t len)
{
	const char *path;

	switch (f) {
	case ST_F_TIME_REL:
	case ST_F_TIME_WALL:
		time_column(o, e->time_ns, buf, len);
		return;
	case ST_F_UID: snprintf(buf, len, "%u", e->uid); return;
	case ST_F_PID: snprintf(buf, len, "%u", e->pid); return;
	case ST_F_TID: snprintf(buf, len, "%u", e->tid); return;
	case ST_F_COMM: st_escape(e->comm, sizeof(e->comm), 0, buf, len); return;
	case ST_F_TYPE: column_text(buf, len, event_name(e->type, false)); return;
	case ST_F_TYPE_LONG: column_text(buf, len, event_name(e->type, true)); return;
	case ST_F_NETNS: snprintf(buf, len, "%llu", (unsigned long long)e->netns); return;
	case ST_F_SOCK_TYPE: column_text(buf, len, unix_type(e->sock_type, true)); return;
	case ST_F_PEER_PID: column_num(buf, len, e->peer_pid, "%llu", e->peer_pid); return;
	case ST_F_PATH:
		path = st_unix_path(e, buf, len);
		if (!path)
			snprintf(buf, len, "(unnamed)");
		return;
	default:
		break;		/* inet fields */
	}
	buf[0] = '\0';
}

/* PATH's bytes, not its escaped text: "@" and all of an abstract name */
static void json_unix_path(FILE *f, const struct unix_event *e)
{
	size_t n = e->path_len < ST_UNIX_PATH_MAX ? e->path_len : ST_UNIX_PATH_MAX;
	char raw[ST_UNIX_PATH_MAX];

	if (!n) {
		fputs("null", f);	/* not "(unnamed)": a file may have that name */
	} else if (e->path[0]) {
		st_json_string(f, e->path, strnlen(e->path, n));
	} else {
		raw[0] = '@';
		memcpy(raw + 1, e->path + 1, n - 1);
		st_json_string(f, raw, n);
	}
}

static void json_unix_event(struct st_output *o, const struct unix_event *e)
{
	json_head(o, e->time_ns, e->type, e->pid, e->tid, e->comm, e->uid, e->netns);
	st_json_str(o->f, ',', "proto", "unix");
	st_json_str(o->f, ',', "type", unix_type(e->sock_type, false));
	fputs(",\"path\":", o->f);
	json_unix_path(o->f, e);
	json_num(o->f, "peer_pid", e->peer_pid, e->peer_pid);	/* 0: unknown */
	fputs("}\n", o->f);
}

void st_output_unix_event(struct st_output *o, const struct unix_event *e)
{
	char buf[ST_UNIX_PATH_STRLEN];
	size_t i;
	int over = 0;

	if (o->json) {
		json_unix_event(o, e);
		return;
	}
	for (i = 0; i < o->ncols; i++) {
		unix_field(o, e, o->cols[i].field, buf, sizeof(buf));
		st_column_print(o->f, buf, o->cols[i].width, &over, i + 1 == o->ncols);
	}
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
