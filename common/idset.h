/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A set of 64-bit ids (cgroup ids), kept sorted in one growing array: a
 * lookup is a binary search, an insert a memmove. Sized for thousands, not
 * millions. It holds at most @max ids: past that, or when memory runs out,
 * an id is not added, and st_idset_add() says so.
 */
#ifndef SOCKTRACE_IDSET_H
#define SOCKTRACE_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct st_idset {
	__u64 *ids;		/* ascending */
	size_t n, cap;
	size_t max;		/* 0: no bound but memory */
};

bool st_idset_has(const struct st_idset *s, __u64 id);
/* 1 if added, 0 if already there, -ENOSPC past max, -ENOMEM */
int st_idset_add(struct st_idset *s, __u64 id);
void st_idset_del(struct st_idset *s, __u64 id);
void st_idset_free(struct st_idset *s);

#endif
