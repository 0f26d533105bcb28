// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptracer: established TCP connections: connect (C) when the handshake
 * completes, accept (A), close (X).
 *
 * Every backend runs the same bodies:
 *  - on_state(): tcp_set_state or inet_sock_set_state. CLOSE->SYN_SENT runs
 *    in the connecting task and records it (conns); ->ESTABLISHED runs in
 *    softirq and uses that record; the ends of a connection are taken from
 *    the state machine so that every backend agrees on them;
 *  - on_accept(): from accept.bpf.h, in the accepting task.
 * conns keeps, per socket, who opened it and since when.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcptracer.h"
#include "filter.bpf.h"
#include "emit.bpf.h"
#include "maps.bpf.h"
#include "sock.bpf.h"
#include "owner.bpf.h"
#include "owners.bpf.h"
#include "follow.bpf.h"
#include "dns.bpf.h"

const volatile struct tcptracer_cfg cfg = {};

struct conn {
	struct owner o;
	__u64 est_ns;		/* when it became ESTABLISHED, if cfg.lifetime */
	__u8 has_owner;		/* a passive one has none until accepted */
	__u8 passive;		/* accepted here: its service port is the local one */
	__u8 connecting;	/* in SYN_SENT: o is who connects */
	__u8 swept;		/* the sweep that found its socket gone, or 0 */
	__u32 hash;		/* sk_hash_as(): which connection; 0 while connecting */
};

/*
 * Connections by socket, from the connect's SYN (active) or the end of
 * the handshake or the accept (passive) to the close: one entry for the
 * whole life, made and deleted once. A plain hash, not an LRU: each entry
 * leaves at its socket's close; a full map refuses a new connection,
 * counted (ST_LOST_CONNS), rather than forget one it holds; a connect it
 * refuses waits for its handshake in owners. The kernel does not always
 * report that close (docs/limits.md): an entry left behind is found, and
 * counted (ST_LOST_UNSEEN), when a new socket at its address is tracked,
 * or, untracked, accepted or closed (former()); or else by the sweep
 * (sweep_conns()), which the tool runs every --sweep-every s and at exit.
 * Sized by --max-connections (TCPTRACER_CONNS_DEFAULT).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPTRACER_CONNS_DEFAULT);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

/*
 * Set before the first entry is put in owners or conns. Until then (a task
 * filter that nothing has passed yet) the state hook, which runs on every
 * state change of every TCP socket, has nothing to look up, and a delete
 * that finds nothing still takes the bucket's lock. Set once, not counted
 * up and down: two atomic adds on a shared line per entry cost more than
 * the deletes that find nothing once every connection has closed.
 */
bool tracked = false;

/* owners has held a connect (conns was full): look there too */
bool owners_used = false;

/*
 * Which connection a socket holds: the hash of its 4-tuple, set as the
 * socket is hashed (inet_ehash_nolisten(): a connect's once its port is
 * chosen, a passive one's before it can be accepted or leave SYN_RECV) and
 * never changed. A former socket at the same address held another 4-tuple,
 * all but surely another hash. It fits the padding of struct conn.
 */
static __always_inline __u32 sk_hash_as(const struct sock *sk, bool typed)
{
	return SK_READ(typed, sk, __sk_common.skc_hash);
}

/*
 * Whether @c, found where @v was to go, is the same passive connection's.
 * Its two hooks can both make its entry: on fexit/kretprobe the accept may
 * run on one CPU while the handshake ends on another, as the socket is
 * queued for accept before it leaves SYN_RECV. Then they merge: the
 * accept's owner, the handshake's start.
 */
static __always_inline bool merged(struct conn *c, const struct conn *v)
{
	if (!c->passive || !v->passive || c->hash != v->hash)
		return false;
	if (v->has_owner) {
		c->o = v->o;
		c->has_owner = 1;
	} else {
		c->est_ns = v->est_ns;
	}
	return true;
}

/*
 * Whether @c, found at @sk's address by a hook of @sk that makes no entry,
 * is a former socket's, whose end the kernel did not report. An
 * established entry holds its connection's hash. One still connecting has
 * none yet: it is @sk's own if @sk passes the filters on sockets, which
 * connecting() asked; a former connect is taken for a socket's own when
 * its task is one the filters reject (docs/limits.md).
 */
static __always_inline bool former(const struct conn *c, struct sock *sk, bool typed)
{
	return c->connecting ? !want_sk_as(sk, typed) : c->hash != sk_hash_as(sk, typed);
}

/*
 * A full map: the entry is not made, counted in @lost (unless ST_LOST_MAX):
 * -errno. Every entry is made for a socket just made (at a connect's SYN,
 * at the end of a handshake not yet accepted, at an accept), so one already
 * at its address is a former socket's whose end the kernel never reported:
 * replaced, and counted; unless (@merge, @v a struct conn) it is this very
 * connection's (merged()). Gone by the time it is looked at, it was
 * deleted by this socket's close: nothing is made. An insert that finds
 * none costs what an overwrite does.
 */
static __always_inline long track(void *map, struct sock *sk, void *v, __u32 lost,
				  bool merge)
{
	__u64 key = sk_key(sk);
	struct conn *c;
	long err;

	if (!tracked)
		tracked = true;
	err = bpf_map_update_elem(map, &key, v, BPF_NOEXIST);
	if (st_update_exists(err)) {
		c = merge ? bpf_map_lookup_elem(map, &key) : NULL;
		if (merge && (!c || merged(c, v)))
			return 0;
		/* unless the sweep deleted it first, and counted it */
		if (!bpf_map_delete_elem(map, &key))
			count_lost(ST_LOST_UNSEEN);
		err = bpf_map_update_elem(map, &key, v, BPF_ANY);
	}
	if (err && lost < ST_LOST_MAX)
		count_lost(lost);
	return err;
}

static __always_inline void *tracked_elem(void *map, struct sock *sk)
{
	__u64 key = sk_key(sk);

	return tracked ? bpf_map_lookup_elem(map, &key) : NULL;
}

/* Whether @sk's entry was there, and is gone */
static __always_inline bool untrack(void *map, struct sock *sk)
{
	__u64 key = sk_key(sk);

	return tracked && !bpf_map_delete_elem(map, &key);
}

/* A former socket's entry at @sk's address (former()), which @sk does not
 * take: counted as an end the kernel did not report, and deleted; unless
 * the sweep deleted it first, and counted it */
static __always_inline void forget_former(struct sock *sk)
{
	if (untrack(&conns, sk))
		count_lost(ST_LOST_UNSEEN);
}

/* When a connection's lifetime starts, or 0 when none is shown: a clock read less */
static __always_inline __u64 lifetime_start(void)
{
	return cfg.lifetime ? bpf_ktime_get_ns() : 0;
}

/* Data bytes only: not the SYN, nor a FIN (which bytes_acked and
 * bytes_received count), nor retransmissions (which bytes_sent counts). */
static __always_inline void read_bytes(struct sock *sk, int old, struct inet_event *e)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	e->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
	if (bpf_core_field_exists(tp->bytes_retrans))	/* 5.5 */
		e->bytes_sent -= BPF_CORE_READ(tp, bytes_retrans);
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	/* CLOSE_WAIT: the peer's FIN was taken in order, and counted */
	if (old == TCP_CLOSE_WAIT && e->bytes_received)
		e->bytes_received--;
}

/* @typed: as for on_state() (bpf/state.bpf.h). @o NULL: the current task,
 * read straight into the event (a close in its task), not through a copy */
static __always_inline void emit(struct sock *sk, const struct owner *o, __u8 type,
				 const struct conn *c, int old, bool typed)
{
	struct inet_event *e = reserve_event(sizeof(*e), ST_KIND_INET, type);

	if (!e)
		return;
	if (o)
		owner_to_event(o, &e->h);
	else
		head_of_current(&e->h);
	read_sock_as(sk, e, typed);
	if (type == ST_EV_CONNECT && o) {
		/* o was taken as the SYN left (connecting()) */
		e->latency_ns = e->h.time_ns - o->start_ns;
		e->h.flags |= ST_EVF_LATENCY;
	}
	if (type == ST_EV_CLOSE) {
		if (c && c->passive)
			e->h.flags |= ST_EVF_PASSIVE;
		if (c && c->est_ns) {
			e->duration_ns = e->h.time_ns - c->est_ns;
			e->h.flags |= ST_EVF_DURATION;
		}
		if (cfg.bytes)
			read_bytes(sk, old, e);
	}
	e->proto = IPPROTO_TCP;
	e->result = ST_RESULT_UNKNOWN;
	submit_event(e, sizeof(*e));
}

static __always_inline void connecting(struct sock *sk, bool typed)
{
	struct conn c = { .has_owner = 1, .connecting = 1 };

	if (!want_current() || !want_sk_as(sk, typed))
		return;
	owner_of_connect(&c.o);
	if (!track(&conns, sk, &c, ST_LOST_MAX, false))
		return;
	/* conns is full: the C line can still be printed, from owners */
	owners_used = true;
	track(&owners, sk, &c.o, ST_LOST_OWNERS, false);
}

static __always_inline void established(struct sock *sk, int old, bool typed)
{
	struct conn c = {};
	struct conn *k;
	struct owner *o;

	if (old == TCP_SYN_SENT) {
		/* its entry, from connecting(), stays: no delete and insert */
		k = tracked_elem(&conns, sk);
		if (k && k->connecting && former(k, sk, typed)) {
			forget_former(sk);
			return;
		}
		if (k && k->connecting) {
			emit(sk, &k->o, ST_EV_CONNECT, NULL, 0, typed);
			k->connecting = 0;
			k->est_ns = lifetime_start();
			k->hash = sk_hash_as(sk, typed);
			return;
		}
		o = owners_used ? tracked_elem(&owners, sk) : NULL;
		if (!o)
			return;
		c.o = *o;
		c.has_owner = 1;
		untrack(&owners, sk);
		emit(sk, &c.o, ST_EV_CONNECT, NULL, 0, typed);
	} else if (!want_sk_as(sk, typed)) {
		return;
	}
	c.passive = old != TCP_SYN_SENT;
	/* accepted before its handshake ended (TCP Fast Open): on_accept()
	 * made its entry, with its owner; a socket not yet accepted has none.
	 * A simultaneous open (SYN_SENT->SYN_RECV->ESTABLISHED) has one too,
	 * and is left untracked: no lifetime on its close */
	if (c.passive && SK_READ(typed, sk, sk_socket))
		return;
	c.est_ns = lifetime_start();
	c.hash = sk_hash_as(sk, typed);
	/* passive: only the time, until on_accept() names the owner; one not
	 * tracked is counted there, where it is tried again, so once */
	track(&conns, sk, &c, c.passive ? ST_LOST_MAX : ST_LOST_CONNS, c.passive);
}

/*
 * Whether a close in its task needs nothing from its connection's entry:
 * no lifetime is shown, and the closer alone decides whether the close is
 * printed (no filter on tasks; every task seen from the tool's PID
 * namespace). closed() then deletes the entry unread: a hash lookup less.
 */
static __always_inline bool closer_decides(void)
{
	return !cfg.lifetime && !task_filter_on() && !st_cfg.pidns_ino;
}

/*
 * The local end closes (->FIN_WAIT1, ->LAST_ACK: tcp_close() or
 * tcp_shutdown(), in the closing task) or the kernel ends the connection
 * (->CLOSE: a reset, a timeout, an abort; maybe in softirq, so the
 * process that opened it is named).
 */
static __always_inline void closed(struct sock *sk, int old, bool in_task, bool typed)
{
	bool unread = in_task && closer_decides();
	struct conn *c = unread ? NULL : tracked_elem(&conns, sk);
	bool held = c;
	bool known;

	/* a former socket's: this one was not tracked (a filter). One still
	 * connecting is this socket's if it is wanted: its handshake's end
	 * was not seen (a skipped run) */
	if (c && former(c, sk, typed)) {
		forget_former(sk);
		c = NULL;
		held = false;
	}
	known = c && c->has_owner;
	if (in_task) {
		/* unknown: established before we started, or accepted where we
		 * could not see it (io_uring on tracepoints): filter the closer */
		if (known || (want_current() && want_sk_as(sk, typed)))
			emit(sk, NULL, ST_EV_CLOSE, c, old, typed);
	} else if (known) {
		emit(sk, &c->o, ST_EV_CLOSE, c, old, typed);
	}
	if (held || unread)
		untrack(&conns, sk);
}

/*
 * @sk ends before its handshake completes (a connect's), or before it is
 * established (a TCP Fast Open accept's): whether it had an entry, now
 * deleted; a former socket's (former(): this one was rejected, or its
 * entry never made) is counted. A lookup, as the delete it replaces, of a
 * socket that has none.
 */
static __always_inline bool drop(struct sock *sk, bool typed)
{
	struct conn *c = tracked_elem(&conns, sk);

	if (!c)
		return false;
	if (former(c, sk, typed))
		forget_former(sk);
	else
		untrack(&conns, sk);
	return true;
}

/* A connect that did not establish: its entry, in conns, or owners if that was full */
static __always_inline void connect_ended(struct sock *sk, bool typed)
{
	if (!drop(sk, typed) && owners_used)
		untrack(&owners, sk);
}

/*
 * The states a conns entry is made in (established(), on_accept()), and
 * so the only ones it can leave from: ESTABLISHED and CLOSE_WAIT through
 * closed(); SYN_RECV, a connection accepted before its handshake ended
 * (TCP Fast Open), through on_state(). Past them (FIN_WAIT1 and on,
 * LAST_ACK) nothing is held: the ->CLOSE that ends every connection is
 * dropped there before the socket is read, not a delete that finds nothing.
 */
static __always_inline bool conn_state(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_SYN_RECV;
}

/*
 * A passive connection's entry is made as its handshake ends when its
 * lifetime is shown, which starts there; otherwise by on_accept(), a hash
 * lookup less. Under a task filter only the accepting task can be judged.
 */
static __always_inline bool passive_at_handshake(void)
{
	return cfg.lifetime && !task_filter_on();
}

static __always_inline bool state_change_wanted(int old, int new)
{
	return old == TCP_SYN_SENT || new == TCP_SYN_SENT ||
	       (new == TCP_ESTABLISHED && passive_at_handshake()) ||
	       new == TCP_FIN_WAIT1 || new == TCP_LAST_ACK ||
	       (new == TCP_CLOSE && conn_state(old));
}

static __always_inline void on_state(struct sock *sk, int old, int new, bool typed)
{
	if (old == TCP_CLOSE && new == TCP_SYN_SENT)
		connecting(sk, typed);
	else if (new == TCP_ESTABLISHED)
		established(sk, old, typed);
	else if ((old == TCP_ESTABLISHED && new == TCP_FIN_WAIT1) ||
		 (old == TCP_CLOSE_WAIT && new == TCP_LAST_ACK))
		closed(sk, old, true, typed);
	else if ((old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT) && new == TCP_CLOSE)
		closed(sk, old, false, typed);
	if (old == TCP_SYN_SENT && new != TCP_ESTABLISHED)
		connect_ended(sk, typed);
	/* closed() took the others' (conn_state()) */
	if (old == TCP_SYN_RECV && (new == TCP_CLOSE || new == TCP_FIN_WAIT1))
		drop(sk, typed);
}

static __always_inline void on_accept(struct sock *sk, struct sock *listener, bool typed)
{
	/* only established() makes a passive connection's entry before this */
	struct conn *c = passive_at_handshake() ? tracked_elem(&conns, sk) : NULL;
	struct conn fresh = { .has_owner = 1, .passive = 1 };
	bool stale;

	/* a former socket's (one still connecting: an accepted socket never
	 * connects), whose end the kernel did not report. Where this one is
	 * kept, track() below counts and replaces it: the handshake's hook,
	 * on another CPU, may be replacing it now, and one must count */
	stale = c && (c->connecting || c->hash != sk_hash_as(sk, typed));
	if (stale)
		c = NULL;
	/* the task filters were asked first (accept_task_wanted) */
	if (!want_sk_as(sk, typed)) {
		if (stale)
			forget_former(sk);
		else if (c)
			untrack(&conns, sk);
		return;
	}
	if (!c) {
		/* established before we started, not kept as its handshake
		 * ended (passive_at_handshake()), or still ending it on another
		 * CPU (merged()). Not kept if reset while it waited to be
		 * accepted, or shut down by another thread since: the change
		 * that would take it out of conns has passed, and the entry
		 * would stay until a socket at its address counted it as an
		 * end not reported. Looked at again once made: a reset as it
		 * was made. */
		owner_of_current(&fresh.o);
		fresh.est_ns = lifetime_start();
		fresh.hash = sk_hash_as(sk, typed);
		if (conn_state(sk_state_as(sk, typed))) {
			if (!track(&conns, sk, &fresh, ST_LOST_CONNS, true) &&
			    !conn_state(sk_state_as(sk, typed)))
				untrack(&conns, sk);	/* reset as it was made */
		} else if (stale) {
			forget_former(sk);
		}
		emit(sk, &fresh.o, ST_EV_ACCEPT, NULL, 0, typed);
		return;
	}
	owner_of_current(&c->o);
	c->has_owner = 1;
	emit(sk, &c->o, ST_EV_ACCEPT, NULL, 0, typed);
}

/* established() keeps no passive connection under a task filter */
static __always_inline bool accept_task_wanted(void)
{
	return want_current();
}

/*
 * ---- the sweep: entries whose socket's end the kernel did not report ----
 * Not attached: the tool runs it (BPF_PROG_TEST_RUN, 5.10) with the keys
 * of conns it read, TCPTRACER_SWEEP_KEYS a run, every --sweep-every
 * seconds and twice at exit, while the hooks run: short runs, not one walk
 * of the whole map with preemption off. For each entry still there it
 * reads its socket (the key), a plain read of kernel memory: TCP's sockets
 * come from a SLAB_TYPESAFE_BY_RCU cache, so a closed one's memory is still
 * a socket, maybe another's, while its slab page lives, and a read that
 * faults gives 0, no state. An entry whose socket is not its connection's
 * is marked with the pass's number (sweep_nr, set by the tool); one still
 * so in a later pass is counted and deleted. Two looks, not one: the hooks
 * change an entry in steps (established() clears connecting, then sets
 * the hash), and the keys, read while others delete and insert, may show
 * one twice (or miss one, which a later pass finds).
 */
__u8 sweep_nr;

/* A connect's entry made before its SYN_SENT is stored (connecting()) */
#define SWEEP_YOUNG_NS	1000000000ULL

/*
 * Whether @sk is @c's socket still: in a state an entry is held in, and,
 * once established, holding its hash. The hooks make an entry before the
 * state that goes with it is stored: connecting() while the socket is
 * still CLOSE (a second spared, by the connect's start), established()
 * in SYN_SENT or SYN_RECV. An entry still connecting in ESTABLISHED or
 * CLOSE_WAIT is one whose handshake's end the kernel skipped: its own, as
 * former() takes it.
 */
static __always_inline bool sock_is(const struct conn *c, struct sock *sk)
{
	int state = sk_state_as(sk, false);

	if (c->connecting && state == TCP_CLOSE)
		return bpf_ktime_get_ns() - c->o.start_ns < SWEEP_YOUNG_NS;
	if (!conn_state(state) && state != TCP_SYN_SENT)
		return false;
	return c->connecting || c->hash == sk_hash_as(sk, false);
}

/*
 * Deleted only if still the entry marked: on another CPU, track() may have
 * counted and replaced it since it was read, into the same element (a
 * preallocated map's free list gives the one just freed back first), with
 * no mark. A replacement between the second look and the delete is still
 * possible (docs/limits.md): a map has no compare-and-delete.
 */
static __always_inline void sweep_one(__u64 key)
{
	struct conn *c = bpf_map_lookup_elem(&conns, &key);
	__u8 mark;

	if (!c)
		return;
	mark = c->swept;
	if (sock_is(c, (struct sock *)key)) {
		if (mark)
			c->swept = 0;
	} else if (!mark) {
		c->swept = sweep_nr;
	} else if (mark != sweep_nr && bpf_map_lookup_elem(&conns, &key) == c &&
		   c->swept == mark && !bpf_map_delete_elem(&conns, &key)) {
		count_lost(ST_LOST_UNSEEN);
	}
}

/* The keys of a run, written by the tool (its memory-mapped .bss) */
__u64 sweep_keys[TCPTRACER_SWEEP_KEYS];
__u32 sweep_n;

SEC("raw_tp")
int sweep_conns(void *ctx)
{
	__u32 i;

	for (i = 0; i < TCPTRACER_SWEEP_KEYS && i < sweep_n; i++)
		sweep_one(sweep_keys[i]);
	return 0;
}

/*
 * ---- state changes: fentry ----
 * Not tcp_set_state, which runs 9 times in a plain connection's life, 5 of
 * them for changes on_state() ignores, each a trampoline and a run: the
 * functions that make the changes it keeps, 4 runs a connection, each with
 * work to do (6 when a lifetime is kept: tcp_init_transfer runs at both
 * ends; docs/performance.md). Each holds the socket's lock, so the state
 * read at entry is the old state. tools/tcptracer.c attaches those that
 * delete entries before those that make them.
 */
#ifndef SEND_SHUTDOWN
#define SEND_SHUTDOWN	2	/* include/net/sock.h */
#endif

/*
 * @sk's end, read before it changes the state: the local end closes
 * (@in_task: close() or shutdown(), in the closing task) or the kernel ends
 * it (a reset, a timeout, an abort, a disconnect)
 */
static __always_inline void ends(struct sock *sk, bool in_task)
{
	int old = sk_state_as(sk, true);

	if (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT)
		closed(sk, old, in_task, true);
	else if (old == TCP_SYN_SENT)
		connect_ended(sk, true);
	else if (old == TCP_SYN_RECV)
		drop(sk, true);
}

/* close(), and MPTCP's subflows' closes: ->FIN_WAIT1, ->LAST_ACK, or ->CLOSE
 * with unread data (a reset) */
SEC("fentry/__tcp_close")
int BPF_PROG(fentry___tcp_close, struct sock *sk)
{
	ends(sk, true);
	return 0;
}

/*
 * shutdown(): not in SYN_RECV, which the kernel leaves as it is (6.9, and
 * Debian's 6.1): a Fast Open child accepted before its handshake ended
 * sends its FIN once established, tcp_rcv_state_process() calling this
 * again, in softirq. Its entry stays until then.
 */
SEC("fentry/tcp_shutdown")
int BPF_PROG(fentry_tcp_shutdown, struct sock *sk, int how)
{
	if ((how & SEND_SHUTDOWN) && sk_state_as(sk, true) != TCP_SYN_RECV)
		ends(sk, true);
	return 0;
}

/* SO_LINGER 0 and repair-mode closes, connect(AF_UNSPEC), shutdown() in
 * SYN_SENT, a listener's close for the children it never handed out */
SEC("fentry/tcp_disconnect")
int BPF_PROG(fentry_tcp_disconnect, struct sock *sk)
{
	ends(sk, false);
	return 0;
}

/*
 * Resets, timeouts, ICMP errors, aborts (6.10; Debian 6.1 from 6.1.0-24):
 * without it the kprobe backend is chosen. The other callers of tcp_done()
 * end sockets past FIN_WAIT1 or LAST_ACK, which hold no entry, except
 * MPTCP's subflow resets: the sweep counts those (docs/limits.md).
 */
SEC("fentry/tcp_done_with_error")
int BPF_PROG(fentry_tcp_done_with_error, struct sock *sk)
{
	ends(sk, false);
	return 0;
}

/* Its only caller: a simultaneous open, SYN_SENT->SYN_RECV, not a connect
 * this tool reports */
SEC("fentry/tcp_send_synack")
int BPF_PROG(fentry_tcp_send_synack, struct sock *sk)
{
	connect_ended(sk, true);
	return 0;
}

/* A passive connection's handshake ends (or a Fast Open child is made):
 * loaded only when passive_at_handshake() */
SEC("fentry/tcp_init_transfer")
int BPF_PROG(fentry_tcp_init_transfer, struct sock *sk, int bpf_op)
{
	if (bpf_op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		established(sk, TCP_SYN_RECV, true);
	return 0;
}

/* SYN_SENT->ESTABLISHED */
SEC("fentry/tcp_finish_connect")
int BPF_PROG(fentry_tcp_finish_connect, struct sock *sk)
{
	established(sk, TCP_SYN_SENT, true);
	return 0;
}

/*
 * After the SYN left, in the connecting task (the socket's lock held: its
 * SYN-ACK waits in the backlog until the connect returns). One that failed
 * is closed by its caller; one in repair mode is established already
 * (a restored connection, not a connect: untracked).
 */
SEC("fexit/tcp_connect")
int BPF_PROG(fexit_tcp_connect, struct sock *sk, int ret)
{
	if (!ret && sk_state_as(sk, true) == TCP_SYN_SENT)
		connecting(sk, true);
	return 0;
}

/*
 * ---- state changes: kprobe, tracepoint ----
 * on_state(); attached before the accept hooks, as tools/tcptracer.c
 * lists them.
 */
#define ST_STATE_OWN_FENTRY
#include "state.bpf.h"

#include "accept.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
