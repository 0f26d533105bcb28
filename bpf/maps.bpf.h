/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a map update's result says, read alike on every kernel.
 *
 * The verifier turns a call of bpf_map_update_elem() on a hash map into a
 * direct call of the map's update. Where that returns an int (seen on
 * Linux 6.1, amd64 and arm64; 6.12 extends the sign, its map operations
 * returning long) only the register's low half holds the result, so
 * -EEXIST reads 0xffffffef, not -17, and a test of the whole long takes
 * "exists" for another error. Zero and non-zero read the same either way;
 * compare a particular error through these.
 */
#ifndef SOCKTRACE_MAPS_BPF_H
#define SOCKTRACE_MAPS_BPF_H

#define ST_EEXIST	17

/* @err, from bpf_map_update_elem(): the key was there (BPF_NOEXIST) */
static __always_inline bool st_update_exists(long err)
{
	return (int)err == -ST_EEXIST;
}

#endif
