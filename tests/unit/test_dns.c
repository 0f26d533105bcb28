// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of -d's name cache (common/dns.c) on messages built here. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "dns.h"
#include "output.h"
#include "unit.h"
#include "../fuzz/json_check.h"

#define S	1000000000ULL
#define NETNS	4026531840ULL

/* A DNS message, built one part after another */
struct msg {
	__u8 b[2 * ST_DNS_MSG_MAX];	/* room for one answer longer than kept */
	size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put16(struct msg *m, unsigned int v)
{
	__u8 b[2] = { v >> 8, v & 0xff };

	put(m, b, 2);
}

static void put32(struct msg *m, unsigned int v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* "a.b" as labels, ended by the root */
static void put_name(struct msg *m, const char *name)
{
	const char *dot;
	size_t n;

	for (; *name; name += n + (dot != NULL)) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		m->b[m->len++] = n;
		put(m, name, n);
	}
	m->b[m->len++] = 0;
}

/* A response (rcode @rcode, TC if @tc) to @qname of @an answers */
static void begin(struct msg *m, const char *qname, int an, int rcode, bool tc)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | (tc ? 0x0200 : 0) | rcode);	/* QR RD RA */
	put16(m, 1);
	put16(m, an);
	put32(m, 0);
	put_name(m, qname);
	put16(m, 1);
	put16(m, 1);
}

static void rr_head(struct msg *m, const char *owner, int type, unsigned int ttl)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
}

static void rr_cname(struct msg *m, const char *owner, const char *target)
{
	size_t at;

	rr_head(m, owner, 5, 300);
	at = m->len;
	put16(m, 0);
	put_name(m, target);
	m->b[at] = (m->len - at - 2) >> 8;
	m->b[at + 1] = (m->len - at - 2) & 0xff;
}

static void rr_addr(struct msg *m, const char *owner, const char *addr, unsigned int ttl)
{
	__u8 a[16];
	int v6 = strchr(addr, ':') != NULL;

	inet_pton(v6 ? AF_INET6 : AF_INET, addr, a);
	rr_head(m, owner, v6 ? 28 : 1, ttl);
	put16(m, v6 ? 16 : 4);
	put(m, a, v6 ? 16 : 4);
}

static void add_udp(struct st_dns *d, const struct msg *m, __u64 netns, __u64 t)
{
	static struct dns_event e;

	memset(&e, 0, sizeof(e));
	e.h.kind = ST_KIND_DNS;
	e.h.netns = netns;
	e.h.time_ns = t;
	e.proto = 17;
	e.msg_len = e.cap_len = m->len;
	memcpy(e.msg, m->b, m->len);
	st_dns_add(d, &e, sizeof(e));
}

#define STREAM	0xffff888012345678ULL

/* One read of @len bytes of TCP stream @stream, of which the record holds @cap */
static void add_tcp_on(struct st_dns *d, __u64 stream, const __u8 *b, size_t cap, size_t len,
		       __u64 t)
{
	static struct dns_event e;

	memset(&e, 0, sizeof(e));
	e.h.kind = ST_KIND_DNS;
	e.h.netns = NETNS;
	e.h.time_ns = t;
	e.stream = stream;
	e.sport = 40000;
	e.proto = 6;
	e.cap_len = cap;
	e.msg_len = len;
	memcpy(e.msg, b, cap);
	st_dns_add(d, &e, sizeof(e));
}

/* The same on the one stream most tests use */
static void add_tcp_cut(struct st_dns *d, const __u8 *b, size_t cap, size_t len, __u64 t)
{
	add_tcp_on(d, STREAM, b, cap, len, t);
}

/* @len bytes of a TCP stream as one read returned them */
static void add_tcp(struct st_dns *d, const __u8 *b, size_t len, __u64 t)
{
	add_tcp_cut(d, b, len, len, t);
}

static const struct st_dns_name *lookup(struct st_dns *d, __u64 netns, const char *addr,
					__u64 t)
{
	__u8 a[16] = {};
	int v6 = strchr(addr, ':') != NULL;

	inet_pton(v6 ? AF_INET6 : AF_INET, addr, a);
	return st_dns_lookup(d, netns, v6 ? ST_AF_INET6 : ST_AF_INET, a, t);
}

static const char *query_of(struct st_dns *d, __u64 netns, const char *addr, __u64 t)
{
	const struct st_dns_name *n = lookup(d, netns, addr, t);

	return n ? n->query : "-";
}

static void test_chain(void)
{
	const struct st_dns_name *n;
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 16);
	begin(&m, "alias.test", 4, 0, false);
	rr_cname(&m, "alias.test", "b.test");
	rr_cname(&m, "B.test", "web.test");	/* names compare without case */
	rr_addr(&m, "web.test", "192.0.2.5", 60);
	rr_addr(&m, "web.test", "2001:db8::5", 60);
	add_udp(&d, &m, NETNS, 10 * S);
	n = lookup(&d, NETNS, "192.0.2.5", 11 * S);
	CHECK(n != NULL, "192.0.2.5 named");
	if (n) {
		CHECK_STR(n->query, "alias.test");
		CHECK(n->ncnames == 2, "%zu cnames", n->ncnames);
		CHECK_STR(n->cnames, "b.test");
		CHECK_STR(n->cnames + strlen(n->cnames) + 1, "web.test");
	}
	CHECK_STR(query_of(&d, NETNS, "2001:db8::5", 11 * S), "alias.test");
	/* a v4-mapped destination is the A record's address */
	CHECK_STR(query_of(&d, NETNS, "::ffff:192.0.2.5", 11 * S), "alias.test");
	/* another network namespace did not resolve it */
	CHECK_STR(query_of(&d, NETNS + 1, "192.0.2.5", 11 * S), "-");
	CHECK(d.stats.answers == 1 && d.stats.addresses == 2, "%llu answers, %llu addresses",
	      d.stats.answers, d.stats.addresses);
	st_dns_free(&d);
}

/* A chain of @n CNAMEs c0.test -> c1.test ... -> web.test (192.0.2.7) */
static void long_chain(struct msg *m, int n)
{
	char from[32], to[32];
	int i;

	begin(m, "c0.test", n + 1, 0, false);
	for (i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "c%d.test", i);
		snprintf(to, sizeof(to), i == n - 1 ? "web.test" : "c%d.test", i + 1);
		rr_cname(m, from, to);
	}
	rr_addr(m, "web.test", "192.0.2.7", 60);
}

/* Past ST_DNS_CHAIN_MAX CNAMEs the chain is cut: counted, said once, and
 * the address of the name past the cut not cached; a loop is no cut */
static void test_chain_cut(void)
{
	const struct st_dns_name *n;
	struct st_dns_lost lost;
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 16);
	long_chain(&m, ST_DNS_CHAIN_MAX);		/* exactly as long as it holds */
	add_udp(&d, &m, NETNS, S);
	n = lookup(&d, NETNS, "192.0.2.7", 2 * S);
	CHECK(n && n->ncnames == ST_DNS_CHAIN_MAX, "a chain of %d named", ST_DNS_CHAIN_MAX);
	CHECK(d.stats.chains_cut == 0, "%llu cut", d.stats.chains_cut);
	st_dns_free(&d);

	st_dns_init(&d, 16);
	long_chain(&m, ST_DNS_CHAIN_MAX + 1);
	add_udp(&d, &m, NETNS, S);
	add_udp(&d, &m, NETNS, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.7", 2 * S), "-");
	CHECK(d.stats.answers == 2 && d.stats.chains_cut == 2, "%llu answers, %llu cut",
	      d.stats.answers, d.stats.chains_cut);
	lost = st_dns_check(&d);
	CHECK(lost.n[ST_DNS_CUT] == 2 && lost.n[ST_DNS_FORGOTTEN] == 0,
	      "said: %llu cut, %llu forgotten", lost.n[ST_DNS_CUT], lost.n[ST_DNS_FORGOTTEN]);
	CHECK(st_dns_check(&d).n[ST_DNS_CUT] == 0, "and not again");

	begin(&m, "loop.test", 3, 0, false);	/* loop.test -> b.test -> loop.test */
	rr_cname(&m, "loop.test", "b.test");
	rr_cname(&m, "b.test", "loop.test");
	rr_addr(&m, "b.test", "192.0.2.8", 60);
	add_udp(&d, &m, NETNS, S);
	n = lookup(&d, NETNS, "192.0.2.8", 2 * S);
	CHECK(n && n->ncnames == 1, "the loop ends where it comes back");
	CHECK(d.stats.chains_cut == 2, "a loop is not a cut: %llu", d.stats.chains_cut);
	st_dns_free(&d);
}

static void test_ttl(void)
{
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 16);
	begin(&m, "short.test", 2, 0, false);
	rr_addr(&m, "short.test", "192.0.2.6", 5);
	rr_addr(&m, "short.test", "192.0.2.7", 0);
	add_udp(&d, &m, NETNS, 10 * S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.6", 14 * S), "short.test");
	CHECK_STR(query_of(&d, NETNS, "192.0.2.6", 15 * S), "-");
	/* a TTL of 0 still names the connect that follows the answer */
	CHECK_STR(query_of(&d, NETNS, "192.0.2.7", 10 * S + S / 2), "short.test");
	CHECK_STR(query_of(&d, NETNS, "192.0.2.7", 11 * S), "-");
	/* the latest answer wins */
	begin(&m, "other.test", 1, 0, false);
	rr_addr(&m, "other.test", "192.0.2.6", 5);
	add_udp(&d, &m, NETNS, 20 * S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.6", 21 * S), "other.test");
	st_dns_free(&d);
}

static void test_lru(void)
{
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 2);
	begin(&m, "a.test", 3, 0, false);
	rr_addr(&m, "a.test", "192.0.2.1", 60);
	rr_addr(&m, "a.test", "192.0.2.2", 60);
	rr_addr(&m, "a.test", "192.0.2.3", 60);
	add_udp(&d, &m, NETNS, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.1", 2 * S), "-");
	CHECK_STR(query_of(&d, NETNS, "192.0.2.3", 2 * S), "a.test");
	CHECK(d.stats.evicted == 1 && d.n == 2, "%llu evicted, %zu held", d.stats.evicted, d.n);
	CHECK(st_dns_check(&d).n[ST_DNS_FORGOTTEN] == 1, "the eviction is said once");
	CHECK(st_dns_check(&d).n[ST_DNS_FORGOTTEN] == 0, "and not again");
	st_dns_free(&d);
}

static void test_skipped(void)
{
	static const __u8 loop[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		0xc0, 12,			/* the question's name points at itself */
		0, 1, 0, 1,
	};
	struct dns_event e = {};
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 16);
	begin(&m, "nx.test", 0, 3, false);	/* NXDOMAIN */
	add_udp(&d, &m, NETNS, S);
	begin(&m, "big.test", 1, 0, true);	/* TC: asked again over TCP */
	rr_addr(&m, "big.test", "192.0.2.9", 60);
	add_udp(&d, &m, NETNS, S);
	memcpy(m.b, loop, sizeof(loop));
	m.len = sizeof(loop);
	add_udp(&d, &m, NETNS, S);
	begin(&m, "x.test", 1, 0, false);	/* a label of 64: not a length */
	m.b[m.len++] = 64;
	add_udp(&d, &m, NETNS, S);
	begin(&m, "cut.test", 1, 0, false);	/* the record ends early */
	rr_addr(&m, "cut.test", "192.0.2.10", 60);
	m.len -= 2;
	add_udp(&d, &m, NETNS, S);
	e.proto = 17;				/* not all captured */
	e.msg_len = 1500;
	e.cap_len = ST_DNS_MSG_MAX;
	st_dns_add(&d, &e, sizeof(e));
	CHECK(d.stats.answers == 1, "%llu answers", d.stats.answers);
	CHECK(d.stats.truncated == 2, "%llu truncated", d.stats.truncated);
	CHECK(d.stats.malformed == 3, "%llu malformed", d.stats.malformed);
	CHECK(d.n == 0, "%zu held", d.n);
	/* lost: the 3 malformed and the one not all captured; not the TC one,
	 * whose client asks again over TCP */
	CHECK(st_dns_check(&d).n[ST_DNS_SKIPPED] == 4, "4 answers said not read");
	CHECK(st_dns_check(&d).n[ST_DNS_SKIPPED] == 0, "and not again");
	st_dns_free(&d);
}

/* A hostile name comes out as dn_expand() prints it: no control byte left */
static void test_hostile(void)
{
	struct st_dns d;
	struct msg m;
	size_t at;

	st_dns_init(&d, 16);
	begin(&m, "x.test", 1, 0, false);
	at = m.len;
	rr_addr(&m, "x.test", "192.0.2.11", 60);
	/* the question's first label becomes ESC [ 3 1 m " \ . */
	m.len = 12;
	m.b[m.len++] = 9;
	put(&m, "\x1b[31m\"\\.\n", 9);
	put_name(&m, "test");
	put16(&m, 1);
	put16(&m, 1);
	at = m.len;
	rr_head(&m, "", 1, 60);
	m.len = at;
	m.b[m.len++] = 0xc0;		/* the record's owner: the question's name */
	m.b[m.len++] = 12;
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 4);
	put(&m, "\xc0\x00\x02\x0b", 4);
	add_udp(&d, &m, NETNS, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.11", S), "\\027[31m\\\"\\\\\\.\\010.test");
	st_dns_free(&d);
}

static void test_tcp(void)
{
	__u8 s[2 * (2 + ST_DNS_MSG_MAX)];
	struct st_dns d;
	struct msg m;
	size_t n = 0;

	st_dns_init(&d, 16);
	begin(&m, "tcp.test", 1, 0, false);
	rr_addr(&m, "tcp.test", "192.0.2.20", 60);
	s[0] = m.len >> 8;
	s[1] = m.len & 0xff;
	memcpy(s + 2, m.b, m.len);
	n = 2 + m.len;
	/* glibc reads the length, then the message */
	add_tcp(&d, s, 2, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.20", S), "-");
	add_tcp(&d, s + 2, m.len, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.20", S), "tcp.test");
	/* two messages and the first byte of a third's length in one read */
	begin(&m, "tcp2.test", 1, 0, false);
	rr_addr(&m, "tcp2.test", "192.0.2.21", 60);
	s[n] = m.len >> 8;
	s[n + 1] = m.len & 0xff;
	memcpy(s + n + 2, m.b, m.len);
	s[n + 2 + m.len] = 0xff;
	add_tcp(&d, s, n + 2 + m.len + 1, 2 * S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.21", 2 * S), "tcp2.test");
	CHECK(d.stats.answers == 3, "%llu answers", d.stats.answers);
	/* the third's length ends 65535, longer than we keep: counted once,
	 * and its bytes skipped */
	s[0] = 0xff;
	add_tcp(&d, s, 1, 3 * S);
	add_tcp(&d, s, n, 3 * S);
	CHECK(d.stats.truncated == 1, "%llu truncated", d.stats.truncated);
	st_dns_free(&d);
}

/* A TCP stream of two answers: the first is longer than a record holds */
static size_t two_answers(__u8 *s, size_t first_addrs)
{
	struct msg m;
	size_t i, n;

	begin(&m, "big.test", first_addrs, 0, false);
	for (i = 0; i < first_addrs; i++) {
		char a[16];

		snprintf(a, sizeof(a), "192.0.2.%zu", 100 + i);
		rr_addr(&m, "big.test", a, 60);
	}
	s[0] = m.len >> 8;
	s[1] = m.len & 0xff;
	memcpy(s + 2, m.b, m.len);
	n = 2 + m.len;
	begin(&m, "after.test", 1, 0, false);
	rr_addr(&m, "after.test", "192.0.2.30", 60);
	s[n] = m.len >> 8;
	s[n + 1] = m.len & 0xff;
	memcpy(s + n + 2, m.b, m.len);
	return n;
}

/*
 * A read longer than its record: the answer it cuts is counted as
 * truncated, and the next one on the stream still read (issue 19: answers
 * after a cut were ignored, uncounted). A cut that takes a length with it
 * loses the stream's place: its later reads are counted, said once.
 */
static void test_tcp_cut(void)
{
	static __u8 s[4 * ST_DNS_MSG_MAX];
	struct st_dns_lost lost;
	struct st_dns d;
	size_t first;

	st_dns_init(&d, 256);
	first = two_answers(s, 60);	/* 60 A records: over 1232 bytes */
	CHECK(first > 2 + ST_DNS_MSG_MAX, "test error: first answer only %zu bytes", first);
	/* the first read cut inside the first answer, the second whole */
	add_tcp_cut(&d, s, ST_DNS_MSG_MAX, first, S);
	add_tcp(&d, s + first, 2 + (s[first] << 8 | s[first + 1]), S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.30", S), "after.test");
	CHECK_STR(query_of(&d, NETNS, "192.0.2.100", S), "-");
	CHECK(d.stats.truncated == 1 && d.stats.unsynced == 0, "%llu truncated, %llu unsynced",
	      d.stats.truncated, d.stats.unsynced);
	st_dns_free(&d);

	/* both answers in one read of which the record holds the first 1232
	 * bytes: the second's length is lost */
	st_dns_init(&d, 256);
	add_tcp_cut(&d, s, ST_DNS_MSG_MAX, first + 40, S);
	add_tcp(&d, s + first, 40, S);
	add_tcp(&d, s, 10, S);
	/* both answers skipped, and the two reads after */
	CHECK(d.stats.truncated == 2 && d.stats.unsynced == 2, "%llu truncated, %llu unsynced",
	      d.stats.truncated, d.stats.unsynced);
	lost = st_dns_check(&d);
	CHECK(lost.n[ST_DNS_UNSYNCED] == 2, "said: %llu reads", lost.n[ST_DNS_UNSYNCED]);
	CHECK(st_dns_check(&d).n[ST_DNS_UNSYNCED] == 0, "and not again");
	/* a read whose length is not known (16 bits at their top) */
	d.streams[0].broken = false;
	add_tcp_cut(&d, s, 10, 0xffff, S);
	CHECK(d.streams[0].broken, "a read of unknown length should lose the stream's place");
	st_dns_free(&d);
}

/* The answer for stream @i of test_streams(), its length first: its bytes */
static size_t stream_answer(__u8 *s, int i)
{
	char name[32], addr[32];
	struct msg m;

	snprintf(name, sizeof(name), "s%d.test", i);
	snprintf(addr, sizeof(addr), "192.0.2.%d", 50 + i);
	begin(&m, name, 1, 0, false);
	rr_addr(&m, name, addr, 60);
	s[0] = m.len >> 8;
	s[1] = m.len & 0xff;
	memcpy(s + 2, m.b, m.len);
	return 2 + m.len;
}

/*
 * ST_DNS_STREAMS + 1 TCP connections, each partway through an answer: the
 * last one read takes the place of the least recently read (stream 1, as
 * stream 0 was read again), whose answer is counted as truncated, once;
 * the other 16 still complete theirs (issue 19).
 */
static void test_streams(void)
{
	static __u8 s[ST_DNS_STREAMS + 1][2 + ST_DNS_MSG_MAX];
	size_t len[ST_DNS_STREAMS + 1];
	const int part = 12;	/* the length and some of the header */
	char addr[32], name[32];
	struct st_dns d;
	int i;

	st_dns_init(&d, 64);
	for (i = 0; i < ST_DNS_STREAMS; i++) {
		len[i] = stream_answer(s[i], i);
		add_tcp_on(&d, STREAM + i, s[i], part, part, (i + 1) * S);
	}
	add_tcp_on(&d, STREAM, s[0] + part, 1, 1, 20 * S);
	CHECK(d.stats.truncated == 0, "%llu truncated before a 17th stream", d.stats.truncated);
	len[i] = stream_answer(s[i], i);
	add_tcp_on(&d, STREAM + i, s[i], part, part, 21 * S);
	CHECK(d.stats.truncated == 1, "%llu truncated: one stream dropped", d.stats.truncated);
	add_tcp_on(&d, STREAM, s[0] + part + 1, len[0] - part - 1, len[0] - part - 1, 22 * S);
	for (i = 2; i <= ST_DNS_STREAMS; i++)
		add_tcp_on(&d, STREAM + i, s[i] + part, len[i] - part, len[i] - part, 22 * S);
	for (i = 0; i <= ST_DNS_STREAMS; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", 50 + i);
		snprintf(name, sizeof(name), "s%d.test", i);
		CHECK_STR(query_of(&d, NETNS, addr, 22 * S), i == 1 ? "-" : name);
	}
	CHECK(d.stats.answers == ST_DNS_STREAMS && d.stats.truncated == 1 &&
	      d.stats.unsynced == 0 && d.stats.malformed == 0,
	      "%llu answers, %llu truncated, %llu unsynced, %llu malformed", d.stats.answers,
	      d.stats.truncated, d.stats.unsynced, d.stats.malformed);
	st_dns_free(&d);
}

/* -Wl,--wrap=malloc (Makefile): fails the next @fail_mallocs calls */
static int fail_mallocs;
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

void *__wrap_malloc(size_t size)
{
	if (fail_mallocs > 0) {
		fail_mallocs--;
		return NULL;
	}
	return __real_malloc(size);
}

/* No memory for an entry: the name is not shown, counted and said once */
static void test_nomem(void)
{
	struct st_dns d;
	struct msg m;

	st_dns_init(&d, 16);
	begin(&m, "nomem.test", 1, 0, false);
	rr_addr(&m, "nomem.test", "192.0.2.40", 60);
	fail_mallocs = 1;
	add_udp(&d, &m, NETNS, S);
	fail_mallocs = 0;
	CHECK_STR(query_of(&d, NETNS, "192.0.2.40", S), "-");
	CHECK(st_dns_check(&d).n[ST_DNS_NOMEM] == 1, "one name not cached, said");
	CHECK(st_dns_check(&d).n[ST_DNS_NOMEM] == 0, "and not again");
	add_udp(&d, &m, NETNS, S);
	CHECK_STR(query_of(&d, NETNS, "192.0.2.40", S), "nomem.test");
	CHECK(!strcmp(st_dns_loss_reason(ST_DNS_NOMEM), "dns_no_memory") &&
	      !strcmp(st_dns_loss_reason(ST_DNS_UNSYNCED), "dns_stream_lost"), "reasons");
	st_dns_free(&d);
}

/* Every line valid, and its "query" decoded back to what dn_expand() printed */
static void check_json_lines(const char *buf)
{
	const char *line, *nl;
	unsigned char out[64];
	size_t n;
	int found;

	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		CHECK(!jc_line(line, nl + 1 - line, "query", out, sizeof(out), &n, &found),
		      "valid: %.*s", (int)(nl - line), line);
		CHECK(found == 2 || (found == 1 && n == 10 && !memcmp(out, "q\\001.test", 10)),
		      "query of %.*s", (int)(nl - line), line);
	}
}

/* QUERY ends a line, "query" and "cnames" end a JSON one */
static void test_output(void)
{
	struct inet_event e = {
		.h = { .time_ns = 2 * S, .netns = NETNS, .pid = 7, .kind = ST_KIND_INET,
		       .type = ST_EV_CONNECT, .comm = "curl" },
		.dport = 80, .family = ST_AF_INET, .proto = 6, .result = ST_RESULT_UNKNOWN,
	};
	const struct st_column cols[] = { { "PID", ST_F_PID, 7 }, { "DPORT", ST_F_DPORT, 5 } };
	struct st_opts opts = { .dns = true };
	struct st_output o;
	struct st_dns d;
	struct msg m;
	char *buf = NULL;
	size_t len;

	st_dns_init(&d, 16);
	begin(&m, "q\x01.test", 2, 0, false);
	rr_cname(&m, "q\x01.test", "web.test");
	rr_addr(&m, "web.test", "192.0.2.30", 60);
	add_udp(&d, &m, NETNS, S);
	inet_pton(AF_INET, "192.0.2.30", e.daddr);
	st_output_open(&o, &opts, "tcpconnect", cols, 2);
	o.dns = &d;
	o.f = open_memstream(&buf, &len);
	st_output_header(&o);
	st_output_event(&o, &e, sizeof(e));
	fclose(o.f);
	CHECK_STR(buf, "PID     DPORT QUERY\n7       80    q\\001.test\n");
	free(buf);
	opts.json = true;
	st_output_open(&o, &opts, "tcpconnect", cols, 2);
	o.dns = &d;
	o.f = open_memstream(&buf, &len);
	st_output_event(&o, &e, sizeof(e));
	e.daddr[3]++;			/* an address nobody resolved */
	st_output_event(&o, &e, sizeof(e));
	fclose(o.f);
	CHECK(strstr(buf, "\"query\":\"q\\\\001.test\",\"cnames\":[\"web.test\"]}\n") != NULL,
	      "%s", buf);
	CHECK(strstr(buf, "\"query\":null,\"cnames\":[]}\n") != NULL, "%s", buf);
	check_json_lines(buf);
	free(buf);
	st_dns_free(&d);
}

int main(void)
{
	test_chain();
	test_chain_cut();
	test_ttl();
	test_lru();
	test_skipped();
	test_hostile();
	test_tcp();
	test_tcp_cut();
	test_streams();
	test_nomem();
	test_output();
	return unit_report();
}
