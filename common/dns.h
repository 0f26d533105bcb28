/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -d: which name an address was resolved from. DNS answers captured in the
 * kernel (struct dns_event) are parsed with glibc's resolver library
 * (ns_initparse, ns_parserr, dn_expand: Debian's libc6) and each A or AAAA
 * record becomes an entry keyed by network namespace and address, holding
 * the name asked and the CNAME chain to the record, until its TTL ends.
 */
#ifndef SOCKTRACE_DNS_H
#define SOCKTRACE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "event.h"

/* Addresses remembered; past this the least recently used is forgotten, counted */
#define ST_DNS_CACHE_MAX	65536
/* CNAMEs followed from the name asked: a longer chain is cut, counted, and
 * the addresses of the names past the cut are not cached */
#define ST_DNS_CHAIN_MAX	8

/* A tool's rows for bpf/dns.bpf.h's programs (the library drops them without -d) */
#define ST_DNS_ROWS(skel)							\
	{ "dns", (skel)->progs.tp_dns_answer, ST_ROW_ANY },			\
	{ "dns", (skel)->progs.tp_dns_read, ST_ROW_ANY },			\
	{ "dns", (skel)->progs.tp_dns_recvfrom, ST_ROW_ANY },			\
	{ "dns", (skel)->progs.tp_dns_recvmsg, ST_ROW_ANY }

struct st_dns_entry;

/* What an address was resolved from */
struct st_dns_name {
	const char *query;	/* the name asked, as dn_expand() prints it */
	const char *cnames;	/* @ncnames names, each NUL-ended, one after another */
	size_t ncnames;
};

struct st_dns_stats {
	unsigned long long answers;	/* responses read whole */
	unsigned long long truncated;	/* not all there, or over TCP not whole (skipped) */
	unsigned long long server_cut;	/* of truncated: the TC flag, asked again over TCP */
	unsigned long long malformed;	/* not a valid message (skipped) */
	unsigned long long addresses;	/* A and AAAA records cached */
	unsigned long long evicted;	/* forgotten before their TTL: cache full */
	unsigned long long chains_cut;	/* answers with more than ST_DNS_CHAIN_MAX CNAMEs */
	unsigned long long unsynced;	/* TCP reads ignored: their stream lost its place */
	unsigned long long nomem;	/* names not cached: no memory for the entry */
};

/* What -d loses, by kind: each said, and a reason of -j's lost lines and the metrics */
enum st_dns_loss {
	ST_DNS_FORGOTTEN,	/* names evicted before their TTL: cache full */
	ST_DNS_CUT,		/* answers whose CNAME chain was cut */
	ST_DNS_UNSYNCED,	/* TCP reads ignored: where a message starts is not known */
	ST_DNS_NOMEM,		/* names not cached: no memory */
	ST_DNS_SKIPPED,		/* answers not read: cut short in capture, or malformed */
	ST_DNS_LOSSES,
};

/* What -d lost since the last st_dns_check(), by enum st_dns_loss */
struct st_dns_lost {
	unsigned long long n[ST_DNS_LOSSES];
};

/* TCP streams put together at once: past this the least recently read is lost */
#define ST_DNS_STREAMS	16

/* One TCP connection to port 53: what was read of its next message */
struct st_dns_stream {
	__u64 id, netns, last_ns;
	__u16 sport;
	bool broken;		/* lost a length: where a message starts is not known */
	size_t have;		/* bytes of the next message in buf */
	size_t skip;		/* bytes of a message given up, still to come */
	__u8 buf[2 + ST_DNS_MSG_MAX];
};

struct st_dns {
	struct st_dns_stream streams[ST_DNS_STREAMS];
	struct st_dns_entry **buckets;
	size_t nbuckets;	/* a power of two */
	size_t n, max;
	struct st_dns_entry *newest, *oldest;	/* by last use */
	struct st_dns_stats stats;
	struct st_dns_lost said;	/* what st_dns_check() said so far */
};

/* An empty cache of at most @max addresses: 0 or -ENOMEM */
int st_dns_init(struct st_dns *d, size_t max);
void st_dns_free(struct st_dns *d);
/*
 * One captured record of @size bytes (it may end before e->msg does); a
 * query, a failure or an answer without addresses adds nothing
 */
void st_dns_add(struct st_dns *d, const struct dns_event *e, size_t size);
/*
 * The name @addr (16 bytes, an IPv4 address in the first 4, or v4-mapped)
 * was resolved from in network namespace @netns, if its TTL had not ended
 * at @time_ns; else NULL.
 */
const struct st_dns_name *st_dns_lookup(struct st_dns *d, __u64 netns, int family,
					const __u8 *addr, __u64 time_ns);
/* At exit: what was skipped or forgotten, if anything was */
void st_dns_report(const struct st_dns *d);
/*
 * What was lost since the last call: said on stderr and returned, so that -j
 * and the metrics can carry it too
 */
struct st_dns_lost st_dns_check(struct st_dns *d);
/* The reason -j's lost lines and the metrics give for @loss */
const char *st_dns_loss_reason(enum st_dns_loss loss);

#endif
