// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include "dns.h"
#include "log.h"

#define NS_PER_S	1000000000ULL

struct st_dns_entry {
	struct st_dns_entry *next;		/* in its bucket */
	struct st_dns_entry *newer, *older;	/* by last use */
	__u64 netns;
	__u64 expires_ns;
	__u8 addr[16];		/* IPv4: the first 4, the rest 0 */
	__u8 family;
	struct st_dns_name name;
	char names[];		/* query, then the CNAMEs, each NUL-ended */
};

/* The names of one answer: the one asked, then the CNAME chain from it */
struct chain {
	char names[ST_DNS_CHAIN_MAX + 1][NS_MAXDNAME];
	size_t n;
};

int st_dns_init(struct st_dns *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	for (d->nbuckets = 1; d->nbuckets < max; d->nbuckets <<= 1)
		;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	d->max = max;
	return d->buckets ? 0 : -ENOMEM;
}

void st_dns_free(struct st_dns *d)
{
	struct st_dns_entry *e, *older;

	for (e = d->newest; e; e = older) {
		older = e->older;
		free(e);
	}
	free(d->buckets);
	memset(d, 0, sizeof(*d));
}

/* A v4-mapped IPv6 address is the IPv4 address an A record gave */
static int normalize(int family, const __u8 *addr, __u8 out[16])
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(out, 0, 16);
	if (family == ST_AF_INET6 && !memcmp(addr, mapped, sizeof(mapped))) {
		memcpy(out, addr + 12, 4);
		return ST_AF_INET;
	}
	memcpy(out, addr, family == ST_AF_INET ? 4 : 16);
	return family;
}

/* FNV-1a over the key */
static size_t bucket(const struct st_dns *d, __u64 netns, int family, const __u8 *addr)
{
	__u64 h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < 8; i++)
		h = (h ^ ((netns >> (8 * i)) & 0xff)) * 1099511628211ULL;
	h = (h ^ family) * 1099511628211ULL;
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 1099511628211ULL;
	return h & (d->nbuckets - 1);
}

static struct st_dns_entry **find(struct st_dns *d, __u64 netns, int family, const __u8 *addr)
{
	struct st_dns_entry **p = &d->buckets[bucket(d, netns, family, addr)];

	for (; *p; p = &(*p)->next)
		if ((*p)->netns == netns && (*p)->family == family &&
		    !memcmp((*p)->addr, addr, 16))
			return p;
	return p;
}

static void unlink_use(struct st_dns *d, struct st_dns_entry *e)
{
	*(e->newer ? &e->newer->older : &d->newest) = e->older;
	*(e->older ? &e->older->newer : &d->oldest) = e->newer;
}

static void link_newest(struct st_dns *d, struct st_dns_entry *e)
{
	e->newer = NULL;
	e->older = d->newest;
	*(d->newest ? &d->newest->newer : &d->oldest) = e;
	d->newest = e;
}

static void drop(struct st_dns *d, struct st_dns_entry *e)
{
	struct st_dns_entry **p = find(d, e->netns, e->family, e->addr);

	*p = e->next;
	unlink_use(d, e);
	d->n--;
	free(e);
}

/* A new entry for one address: replaces the address's, or the least recently used */
static void put(struct st_dns *d, __u64 netns, __u64 time_ns, int family, const __u8 *addr,
		__u32 ttl, const struct chain *c)
{
	size_t i, len = 0, off = 0;
	struct st_dns_entry *e, **p;
	__u8 key[16];

	family = normalize(family, addr, key);
	p = find(d, netns, family, key);
	if (*p)
		drop(d, *p);
	else if (d->n == d->max) {
		d->stats.evicted += d->oldest->expires_ns > time_ns;
		drop(d, d->oldest);
	}
	for (i = 0; i < c->n; i++)
		len += strlen(c->names[i]) + 1;
	e = malloc(sizeof(*e) + len);
	if (!e) {
		d->stats.nomem++;	/* a name not shown; nothing else is lost */
		return;
	}
	for (i = 0; i < c->n; i++)
		off += strlen(strcpy(e->names + off, c->names[i])) + 1;
	e->netns = netns;
	e->family = family;
	memcpy(e->addr, key, sizeof(key));
	e->expires_ns = time_ns + (ttl ? ttl : 1) * NS_PER_S;
	e->name = (struct st_dns_name){ e->names, e->names + strlen(e->names) + 1, c->n - 1 };
	p = find(d, e->netns, e->family, e->addr);
	e->next = NULL;
	*p = e;
	link_newest(d, e);
	d->n++;
	d->stats.addresses++;
}

static bool in_chain(const struct chain *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcasecmp(c->names[i], name))
			return true;
	return false;
}

/* @name's CNAME target into @target: 1, 0 if it has none, -1 if a record does not parse */
static int cname_of(ns_msg *m, const char *name, char *target)
{
	int i, count = ns_msg_count(*m, ns_s_an);
	ns_rr rr;

	for (i = 0; i < count; i++) {
		if (ns_parserr(m, ns_s_an, i, &rr))
			return -1;
		if (ns_rr_type(rr) != ns_t_cname || strcasecmp(ns_rr_name(rr), name))
			continue;
		if (dn_expand(ns_msg_base(*m), ns_msg_end(*m), ns_rr_rdata(rr), target,
			      NS_MAXDNAME) < 0)
			return -1;
		return 1;
	}
	return 0;
}

/*
 * The CNAME chain from the name asked: 0; 1 if it is longer than the
 * chain holds (ST_DNS_CHAIN_MAX CNAMEs), cut there, so the addresses of
 * the names past the cut are not cached; -1 if a record does not parse.
 * A loop ends the chain where it comes back.
 */
static int follow_cnames(ns_msg *m, struct chain *c)
{
	static char next[NS_MAXDNAME];
	int r;

	for (;;) {
		r = cname_of(m, c->names[c->n - 1], next);
		if (r <= 0 || in_chain(c, next))
			return r < 0 ? -1 : 0;
		if (c->n > ST_DNS_CHAIN_MAX)
			return 1;
		memcpy(c->names[c->n++], next, sizeof(next));
	}
}

/* Every A and AAAA record of a name in the chain; -1 if a record does not parse */
static int put_addresses(struct st_dns *d, __u64 netns, __u64 time_ns, ns_msg *m,
			 const struct chain *c)
{
	int i, count = ns_msg_count(*m, ns_s_an);
	__u8 addr[16];
	ns_rr rr;

	for (i = 0; i < count; i++) {
		if (ns_parserr(m, ns_s_an, i, &rr))
			return -1;
		if (ns_rr_class(rr) != ns_c_in || !in_chain(c, ns_rr_name(rr)))
			continue;
		memset(addr, 0, sizeof(addr));
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			memcpy(addr, ns_rr_rdata(rr), 4);
			put(d, netns, time_ns, ST_AF_INET, addr, ns_rr_ttl(rr), c);
		} else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
			memcpy(addr, ns_rr_rdata(rr), 16);
			put(d, netns, time_ns, ST_AF_INET6, addr, ns_rr_ttl(rr), c);
		}
	}
	return 0;
}

/* One whole message received in @netns at @time_ns */
static void add_message(struct st_dns *d, __u64 netns, __u64 time_ns, const __u8 *msg,
			size_t len)
{
	static struct chain c;	/* 9 KiB: not on the stack */
	ns_msg m;
	ns_rr q;
	int cut;

	if (ns_initparse(msg, len, &m)) {
		d->stats.malformed++;
		return;
	}
	if (!ns_msg_getflag(m, ns_f_qr))
		return;		/* a query from port 53: a server's, not an answer */
	/* the server cut it short: the client asks again over TCP */
	if (ns_msg_getflag(m, ns_f_tc)) {
		d->stats.truncated++;
		d->stats.server_cut++;
		return;
	}
	if (ns_msg_getflag(m, ns_f_rcode) != ns_r_noerror || ns_msg_count(m, ns_s_qd) != 1) {
		d->stats.answers++;	/* NXDOMAIN, SERVFAIL...: no address */
		return;
	}
	if (ns_parserr(&m, ns_s_qd, 0, &q)) {
		d->stats.malformed++;
		return;
	}
	snprintf(c.names[0], sizeof(c.names[0]), "%s", ns_rr_name(q));
	c.n = 1;
	cut = follow_cnames(&m, &c);
	if (cut < 0 || put_addresses(d, netns, time_ns, &m, &c)) {
		d->stats.malformed++;	/* what was put before the bad record stays */
		return;
	}
	d->stats.answers++;
	d->stats.chains_cut += cut;
}

/* @e's stream, a new one, or the least recently read one, its bytes lost */
static struct st_dns_stream *stream_of(struct st_dns *d, const struct dns_event *e)
{
	struct st_dns_stream *s, *oldest = &d->streams[0];
	size_t i;

	for (i = 0; i < ST_DNS_STREAMS; i++) {
		s = &d->streams[i];
		if (s->id == e->stream && s->sport == e->sport && s->netns == e->h.netns)
			return s;
		if (s->last_ns < oldest->last_ns)
			oldest = s;
	}
	if (oldest->have && !oldest->broken)
		d->stats.truncated++;	/* its message will not be whole */
	memset(oldest, 0, sizeof(*oldest));
	oldest->id = e->stream;
	oldest->sport = e->sport;
	oldest->netns = e->h.netns;
	return oldest;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The length its first two bytes give the message @s holds (have >= 2) */
static size_t msg_len(const struct st_dns_stream *s)
{
	return (size_t)(s->buf[0] << 8 | s->buf[1]);
}

/*
 * @n bytes of a TCP stream of length-prefixed messages, as read: each
 * message is added once it is whole. One longer than we keep is counted as
 * truncated and its bytes skipped: the next one's length follows it.
 */
static void stream_bytes(struct st_dns *d, struct st_dns_stream *s, const struct dns_event *e,
			 const __u8 *p, size_t n)
{
	size_t take, len;

	while (n) {
		if (s->skip) {
			take = min_size(s->skip, n);
			s->skip -= take;
		} else if (s->have < 2) {
			take = 1;
			s->buf[s->have++] = *p;
		} else if ((len = msg_len(s)) > ST_DNS_MSG_MAX) {
			d->stats.truncated++;
			s->skip = len;
			s->have = 0;
			continue;
		} else {
			take = min_size(2 + len - s->have, n);
			memcpy(s->buf + s->have, p, take);
			s->have += take;
		}
		p += take;
		n -= take;
		if (s->have >= 2 && s->have == 2 + msg_len(s)) {
			add_message(d, e->h.netns, e->h.time_ns, s->buf + 2, s->have - 2);
			s->have = 0;
		}
	}
}

/*
 * @lost bytes of the stream that were read but not captured (SIZE_MAX: not
 * known how many). Inside a message whose length we have, that message is
 * counted as truncated and the stream goes on after it; if they hold a
 * length, where the next message starts is lost with it: the stream is
 * ignored from then on (its reads counted, ST_DNS_UNSYNCED).
 */
static void stream_lost(struct st_dns *d, struct st_dns_stream *s, size_t lost)
{
	size_t rest;

	if (s->skip >= lost) {
		s->skip -= lost;
		return;
	}
	lost -= s->skip;
	s->skip = 0;
	d->stats.truncated++;	/* the message the lost bytes begin or continue */
	rest = s->have >= 2 ? 2 + msg_len(s) - s->have : 0;
	s->have = 0;
	if (rest && lost <= rest)
		s->skip = rest - lost;
	else
		s->broken = true;
}

static void add_stream(struct st_dns *d, const struct dns_event *e)
{
	struct st_dns_stream *s = stream_of(d, e);

	s->last_ns = e->h.time_ns;
	if (s->broken) {
		d->stats.unsynced++;
		return;
	}
	stream_bytes(d, s, e, e->msg, e->cap_len);
	/* msg_len is 16 bits: at its top, the read may have been longer */
	if (e->cap_len < e->msg_len || e->msg_len == 0xffff)
		stream_lost(d, s, e->msg_len == 0xffff ? SIZE_MAX
						    : (size_t)(e->msg_len - e->cap_len));
}

void st_dns_add(struct st_dns *d, const struct dns_event *e, size_t size)
{
	if (size < offsetof(struct dns_event, msg) ||
	    e->cap_len > size - offsetof(struct dns_event, msg))
		return;		/* not what the BPF object writes */
	st_dbg("DNS %s: %u of %u bytes, netns %llu", e->proto == IPPROTO_TCP ? "TCP" : "UDP",
	       e->cap_len, e->msg_len, (unsigned long long)e->h.netns);
	if (e->proto == IPPROTO_TCP)
		add_stream(d, e);
	else if (e->cap_len < e->msg_len)
		d->stats.truncated++;
	else
		add_message(d, e->h.netns, e->h.time_ns, e->msg, e->cap_len);
}

const struct st_dns_name *st_dns_lookup(struct st_dns *d, __u64 netns, int family,
					const __u8 *addr, __u64 time_ns)
{
	struct st_dns_entry *e;
	__u8 key[16];

	if (!d->buckets || (family != ST_AF_INET && family != ST_AF_INET6))
		return NULL;
	family = normalize(family, addr, key);
	e = *find(d, netns, family, key);
	if (!e || e->expires_ns <= time_ns)
		return NULL;
	unlink_use(d, e);
	link_newest(d, e);
	return &e->name;
}

void st_dns_report(const struct st_dns *d)
{
	const struct st_dns_stats *s = &d->stats;

	if (s->truncated || s->malformed)
		st_err("-d: %llu DNS answers skipped: %llu truncated, %llu malformed",
		       s->truncated + s->malformed, s->truncated, s->malformed);
	if (s->evicted)
		st_err("-d: %llu names forgotten in total before their TTL ended (DNS cache full: "
		       "%zu addresses)", s->evicted, d->max);
	if (s->chains_cut)
		st_err("-d: %llu DNS answers in total with more than %d CNAMEs (their chains cut)",
		       s->chains_cut, ST_DNS_CHAIN_MAX);
	if (s->unsynced)
		st_err("-d: %llu TCP reads from DNS servers ignored in total (their streams lost "
		       "their place)", s->unsynced);
	if (s->nomem)
		st_err("-d: %llu names not cached in total (out of memory)", s->nomem);
}

static const char *const reasons[ST_DNS_LOSSES] = {
	[ST_DNS_FORGOTTEN] = "dns_cache_full",
	[ST_DNS_CUT] = "dns_chain_cut",
	[ST_DNS_UNSYNCED] = "dns_stream_lost",
	[ST_DNS_NOMEM] = "dns_no_memory",
	[ST_DNS_SKIPPED] = "dns_answer_skipped",
};

const char *st_dns_loss_reason(enum st_dns_loss loss)
{
	return reasons[loss];
}

struct st_dns_lost st_dns_check(struct st_dns *d)
{
	const struct st_dns_lost now = { {
		[ST_DNS_FORGOTTEN] = d->stats.evicted,
		[ST_DNS_CUT] = d->stats.chains_cut,
		[ST_DNS_UNSYNCED] = d->stats.unsynced,
		[ST_DNS_NOMEM] = d->stats.nomem,
		/* not the server's cuts: the client's TCP answer is read */
		[ST_DNS_SKIPPED] = d->stats.truncated - d->stats.server_cut + d->stats.malformed,
	} };
	struct st_dns_lost n;
	int i;

	for (i = 0; i < ST_DNS_LOSSES; i++)
		n.n[i] = now.n[i] - d->said.n[i];
	if (n.n[ST_DNS_FORGOTTEN])
		st_err("-d: DNS cache full (%zu addresses): %llu names forgotten before their TTL "
		       "ended, so their addresses show no QUERY", d->max, n.n[ST_DNS_FORGOTTEN]);
	if (n.n[ST_DNS_CUT])
		st_err("-d: %llu DNS answers with more than %d CNAMEs in a chain: the addresses "
		       "of names past the first %d CNAMEs are not cached, so they show no QUERY",
		       n.n[ST_DNS_CUT], ST_DNS_CHAIN_MAX, ST_DNS_CHAIN_MAX);
	if (n.n[ST_DNS_UNSYNCED])
		st_err("-d: %llu TCP reads from DNS servers ignored: their streams lost the "
		       "length of a message, so the names they answer show no QUERY",
		       n.n[ST_DNS_UNSYNCED]);
	if (n.n[ST_DNS_NOMEM])
		st_err("-d: out of memory: %llu names not cached, so their addresses show no QUERY",
		       n.n[ST_DNS_NOMEM]);
	if (n.n[ST_DNS_SKIPPED])
		st_err("-d: %llu DNS answers not read (cut short in capture, or malformed): the "
		       "names they answer show no QUERY", n.n[ST_DNS_SKIPPED]);
	d->said = now;
	return n;
}
