// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* struct unix_event formatting (unixconnect) on synthetic events. */
#define _GNU_SOURCE
#include <stdlib.h>
#include "count.h"
#include "output.h"
#include "unit.h"

static struct unix_event sample(const char *path, size_t len)
{
	struct unix_event e = {
		.h = { .time_ns = 1500000000ULL, .netns = 4026531840ULL, .pid = 1234,
		       .tid = 1235, .uid = 1000, .kind = ST_KIND_UNIX, .type = ST_EV_CONNECT },
		.peer_pid = 99, .sock_type = 1, .path_len = len,
	};

	memcpy(e.h.comm, "dbus\x1b", 6);
	memcpy(e.path, path, len);
	return e;
}

static void test_path(void)
{
	char buf[ST_CELL_LEN];
	struct unix_event e = sample("/run/a\nb\xff\\", 11);

	CHECK_STR(st_unix_path(&e, buf, sizeof(buf)), "/run/a\\x0ab\\xff\\\\");
	e = sample("\0ab\0c\x1b", 6);	/* abstract: explicit length, NULs kept */
	CHECK_STR(st_unix_path(&e, buf, sizeof(buf)), "@ab\\x00c\\x1b");
	e = sample("", 0);
	CHECK(st_unix_path(&e, buf, sizeof(buf)) == NULL, "unnamed");
	e = sample("/x", 2);
	e.path_len = 500;		/* never past the buffer */
	CHECK(strlen(st_unix_path(&e, buf, sizeof(buf))) == 2, "length capped");
	memset(e.path, 0xff, sizeof(e.path));
	e.path_len = ST_UNIX_PATH_MAX;	/* the worst case fits */
	CHECK(strlen(st_unix_path(&e, buf, sizeof(buf))) == 4 * ST_UNIX_PATH_MAX, "all escaped");
}

static const struct st_column cols[] = {
	{ "T", ST_F_TYPE, 1 }, { "PID", ST_F_PID, 7 }, { "COMM", ST_F_COMM, 16 },
	{ "TYPE", ST_F_SOCK_TYPE, 9 }, { "PEER", ST_F_PEER_PID, 7 }, { "PATH", ST_F_PATH, 4 },
};

static char *render(struct st_opts *opts, const struct unix_event *e, size_t nev)
{
	static char *buf;
	size_t len, i;
	struct st_output o;

	free(buf);
	st_output_open(&o, opts, "unixconnect", cols, sizeof(cols) / sizeof(cols[0]));
	o.f = open_memstream(&buf, &len);
	o.mono_to_real_ns = 1700000000000000000LL;	/* 2023-11-14T22:13:20Z */
	st_output_header(&o);
	for (i = 0; i < nev; i++)
		st_output_event(&o, &e[i], sizeof(e[i]));
	fclose(o.f);
	return buf;
}

static void test_columns(void)
{
	struct st_opts opts = { .print_uid = true };
	struct unix_event e[3] = { sample("/run/s", 7), sample("\0x", 2), sample("", 0) };

	e[1].h.type = ST_EV_ACCEPT;
	e[1].sock_type = 5;
	e[2].sock_type = 2;
	e[2].peer_pid = 0;
	CHECK_STR(render(&opts, e, 3),
		  "UID    T PID     COMM             TYPE      PEER    PATH\n"
		  "1000   C 1234    dbus\\x1b         STREAM    99      /run/s\n"
		  "1000   A 1234    dbus\\x1b         SEQPACKET 99      @x\n"
		  "1000   C 1234    dbus\\x1b         DGRAM     -       (unnamed)\n");
}

static void test_json(void)
{
	struct st_opts opts = { .json = true };
	struct unix_event e[2] = { sample("\0a\"\n", 4), sample("", 0) };

	e[1].peer_pid = 0;
	e[1].sock_type = 2;
	CHECK_STR(render(&opts, e, 2),
		  "{\"ts\":\"2023-11-14T22:13:21.500000Z\",\"time_ns\":1500000000,"
		  "\"tool\":\"unixconnect\",\"event\":\"connect\",\"pid\":1234,\"tid\":1235,"
		  "\"comm\":\"dbus\\u001b\",\"uid\":1000,\"netns\":4026531840,"
		  "\"cgroup_id\":null,\"cgroup\":null,\"unit\":null,\"container_runtime\":null,"
		  "\"container_id\":null,\"container_name\":null,\"container_pid\":null,"
		  "\"pod_uid\":null,\"pod_qos\":null,"
		  "\"proto\":\"unix\",\"type\":\"stream\",\"path\":\"@a\\\"\\u000a\","
		  "\"peer_pid\":99}\n"
		  "{\"ts\":\"2023-11-14T22:13:21.500000Z\",\"time_ns\":1500000000,"
		  "\"tool\":\"unixconnect\",\"event\":\"connect\",\"pid\":1234,\"tid\":1235,"
		  "\"comm\":\"dbus\\u001b\",\"uid\":1000,\"netns\":4026531840,"
		  "\"cgroup_id\":null,\"cgroup\":null,\"unit\":null,\"container_runtime\":null,"
		  "\"container_id\":null,\"container_name\":null,\"container_pid\":null,"
		  "\"pod_uid\":null,\"pod_qos\":null,"
		  "\"proto\":\"unix\",\"type\":\"dgram\",\"path\":null,\"peer_pid\":null}\n");
}

/*
 * -c: the text of PATH is the same for an unnamed socket and a file named
 * "(unnamed)", and for an abstract name and a file named "@" and the same:
 * four sockets, four rows, the count in its column before PATH.
 */
static void test_count_names(void)
{
	const struct st_column count_cols[] = {
		{ "PID", ST_F_PID, 7 }, { "COUNT", ST_F_COUNT, 5 }, { "PATH", ST_F_PATH, 4 },
	};
	struct unix_event e[] = {
		sample("", 0), sample("(unnamed)", 10), sample("\0x", 2), sample("@x", 3),
		sample("@x", 3),
	};
	struct st_opts opts = { .count = true };
	struct st_counts c;
	struct st_output o;
	char *buf = NULL;
	size_t len, i;

	st_output_open(&o, &opts, "unixconnect", count_cols, 3);
	o.f = open_memstream(&buf, &len);
	st_count_init(&c, 0);
	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		CHECK(st_count_add(&c, &o, &e[i], sizeof(e[i])) == 0, "counted %zu", i);
	st_count_print(&c, &o, true);
	fclose(o.f);
	CHECK_STR(buf, "PID     COUNT PATH\n"
		  "1234    2     @x\n"
		  "1234    1     @x\n"
		  "1234    1     (unnamed)\n"
		  "1234    1     (unnamed)\n");
	free(buf);
}

int main(void)
{
	test_path();
	test_columns();
	test_json();
	test_count_names();
	return unit_report();
}
