// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of common/ on synthetic input: no root, no kernel. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "addr.h"
#include "args.h"
#include "escape.h"
#include "filter.h"
#include "log.h"
#include "lost.h"
#include "output.h"
#include "unit.h"
#include "../fuzz/json_check.h"

static void check_v6(const char *text, const char *want)
{
	__u8 a[16];
	char buf[ST_ADDR_STRLEN];

	inet_pton(AF_INET6, text, a);
	CHECK_STR(st_addr_format(ST_AF_INET6, a, buf, sizeof(buf)), want);
}

static void test_addr(void)
{
	__u8 v4[4] = { 192, 0, 2, 255 };
	char buf[ST_ADDR_STRLEN];

	CHECK_STR(st_addr_format(ST_AF_INET, v4, buf, sizeof(buf)), "192.0.2.255");
	check_v6("::1", "::1");
	check_v6("::", "::");
	check_v6("2001:DB8:0:0:0:0:2:1", "2001:db8::2:1");
	/* RFC 5952 4.2.2: a single zero group is not "::" */
	check_v6("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	/* 4.2.3: the longest run, the first of equal runs */
	check_v6("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");
	check_v6("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	check_v6("fe80::1:2:3:4", "fe80::1:2:3:4");
	check_v6("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0");
	check_v6("0:0:1:2:3:4:5:6", "::1:2:3:4:5:6");
	check_v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* v4-mapped as such; v4-compatible is plain IPv6 (RFC 5952 5) */
	check_v6("::ffff:127.0.0.1", "::ffff:127.0.0.1");
	check_v6("::1.2.3.4", "::102:304");
}

/* Every octet's digits, and every pattern of zero groups as glibc has them */
static void test_addr_all(void)
{
	char want[ST_ADDR_STRLEN], got[ST_ADDR_STRLEN];
	__u8 a[16];
	unsigned int v, m, i;

	for (v = 0; v < 256; v++) {
		memset(a, (int)v, 4);
		inet_ntop(AF_INET, a, want, sizeof(want));
		CHECK_STR(st_addr_format(ST_AF_INET, a, got, sizeof(got)), want);
	}
	for (m = 0; m < 256; m++) {
		/* glibc writes ::a.b.c.d where the first six groups are zero */
		if ((m & 0x3f) == 0x3f)
			continue;
		for (i = 0; i < 8; i++) {
			a[2 * i] = m & 1u << i ? 0 : 0x0a;
			a[2 * i + 1] = m & 1u << i ? 0 : (__u8)i;
		}
		inet_ntop(AF_INET6, a, want, sizeof(want));
		CHECK_STR(st_addr_format(ST_AF_INET6, a, got, sizeof(got)), want);
	}
}

/* A number's digits in a cell, at the edges of two at a time and of 2^64 */
static void test_cell_u64(void)
{
	static const struct { unsigned long long v; const char *text; } t[] = {
		{ 0, "0" }, { 9, "9" }, { 10, "10" }, { 99, "99" }, { 100, "100" },
		{ 101, "101" }, { 65535, "65535" }, { 4294967295ULL, "4294967295" },
		{ 9999999999999999999ULL, "9999999999999999999" },
		{ 10000000000000000000ULL, "10000000000000000000" },
		{ 18446744073709551615ULL, "18446744073709551615" },
	};
	char buf[32];
	struct st_cell c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = (struct st_cell){ buf, buf + sizeof(buf) - 1, 0 };
		st_cell_u64(&c, t[i].v);
		*c.p = '\0';
		CHECK_STR(buf, t[i].text);
	}
}

static void test_parse(void)
{
	unsigned long long v, l[4];
	size_t n;

	CHECK(st_parse_num("42", 1, 100, &v) == 0 && v == 42, "v=%llu", v);
	CHECK(st_parse_num("0", 1, 100, &v) == -ERANGE, "0 below min");
	CHECK(st_parse_num("101", 1, 100, &v) == -ERANGE, "above max");
	CHECK(st_parse_num("-1", 0, 100, &v) == -EINVAL, "negative");
	CHECK(st_parse_num(" 1", 0, 100, &v) == -EINVAL, "leading space");
	CHECK(st_parse_num("1x", 0, 100, &v) == -EINVAL, "trailing junk");
	CHECK(st_parse_num("", 0, 100, &v) == -EINVAL, "empty");
	CHECK(st_parse_num("99999999999999999999999", 0, ~0ULL, &v) == -ERANGE,
	      "overflow");
	CHECK(st_parse_list("80,443", 1, 65535, l, 4, &n) == 0 && n == 2 &&
	      l[0] == 80 && l[1] == 443, "n=%zu", n);
	CHECK(st_parse_list("80,80", 1, 65535, l, 4, &n) == 0 && n == 1,
	      "duplicates kept once, n=%zu", n);
	CHECK(st_parse_list("", 1, 65535, l, 4, &n) == -EINVAL, "empty list");
	CHECK(st_parse_list("80,", 1, 65535, l, 4, &n) == -EINVAL, "trailing comma");
	CHECK(st_parse_list(",80", 1, 65535, l, 4, &n) == -EINVAL, "leading comma");
	CHECK(st_parse_list("1,,2", 1, 65535, l, 4, &n) == -EINVAL, "empty item");
	CHECK(st_parse_list("70000", 1, 65535, l, 4, &n) == -ERANGE, "out of range");
	CHECK(st_parse_list("1,2,3,4,5", 1, 65535, l, 4, &n) == -E2BIG, "too many");
}

static void check_escape(const char *in, size_t len, const char *want)
{
	char out[ST_ESCAPED_LEN(64)];

	st_escape(in, len, 0, out, sizeof(out));
	CHECK_STR(out, want);
}

static void test_escape(void)
{
	char out[8];

	check_escape("curl", 16, "curl");
	check_escape("a\x1b[2Jb", 16, "a\\x1b[2Jb");
	check_escape("new\nline\r", 16, "new\\x0aline\\x0d");
	check_escape("back\\slash", 16, "back\\\\slash");
	check_escape("del\x7f", 16, "del\\x7f");
	check_escape("caf\xc3\xa9", 16, "caf\xc3\xa9");		/* UTF-8 stays */
	check_escape("\xc2\x9b" "31m", 16, "\\xc2\\x9b31m");	/* C1 CSI */
	check_escape("\xff\xfe", 16, "\\xff\\xfe");		/* invalid */
	check_escape("\xc3", 16, "\\xc3");			/* truncated */
	check_escape("\xe0\x80\xaf", 16, "\\xe0\\x80\\xaf");	/* overlong */
	check_escape("\xed\xa0\x80", 16, "\\xed\\xa0\\x80");	/* surrogate */
	check_escape("abc", 2, "ab");				/* length bound */
	st_escape("\x01\x02\x03", 3, 0, out, sizeof(out));
	CHECK_STR(out, "\\x01");			/* never a half escape */
	st_escape("@a\0b", 4, 1, out, sizeof(out));
	CHECK_STR(out, "@a\\x00b");
}

static char *json_of(const char *s, size_t len)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	st_json_string(f, s, len);
	fclose(f);
	return buf;
}

#define JSON_OF(lit) json_of(lit, sizeof(lit) - 1)

static void test_json_string(void)
{
	char in[1], want[16];
	int c;

	CHECK_STR(JSON_OF("plain ASCII ~!"), "\"plain ASCII ~!\"");
	CHECK_STR(JSON_OF("q\"b\\"), "\"q\\\"b\\\\\"");
	CHECK_STR(JSON_OF("a\tb"), "\"a\\u0009b\"");
	CHECK_STR(JSON_OF("a\0b"), "\"a\\u0000b\"");	/* bytes, not a C string */
	for (c = 0; c < 0x20; c++) {			/* every C0 control */
		in[0] = c;
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		CHECK_STR(json_of(in, 1), want);
	}
	CHECK_STR(JSON_OF("\x7f"), "\"\\u007f\"");
	/* C1 controls: valid UTF-8, but 0x9b is CSI to a terminal */
	CHECK_STR(JSON_OF("\xc2\x80\xc2\x9b\xc2\x9f"), "\"\\u0080\\u009b\\u009f\"");
	/* valid UTF-8 stays: U+00A0, U+00E9, U+20AC, U+1F600, U+10FFFF */
	CHECK_STR(JSON_OF("\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
		  "\"\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
	/* each byte of invalid UTF-8 as a lone surrogate, U+DC80..U+DCFF */
	CHECK_STR(JSON_OF("\xff\x80\xf5"), "\"\\udcff\\udc80\\udcf5\"");
	CHECK_STR(JSON_OF("\xe2\x82" "A"), "\"\\udce2\\udc82A\"");		/* truncated */
	CHECK_STR(JSON_OF("\xc3"), "\"\\udcc3\"");				/* at the end */
	CHECK_STR(JSON_OF("\xc0\x80"), "\"\\udcc0\\udc80\"");			/* overlong */
	CHECK_STR(JSON_OF("\xe0\x80\xaf"), "\"\\udce0\\udc80\\udcaf\"");	/* overlong */
	CHECK_STR(JSON_OF("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");	/* surrogate */
	CHECK_STR(JSON_OF("\xf4\x90\x80\x80"),					/* > U+10FFFF */
		  "\"\\udcf4\\udc90\\udc80\\udc80\"");
}

/* Every string of one and two bytes, and some of three, comes back exactly. */
static void test_json_round_trip(void)
{
	static const unsigned char tails[] = { 0x00, 0x22, 0x5c, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xff };
	unsigned char in[3], back[16];
	size_t len, n = 0, t, bad = 0, total = 0;
	char line[1100];
	int found;
	unsigned int v;

	for (v = 0; v < 0x10000 + 0x10000 * sizeof(tails); v++, total++) {
		len = v < 0x100 ? 1 : v < 0x10000 ? 2 : 3;
		in[0] = v, in[1] = v >> 8;
		t = v >= 0x10000 ? (v - 0x10000) / 0x10000 : 0;
		in[2] = tails[t];
		snprintf(line, sizeof(line), "{\"s\":%s}\n", json_of((char *)in, len));
		if (jc_line(line, strlen(line), "s", back, sizeof(back), &n, &found) ||
		    found != 1 || n != len || memcmp(back, in, len))
			bad++;
	}
	CHECK(!bad, "%zu of %zu strings did not come back", bad, total);
}

/* The reader the fuzz target relies on refuses what the writer must not make */
static void test_json_check(void)
{
	static const char *const bad[] = {
		"{\"s\":\"a\tb\"}\n", "{\"s\":\"\xc2\x9b\"}\n", "{\"s\":\"\xff\"}\n",
		"{\"s\":\"\\ud800\"}\n", "{\"s\":\"\\x41\"}\n", "{\"s\":\"a}\n",
		"{\"s\":1}x\n", "{\"s\":1,}\n", "{\"s\":-}\n", "{\"s\":1}", "{\"s\":nul}\n",
	};
	static const char good[] = "{\"a\":-1.5,\"s\":null}\n";
	unsigned char out[8];
	size_t i, n = 0;
	int found;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(jc_line(bad[i], strlen(bad[i]), "s", out, sizeof(out), &n, &found),
		      "taken: %s", bad[i]);
	CHECK(!jc_line(good, strlen(good), "s", out, sizeof(out), &n, &found) && found == 2,
	      "null");
}

static const struct st_column cols[] = {
	{ "PID", ST_F_PID, 7 }, { "COMM", ST_F_COMM, 16 }, { "IP", ST_F_IP, 2 },
	{ "SADDR", ST_F_SADDR, 15 }, { "DADDR", ST_F_DADDR, 15 },
	{ "DPORT", ST_F_DPORT, 5 }, { "RESULT", ST_F_RESULT, 6 },
};

static struct inet_event sample(void)
{
	struct inet_event e = {
		.h = { .time_ns = 1500000000ULL, .netns = 4026531840ULL, .pid = 1234,
		       .tid = 1235, .uid = 1000, .kind = ST_KIND_INET, .type = ST_EV_CONNECT },
		.result = 111, .sport = 51234, .dport = 443, .family = ST_AF_INET, .proto = 6,
		.saddr = { 10, 0, 0, 1 }, .daddr = { 192, 0, 2, 7 },
	};

	memcpy(e.h.comm, "cu\"rl\x1b", 7);
	return e;
}

static bool render_backlog;	/* as tcpaccept sets it */
static struct st_workloads *render_workloads;	/* as JSON and -w set it */

/* Formats @e with @opts into a string (static buffer). */
static char *render(struct st_opts *opts, const struct inet_event *e, size_t nev)
{
	static char *buf;
	size_t len, i;
	struct st_output o;

	free(buf);
	st_output_open(&o, opts, "tcpconnect", cols, sizeof(cols) / sizeof(cols[0]));
	o.backlog = render_backlog;
	o.workloads = render_workloads;
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
	struct st_opts opts = {};
	struct inet_event e[2] = { sample(), sample() };

	e[1].family = ST_AF_INET6;
	e[1].result = 0;
	memset(e[1].saddr, 0, 16);
	e[1].saddr[15] = 1;
	memset(e[1].daddr, 0, 16);
	e[1].daddr[0] = 0x20, e[1].daddr[1] = 0x01, e[1].daddr[15] = 9;
	CHECK_STR(render(&opts, e, 2),
		  "PID     COMM             IP SADDR           DADDR           DPORT RESULT\n"
		  "1234    cu\"rl\\x1b        4  10.0.0.1        192.0.2.7       443   ECONNREFUSED\n"
		  "1234    cu\"rl\\x1b        6  ::1             2001::9         443   ok\n");
	opts.print_uid = true;
	opts.time_mode = ST_TIME_RELATIVE;
	e[1].h.time_ns += 250000000;
	CHECK_STR(render(&opts, e, 2),
		  "TIME(s)   UID    PID     COMM             IP SADDR           DADDR           DPORT RESULT\n"
		  "0.000     1000   1234    cu\"rl\\x1b        4  10.0.0.1        192.0.2.7       443   ECONNREFUSED\n"
		  "0.250     1000   1234    cu\"rl\\x1b        6  ::1             2001::9         443   ok\n");
}

/* Offsets where the cells of @line start (after runs of spaces) */
static size_t cell_starts(const char *line, size_t *at, size_t max)
{
	size_t n = 0, i;

	for (i = 0; line[i] && line[i] != '\n' && n < max; i++)
		if (line[i] != ' ' && (i == 0 || line[i - 1] == ' '))
			at[n++] = i;
	return n;
}

static void test_column_overflow(void)
{
	struct st_opts opts = {};
	struct inet_event e[3] = { sample(), sample(), sample() };
	size_t head[8], row[8], n, i;
	char *out, *last;

	/* a v4-mapped destination (16 characters), a long escaped COMM, then
	 * a plain IPv4 line, which must be back under the header */
	e[0].family = ST_AF_INET6;
	memset(e[0].saddr, 0, 16);
	memset(e[0].daddr, 0, 16);
	e[0].saddr[15] = 1;
	e[0].daddr[10] = e[0].daddr[11] = 0xff;
	memcpy(e[0].daddr + 12, (__u8[]){ 192, 0, 2, 7 }, 4);
	memset(e[1].h.comm, 0x01, 15);
	out = render(&opts, e, 3);
	CHECK_STR(out,
		  "PID     COMM             IP SADDR           DADDR           DPORT RESULT\n"
		  "1234    cu\"rl\\x1b        6  ::1             ::ffff:192.0.2.7 443  ECONNREFUSED\n"
		  "1234    \\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01 4 10.0.0.1 192.0.2.7 443 ECONNREFUSED\n"
		  "1234    cu\"rl\\x1b        4  10.0.0.1        192.0.2.7       443   ECONNREFUSED\n");
	last = strrchr(out, '\n');
	while (last > out && last[-1] != '\n')
		last--;
	n = cell_starts(out, head, 8);
	CHECK(cell_starts(last, row, 8) == n, "cells %zu", n);
	for (i = 0; i < n; i++)
		CHECK(row[i] == head[i], "cell %zu at %zu, header at %zu", i, row[i], head[i]);
}

/* The overflow is taken up by the next cells' padding, not all at once */
static void test_column_print(void)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	int over = 0;

	st_column_print(f, "abcdef", 3, &over, false);	/* 3 over */
	st_column_print(f, "x", 3, &over, false);	/* takes 2: 1 over */
	st_column_print(f, "y", 3, &over, false);	/* takes the last */
	st_column_print(f, "z", 1, &over, true);	/* at 12, as 3+1+3+1+3+1 */
	CHECK(over == 0, "over %d at the end of a line", over);
	st_column_print(f, "\xc3\xa9", 2, &over, false);	/* one character */
	st_column_print(f, "w", 1, &over, true);
	fclose(f);
	CHECK_STR(buf, "abcdef x y  z\n\xc3\xa9  w\n");
	free(buf);
}

/* FAILURE: what a connect's outcome says of how it failed */
static void test_failure_kind(void)
{
	struct inet_event e = sample();
	const struct { int result; __u8 flags; const char *kind; } t[] = {
		{ 0, ST_EVF_LATENCY, NULL },
		{ ST_RESULT_UNKNOWN, 0, NULL },
		{ ST_RESULT_CLOSED, ST_EVF_LATENCY, "closed" },
		{ ECONNREFUSED, ST_EVF_LATENCY, "refused" },	/* a reset, an ICMP port unreachable */
		{ ETIMEDOUT, ST_EVF_LATENCY, "timeout" },
		{ EHOSTUNREACH, ST_EVF_LATENCY, "unreachable" },	/* ICMP, after the SYN */
		{ EACCES, ST_EVF_LATENCY, "unreachable" },	/* ICMPv6 prohibited */
		{ EHOSTUNREACH, ST_EVF_LOCAL, "local" },	/* an unreachable route */
		{ EINVAL, ST_EVF_LOCAL, "local" },	/* a blackhole route */
	};
	const char *got;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		e.result = t[i].result;
		e.h.flags = t[i].flags;
		got = st_failure_kind(&e);
		CHECK(t[i].kind ? got && !strcmp(got, t[i].kind) : !got,
		      "result %d flags %#x: %s, expected %s", t[i].result, t[i].flags,
		      got ? got : "NULL", t[i].kind ? t[i].kind : "NULL");
	}
}

static void test_json(void)
{
	struct st_opts opts = { .json = true };
	struct inet_event e = sample();

	CHECK_STR(render(&opts, &e, 1),
		  "{\"ts\":\"2023-11-14T22:13:21.500000Z\",\"time_ns\":1500000000,"
		  "\"tool\":\"tcpconnect\",\"event\":\"connect\",\"pid\":1234,\"tid\":1235,"
		  "\"comm\":\"cu\\\"rl\\u001b\",\"uid\":1000,\"netns\":4026531840,"
		  "\"cgroup_id\":null,\"cgroup\":null,\"unit\":null,\"container_runtime\":null,"
		  "\"container_id\":null,\"container_name\":null,\"container_pid\":null,"
		  "\"pod_uid\":null,\"pod_qos\":null,"
		  "\"proto\":\"tcp\",\"ip\":4,\"saddr\":\"10.0.0.1\",\"sport\":51234,"
		  "\"daddr\":\"192.0.2.7\",\"dport\":443,\"result\":\"ECONNREFUSED\","
		  "\"latency_ns\":null,\"syn_retrans\":0,\"failure\":\"refused\"}\n");
	e.result = ST_RESULT_UNKNOWN;
	CHECK(!strstr(render(&opts, &e, 1), "result"), "no result when unknown");
	e.result = ST_RESULT_CLOSED;
	CHECK(strstr(render(&opts, &e, 1), "\"result\":\"closed\""), "closed");
}

/* JSON member @key's text in @json ("null", "12"...), for the checks below */
static const char *member(const char *json, const char *key)
{
	static char val[64];
	char pat[40];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return "(absent)";
	p += strlen(pat);
	n = strcspn(p, ",}");
	snprintf(val, sizeof(val), "%.*s", (int)n, p);
	return val;
}

/* A value the event does not know is null in JSON and "-" in a column */
static void test_unknown(void)
{
	struct st_opts json = { .json = true }, col = {};
	struct inet_event e = sample();
	char *out;

	e.h.type = ST_EV_CLOSE;		/* tcptracer -l: established before the start */
	e.duration_ns = 0;
	e.bytes_sent = 4096;
	out = render(&json, &e, 1);
	CHECK_STR(member(out, "duration_ns"), "null");
	CHECK_STR(member(out, "bytes_sent"), "4096");
	e.h.flags = ST_EVF_DURATION;
	e.duration_ns = 1500000;
	CHECK_STR(member(render(&json, &e, 1), "duration_ns"), "1500000");

	e = sample();			/* tcpaccept, listener not found */
	e.h.type = ST_EV_ACCEPT;
	render_backlog = true;
	out = render(&json, &e, 1);
	CHECK_STR(member(out, "backlog"), "null");
	CHECK_STR(member(out, "backlog_max"), "null");
	e.h.flags = ST_EVF_BACKLOG;
	e.backlog_max = 0;		/* listen(fd, 0): a real limit of 0 */
	CHECK_STR(member(render(&json, &e, 1), "backlog_max"), "0");
	render_backlog = false;
	CHECK_STR(member(render(&json, &e, 1), "backlog"), "(absent)");

	e = sample();			/* a connect that failed before a port was bound */
	e.sport = 0;
	CHECK_STR(member(render(&json, &e, 1), "sport"), "null");
	e.family = 0;			/* and what no real event has */
	e.h.type = 9;
	e.proto = 0;
	out = render(&json, &e, 1);
	CHECK(!strcmp(member(out, "ip"), "null") && !strcmp(member(out, "saddr"), "null") &&
	      !strcmp(member(out, "event"), "null") && !strcmp(member(out, "proto"), "null"),
	      "unknown family, type and protocol: %s", out);
	out = render(&col, &e, 1);
	CHECK(strstr(out, "\n1234    cu\"rl\\x1b        -  -               -               443"),
	      "columns: %s", out);
}

static void test_config(void)
{
	char *cmd[] = { "true", NULL };
	struct st_opts opts = { .npids = 1, .has_uid = true, .uid = 7,
				.nports = 2, .family = ST_AF_INET6, .netns = 99 };
	struct st_config cfg;

	st_config_init(&cfg, &opts);
	CHECK(cfg.filter_pid && !cfg.follow_forks && cfg.filter_uid && cfg.uid == 7 &&
	      cfg.filter_port && cfg.family == ST_AF_INET6 && cfg.netns == 99 &&
	      !cfg.filter_cgroup, "filters on");
	memset(&opts, 0, sizeof(opts));
	st_config_init(&cfg, &opts);
	CHECK(!cfg.filter_pid && !cfg.filter_uid && !cfg.filter_port && !cfg.family &&
	      !cfg.netns, "every filter off by default");
	opts.command = cmd;
	st_config_init(&cfg, &opts);
	CHECK(cfg.filter_pid == ST_PIDS_MAP && cfg.follow_forks, "command mode follows forks");
}

static void test_strerror(void)
{
	CHECK_STR(st_strerror(524), "not supported by this kernel (ENOTSUPP)");
	CHECK_STR(st_strerror(ENOENT), strerror(ENOENT));
	CHECK_STR(st_strerror(EOPNOTSUPP), strerror(EOPNOTSUPP));
}

static void test_config_pids(void)
{
	struct st_opts opts = { .npids = ST_CFG_PIDS };
	struct st_config cfg;
	size_t i;

	for (i = 0; i < ST_CFG_PIDS + 1; i++)
		opts.pids[i] = 100 + i;
	st_config_init(&cfg, &opts);
	CHECK(cfg.filter_pid == ST_PIDS_LIST && cfg.npids == ST_CFG_PIDS &&
	      cfg.pid_list[0] == 100 && cfg.pid_list[ST_CFG_PIDS - 1] == 100 + ST_CFG_PIDS - 1,
	      "a short -p list is kept in place");
	opts.npids = ST_CFG_PIDS + 1;
	st_config_init(&cfg, &opts);
	CHECK(cfg.filter_pid == ST_PIDS_MAP && !cfg.npids, "a longer one goes to the map");
}

#define WL_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* A cgroup (in a tree standing for the cgroup2 mount) and its id */
static __u64 wl_cgroup(const char *top, const char *path)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/cg%s", top, path);
	CHECK(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
	CHECK(stat(p, &st) == 0, "stat %s", p);
	return st.st_ino;
}

/* JSON and WORKLOAD with a workload: a container, a hostile unit name, none */
static void test_workload_output(void)
{
	char top[] = "/tmp/st-unit-wl-XXXXXX", cg[64];
	struct st_workload_config cfg = {};
	struct st_opts opts = { .json = true };
	struct inet_event e[3] = { sample(), sample(), sample() };
	unsigned char name[64];
	char *out, *line, *nl;
	size_t n = 0;
	int found;

	CHECK(mkdtemp(top) != NULL, "mkdtemp");
	snprintf(cg, sizeof(cg), "%s/cg", top);
	cfg.cgroup_root = cg;
	mkdir(cg, 0755);
	wl_cgroup(top, "/libpod_parent");
	e[0].h.cgroup_id = wl_cgroup(top, "/libpod_parent/libpod-" WL_ID);
	e[0].h.ns_pid = 7;
	wl_cgroup(top, "/system.slice");
	e[1].h.cgroup_id = wl_cgroup(top, "/system.slice/ev\x1b[1m\"il\xff.service");
	e[2].h.ns_pid = 9;	/* no container: not said */
	CHECK(st_workloads_open_with(&cfg, &render_workloads) == 0, "workloads open");
	out = render(&opts, e, 3);
	CHECK(strstr(out, "\"cgroup\":\"/libpod_parent/libpod-" WL_ID "\",\"unit\":null,"
		      "\"container_runtime\":\"podman\",\"container_id\":\"" WL_ID "\","
		      "\"container_name\":null,\"container_pid\":7,\"pod_uid\":null,"
		      "\"pod_qos\":null,\"proto\""), "container: %s", out);
	CHECK(strstr(out, "\"cgroup\":\"/system.slice/ev\\u001b[1m\\\"il\\udcff.service\","
		      "\"unit\":\"ev\\u001b[1m\\\"il\\udcff.service\","
		      "\"container_runtime\":null"), "hostile unit: %s", out);
	CHECK(strstr(out, "\"cgroup_id\":null,\"cgroup\":null,\"unit\":null,"
		      "\"container_runtime\":null,\"container_id\":null,"
		      "\"container_name\":null,\"container_pid\":null"), "none: %s", out);
	for (line = out; (nl = strchr(line, '\n')); line = nl + 1)
		CHECK(!jc_line(line, nl + 1 - line, "unit", name, sizeof(name), &n, &found),
		      "valid JSON: %.*s", (int)(nl - line), line);
	CHECK(n == strlen("ev\x1b[1m\"il\xff.service") &&
	      !memcmp(name, "ev\x1b[1m\"il\xff.service", n), "unit's bytes back");
	opts = (struct st_opts){ .print_workload = true };
	CHECK_STR(render(&opts, e, 3),
		  "PID     COMM             WORKLOAD             IP SADDR           DADDR           DPORT RESULT\n"
		  "1234    cu\"rl\\x1b        0123456789ab         4  10.0.0.1        192.0.2.7       443   ECONNREFUSED\n"
		  "1234    cu\"rl\\x1b        ev\\x1b[1m\"il\\xff.service 4 10.0.0.1     192.0.2.7       443   ECONNREFUSED\n"
		  "1234    cu\"rl\\x1b        -                    4  10.0.0.1        192.0.2.7       443   ECONNREFUSED\n");
	st_workloads_close(render_workloads);
	render_workloads = NULL;
	CHECK(system("rm -rf /tmp/st-unit-wl-*") == 0, "rm");
}

/* Losses a tool's user side adds (st_lost_add()) are said once, as the kernel's */
static void test_lost_added(void)
{
	struct st_lost l = {};
	__u64 delta[ST_LOST_MAX], sum;

	st_lost_init(&l, NULL);
	CHECK(!st_lost_check(&l, delta), "nothing lost yet");
	st_lost_add(&l, ST_LOST_STASH, 3);
	CHECK(st_lost_sum(&l, ST_LOST_STASH, &sum) == 0 && sum == 3, "sum %llu",
	      (unsigned long long)sum);
	CHECK(st_lost_check(&l, delta), "3 added: said");
	CHECK(delta[ST_LOST_STASH] == 3 && delta[ST_LOST_EVENTS] == 0, "delta %llu",
	      (unsigned long long)delta[ST_LOST_STASH]);
	CHECK(!st_lost_check(&l, delta) && delta[ST_LOST_STASH] == 0, "said once");
	st_lost_add(&l, ST_LOST_STASH, 2);
	st_lost_add(&l, ST_LOST_MAX, 7);	/* no such counter: ignored */
	CHECK(st_lost_check(&l, delta) && delta[ST_LOST_STASH] == 2, "2 more");
	CHECK(l.said[ST_LOST_STASH] == 5, "said %llu in all", (unsigned long long)l.said[ST_LOST_STASH]);
}

int main(void)
{
	test_addr();
	test_parse();
	test_escape();
	test_addr_all();
	test_cell_u64();
	test_json_string();
	test_json_round_trip();
	test_json_check();
	test_columns();
	test_column_overflow();
	test_column_print();
	test_json();
	test_failure_kind();
	test_workload_output();
	test_unknown();
	test_config();
	test_config_pids();
	test_strerror();
	test_lost_added();
	return unit_report();
}
