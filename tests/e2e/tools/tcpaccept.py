"""End-to-end cases for tcpaccept (see docs/cli-contract.md).

The cases every tool has are in tests/e2e/shared.py; Actor below makes the
accepts they trace."""
import json
import os
import sys
import time

import e2elib
import lostcount
import shared
from e2elib import (EVENT_TIMEOUT, INET_JSON, V4, Fail, Skip, Suite, check, show_lines,
                    tcp_end)
from tools import _stash
from tools._accept import (Pair, add_seen_full_case, caught_up_accept, fork_worker_case,
                           uring_accept)
from tools._bpfstate import add_unblocked_case

TOOL = "tcpaccept"
COLUMNS = ["TIME(s)", "TIME", "UID", "PID", "COMM", "WORKLOAD", "IP", "RADDR", "RPORT",
           "LADDR", "LPORT", "BL", "ACCEPTS"]

suite = Suite(
    TOOL, "TCP accepts", ["PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT"],
    colmap={"RADDR": ("daddr", str), "RPORT": ("dport", int), "LADDR": ("saddr", str),
            "LPORT": ("sport", int), "BL": ("bl", str)},
    json_keys=INET_JSON + [("backlog", int), ("backlog_max", int)],
    proto="tcp", events=("accept",), options=("-P", "-4", "-6"),
    bad_options=[(["-P", "0"], r"-P/--port\b"), (["-p", "x"], r"-p/--pid\b"),
                 (["-c", "-b"], r"-c/--count\b"), (["-d"], shared.unknown_option("-d"))],
    json_args=(["-b"],), matrix=("pid_filter", "port_filter"),
    count=[("PID", "pid", None), ("COMM", "comm", None), ("IP", "ip", None),
           ("LADDR", "saddr", None), ("LPORT", "sport", None), ("ACCEPTS", "count", None)],
    names={"json_schema": "json_types"})
COLS = shared.COLS


def header(bl=False):
    return suite.header(suite.columns + (["BL"] if bl else []))


def acc(srv, conn, uid=0):
    e = tcp_end(srv, conn, uid)
    e.update(tool=TOOL, event="accept")
    return e


@suite.actor
class Actor(e2elib.Actor):
    """Accepts a connection it makes to its own listener (tcpaccept does not
    print connects)."""

    def prepare(self):
        port, self.lid = self.cli.listen(*self.fam.listen)
        return port

    def act(self, args=()):
        self.cli.connect(self.fam.sock, self.fam.addr, self.port)
        return [acc(self.cli, self.cli.accept(self.lid), self.uid)]


# v4mapped: a dual-stack listener accepting an IPv4 connection: IP 6, ::ffff:127.0.0.1
@suite.case("{fam}", modes=COLS, matrix=True, fam=("ipv4", "ipv6", "v4mapped"))
def family(ctx, mode, fam):
    shared.one_act(ctx, fam=fam, quiet=True)


@suite.case("preblocked", modes=COLS, matrix=True)
def preblocked(ctx, mode):
    """A server already blocked in accept() when the tool starts (bcc #2165):
    reported once, then a normal accept after it, also once."""
    p = Pair(ctx)
    run = p.start_preblocked(ctx)
    p.connect()
    a1 = p.blocked_accept()
    p.connect()
    a2 = p.accept()
    run.wait_comm(p.srv.comm, 2)
    out = run.finish()
    ctx.check_events(out, header(), [acc(p.srv, a1), acc(p.srv, a2)])


add_unblocked_case(suite)
add_seen_full_case(suite)

def kprobe_events():
    """tracefs's kprobe_events, where the tools look first (debugfs's
    tracing/): the tool mounts tracefs to make its own."""
    for d in ("/sys/kernel/debug/tracing", "/sys/kernel/tracing"):
        if os.path.exists(d + "/kprobe_events"):
            return d + "/kprobe_events"
    return None


def write_kprobe_events(line):
    """One line to kprobe_events (os.write: Python's append mode seeks, which it refuses)."""
    fd = os.open(kprobe_events(), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def kprobe_events_of(pid):
    """The tracefs kprobe events the tool of PID made (socktrace/st_PID_N)."""
    path = kprobe_events()
    if not path:
        return []
    with open(path) as f:
        return [l.strip() for l in f if ":socktrace/st_%d_" % pid in l]


@suite.case("kprobe_events_swept", modes=("column",), matrix=True)
def kprobe_events_swept(ctx, mode):
    """On a kernel whose kprobe links do not count missed calls (before
    6.7), the kprobe backend makes its kprobes in tracefs: they are there
    while the tool runs and gone at exit, and a tool removes those a killed
    tool left (its PID gone) when it starts."""
    run = ctx.start_tool(ctx.mode_args())
    own = kprobe_events_of(run.p.pid)
    out = run.finish()
    if "kprobe" not in run.ready_backends:
        raise Skip("tracefs kprobes are the kprobe backend's; this run has backend %s"
                   % "+".join(run.ready_backends))
    untold = [l for l in out.stderr if "misses will not be said" in l]
    check(not untold, "the tool could not make its tracefs kprobes: %s" % show_lines(untold))
    if not own:
        raise Skip("this kernel (%s) counts kprobe misses on its links: no tracefs kprobes "
                   "made" % os.uname().release)
    check(any("inet_csk_accept" in l for l in own),
          "no kprobe event on inet_csk_accept while the tool ran: %s" % own)
    gone = kprobe_events_of(run.p.pid)
    check(not gone, "the tool's kprobe events should be gone at exit: %s" % gone)
    with open("/proc/sys/kernel/pid_max") as f:
        dead = int(f.read()) + 1        # no process has it
    write_kprobe_events("p:socktrace/st_%d_0 tcp_close\n" % dead)
    try:
        run = ctx.start_tool(ctx.mode_args())
        left = kprobe_events_of(dead)
        run.finish()
        check(not left, "the killed tool's kprobe event should be removed: %s" % left)
    finally:
        if kprobe_events_of(dead):
            write_kprobe_events("-:socktrace/st_%d_0\n" % dead)


@suite.case("kprobe_missed", modes=("json",), matrix=True)
def kprobe_missed(ctx, mode):
    """More threads blocked in accept() at once than a kretprobe follows,
    max(10, 2 x possible CPUs), on the kprobe backend: the accepts whose
    return the kernel missed are not printed, and stderr (as it happens and
    in total), the JSON lost lines (kprobe_missed) and the metrics page
    (socktrace_events_lost_total{reason="kprobe_missed"}) each count
    exactly those; printed + missed = accepted. From 6.7 the kernel counts
    them on the links; before, on the tool's tracefs kprobe events, which
    are gone once it exits."""
    p = Pair(ctx, backlog=64)
    run = lostcount.start_counting(ctx, ctx.mode_args())
    backend = "+".join(run.ready_backends)
    if "kprobe" not in run.ready_backends:
        run.finish()
        raise Skip("kretprobes are the kprobe backend's; this run has backend %s" % backend)
    follows = max(10, 2 * _stash.possible_cpus())
    n = follows + 4
    for _ in range(n):
        p.srv.call("block", sid=p.lid)
    for _ in range(n):
        p.connect()
    accepted = [p.blocked_accept() for _ in range(n)]
    run.wait_comm(p.srv.comm, follows)
    out, now = lostcount.counted(ctx, run, "kprobe_missed", r"the kernel missed (\d+) calls of "
                              r"the probed", r"(\d+) calls of the probed functions missed in total")
    evs = [e for e in ctx.ours(e2elib.parse_json(out.trace)) if e.get("event") == "accept"]
    check(now >= 1 and len(evs) + now == n,
          "%d accepts, %d printed: stderr should count the other %d as missed, got %d: %s"
          % (n, len(evs), n - len(evs), now, show_lines(out.stderr)))
    ports = sorted(a["rport"] for a in accepted)
    check(all(e["dport"] in ports for e in evs), "an accept printed that the test did not make")
    left = kprobe_events_of(run.p.pid)
    check(not left, "the tool's kprobe events should be gone at exit: %s" % show_lines(left))


@suite.case("thread_map_full", modes=("json",), matrix=True)
def thread_map_full(ctx, mode):
    """--max-threads 4 on the kprobe backend, 8 threads blocked in accept():
    every accept is printed, and those whose listener the thread map forgot
    have no backlog; stderr, the JSON lost lines and the metrics page count
    exactly those (tools/_stash.py)."""
    p = Pair(ctx, backlog=64)
    run = _stash.start(ctx, ["-b"])
    for _ in range(_stash.BLOCKED):
        p.srv.call("block", sid=p.lid)
    for _ in range(_stash.BLOCKED):
        p.connect()
    accepted = [p.blocked_accept() for _ in range(_stash.BLOCKED)]
    run.wait_comm(p.srv.comm, _stash.BLOCKED)
    out, forgotten = _stash.finish(ctx, run)
    evs = [e for e in ctx.ours(e2elib.parse_json(out.trace)) if e.get("event") == "accept"]
    check(sorted(e["dport"] for e in evs) == sorted(a["rport"] for a in accepted),
          "the %d accepts made should each be printed once: %s"
          % (_stash.BLOCKED, show_lines([e["_line"] for e in evs])))
    unknown = sum(1 for e in evs if e.get("backlog") is None)
    check(unknown == forgotten, "%d accepts printed without a backlog, %d counted forgotten"
          % (unknown, forgotten))


@suite.case("fork_worker", modes=COLS, matrix=True)
def fork_worker(ctx, mode):
    """A server that forks a worker per connection: the accepts are the parent's."""
    fork_worker_case(ctx, lambda p, conns, workers: [acc(p.srv, w["conn"]) for w in workers])


@suite.case("io_uring{caught}", modes=COLS, matrix=True, caught=("", "_caught_up"))
def io_uring(ctx, mode, caught):
    """An accept made through io_uring (no accept() syscall): fentry/kprobe
    only. _caught_up: a server blocked in accept() at the start has the
    syscall side attached, which then reports accept() syscalls: the
    io_uring accept is still printed once, and the accept() calls once each."""
    pre = Pair(ctx) if caught else None
    run, srv, cli, c = uring_accept(ctx, pre)
    exp = [{"tool": TOOL, "event": "accept", "pid": srv.pid, "comm": srv.comm, "uid": 0,
            "netns": os.stat("/proc/self/ns/net").st_ino, "proto": "tcp", "ip": 4,
            "saddr": V4, "sport": srv.port, "daddr": V4, "dport": c["lport"]}]
    if pre:
        exp += [acc(pre.srv, a) for _, a in caught_up_accept(run, pre)]
        run.wait_comm(pre.srv.comm, 2)
    run.wait_comm(srv.comm)
    out = run.finish()
    ctx.check_events(out, header(), exp)


@suite.case("backlog", modes=COLS, matrix=True)
def backlog(ctx, mode):
    """-b: two connections queued, then accepted: BL 1/5 then 0/5."""
    p = Pair(ctx, backlog=5)
    run = ctx.start_tool(["-b"] + ctx.mode_args())
    p.connect()
    p.connect()
    time.sleep(0.1)
    a1, a2 = p.accept(), p.accept()
    run.wait_comm(p.srv.comm, 2)
    out = run.finish()
    e1, e2 = acc(p.srv, a1), acc(p.srv, a2)
    if mode == "json":
        e1.update(backlog=1, backlog_max=5)
        e2.update(backlog=0, backlog_max=5)
    else:
        e1["bl"], e2["bl"] = "1/5", "0/5"
    ctx.check_events(out, header(bl=True), [e1, e2])


CMD = r"""
import ctypes, json, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
open(sys.argv[2] + ".tmp", "w").write("%d\n" % l.getsockname()[1])
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s, a = l.accept()
print(json.dumps({"pid": os.getpid(), "rport": a[1]}), flush=True)
"""


def wait_file(path, timeout=EVENT_TIMEOUT * 3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                s = f.read()
            if s.endswith("\n"):
                return s
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise Fail("command never wrote %s" % path)


@suite.case("command_mode", modes=COLS)
def command_mode(ctx, mode):
    """-- COMMAND: the command's accept is traced (trace on stderr), another server's not."""
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
    got = json.loads(out.stdout[-1]) if out.stdout else {}
    check(got.get("rport") == c["lport"], "command's stdout: %s" % show_lines(out.stdout))
    exp = {"tool": TOOL, "event": "accept", "pid": got["pid"], "tid": got["pid"],
           "comm": ctx.comm("cmd"), "uid": 0, "netns": os.stat("/proc/self/ns/net").st_ino,
           "proto": "tcp", "ip": 4, "saddr": V4, "sport": port, "daddr": V4,
           "dport": c["lport"]}
    ctx.check_events(out, header(), [exp])
