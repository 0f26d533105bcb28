/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a map update's result says, read alike on every kernel.
 *
 * The verifier turns a call of bpf_map_update_elem() on a hash map into a
 * direct call of the map's update, which returns an int: on Linux 6.1 only
 * the register's low half holds it, so -EEXIST reads 0xffffffef, not -17
 * (seen on amd64 and arm64; 6.12 extends the sign). A test of the whole
 * long then takes "exists" for another error. Zero and non-zero read the
 * same either way; compare a particular error through these.
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
