// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of -c's table (common/count.c): once full, what it does not
 * count is counted exactly, said on stderr and, with -j, in a lost line
 * (issue 19).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "count.h"
#include "log.h"
#include "output.h"
#include "unit.h"
#include "../fuzz/json_check.h"

static const struct st_column cols[] = { { "PID", ST_F_PID, 7 }, { "COUNT", ST_F_COUNT, 5 } };

/* An event of group @pid (the PID column) */
static struct inet_event sample(__u32 pid)
{
	struct inet_event e = {
		.h = { .time_ns = 1500000000ULL, .netns = 4026531840ULL, .pid = pid, .tid = pid,
		       .kind = ST_KIND_INET, .type = ST_EV_CONNECT, .comm = "curl" },
		.dport = 443, .family = ST_AF_INET, .proto = 6, .result = ST_RESULT_UNKNOWN,
	};

	return e;
}

static void add(struct st_counts *c, struct st_output *o, __u32 pid)
{
	struct inet_event e = sample(pid);

	CHECK(st_count_add(c, o, &e, sizeof(e)) == 0, "pid %u added", pid);
}

/* A table writing to memory: @buf once @o.f is closed (table_read()) */
struct table {
	struct st_opts opts;
	struct st_counts c;
	struct st_output o;
	char *buf;
	size_t len;
};

static void table_open(struct table *t, bool json)
{
	memset(t, 0, sizeof(*t));
	t->opts.count = true;
	t->opts.json = json;
	st_output_open(&t->o, &t->opts, "tcpconnect", cols, 2);
	t->o.f = open_memstream(&t->buf, &t->len);
	st_count_init(&t->c, 0);
}

/* What the table wrote */
static const char *table_read(struct table *t)
{
	fclose(t->o.f);
	return t->buf;
}

static void table_close(struct table *t)
{
	free(t->buf);
	st_count_free(&t->c);
}

/* stderr goes to a memfd from err_begin() to err_end() */
static int saved_err = -1, mem_err = -1;

static void err_begin(void)
{
	fflush(stderr);
	mem_err = memfd_create("stderr", 0);
	saved_err = dup(STDERR_FILENO);
	CHECK(mem_err >= 0 && saved_err >= 0, "test error: no memfd for stderr");
	dup2(mem_err, STDERR_FILENO);
}

/* What was written to stderr since err_begin() (a static buffer) */
static const char *err_end(void)
{
	static char buf[1024];
	ssize_t n;

	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	n = pread(mem_err, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(mem_err);
	return buf;
}

/*
 * Each JSON line valid, and from its "tool" member on (its "ts" and
 * "time_ns" are the clock's) appended to @tails
 */
static void json_tails(const char *buf, char *tails, size_t len)
{
	const char *line, *nl, *tool;
	size_t n, used = 0;
	unsigned char v[64];
	int found;

	tails[0] = '\0';
	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		CHECK(!jc_line(line, nl + 1 - line, "event", v, sizeof(v), &n, &found) &&
		      found == 1, "valid: %.*s", (int)(nl - line), line);
		tool = strstr(line, "\"tool\"");
		if (!tool || tool > nl)
			continue;
		n = nl + 1 - tool;
		CHECK(used + n < len, "test error: %zu bytes of lines", used + n);
		if (used + n >= len)
			return;
		memcpy(tails + used, tool, n);
		used += n;
		tails[used] = '\0';
	}
}

/*
 * A table of 3 groups: the 4th and 5th groups' events are not counted,
 * exactly (3), the 3 groups' still are; said once with the table; the next
 * table starts empty, its count reset, and has room for a new group.
 */
static void test_full(void)
{
	struct table t;

	table_open(&t, false);
	CHECK(t.c.max_rows == ST_COUNT_MAX_ROWS, "%zu rows", t.c.max_rows);
	t.c.max_rows = 3;
	add(&t.c, &t.o, 1), add(&t.c, &t.o, 2), add(&t.c, &t.o, 3);
	add(&t.c, &t.o, 4), add(&t.c, &t.o, 5), add(&t.c, &t.o, 1), add(&t.c, &t.o, 1);
	add(&t.c, &t.o, 4);
	CHECK(t.c.nrows == 3 && t.c.dropped == 3, "%zu rows, %llu dropped", t.c.nrows,
	      t.c.dropped);
	err_begin();
	st_count_print(&t.c, &t.o, true);
	CHECK_STR(err_end(), "socktrace: 3 events not counted: more than 3 groups in one table\n");
	CHECK(t.c.nrows == 0 && t.c.dropped == 0, "%zu rows, %llu dropped", t.c.nrows,
	      t.c.dropped);
	add(&t.c, &t.o, 4);
	err_begin();
	st_count_print(&t.c, &t.o, true);
	CHECK_STR(err_end(), "");
	CHECK_STR(table_read(&t), "PID     COUNT\n1       3\n2       1\n3       1\n"
		  "\nPID     COUNT\n4       1\n");
	table_close(&t);
}

/* -j: the same table's rows, then one lost line of what it did not count */
static void test_full_json(void)
{
	static char tails[4096];
	struct table t;

	table_open(&t, true);
	t.c.max_rows = 2;
	add(&t.c, &t.o, 1), add(&t.c, &t.o, 2), add(&t.c, &t.o, 3), add(&t.c, &t.o, 2);
	add(&t.c, &t.o, 3);
	err_begin();
	st_count_print(&t.c, &t.o, true);
	add(&t.c, &t.o, 3);
	st_count_print(&t.c, &t.o, true);
	CHECK_STR(err_end(), "socktrace: 2 events not counted: more than 2 groups in one table\n");
	json_tails(table_read(&t), tails, sizeof(tails));
#define ROW(pid, n) "\"tool\":\"tcpconnect\",\"event\":\"count\",\"pid\":" #pid ","	\
	"\"cgroup_id\":null,\"cgroup\":null,\"unit\":null,\"container_runtime\":null,"	\
	"\"container_id\":null,\"container_name\":null,\"container_pid\":null,"		\
	"\"pod_uid\":null,\"pod_qos\":null,\"count\":" #n "}\n"
	CHECK_STR(tails, ROW(2, 2) ROW(1, 1)
		  "\"tool\":\"tcpconnect\",\"event\":\"lost\",\"reason\":\"count_table_full\","
		  "\"count\":2}\n"
		  ROW(3, 1));
#undef ROW
	table_close(&t);
}

/*
 * Events there was no memory for (the allocation itself is not failed
 * here: that takes a malloc wrapper at link time): said, and a lost line
 * of their own
 */
static void test_no_memory(void)
{
	static char tails[1024];
	struct table t;

	table_open(&t, true);
	t.c.max_rows = 0;
	add(&t.c, &t.o, 1);
	t.c.no_memory = 5;
	err_begin();
	st_count_print(&t.c, &t.o, true);
	CHECK_STR(err_end(), "socktrace: 1 events not counted: more than 0 groups in one table\n"
		  "socktrace: 5 events not counted: Cannot allocate memory\n");
	CHECK(t.c.no_memory == 0, "%llu reset", t.c.no_memory);
	json_tails(table_read(&t), tails, sizeof(tails));
	CHECK_STR(tails, "\"tool\":\"tcpconnect\",\"event\":\"lost\",\"reason\":\"count_table_full\","
		  "\"count\":1}\n"
		  "\"tool\":\"tcpconnect\",\"event\":\"lost\",\"reason\":\"count_no_memory\","
		  "\"count\":5}\n");
	table_close(&t);
}

int main(void)
{
	test_full();
	test_full_json();
	test_no_memory();
	return unit_report();
}
