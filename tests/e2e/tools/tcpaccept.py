"""End-to-end cases for tcpaccept (see docs/cli-contract.md)."""
import os
import re
import sys
import time

from e2elib import (V4, V6, Fail, READY_RE, Suite, check, need_ipv6, parse_json, show_lines,
                    tcp_end)
from tools._accept import UringServer, build_uring_helper, uring_checked, wait_file
from tools._bpfstate import check_catch_up, start_unblocked

TOOL = "tcpaccept"
COLUMNS = ["TIME(s)", "TIME", "UID", "PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT",
           "BL"]
JSON_KEYS = ["ts", "time_ns", "tool", "event", "pid", "tid", "comm", "uid", "netns", "proto",
             "ip", "saddr", "sport", "daddr", "dport", "backlog", "backlog_max"]

suite = Suite(TOOL, colmap={
    "PID": ("pid", int), "COMM": ("comm", str), "IP": ("ip", int), "RADDR": ("daddr", str),
    "RPORT": ("dport", int), "LADDR": ("saddr", str), "LPORT": ("sport", int),
    "BL": ("bl", str), "UID": ("uid", int), "TIME(s)": ("time_s", str),
    "TIME": ("time", str)}, json_keys=JSON_KEYS)
COLS = ("col", "json")


def header(bl=False, uid=False, ts=None):
    h = {"t": ["TIME(s)"], "T": ["TIME"]}.get(ts, [])
    h += ["UID"] if uid else []
    h += ["PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT"]
    return h + (["BL"] if bl else [])


def acc(srv, info, uid=0):
    e = tcp_end(srv, info, uid)
    e.update(tool=TOOL, event="accept")
    return e


def one_accept(ctx, args, lfam, laddr, cfam, caddr, hdr=None):
    """srv listens, the tool starts, cli connects, srv accepts: one A line."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(lfam, laddr)
    run = ctx.start_tool(args + ctx.mode_args())
    cli.connect(cfam, caddr, port)
    a = srv.accept(lid)
    run.wait_comm(ctx.comm("srv"))
    out = run.finish()
    ctx.check_events(out, hdr or header(), [acc(srv, a)])
    return out, run


# v4mapped: a dual-stack listener accepting an IPv4 connection: IP 6, ::ffff:127.0.0.1
@suite.case("{fam}", modes=COLS, matrix=True, fam=("ipv4", "ipv6", "v4mapped"))
def family(ctx, mode, fam):
    out, run = one_accept(ctx, [], fam.listen[0], fam.listen[1], fam.sock, fam.addr)
    check(out.stderr == [run.ready_line],
          "stderr should hold only the ready line, got: %s" % show_lines(out.stderr))


@suite.case("preblocked", modes=COLS, matrix=True)
def preblocked(ctx, mode):
    """A server already blocked in accept() when the tool starts (bcc #2165):
    reported once, then a normal accept after it, also once."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    blocked = srv.call("block", sid=lid)
    run = ctx.start_tool(ctx.mode_args())
    check_catch_up(run, "thread %d" % blocked["tid"])
    cli.connect(4, V4, port)
    a1 = srv.call("wait", sid=lid)
    cli.connect(4, V4, port)
    a2 = srv.accept(lid)
    run.wait_comm(ctx.comm("srv"), 2)
    out = run.finish()
    ctx.check_events(out, header(), [acc(srv, a1), acc(srv, a2)])


@suite.case("syscall_hooks_unblocked", matrix=True)
def syscall_hooks_unblocked(ctx, mode):
    """With no thread blocked in accept() at the start, fentry and kprobes
    leave sys_exit_accept* unattached, and the accept is still printed."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = start_unblocked(ctx)
    cli.connect(4, V4, port)
    a = srv.accept(lid)
    run.wait_comm(ctx.comm("srv"), 1)
    out = run.finish()
    ctx.check_events(out, header(), [acc(srv, a)])


@suite.case("fork_worker", modes=COLS, matrix=True)
def fork_worker(ctx, mode):
    """A server that forks a worker per connection: the accepts are the parent's."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    run = ctx.start_tool(ctx.mode_args())
    srv.ask("fork_serve", sid=lid, count=2)
    c1, c2 = cli.connect(4, V4, port), cli.connect(4, V4, port)
    ws = srv.answer("fork_serve")["workers"]
    cli.close(c1)
    cli.close(c2)
    srv.call("reap")
    run.wait_comm(ctx.comm("srv"), 2)
    out = run.finish()
    check(sorted(w["conn"]["rport"] for w in ws) == sorted([c1["lport"], c2["lport"]]),
          "test error: workers' connections are not the client's")
    ctx.check_events(out, header(), [acc(srv, w["conn"]) for w in ws])


@suite.case("io_uring", modes=COLS, matrix=True)
def io_uring(ctx, mode):
    """An accept made through io_uring (no accept() syscall): fentry/kprobe only."""
    binary = build_uring_helper(ctx)
    cli = ctx.client("cli")
    run = ctx.start_tool(ctx.mode_args())
    srv = UringServer(ctx, binary, ctx.comm("uring"), 4, V4)
    c = cli.connect(4, V4, srv.port)
    a = srv.accepted()
    check(a["rport"] == c["lport"], "test error: io_uring accepted another connection")
    b = uring_checked(run)
    run.wait_comm(ctx.comm("uring"))
    out = run.finish()
    exp = {"tool": TOOL, "event": "accept", "pid": srv.pid, "comm": srv.comm, "uid": 0,
           "netns": os.stat("/proc/self/ns/net").st_ino, "proto": "tcp", "ip": 4,
           "saddr": V4, "sport": srv.port, "daddr": V4, "dport": c["lport"]}
    ctx.check_events(out, header(), [exp])
    ctx.cfg.log("io_uring accept seen on backend %s" % b)


@suite.case("backlog", modes=COLS, matrix=True)
def backlog(ctx, mode):
    """-b: two connections queued, then accepted: BL 1/5 then 0/5."""
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4, backlog=5)
    run = ctx.start_tool(["-b"] + ctx.mode_args())
    cli.connect(4, V4, port)
    cli.connect(4, V4, port)
    time.sleep(0.1)
    a1 = srv.accept(lid)
    a2 = srv.accept(lid)
    run.wait_comm(ctx.comm("srv"), 2)
    out = run.finish()
    e1, e2 = acc(srv, a1), acc(srv, a2)
    if mode == "json":
        e1.update(backlog=1, backlog_max=5)
        e2.update(backlog=0, backlog_max=5)
    else:
        e1["bl"], e2["bl"] = "1/5", "0/5"
    ctx.check_events(out, header(bl=True), [e1, e2])


# ----------------------------------------------------------------------------
# Filters

def two_servers(ctx, args_fn, shown, uids=None, netns_of=None, lfams=(4, 4), hdr=None):
    """Servers a and b each accept one connection; only `shown` may be printed."""
    ns = ctx.netns()
    uids = uids or {}
    srv = {r: ctx.client(r, ns) for r in ("a", "b")}
    for r, u in uids.items():
        srv[r].call("setuid", uid=u)
    cli = ctx.client("cli", ns)
    lst = {r: srv[r].listen(f, V4 if f == 4 else V6) for r, f in zip(("a", "b"), lfams)}
    run = ctx.start_tool(args_fn(srv, lst) + ctx.mode_args())
    infos = {}
    for r in [r for r in ("a", "b") if r not in shown] + list(shown):
        port, lid = lst[r]
        cli.connect(lfams[0 if r == "a" else 1], V4 if lfams[0 if r == "a" else 1] == 4 else V6,
                    port)
        infos[r] = srv[r].accept(lid)
    run.wait_comm(ctx.prefix + "-", len(shown))
    out = run.finish()
    ctx.check_events(out, hdr or header(), [acc(srv[r], infos[r], uids.get(r, 0))
                                            for r in shown])


@suite.case("pid_filter", modes=COLS, matrix=True)
def pid_filter(ctx, mode):
    two_servers(ctx, lambda s, l: ["-p", str(s["b"].pid)], ["b"])


@suite.case("port_filter", modes=COLS, matrix=True)
def port_filter(ctx, mode):
    two_servers(ctx, lambda s, l: ["-P", str(l["a"][0])], ["a"])


@suite.case("port_list")
def port_list(ctx, mode):
    two_servers(ctx, lambda s, l: ["-P", "%d,%d" % (l["a"][0], l["b"][0])], ["a", "b"])


@suite.case("family_{fam}_only", fam=("ipv4", "ipv6"))
def family_only(ctx, mode, fam):
    need_ipv6()
    two_servers(ctx, lambda s, l: ["-%d" % fam.ip], ["b" if fam.ip == 4 else "a"], lfams=(6, 4))


@suite.case("uid_filter", modes=COLS)
def uid_filter(ctx, mode):
    two_servers(ctx, lambda s, l: ["-u", "65534", "-U"], ["a"], uids={"a": 65534},
                hdr=header(uid=True))


@suite.case("print_uid")
def print_uid(ctx, mode):
    two_servers(ctx, lambda s, l: ["-U"], ["a", "b"], uids={"a": 65534},
                hdr=header(uid=True))


@suite.case("netns_filter", modes=COLS)
def netns_filter(ctx, mode):
    ns = ctx.netns()
    inside, outside = ctx.client("in", ns), ctx.client("out")
    cin, cout = ctx.client("cin", ns), ctx.client("cout")
    pin, lin = inside.listen(4)
    pout, lout = outside.listen(4)
    run = ctx.start_tool(["-N", str(ns.inode)] + ctx.mode_args())
    cout.connect(4, V4, pout)
    outside.accept(lout)
    cin.connect(4, V4, pin)
    a = inside.accept(lin)
    run.wait_comm(ctx.comm("in"))
    out = run.finish()
    ctx.check_events(out, header(), [acc(inside, a)])


@suite.case("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()
    two_servers(ctx, lambda s, l: (cg.add(s["a"].pid), ["--cgroup", cg.path])[1], ["a"])


@suite.case("timestamp_t")
def timestamp_t(ctx, mode):
    _, run = one_accept(ctx, ["-t"], 4, V4, 4, V4, hdr=header(ts="t"))


@suite.case("time_T")
def time_T(ctx, mode):
    out, _ = one_accept(ctx, ["-T"], 4, V4, 4, V4, hdr=header(ts="T"))
    mine = ctx.ours(ctx.events(out, header(ts="T")))
    check(re.match(r"^\d\d:\d\d:\d\d$", mine[0]["time"]), "TIME is not HH:MM:SS: %r" %
          mine[0]["_line"])


@suite.case("output_file")
def output_file(ctx, mode):
    ns = ctx.netns()
    srv, cli = ctx.client("srv", ns), ctx.client("cli", ns)
    port, lid = srv.listen(4)
    path = ctx.tmp("trace.out")
    run = ctx.start_tool(["-o", path], output_file=path)
    cli.connect(4, V4, port)
    a = srv.accept(lid)
    time.sleep(0.5)
    out = run.finish()
    check(out.stdout == [], "stdout should be empty with -o, got: %s" % show_lines(out.stdout))
    ctx.check_events(out, header(), [acc(srv, a)])


CMD = r"""
import ctypes, json, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
open(sys.argv[2] + ".tmp", "w").write("%d\n" % l.getsockname()[1])
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s, a = l.accept()
print(json.dumps({"pid": os.getpid(), "rport": a[1]}), flush=True)
"""


@suite.case("command_mode", modes=COLS)
def command_mode(ctx, mode):
    """-- COMMAND: the command's accept is traced (trace on stderr), another server's not."""
    import json as _json
    other = ctx.client("other")
    cli = ctx.client("cli")
    oport, olid = other.listen(4)
    pfile = ctx.tmp("port")
    run = ctx.start_tool(ctx.mode_args(), command=[sys.executable, "-c", CMD,
                                                   ctx.comm("cmd"), pfile])
    cli.connect(4, V4, oport)
    other.accept(olid)
    port = int(wait_file(pfile))
    c = cli.connect(4, V4, port)
    out = run.finish(expect_rc=0)
    got = _json.loads(out.stdout[-1]) if out.stdout else {}
    check(got.get("rport") == c["lport"], "command's stdout: %s" % show_lines(out.stdout))
    exp = {"tool": TOOL, "event": "accept", "pid": got["pid"], "tid": got["pid"],
           "comm": ctx.comm("cmd"), "uid": 0, "netns": os.stat("/proc/self/ns/net").st_ino,
           "proto": "tcp", "ip": 4, "saddr": V4, "sport": port, "daddr": V4,
           "dport": c["lport"]}
    ctx.check_events(out, header(), [exp])


@suite.case("json_types")
def json_types(ctx, mode):
    ctx.mode = "json"
    out, _ = one_accept(ctx, [], 4, V4, 4, V4)
    for o in ctx.ours(parse_json(out.trace)):
        for k in ("pid", "tid", "uid", "netns", "ip", "sport", "dport", "backlog",
                  "backlog_max", "time_ns"):
            check(isinstance(o[k], int), "JSON %s is not an integer: %r" % (k, o["_line"]))


# ----------------------------------------------------------------------------
# Errors


@suite.case("bad_option")
def bad_option(ctx, mode):
    for args, name in ((["-P", "0"], r"(-P\b|--port)"), (["-p", "x"], r"(-p\b|--pid)"),
                       (["--bogus"], r"bogus")):
        run = ctx.start_tool(args, ready=False)
        rc = run.wait()
        out = run.output()
        if any(READY_RE.match(l) for l in out.stderr) or rc == 0 or \
                not any(re.search(name, l) for l in out.stderr):
            raise Fail("`%s %s`: status %s, stderr %s" % (TOOL, " ".join(args), rc,
                                                         show_lines(out.stderr)))
