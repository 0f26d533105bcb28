// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* common/idset.c: a sorted set of ids, bounded */
#include <errno.h>
#include "idset.h"
#include "unit.h"

static bool sorted(const struct st_idset *s)
{
	size_t i;

	for (i = 1; i < s->n; i++)
		if (s->ids[i - 1] >= s->ids[i])
			return false;
	return true;
}

static void test_add_del(void)
{
	struct st_idset s = {};
	__u64 i;

	/* out of order, past the first growth (64) */
	for (i = 0; i < 200; i++)
		CHECK(st_idset_add(&s, (i * 7919) % 211) == 1, "add %llu", (unsigned long long)i);
	CHECK(s.n == 200 && sorted(&s), "200 ids, ascending: %zu", s.n);
	CHECK(st_idset_add(&s, 7919 % 211) == 0, "an id already there is not added again");
	CHECK(s.n == 200, "still 200: %zu", s.n);
	CHECK(st_idset_has(&s, 0) && st_idset_has(&s, (199 * 7919) % 211), "has what was added");
	st_idset_del(&s, 0);
	st_idset_del(&s, 0);		/* not there: nothing */
	CHECK(!st_idset_has(&s, 0) && s.n == 199 && sorted(&s), "deleted once: %zu", s.n);
	st_idset_free(&s);
	CHECK(s.n == 0 && !s.ids && !st_idset_has(&s, 1), "empty after free");
}

static void test_max(void)
{
	struct st_idset s = { .max = 3 };

	CHECK(st_idset_add(&s, 30) == 1 && st_idset_add(&s, 10) == 1 &&
	      st_idset_add(&s, 20) == 1, "three fit");
	CHECK(st_idset_add(&s, 40) == -ENOSPC, "a fourth does not");
	CHECK(st_idset_add(&s, 20) == 0, "one already there is still found");
	CHECK(s.n == 3 && !st_idset_has(&s, 40), "the fourth is not kept");
	st_idset_del(&s, 10);
	CHECK(st_idset_add(&s, 40) == 1 && s.ids[2] == 40, "room made: it fits");
	st_idset_free(&s);
}

int main(void)
{
	test_add_del();
	test_max();
	return unit_report();
}
