// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of --metrics: the address syntax, the buckets, the exposition. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "metrics.h"
#include "unit.h"

static void test_addr(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	static const char *const bad[] = { "", "x", "9x", "70000", "-1", "1.2.3:9", "300.1.1.1:9",
					   "[::1:9", "::1:9", "[zz]:9", "localhost:", ":9 ", NULL };
	socklen_t len;
	char a[INET6_ADDRSTRLEN];
	size_t i;

	CHECK(st_http_parse_addr("9100", &ss, &len) == 0 && ss.ss_family == AF_INET &&
	      ntohs(in4->sin_port) == 9100 && in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      "PORT alone is 127.0.0.1's");
	CHECK(st_http_parse_addr("0.0.0.0:80", &ss, &len) == 0 && in4->sin_addr.s_addr == 0 &&
	      ntohs(in4->sin_port) == 80 && len == sizeof(*in4), "ADDR:PORT");
	CHECK(st_http_parse_addr("localhost:0", &ss, &len) == 0 &&
	      in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && in4->sin_port == 0, "localhost, 0");
	CHECK(st_http_parse_addr("[::1]:9100", &ss, &len) == 0 && ss.ss_family == AF_INET6 &&
	      ntohs(in6->sin6_port) == 9100 && len == sizeof(*in6) &&
	      !strcmp(inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a)), "::1"), "[IPV6]:PORT");
	for (i = 0; bad[i]; i++)
		CHECK(st_http_parse_addr(bad[i], &ss, &len) == -EINVAL, "'%s' refused", bad[i]);
}

static void test_buckets(void)
{
	CHECK(st_metric_bucket(0) == 0 && st_metric_bucket(1) == 0 && st_metric_bucket(1024) == 0,
	      "up to 1024 ns: the first bucket");
	CHECK(st_metric_bucket(1025) == 1 && st_metric_bucket(2048) == 1, "le 2048 ns");
	CHECK(st_metric_bucket(2049) == 2, "le 4096 ns");
	CHECK(st_metric_bucket(1ULL << 41) == 31, "the last: le 2^41 ns");
	CHECK(st_metric_bucket((1ULL << 41) + 1) == ST_METRIC_BUCKETS, "above it: +Inf");
	CHECK(st_metric_bucket(~0ULL) == ST_METRIC_BUCKETS, "the largest: +Inf");
	CHECK(st_metric_bucket(1000000000ULL) == 20, "1 s: le 2^30 ns (1.07 s)");
}

static struct st_metric_entry entry(__u8 type, const char *comm, __u16 port, int result,
				    __u64 count)
{
	struct st_metric_entry e;

	memset(&e, 0, sizeof(e));
	e.k.kind = ST_KIND_INET;
	e.k.proto = IPPROTO_TCP;
	e.k.type = type;
	memcpy(e.k.comm, comm, strnlen(comm, sizeof(e.k.comm)));
	e.k.port = port;
	e.k.result = result;
	e.v.count = count;
	return e;
}

/* The exposition of @e[0..n), in a buffer the caller frees */
static char *expose(struct st_metric_entry *e, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f && st_metrics_write_series(f, e, n, NULL) == 0, "written");
	fclose(f);
	return buf;
}

static void test_series(void)
{
	struct st_metric_entry e[6];
	char *text, *p;

	e[0] = entry(ST_EV_CONNECT, "curl", 443, 0, 2);
	e[1] = entry(ST_EV_CONNECT, "curl", 443, 0, 3);		/* another cgroup, same labels */
	e[1].k.cgroup_id = 77;
	e[2] = entry(ST_EV_CONNECT, "curl", 9, ECONNREFUSED, 1);
	e[3] = entry(ST_EV_ACCEPT, "nginx", 80, 0, 4);
	e[4] = entry(ST_EV_ACCEPT, "idle", 81, 0, 0);		/* the "other" of a quiet map */
	e[5] = entry(ST_EV_CONNECT, "", 0, 0, 6);
	e[5].k.other = 1;
	e[0].v.timed = 2;
	e[0].v.sum_ns = 3000;
	e[0].v.buckets[0] = 1;
	e[0].v.buckets[1] = 1;
	text = expose(e, 6);
	CHECK(strstr(text, "socktrace_tcp_connects_total{workload=\"\",comm=\"curl\",port=\"443\","
			   "result=\"ok\"} 5\n") != NULL, "same labels added up: %s", text);
	CHECK(strstr(text, "result=\"ECONNREFUSED\"} 1\n") != NULL, "errno names");
	CHECK(strstr(text, "socktrace_tcp_accepts_total{workload=\"\",comm=\"nginx\",port=\"80\"} 4\n")
	      != NULL, "accepts: no result label");
	CHECK(strstr(text, "idle") == NULL, "a series never counted is not shown");
	CHECK(strstr(text, "{workload=\"other\",comm=\"other\",port=\"other\",result=\"other\"} 6\n")
	      != NULL, "the other series");
	CHECK(strstr(text, "le=\"1.024e-06\"} 1\n") != NULL &&
	      strstr(text, "le=\"2.048e-06\"") == NULL &&
	      strstr(text, "le=\"4.096e-06\"} 2\n") != NULL &&
	      strstr(text, "le=\"1099.511628\"} 2\n") != NULL &&
	      strstr(text, "le=\"+Inf\"} 2\n") != NULL,
	      "cumulative buckets, every other bound shown: %s", text);
	CHECK(strstr(text, "_sum{workload=\"\",comm=\"curl\",port=\"443\",result=\"ok\"} 0.000003000\n")
	      != NULL, "the sum in seconds");
	p = strstr(text, "# TYPE socktrace_tcp_connects_total counter");
	CHECK(p && p < strstr(text, "socktrace_tcp_connects_total{"), "TYPE before the samples");
	CHECK(strstr(text, "# TYPE socktrace_tcp_connect_latency_seconds histogram") != NULL,
	      "the histogram's TYPE");
	free(text);
}

static void test_hostile(void)
{
	struct st_metric_entry e = entry(ST_EV_CONNECT, "a\"b\\c\n\x1b", 1, 0, 1);
	char *text = expose(&e, 1);

	CHECK(strstr(text, "comm=\"a\\\"b\\\\\\\\c\\\\x0a\\\\x1b\"") != NULL,
	      "quote and backslash escaped for the format after the columns' escaping: %s", text);
	CHECK(strchr(text, '\x1b') == NULL, "no ESC byte");
	free(text);
}

int main(void)
{
	test_addr();
	test_buckets();
	test_series();
	test_hostile();
	return unit_report();
}
