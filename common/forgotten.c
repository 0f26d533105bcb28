// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "forgotten.h"

static __u64 load(const __u64 *counter)
{
	return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

/* Entries of the map that f->counted() takes: calls still inside */
static __u64 inside(const struct st_forgotten *f)
{
	__u8 v[ST_FORGOTTEN_VALUE_MAX];
	__u32 key, next, *prev = NULL;
	__u64 n = 0;

	while (!bpf_map__get_next_key(f->map, prev, &next, sizeof(next))) {
		if (!bpf_map__lookup_elem(f->map, &next, sizeof(next), v, f->value_size, 0) &&
		    f->counted(v))
			n++;
		key = next;
		prev = &key;
	}
	return n;
}

void st_forgotten_count(struct st_lost *l, struct st_forgotten *f)
{
	__u64 said = l->added[ST_LOST_STASH];
	__u64 made = load(f->made), in, found, n;

	if (f->value_size > ST_FORGOTTEN_VALUE_MAX || made == load(f->found))
		return;		/* none inside, none forgotten */
	if (made == f->last_made && load(f->found) == f->last_found &&
	    ++f->idle < ST_FORGOTTEN_IDLE_CALLS)
		return;		/* nothing made or found since the last walk */
	in = inside(f);
	found = load(f->found);
	f->last_made = made;
	f->last_found = found;
	f->idle = 0;
	n = made > found + in ? made - found - in : 0;
	if (n > said)
		st_lost_add(l, ST_LOST_STASH, n - said);
}
