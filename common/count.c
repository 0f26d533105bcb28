// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "count.h"
#include "log.h"

struct count {
	__u8 family;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 dport;
	__u64 n;
};

/* collect()'s closure: the rows in an array */
struct table {
	struct count **rows;
	size_t n;
};

static int count_cmp(const void *a, const void *b)
{
	return memcmp(a, b, offsetof(struct count, n));
}

int st_count_add(struct st_counts *c, const struct inet_event *e)
{
	struct count key = { .family = e->family, .dport = e->dport }, **slot, *row;

	memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	slot = tfind(&key, &c->root, count_cmp);
	if (slot) {
		(*slot)->n++;
		return 0;
	}
	row = malloc(sizeof(*row));
	if (row) {
		*row = key;
		row->n = 1;
	}
	if (!row || !tsearch(row, &c->root, count_cmp)) {
		free(row);
		st_err("failed to count a connect: %s", st_strerror(ENOMEM));
		return -ENOMEM;
	}
	c->nrows++;
	return 0;
}

static void collect(const void *node, VISIT which, void *closure)
{
	struct table *t = closure;

	if (which == postorder || which == leaf)
		t->rows[t->n++] = *(struct count *const *)node;
}

static int by_count(const void *a, const void *b)
{
	const struct count *x = *(struct count *const *)a, *y = *(struct count *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return count_cmp(x, y);
}

static void print_row(struct st_output *out, const struct count *r, const int *w,
		      __u64 now, const char *event)
{
	char sa[ST_ADDR_STRLEN], da[ST_ADDR_STRLEN], port[8], n[24];
	struct st_json j;
	int over = 0;

	st_addr_format(r->family, r->saddr, sa, sizeof(sa));
	st_addr_format(r->family, r->daddr, da, sizeof(da));
	if (out->json) {
		st_output_json_begin(out, &j, now, event);
		st_json_uint(&j, "ip", r->family == ST_AF_INET6 ? 6 : 4);
		st_json_str(&j, "saddr", sa);
		st_json_str(&j, "daddr", da);
		st_json_uint(&j, "dport", r->dport);
		st_json_uint(&j, "count", r->n);
		st_json_end(&j);
		return;
	}
	snprintf(port, sizeof(port), "%u", r->dport);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)r->n);
	st_column_print(out->f, sa, w[0], &over, false);
	st_column_print(out->f, da, w[1], &over, false);
	st_column_print(out->f, port, w[2], &over, false);
	st_column_print(out->f, n, w[3], &over, true);
}

/* Widths first: a table, not a stream */
static void widths(const struct table *t, int *w)
{
	char a[ST_ADDR_STRLEN];
	size_t i;
	int len;

	for (i = 0; i < t->n; i++) {
		len = strlen(st_addr_format(t->rows[i]->family, t->rows[i]->saddr, a, sizeof(a)));
		w[0] = len > w[0] ? len : w[0];
		len = strlen(st_addr_format(t->rows[i]->family, t->rows[i]->daddr, a, sizeof(a)));
		w[1] = len > w[1] ? len : w[1];
	}
}

void st_count_print(struct st_counts *c, struct st_output *out, const char *event)
{
	struct table t = { .rows = calloc(c->nrows ? c->nrows : 1, sizeof(*t.rows)) };
	int w[4] = { 15, 15, 5, 8 }, over = 0;
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t.rows)
		twalk_r(c->root, collect, &t);
	else
		st_err("failed to print the counts: %s", st_strerror(ENOMEM));
	qsort(t.rows, t.n, sizeof(*t.rows), by_count);
	widths(&t, w);
	if (!out->json) {
		st_column_print(out->f, "LADDR", w[0], &over, false);
		st_column_print(out->f, "RADDR", w[1], &over, false);
		st_column_print(out->f, "RPORT", w[2], &over, false);
		st_column_print(out->f, "CONNECTS", w[3], &over, true);
	}
	for (i = 0; i < t.n; i++)
		print_row(out, t.rows[i], w, now.tv_sec * 1000000000ULL + now.tv_nsec, event);
	tdestroy(c->root, free);
	c->root = NULL;
	c->nrows = 0;
	free(t.rows);
}
