// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* struct inet_event (TCP and UDP) beyond its head: columns and JSON members. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "addr.h"
#include "output.h"

static const char *proto_name(__u8 proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : NULL;
}

/* 4 or 6, or 0 if the family is not one of ours */
static int ip_version(__u8 family)
{
	return family == ST_AF_INET ? 4 : family == ST_AF_INET6 ? 6 : 0;
}

static const char *addr_text(const struct inet_event *e, const __u8 *addr, char *buf,
			     size_t len)
{
	return ip_version(e->family) ? st_addr_format(e->family, addr, buf, len) : NULL;
}

const char *st_result_name(int result, char *buf, size_t len)
{
	const char *name;

	if (result == 0)
		return "ok";
	if (result == ST_RESULT_CLOSED)
		return "closed";
	name = result > 0 ? strerrorname_np(result) : NULL;
	if (name)
		return name;
	snprintf(buf, len, "E%d", result);
	return buf;
}

static const char *result_text(const struct inet_event *e, char *buf, size_t len)
{
	return e->result == ST_RESULT_UNKNOWN ? NULL : st_result_name(e->result, buf, len);
}

/*
 * After a SYN left, the kernel says ECONNREFUSED for a reset and for an ICMP
 * port unreachable alike (the far end, or a firewall's REJECT, refused), and
 * ETIMEDOUT when nothing came back; any other error is what an ICMP error
 * (host, network or protocol unreachable, prohibited) was made into.
 */
const char *st_failure_kind(const struct inet_event *e)
{
	if (e->result == 0 || e->result == ST_RESULT_UNKNOWN)
		return NULL;
	if (e->result == ST_RESULT_CLOSED)
		return "closed";
	if (e->h.flags & ST_EVF_LOCAL)
		return "local";		/* no route, a blackhole, no port: nothing sent */
	if (e->result == ECONNREFUSED)
		return "refused";
	return e->result == ETIMEDOUT ? "timeout" : "unreachable";
}

/* A settled connect's numbers: in result mode only */
static void connect_cell(const struct inet_event *e, enum st_field f, struct st_cell *c)
{
	bool settled = e->result != ST_RESULT_UNKNOWN;

	if (f == ST_F_LATENCY_MS && (e->h.flags & ST_EVF_LATENCY))
		st_cell_printf(c, "%.3f", e->latency_ns / 1e6);
	else if (f == ST_F_SYN_RETRANS)
		st_cell_num(c, settled, e->syn_retrans);
	else if (f == ST_F_FAILURE)
		st_cell_text(c, st_failure_kind(e));
	else
		st_cell_text(c, NULL);
}

/* The connection's numbers, known on close lines only */
static void close_cell(const struct inet_event *e, enum st_field f, struct st_cell *c)
{
	bool closed = e->h.type == ST_EV_CLOSE;

	if (f == ST_F_DURATION_MS && closed && (e->h.flags & ST_EVF_DURATION))
		st_cell_printf(c, "%.3f", e->duration_ns / 1e6);
	else if (f == ST_F_DURATION_MS)
		st_cell_text(c, NULL);
	else
		st_cell_num(c, closed, (f == ST_F_TX_KB ? e->bytes_sent :
					e->bytes_received) / 1024);
}

/* The service's port, or -1: a close does not say which end it was */
static int service_port(const struct inet_event *e)
{
	if (e->h.type == ST_EV_ACCEPT)
		return e->sport;
	if (e->h.type == ST_EV_CONNECT || e->h.type == ST_EV_SEND)
		return e->dport;
	return -1;
}

/* -d: what the remote address was resolved from, or NULL */
static const struct st_dns_name *dns_name(const struct st_output *o, const struct inet_event *e)
{
	return o->dns ? st_dns_lookup(o->dns, e->h.netns, e->family, e->daddr, e->h.time_ns)
		      : NULL;
}

static void query_cell(const struct st_output *o, const struct inet_event *e,
		       struct st_cell *c)
{
	const struct st_dns_name *n = dns_name(o, e);
	const char *q;

	if (!n) {
		st_cell_text(c, NULL);
		return;
	}
	/* dn_expand() printed it as dig does, any byte that is not printable
	 * ASCII as \DDD; were one left, the terminal's escaping would take it.
	 * A name "-" is \045, as "-" says there is none. */
	for (q = n->query; *q > 0x20 && *q < 0x7f; q++)
		;
	if (*q)
		st_cell_escaped(c, n->query, strlen(n->query), false);
	else
		st_cell_text(c, strcmp(n->query, "-") ? n->query : "\\045");
}

const char *st_query_of_cell(const char *cell)
{
	if (!strcmp(cell, "-"))
		return NULL;
	return strcmp(cell, "\\045") ? cell : "-";
}

/* An address of the event's family, or "-" */
static void addr_cell(const struct inet_event *e, const __u8 *addr, struct st_cell *c)
{
	if (ip_version(e->family))
		c->p = st_addr_put(e->family, addr, c->p);
	else
		st_cell_text(c, NULL);
}

static bool cell(const struct st_output *o, const void *ev, enum st_field f,
		 struct st_cell *c)
{
	const struct inet_event *e = ev;
	char tmp[ST_ADDR_STRLEN];
	int port;

	switch (f) {
	case ST_F_IP: st_cell_num(c, ip_version(e->family), ip_version(e->family)); break;
	case ST_F_SADDR: addr_cell(e, e->saddr, c); break;
	case ST_F_SPORT: st_cell_num(c, e->sport, e->sport); break;
	case ST_F_DADDR: addr_cell(e, e->daddr, c); break;
	case ST_F_DPORT: st_cell_u64(c, e->dport); break;
	case ST_F_RESULT: st_cell_text(c, result_text(e, tmp, sizeof(tmp))); break;
	case ST_F_SERVICE_PORT:
		port = service_port(e);
		st_cell_num(c, port >= 0, port);
		break;
	case ST_F_BACKLOG:
		if (e->h.flags & ST_EVF_BACKLOG)
			st_cell_printf(c, "%u/%u", e->backlog, e->backlog_max);
		else
			st_cell_text(c, NULL);
		break;
	case ST_F_DURATION_MS:
	case ST_F_TX_KB:
	case ST_F_RX_KB:
		close_cell(e, f, c);
		break;
	case ST_F_LATENCY_MS:
	case ST_F_SYN_RETRANS:
	case ST_F_FAILURE:
		connect_cell(e, f, c);
		break;
	case ST_F_QUERY: query_cell(o, e, c); break;
	default:
		return false;
	}
	return true;
}

/* A field's JSON member: an event's (json()) or a count row's (its columns) */
static void json_field(const struct st_output *o, const void *ev, enum st_field f,
		       struct st_json *j)
{
	const struct inet_event *e = ev;
	char tmp[ST_ADDR_STRLEN];
	int port;

	(void)o;
	switch (f) {
	case ST_F_IP: st_json_uint_known(j, "ip", ip_version(e->family), ip_version(e->family));
		break;
	case ST_F_SADDR: st_json_str(j, "saddr", addr_text(e, e->saddr, tmp, sizeof(tmp))); break;
	case ST_F_SPORT: st_json_uint_known(j, "sport", e->sport, e->sport); break;
	case ST_F_DADDR: st_json_str(j, "daddr", addr_text(e, e->daddr, tmp, sizeof(tmp))); break;
	case ST_F_DPORT: st_json_uint(j, "dport", e->dport); break;
	case ST_F_RESULT: st_json_str(j, "result", result_text(e, tmp, sizeof(tmp))); break;
	case ST_F_SERVICE_PORT:
		port = service_port(e);
		st_json_uint_known(j, "port", port >= 0, port);
		break;
	default:
		break;	/* json() writes the rest itself, by event kind; a count
			 * row's query is its QUERY text (st_query_of_cell()) */
	}
}

/* -d: "query", and "cnames" from it to the name the address record had */
static void json_names(const struct st_output *o, const struct inet_event *e,
		       struct st_json *j)
{
	const struct st_dns_name *n = dns_name(o, e);

	st_json_str(j, "query", n ? n->query : NULL);
	st_json_strs(j, "cnames", n ? n->cnames : NULL, n ? n->ncnames : 0);
}

static void json(const struct st_output *o, const void *ev, struct st_json *j)
{
	static const enum st_field ends[] = { ST_F_IP, ST_F_SADDR, ST_F_SPORT, ST_F_DADDR,
					      ST_F_DPORT };
	const struct inet_event *e = ev;
	bool backlog = e->h.flags & ST_EVF_BACKLOG;
	size_t i;

	st_json_str(j, "proto", proto_name(e->proto));
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		json_field(o, e, ends[i], j);
	if (e->result != ST_RESULT_UNKNOWN) {	/* result mode: known by then */
		json_field(o, e, ST_F_RESULT, j);
		st_json_uint_known(j, "latency_ns", e->h.flags & ST_EVF_LATENCY, e->latency_ns);
		st_json_uint(j, "syn_retrans", e->syn_retrans);
		st_json_str(j, "failure", st_failure_kind(e));
	} else if (o->latency && e->h.type == ST_EV_CONNECT) {
		st_json_uint_known(j, "latency_ns", e->h.flags & ST_EVF_LATENCY, e->latency_ns);
	}
	if (e->h.type == ST_EV_CLOSE) {
		st_json_uint_known(j, "duration_ns", e->h.flags & ST_EVF_DURATION,
				   e->duration_ns);
		st_json_uint(j, "bytes_sent", e->bytes_sent);
		st_json_uint(j, "bytes_received", e->bytes_received);
	}
	if (o->backlog && e->h.type == ST_EV_ACCEPT) {
		st_json_uint_known(j, "backlog", backlog, e->backlog);
		st_json_uint_known(j, "backlog_max", backlog, e->backlog_max);
	}
	if (o->dns)
		json_names(o, e, j);
}

const struct st_event_fmt st_inet_fmt = {
	.size = sizeof(struct inet_event),
	.cell = cell,
	.json = json,
	.json_field = json_field,
};
