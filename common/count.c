// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "count.h"
#include "log.h"

/*
 * A group's key: its cgroup id, what a unix socket's name is (below), then
 * each column's text and its NUL
 */
#define KEY_HEAD (sizeof(__u64) + sizeof(__u16) + 1)
#define KEY_MAX (KEY_HEAD + ST_MAX_COLUMNS * ST_CELL_LEN)

struct row {
	__u64 n;
	size_t keylen;
	char *key;
	void *event;		/* the group's first event: the JSON row's fields */
};

/* collect()'s closure: the rows in an array */
struct table {
	struct row **rows;
	size_t n;
};

static char key_buf[KEY_MAX];
static char cell_buf[ST_CELL_LEN];	/* a cell made when the table is printed */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void st_count_init(struct st_counts *c, unsigned interval_s)
{
	memset(c, 0, sizeof(*c));
	c->max_rows = ST_COUNT_MAX_ROWS;
	c->interval_ns = interval_s * 1000000000ULL;
	c->due_ns = now_ns() + c->interval_ns;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return memcmp(x->key, y->key, x->keylen);
}

/*
 * PATH's text cannot tell an unnamed socket from a file named "(unnamed)",
 * nor an abstract name from a file whose name starts with "@": the key
 * carries the name's length and its first byte (0: abstract) too.
 */
static void unix_name(const struct st_event_head *h, char *key)
{
	const struct unix_event *u = (const void *)h;

	memset(key, 0, sizeof(__u16) + 1);
	if (h->kind != ST_KIND_UNIX)
		return;
	memcpy(key, &u->path_len, sizeof(__u16));
	key[sizeof(__u16)] = u->path_len ? u->path[0] : 0;
}

static size_t make_key(struct st_output *out, const void *e, char *key)
{
	const struct st_event_head *h = e;
	size_t n = KEY_HEAD, i;

	memcpy(key, &h->cgroup_id, sizeof(h->cgroup_id));
	unix_name(h, key + sizeof(h->cgroup_id));
	for (i = 0; i < out->ncols; i++) {
		/* the cgroup id says the workload; its name may come later
		 * (text_of() shows it as it is when the table is printed) */
		if (out->cols[i].field == ST_F_WORKLOAD)
			key[n] = '\0';
		else
			st_output_cell(out, e, i, key + n);
		n += strlen(key + n) + 1;
	}
	return n;
}

static void free_row(void *p)
{
	struct row *r = p;

	free(r->key);
	free(r->event);
	free(r);
}

static struct row *new_row(const struct row *like, const void *e, size_t size)
{
	struct row *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->keylen = like->keylen;
	r->key = malloc(like->keylen);
	r->event = malloc(size);
	if (!r->key || !r->event) {
		free_row(r);
		return NULL;
	}
	memcpy(r->key, like->key, like->keylen);
	memcpy(r->event, e, size);
	return r;
}

int st_count_add(struct st_counts *c, struct st_output *out, const void *data, size_t size)
{
	struct row key = { .key = key_buf }, **slot, *r;
	size_t kind_size = st_output_valid(data, size);

	if (!kind_size)
		return -EINVAL;
	key.keylen = make_key(out, data, key_buf);
	slot = tfind(&key, &c->root, row_cmp);
	if (slot) {
		(*slot)->n++;
		return 0;
	}
	if (c->nrows >= c->max_rows) {
		c->dropped++;	/* said with the table */
		return 0;
	}
	r = new_row(&key, data, kind_size);
	if (!r || !tsearch(r, &c->root, row_cmp)) {
		if (r)
			free_row(r);
		c->no_memory++;	/* said with the table */
		return 0;
	}
	r->n = 1;
	c->nrows++;
	return 0;
}

static void collect(const void *node, VISIT which, void *closure)
{
	struct table *t = closure;

	if (which == postorder || which == leaf)
		t->rows[t->n++] = *(struct row *const *)node;
}

static int by_count(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return row_cmp(x, y);
}

/* Column @i's text in a row's key */
static const char *cell_of(const struct row *r, size_t i)
{
	const char *s = r->key + KEY_HEAD;

	for (; i; i--)
		s += strlen(s) + 1;
	return s;
}

/* Column @k's text in row @r (@buf: ST_CELL_LEN bytes): the count in
 * ST_F_COUNT's, the workload as it is known now in ST_F_WORKLOAD's */
static const char *text_of(struct st_output *out, const struct row *r, size_t k, char *buf)
{
	if (out->cols[k].field == ST_F_WORKLOAD) {
		st_output_cell(out, r->event, k, buf);
		return buf;
	}
	if (out->cols[k].field != ST_F_COUNT)
		return cell_of(r, k);
	snprintf(buf, ST_CELL_LEN, "%llu", (unsigned long long)r->n);
	return buf;
}

/* Widths first: a table, not a stream */
static void widths(struct st_output *out, const struct table *t, int *w)
{
	size_t i, k;
	int len;

	for (k = 0; k < out->ncols; k++)
		w[k] = out->cols[k].width;
	for (i = 0; i < t->n; i++) {
		for (k = 0; k < out->ncols; k++) {
			len = st_text_width(text_of(out, t->rows[i], k, cell_buf));
			w[k] = len > w[k] ? len : w[k];
		}
	}
}

static void print_text(struct st_counts *c, struct st_output *out, const struct table *t)
{
	int w[ST_MAX_COLUMNS], over = 0;
	size_t i, k;
	bool last;

	widths(out, t, w);
	if (c->printed)
		fputc('\n', out->f);	/* -i: one table after the other */
	for (k = 0; k < out->ncols; k++)
		st_column_print(out->f, out->cols[k].header, w[k], &over, k + 1 == out->ncols);
	for (i = 0; i < t->n; i++) {
		for (k = 0; k < out->ncols; k++) {
			last = k + 1 == out->ncols;
			st_column_print(out->f, text_of(out, t->rows[i], k, cell_buf), w[k],
					&over, last);
		}
	}
}

/*
 * What this table did not count: on stderr, and with -j a lost line after
 * its rows, so that a JSON reader sees its totals are short
 */
static void say_lost(const struct st_counts *c, struct st_output *out)
{
	if (c->dropped)
		st_err("%llu events not counted: more than %zu groups in one table",
		       c->dropped, c->max_rows);
	if (c->no_memory)
		st_err("%llu events not counted: %s", c->no_memory, st_strerror(ENOMEM));
	if (!out->json)
		return;
	if (c->dropped)
		st_output_lost_one(out, "count_table_full", c->dropped);
	if (c->no_memory)
		st_output_lost_one(out, "count_no_memory", c->no_memory);
}

void st_count_print(struct st_counts *c, struct st_output *out, bool force)
{
	struct table t = {};
	__u64 now = now_ns();
	size_t i;

	if (!force && (!c->interval_ns || now < c->due_ns))
		return;		/* every loop pass asks */
	c->due_ns = now + c->interval_ns;
	t.rows = calloc(c->nrows ? c->nrows : 1, sizeof(*t.rows));
	if (!t.rows) {
		st_err("failed to print the counts: %s", st_strerror(ENOMEM));
		return;		/* counted on, the next table has them */
	}
	twalk_r(c->root, collect, &t);
	qsort(t.rows, t.n, sizeof(*t.rows), by_count);
	if (out->json)
		for (i = 0; i < t.n; i++)
			st_output_count_json(out, t.rows[i]->event, cell_of(t.rows[i], 0), now,
					     t.rows[i]->n);
	else
		print_text(c, out, &t);
	c->printed = true;
	say_lost(c, out);
	free(t.rows);
	st_count_free(c);
}

void st_count_free(struct st_counts *c)
{
	tdestroy(c->root, free_row);
	c->root = NULL;
	c->nrows = 0;
	c->dropped = 0;
	c->no_memory = 0;
}
