"""End-to-end cases for tcptracer (see docs/cli-contract.md)."""
import os
import re
import time

from e2elib import (IPV4, V4, V6, Fail, READY_RE, Suite, check, is_int, need_ipv6, parse_json,
                    show_lines, tcp_end)
from tools._accept import UringServer, build_uring_helper, uring_checked
from tools._bpfstate import check_catch_up, map_entries, start_unblocked

TOOL = "tcptracer"
COLUMNS = ["TIME(s)", "TIME", "UID", "T", "TYPE", "PID", "COMM", "IP", "SADDR", "DADDR",
           "SPORT", "DPORT", "NETNS", "MS", "TX_KB", "RX_KB"]
JSON_KEYS = ["ts", "time_ns", "tool", "event", "pid", "tid", "comm", "uid", "netns", "proto",
             "ip", "saddr", "sport", "daddr", "dport"]
CLOSE_KEYS = JSON_KEYS + ["duration_ns", "bytes_sent", "bytes_received"]
SHORT = {"connect": "C", "accept": "A", "close": "X"}

suite = Suite(TOOL, colmap={
    "T": ("t", str), "TYPE": ("event", str), "PID": ("pid", int), "COMM": ("comm", str),
    "IP": ("ip", int), "SADDR": ("saddr", str), "DADDR": ("daddr", str),
    "SPORT": ("sport", int), "DPORT": ("dport", int), "NETNS": ("netns", int),
    "MS": ("ms", str), "TX_KB": ("tx_kb", str), "RX_KB": ("rx_kb", str),
    "UID": ("uid", int), "TIME(s)": ("time_s", str), "TIME": ("time", str)},
    json_keys=JSON_KEYS)
COLS = ("col", "json")
SENT, RECEIVED = 3000, 5000     # by the client


def header(verbose=False, lifetime=False, uid=False, ts=None):
    h = {"t": ["TIME(s)"], "T": ["TIME"]}.get(ts, [])
    h += ["UID"] if uid else []
    h += ["TYPE" if verbose else "T", "PID", "COMM", "IP", "SADDR", "DADDR", "SPORT", "DPORT"]
    h += ["NETNS"] if verbose else []
    return h + (["MS", "TX_KB", "RX_KB"] if lifetime else [])


def ev(ctx, kind, peer, info, tx=None, rx=None, uid=0, pid=None, comm=None, tid=None):
    """One expected line: kind connect/accept/close at `peer`'s end (conn info)."""
    e = tcp_end(peer, info, uid)
    e.update(tool=TOOL, event=kind)
    if pid is not None:
        e.update(pid=pid, comm=comm, tid=tid)
    if ctx.mode == "json":
        if kind == "close" and tx is not None:
            e.update(bytes_sent=tx, bytes_received=rx)
        return e
    e["t"] = SHORT[kind]
    if tx is not None:
        e.update(tx_kb=str(tx // 1024) if kind == "close" else "-",
                 rx_kb=str(rx // 1024) if kind == "close" else "-")
    return e


def check_lines(ctx, out, hdr, expected):
    """check_events, plus per-type JSON keys and the MS column's form."""
    mine = ctx.check_events(out, hdr, expected, strict_json_keys=False)
    for e in mine:
        if ctx.mode == "json":
            want = CLOSE_KEYS if e["event"] == "close" else JSON_KEYS
            keys = [k for k in e if k != "_line"]
            check(keys == want, "JSON keys %s, expected %s: %r" % (keys, want, e["_line"]))
            if e["event"] == "close":
                check(is_int(e["duration_ns"]) and e["duration_ns"] > 0,
                      "duration_ns not a positive integer: %r" % e["_line"])
        elif "ms" in e:
            closing = e.get("t", e.get("event")) in ("X", "close")
            ok = re.match(r"^\d+\.\d{3}$", e["ms"]) if closing else e["ms"] == "-"
            check(ok, "MS %r on %r" % (e["ms"], e["_line"]))
    return mine


def session(ctx, cli, srv, lid, port, cfam, caddr, first="client", data=True):
    """connect, accept, exchange SENT/RECEIVED bytes, close in the given order."""
    c = cli.connect(cfam, caddr, port)
    a = srv.accept(lid)
    if data:
        cli.send(c, SENT)
        srv.recv(a, SENT)
        srv.send(a, RECEIVED)
        cli.recv(c, RECEIVED)
    one, two = (cli, c), (srv, a)
    if first != "client":
        one, two = two, one
    one[0].close(one[1])
    two[0].recv(two[1], 1)     # the EOF
    two[0].close(two[1])
    return c, a


# v4mapped: a dual-stack listener and a v4-mapped connect: IP 6 on both ends
@suite.case("{fam}_{first}_closes_first", modes=COLS, matrix=True,
            fam=("ipv4", "ipv6", "v4mapped"), first=("client", "server"))
def full_case(ctx, mode, fam, first):
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(*fam.listen)
    run = ctx.start_tool(["-l"] + ctx.mode_args())
    c, a = session(ctx, cli, srv, lid, port, fam.sock, fam.addr, first)
    run.wait_comm(ctx.prefix + "-", 4)
    out = run.finish()
    check_lines(ctx, out, header(lifetime=True), [
        ev(ctx, "connect", cli, c, SENT, RECEIVED), ev(ctx, "accept", srv, a, RECEIVED, SENT),
        ev(ctx, "close", cli, dict(c, tid=cli.pid), SENT, RECEIVED),
        ev(ctx, "close", srv, dict(a, tid=srv.pid), RECEIVED, SENT)])


@suite.case("close_predates_tool", modes=COLS)
def close_predates_tool(ctx, mode):
    """A connection established before the tool started: its X lines carry the
    bytes, and a lifetime the tool cannot know: MS "-", duration_ns null (not 0)."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    c = cli.connect(4, V4, port)
    a = srv.accept(lid)
    cli.send(c, SENT)
    srv.recv(a, SENT)
    srv.send(a, RECEIVED)
    cli.recv(c, RECEIVED)
    run = ctx.start_tool(["-l"] + ctx.mode_args())
    cli.close(c)
    srv.recv(a, 1)     # the EOF
    srv.close(a)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    exp = [ev(ctx, "close", cli, dict(c, tid=cli.pid), SENT, RECEIVED),
           ev(ctx, "close", srv, dict(a, tid=srv.pid), RECEIVED, SENT)]
    for e in exp:
        if mode == "json":
            e["duration_ns"] = None
        else:
            e["ms"] = "-"
    mine = ctx.check_events(out, header(lifetime=True), exp, strict_json_keys=False)
    if mode == "json":
        check(all('"duration_ns":null,' in e["_line"] for e in mine),
              "duration_ns should be null: %s" % show_lines([e["_line"] for e in mine]))


@suite.case("reset", modes=COLS, matrix=True)
def reset(ctx, mode):
    """The server closes with unread data (RST): its X in its own context, the
    client's X in softirq, still named after the client."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(ctx.mode_args())
    c = cli.connect(4, V4, port)
    a = srv.accept(lid)
    cli.send(c, 100)
    time.sleep(0.1)
    srv.close(a)
    run.wait_comm(ctx.prefix + "-", 4)
    out = run.finish()
    check_lines(ctx, out, header(), [
        ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a),
        ev(ctx, "close", cli, c), ev(ctx, "close", srv, dict(a, tid=srv.pid))])


@suite.case("reset_before_accept", modes=COLS, matrix=True)
def reset_before_accept(ctx, mode):
    """The client aborts (RST) before the server accepts: C and the client's X,
    then A for the dead socket, which the tool must not keep: no ->CLOSE is
    left to drop it."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(["-N", str(ns.inode)] + ctx.mode_args())
    c = cli.connect(4, V4, port)
    cli.close(c, abort=True)
    a = srv.accept(lid)
    check(a["raddr"] is None, "the server's socket was not reset before accept: %r" % a)
    a.update(raddr=c["laddr"], rport=c["lport"])
    run.wait_comm(ctx.prefix + "-", 3)
    left = {m: map_entries(run.p.pid, m) for m in ("conns", "owners")}
    out = run.finish()
    check_lines(ctx, out, header(), [
        ev(ctx, "connect", cli, c), ev(ctx, "close", cli, c), ev(ctx, "accept", srv, a)])
    check(not any(left.values()), "entries left for closed connections: %r" % {
        m: [e.get("formatted", e) for e in v] for m, v in left.items() if v})


@suite.case("never_established", modes=COLS, matrix=True)
def never_established(ctx, mode):
    """A refused connect prints nothing; a good one after it prints C."""
    ns = ctx.netns()
    srv, cli, bad = ctx.client("srv", ns), ctx.client("cli", ns), ctx.client("bad", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(ctx.mode_args())
    bad.connect(4, V4, 9, want="ECONNREFUSED")
    c = cli.connect(4, V4, port)
    a = srv.accept(lid)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a)])


@suite.case("preblocked", modes=COLS, matrix=True)
def preblocked(ctx, mode):
    """A server blocked in accept() before the tool started: A once, by that thread."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    blocked = srv.call("block", sid=lid)
    run = ctx.start_tool(ctx.mode_args())
    check_catch_up(run, "thread %d" % blocked["tid"])
    c = cli.connect(4, V4, port)
    a = srv.call("wait", sid=lid)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a)])


@suite.case("syscall_hooks_unblocked", matrix=True)
def syscall_hooks_unblocked(ctx, mode):
    """With no thread blocked in accept() at the start, fentry and kprobes
    leave sys_exit_accept* unattached, and C and A are still printed."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = start_unblocked(ctx)
    c = cli.connect(4, V4, port)
    a = srv.accept(lid)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a)])


@suite.case("fork_worker", modes=COLS, matrix=True)
def fork_worker(ctx, mode):
    """A worker per connection: A is the parent's, the server's X the worker's."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(ctx.mode_args())
    srv.ask("fork_serve", sid=lid, count=2)
    cs = [cli.connect(4, V4, port), cli.connect(4, V4, port)]
    ws = srv.answer("fork_serve")["workers"]
    for c in cs:
        cli.close(c)
    srv.call("reap")
    run.wait_comm(ctx.prefix + "-", 8)
    out = run.finish()
    wcomm = (srv.comm + "-wrk")[:15]
    exp = []
    for c in cs:
        exp += [ev(ctx, "connect", cli, c), ev(ctx, "close", cli, dict(c, tid=cli.pid))]
    for w in ws:
        exp += [ev(ctx, "accept", srv, w["conn"]),
                ev(ctx, "close", srv, w["conn"], pid=w["pid"], comm=wcomm, tid=w["pid"])]
    check_lines(ctx, out, header(), exp)


@suite.case("io_uring", modes=COLS, matrix=True)
def io_uring(ctx, mode):
    """An accept through io_uring: fentry/kprobe only (tracepoints cannot see it)."""
    binary = build_uring_helper(ctx)
    cli = ctx.client("cli")
    run = ctx.start_tool(ctx.mode_args())
    srv = UringServer(ctx, binary, ctx.comm("uring"), 4, V4)
    c = cli.connect(4, V4, srv.port)
    a = srv.accepted()
    check(a["rport"] == c["lport"], "test error: io_uring accepted another connection")
    uring_checked(run)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    acc = {"tool": TOOL, "event": "accept", "pid": srv.pid, "comm": srv.comm, "uid": 0,
           "proto": "tcp", "ip": 4, "saddr": V4, "sport": srv.port, "daddr": V4,
           "dport": c["lport"]}
    if mode != "json":
        acc["t"] = "A"
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), acc])


@suite.case("verbose", modes=COLS)
def verbose(ctx, mode):
    """-v: TYPE with long names, NETNS."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(["-v"] + ctx.mode_args())
    c, a = session(ctx, cli, srv, lid, port, 4, V4, data=False)
    run.wait_comm(ctx.prefix + "-", 4)
    out = run.finish()
    exp = [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a),
           ev(ctx, "close", cli, dict(c, tid=cli.pid)), ev(ctx, "close", srv, dict(a, tid=srv.pid))]
    for e in exp:
        e.pop("t", None)
        check(e["netns"] == ns.inode, "test error: peer not in the case's netns")
    check_lines(ctx, out, header(verbose=True), exp)


# ----------------------------------------------------------------------------
# Filters: the lines kept are those of the wanted process

def filtered(ctx, args_fn, shown, setup=None, hdr=None):
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    uid = setup(srv, cli) if setup else {}
    port, lid = srv.listen(4)
    run = ctx.start_tool(args_fn(srv, cli) + ctx.mode_args())
    c, a = session(ctx, cli, srv, lid, port, 4, V4, data=False)
    want = []
    if "cli" in shown:
        want += [ev(ctx, "connect", cli, c, uid=uid.get("cli", 0)),
                 ev(ctx, "close", cli, dict(c, tid=cli.pid), uid=uid.get("cli", 0))]
    if "srv" in shown:
        want += [ev(ctx, "accept", srv, a, uid=uid.get("srv", 0)),
                 ev(ctx, "close", srv, dict(a, tid=srv.pid), uid=uid.get("srv", 0))]
    run.wait_comm(ctx.prefix + "-", len(want))
    out = run.finish()
    check_lines(ctx, out, hdr or header(), want)


@suite.case("pid_filter_{end}", modes=COLS, matrix=True, end=("client", "server"))
def pid_filter_end(ctx, mode, end):
    """-p PID of one end of a connection: the lines of that end only."""
    filtered(ctx, lambda s, c: ["-p", str((c if end == "client" else s).pid)],
             ["cli" if end == "client" else "srv"])


def as_nobody(srv, cli):
    srv.call("setuid", uid=65534)
    return {"srv": 65534}


@suite.case("uid_filter", modes=COLS)
def uid_filter(ctx, mode):
    filtered(ctx, lambda s, c: ["-u", "65534", "-U"], ["srv"], as_nobody, header(uid=True))


@suite.case("print_uid")
def print_uid(ctx, mode):
    filtered(ctx, lambda s, c: ["-U"], ["srv", "cli"], as_nobody, header(uid=True))


@suite.case("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()
    filtered(ctx, lambda s, c: (cg.add(c.pid), ["--cgroup", cg.path])[1], ["cli"])


def family_case(ctx, flag, shown):
    need_ipv6()
    ns = ctx.netns()
    srv, c4, c6 = ctx.client("srv", ns), ctx.client("c4", ns), ctx.client("c6", ns)
    p4, l4 = srv.listen(4)
    p6, l6 = srv.listen(6)
    run = ctx.start_tool([flag] + ctx.mode_args())
    r4 = (c4.connect(4, V4, p4), srv.accept(l4))
    r6 = (c6.connect(6, V6, p6), srv.accept(l6))
    cli, (c, a) = (c4, r4) if shown == 4 else (c6, r6)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a)])


@suite.case("family_{fam}_only", fam=("ipv4", "ipv6"))
def family_only(ctx, mode, fam):
    family_case(ctx, "-%d" % fam.ip, fam.ip)


@suite.case("netns_filter", modes=COLS)
def netns_filter(ctx, mode):
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    osrv, ocli = ctx.client("osrv"), ctx.client("ocli")
    port, lid = srv.listen(4)
    oport, olid = osrv.listen(4)
    run = ctx.start_tool(["-N", str(ns.inode)] + ctx.mode_args())
    ocli.connect(4, V4, oport)
    osrv.accept(olid)
    c = cli.connect(4, V4, port)
    a = srv.accept(lid)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    check_lines(ctx, out, header(), [ev(ctx, "connect", cli, c), ev(ctx, "accept", srv, a)])


@suite.case("timestamp_t")
def timestamp_t(ctx, mode):
    filtered(ctx, lambda s, c: ["-t"], ["cli", "srv"], hdr=header(ts="t"))


@suite.case("time_T")
def time_T(ctx, mode):
    filtered(ctx, lambda s, c: ["-T"], ["cli", "srv"], hdr=header(ts="T"))


@suite.case("json_types")
def json_types(ctx, mode):
    ctx.mode = "json"
    full_case(ctx, mode, IPV4, "client")


# ----------------------------------------------------------------------------
# Errors


@suite.case("bad_option")
def bad_option(ctx, mode):
    for args, name in ((["-p", "x"], r"(-p\b|--pid)"), (["-N", "abc"], r"(-N\b|--netns)"),
                       (["--bogus"], r"bogus")):
        run = ctx.start_tool(args, ready=False)
        rc = run.wait()
        out = run.output()
        if any(READY_RE.match(l) for l in out.stderr) or rc == 0 or \
                not any(re.search(name, l) for l in out.stderr):
            raise Fail("`%s %s`: status %s, stderr %s" % (TOOL, " ".join(args), rc,
                                                         show_lines(out.stderr)))
