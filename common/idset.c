// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idset.h"

/* Where @id is, or goes */
static size_t idset_at(const struct st_idset *s, __u64 id)
{
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool st_idset_has(const struct st_idset *s, __u64 id)
{
	size_t at = idset_at(s, id);

	return at < s->n && s->ids[at] == id;
}

int st_idset_add(struct st_idset *s, __u64 id)
{
	size_t at = idset_at(s, id), cap = s->cap ? 2 * s->cap : 64;
	__u64 *ids;

	if (at < s->n && s->ids[at] == id)
		return 0;
	if (s->max && s->n >= s->max)
		return -ENOSPC;
	if (s->n == s->cap) {
		ids = reallocarray(s->ids, cap, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		s->ids = ids;
		s->cap = cap;
	}
	memmove(&s->ids[at + 1], &s->ids[at], (s->n - at) * sizeof(*s->ids));
	s->ids[at] = id;
	s->n++;
	return 1;
}

void st_idset_del(struct st_idset *s, __u64 id)
{
	size_t at = idset_at(s, id);

	if (at == s->n || s->ids[at] != id)
		return;
	memmove(&s->ids[at], &s->ids[at + 1], (s->n - at - 1) * sizeof(*s->ids));
	s->n--;
}

void st_idset_free(struct st_idset *s)
{
	free(s->ids);
	s->ids = NULL;
	s->n = s->cap = 0;
}
