// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* struct unix_event (AF_UNIX) beyond its head: columns and JSON members. */
#include <string.h>
#include "output.h"

static const char *unix_type(__u8 sock_type, bool upper)
{
	switch (sock_type) {
	case 1: return upper ? "STREAM" : "stream";
	case 2: return upper ? "DGRAM" : "dgram";
	case 5: return upper ? "SEQPACKET" : "seqpacket";
	}
	return NULL;
}

static size_t path_len(const struct unix_event *e)
{
	return e->path_len < ST_UNIX_PATH_MAX ? e->path_len : ST_UNIX_PATH_MAX;
}

/* PATH: the escaped path, "@" and the escaped abstract name, or "(unnamed)" */
static void path_cell(const struct unix_event *e, struct st_cell *c)
{
	size_t n = path_len(e);

	if (!n) {
		st_cell_text(c, "(unnamed)");
	} else if (e->path[0]) {
		st_cell_escaped(c, e->path, n, false);
	} else {
		*c->p++ = '@';	/* abstract: a NUL, then n - 1 bytes, NULs included */
		st_cell_escaped(c, e->path + 1, n - 1, true);
	}
}

const char *st_unix_path(const struct unix_event *e, char *buf, size_t len)
{
	struct st_cell c;

	if (!path_len(e) || len < 2)
		return NULL;
	c = (struct st_cell){ buf, buf + len - 1, 0 };
	path_cell(e, &c);
	*c.p = '\0';
	return buf;
}

static bool cell(const struct st_output *o, const void *ev, enum st_field f,
		 struct st_cell *c)
{
	const struct unix_event *e = ev;

	(void)o;
	switch (f) {
	case ST_F_SOCK_TYPE: st_cell_text(c, unix_type(e->sock_type, true)); break;
	case ST_F_PEER_PID: st_cell_num(c, e->peer_pid, e->peer_pid); break;
	case ST_F_PATH: path_cell(e, c); break;
	default:
		return false;
	}
	return true;
}

/* PATH's bytes, not its escaped text: "@" and all of an abstract name */
static void json_path(struct st_json *j, const struct unix_event *e)
{
	size_t n = path_len(e);
	char raw[ST_UNIX_PATH_MAX];

	if (!n) {
		st_json_null(j, "path");	/* not "(unnamed)": a file may have that name */
	} else if (e->path[0]) {
		st_json_bytes(j, "path", e->path, strnlen(e->path, n));
	} else {
		raw[0] = '@';
		memcpy(raw + 1, e->path + 1, n - 1);
		st_json_bytes(j, "path", raw, n);
	}
}

/* A field's JSON member: an event's (json()) or a count row's (its columns) */
static void json_field(const struct st_output *o, const void *ev, enum st_field f,
		       struct st_json *j)
{
	const struct unix_event *e = ev;

	(void)o;
	if (f == ST_F_SOCK_TYPE)
		st_json_str(j, "type", unix_type(e->sock_type, false));
	else if (f == ST_F_PATH)
		json_path(j, e);
	else if (f == ST_F_PEER_PID)	/* 0: unknown */
		st_json_uint_known(j, "peer_pid", e->peer_pid, e->peer_pid);
}

static void json(const struct st_output *o, const void *ev, struct st_json *j)
{
	st_json_str(j, "proto", "unix");
	json_field(o, ev, ST_F_SOCK_TYPE, j);
	json_field(o, ev, ST_F_PATH, j);
	json_field(o, ev, ST_F_PEER_PID, j);
}

const struct st_event_fmt st_unix_fmt = {
	.size = sizeof(struct unix_event),
	.cell = cell,
	.json = json,
	.json_field = json_field,
};
