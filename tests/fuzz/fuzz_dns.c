// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: -d's glue around glibc's DNS parser (common/dns.c).
 * The input is a UDP message, then the same bytes cut into TCP reads at
 * places the input's first bytes choose; every address the input names
 * (A and AAAA rdata among the last 64 bytes: fuzzed answers are short) is
 * looked up and printed
 * as a line and as JSON: no control byte, valid JSON, the cache's counts
 * consistent.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dns.h"
#include "json_check.h"
#include "output.h"

static const struct st_column cols[] = { { "DPORT", ST_F_DPORT, 5 } };

static void check_line(const char *buf, size_t len, bool json)
{
	const unsigned char *b = (const unsigned char *)buf;
	unsigned char out[4 * 1025 + 1];
	size_t i, n;
	int found;

	for (i = 0; i < len; i++)
		if ((b[i] < 0x20 || b[i] >= 0x7f) && !(b[i] == '\n' && i == len - 1))
			abort();
	if (json && jc_line(buf, len, "query", out, sizeof(out), &n, &found))
		abort();
}

/* Looks up the 16 bytes at every offset of the input as an address, both families */
static void print_all(struct st_dns *d, const uint8_t *data, size_t size, bool json)
{
	struct st_opts opts = { .dns = true, .json = json };
	struct inet_event e = { .h = { .netns = 1, .time_ns = 1, .kind = ST_KIND_INET,
				       .type = ST_EV_CONNECT },
				.proto = 6, .result = ST_RESULT_UNKNOWN };
	struct st_output o;
	char *buf = NULL;
	size_t len = 0, i;

	st_output_open(&o, &opts, "fuzz", cols, 1);
	o.dns = d;
	/* the rdata sits after a record's header: near the end of small inputs */
	for (i = size > 64 ? size - 64 : 0; i + 4 <= size; i++) {
		e.family = i % 2 ? ST_AF_INET : ST_AF_INET6;
		memset(e.daddr, 0, sizeof(e.daddr));
		memcpy(e.daddr, data + i, size - i < 16 ? size - i : 16);
		o.f = open_memstream(&buf, &len);
		st_output_event(&o, &e, sizeof(e));
		fclose(o.f);
		check_line(buf, len, json);
		free(buf);
		buf = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_event e;
	struct st_dns d;
	size_t off, cut;

	if (size > ST_DNS_MSG_MAX || st_dns_init(&d, 64))
		return 0;
	memset(&e, 0, sizeof(e));
	e.h.kind = ST_KIND_DNS;
	e.h.netns = 1;
	e.proto = 17;
	e.msg_len = e.cap_len = size;
	memcpy(e.msg, data, size);
	st_dns_add(&d, &e, sizeof(e));
	/* the same bytes as a TCP stream, in reads of 1 + data[0] % 7 bytes */
	e.proto = 6;
	e.stream = 1;
	cut = size ? 1 + data[0] % 7 : 1;
	for (off = 0; off < size; off += cut) {
		e.msg_len = e.cap_len = size - off < cut ? size - off : cut;
		memcpy(e.msg, data + off, e.msg_len);
		st_dns_add(&d, &e, sizeof(e));
	}
	if (d.n > d.max || d.stats.addresses < d.n)
		abort();
	print_all(&d, data, size, false);
	print_all(&d, data, size, true);
	st_dns_free(&d);
	return 0;
}
