/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finds kernel functions' BTF type ids by streaming a raw BTF file in fixed
 * chunks, instead of holding all of it (5.5 MB on 6.x) as libbpf does.
 */
#ifndef SOCKTRACE_BTFSCAN_H
#define SOCKTRACE_BTFSCAN_H

#include <stddef.h>

#define ST_BTF_VMLINUX		"/sys/kernel/btf/vmlinux"
#define ST_BTFSCAN_CHUNK	(64 * 1024)

/*
 * Sets ids[i] to the type id of the first BTF_KIND_FUNC named names[i] in
 * the raw BTF file @path (NULL: ST_BTF_VMLINUX), or to -ENOENT. Reads @chunk
 * bytes at a time (0: ST_BTFSCAN_CHUNK; tests pass small ones). Only native
 * byte order. Returns 0; -EINVAL for a malformed file or a kind it does not
 * know (ids are then meaningless); or -errno from open/read/malloc.
 */
int st_btf_find_funcs(const char *path, const char *const *names, size_t n,
		      size_t chunk, int *ids);

#endif
