/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* IP addresses as people read them: dotted IPv4, RFC 5952 IPv6. */
#ifndef SOCKTRACE_ADDR_H
#define SOCKTRACE_ADDR_H

#include <stddef.h>
#include <linux/types.h>

#define ST_ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */

/*
 * Formats a network-order address of @family (ST_AF_INET: 4 bytes,
 * ST_AF_INET6: 16) into @buf. IPv6 follows RFC 5952: lower case, no leading
 * zeros, the longest run of two or more zero groups as "::" (the first on a
 * tie), v4-mapped as ::ffff:a.b.c.d. Returns @buf.
 */
char *st_addr_format(int family, const __u8 *addr, char *buf, size_t len);
/* The same text at @p, which has room for ST_ADDR_STRLEN - 1 bytes, not
 * NUL-ended: the end */
char *st_addr_put(int family, const __u8 *addr, char *p);

#endif
