"""The accept side, shared by the tcpaccept and tcptracer cases: a server and
a client, a server blocked in accept() before the tool starts, a server that
forks a worker per connection, an accept through io_uring, accepts made
while the tool is held in its start."""
import json
import os
import subprocess

import e2elib
import lostcount
from e2elib import V4, HeldStart, Skip, check, show_lines
from tools import _stash
from tools._bpfstate import check_catch_up, map_entries, map_keys_int


class Pair:
    """Processes srv and cli in a netns of their own, srv listening on
    `listen` (family, address)."""

    def __init__(self, ctx, listen=(4, V4), backlog=16):
        ns = self.netns = ctx.netns()
        self.srv, self.cli = ctx.client("srv", ns), ctx.client("cli", ns)
        self.port, self.lid = self.srv.listen(*listen, backlog=backlog)

    def connect(self):
        return self.cli.connect(4, V4, self.port)

    def accept(self):
        return self.srv.accept(self.lid)

    def take_addresses(self, pid, name, held):
        """Connections made and closed, 50 at a time (bpftool is slow in the
        guests), until new sockets have taken the addresses that are the
        keys `held` of pid's map `name`; returns how many were made. The
        backlog must hold 50."""
        made = 0
        while held & map_keys_int(pid, name) and made < 1000:
            self.srv.call("accept_many", sid=self.lid, count=50)
            self.cli.call("connect_many", family=4, addr=V4, port=self.port, count=50)
            self.srv.call("wait", sid=self.lid)
            made += 50
        left = held & map_keys_int(pid, name)
        check(not left, "%d connections made, and no new socket took the address of %s" % (
            made, sorted(left)))
        return made

    def start_preblocked(self, ctx):
        """Starts the tool while a thread of srv sleeps in accept() (bcc
        #2165), checking the catch-up programs; the thread's accept is
        self.blocked_accept()."""
        blocked = self.srv.call("block", sid=self.lid)
        run = ctx.start_tool(ctx.mode_args())
        check_catch_up(run, "thread %d" % blocked["tid"])
        return run

    def blocked_accept(self):
        return self.srv.call("wait", sid=self.lid)

    def fork_workers(self, n=2):
        """srv accepts n connects of cli, each in a worker it forks, which
        reads until cli closes its end; returns (cli's conns, the workers)."""
        self.srv.ask("fork_serve", sid=self.lid, count=n)
        conns = [self.connect() for _ in range(n)]
        workers = self.srv.answer("fork_serve")["workers"]
        for c in conns:
            self.cli.close(c)
        self.srv.call("reap")
        check(sorted(w["conn"]["rport"] for w in workers) == sorted(c["lport"] for c in conns),
              "test error: workers' connections are not the client's")
        return conns, workers


def fork_worker_case(ctx, expect):
    """A server forks a worker per connection (two), each reading until the
    client closes its end: the tool must print expect(pair, the client's
    conns, the workers)."""
    p = Pair(ctx)
    run = ctx.start_tool(ctx.mode_args())
    conns, workers = p.fork_workers()
    exp = expect(p, conns, workers)
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    ctx.check_events(out, ctx.suite.header(), exp)


class UringServer:
    """helpers/uring_accept.c: one accept through io_uring, no accept() syscall."""

    def __init__(self, ctx, comm, family=4, addr=V4):
        # built by the Makefile (make e2e), not here: a qemu guest has no compiler
        binary = os.path.join(ctx.cfg.build_dir, "tests", "uring_accept")
        if not os.access(binary, os.X_OK):
            raise Skip("no io_uring helper %s (make e2e builds it; needs liburing-dev)" % binary)
        self.comm = comm
        self.p = subprocess.Popen([binary, comm, str(family), addr], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.p.pid
        ctx.defer(self.kill)
        line = self.p.stdout.readline()
        if not line:
            err = self.p.stderr.read().strip()
            if "io_uring" in err:
                raise Skip("io_uring unusable here: %s" % err)
            raise RuntimeError("uring_accept failed: %s" % err)
        self.port = json.loads(line)["port"]

    def accepted(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("uring_accept: %s" % self.p.stderr.read().strip())
        return json.loads(line)

    def kill(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def uring_accept(ctx, pre=None):
    """A client connects, a server accepts through io_uring; only the fentry
    and kprobe backends can see that (the syscalls:* tracepoints cannot).
    With pre (a Pair), the tool starts while a thread of pre.srv is blocked
    in accept(), so the catch-up programs are attached (pre.start_preblocked).
    Returns (run, srv, cli, cli's conn), or Skip."""
    cli = ctx.client("ucli")
    run = pre.start_preblocked(ctx) if pre else ctx.start_tool(ctx.mode_args())
    srv = UringServer(ctx, ctx.comm("uring"), 4, V4)
    c = cli.connect(4, V4, srv.port)
    check(srv.accepted()["rport"] == c["lport"],
          "test error: io_uring accepted another connection")
    b = "+".join(run.ready_backends)
    if "fentry" not in run.ready_backends and "kprobe" not in run.ready_backends:
        raise Skip("io_uring accepts are asserted on the fentry and kprobe backends "
                   "only; this run has backend %s (tracepoints do not see io_uring)" % b)
    ctx.cfg.log("io_uring accept on backend %s" % b)
    return run, srv, cli, c


def caught_up_accept(run, pre):
    """After uring_accept(ctx, pre): the blocked thread's accept, and one
    more by it, now that the syscall side reports accept() syscalls. Checks
    that no accept left an entry in accept_seen (written only while the tool
    starts). Returns the two accepted conns and pre.cli's."""
    c1 = pre.connect()
    a1 = pre.blocked_accept()
    c2 = pre.connect()
    a2 = pre.accept()
    seen = map_entries(run.p.pid, "accept_seen")
    check(not seen, "accept_seen should be empty once the tool has started: %r"
          % [e.get("formatted", e) for e in seen])
    return (c1, a1), (c2, a2)


def add_seen_full_case(suite):
    """accept_seen_full, for the tools that trace accepts."""
    @suite.case("accept_seen_full", modes=("json",), matrix=True)
    def accept_seen_full(ctx, mode):
        """accept_seen at its limit (--max-threads 1 sizes it). gdb holds the
        tool between its two sides' attach: the function side is attached,
        the syscall side is not yet, and the map takes the accept() calls
        that return then. Three threads each accept one connection in turn:
        the first is noted and printed; the next two find the map full, are
        counted as calls forgotten on every channel, and are not printed (no
        syscall side saw them end). A fourth thread, asleep in accept() on
        another listener since before the start (so that the syscall side is
        attached), accepts after the start: printed by the syscall side.
        Printed 2 + lost 2 = made 4."""
        b = ctx.cfg.expect_backend if ctx.cfg.backend == "auto" else ctx.cfg.backend
        if b not in ("fentry", "kprobe"):
            raise Skip("accept_seen is written by the function side (fentry, kprobe) "
                       "while the tool starts; this run's backend is %s" % b)
        p = Pair(ctx, backlog=8)
        port2, lid2 = p.srv.listen(4, V4)
        p.srv.call("block", sid=lid2)
        held, tids = [], []

        def start(args):
            del held[:], tids[:]
            hold = HeldStart(ctx, args + ctx.mode_args(), "syscall_in_progress")
            for _ in range(3):      # one thread after the other: no LRU eviction
                p.connect()
                tids.append(p.srv.call("block", sid=p.lid)["tid"])
                held.append(p.srv.call("wait", sid=p.lid))
            return hold.release()
        # -p: no other process's accept may take the one entry
        run = lostcount.start_counting(ctx, ["--max-threads", "1", "-p", str(p.srv.pid)],
                                       start)
        check_catch_up(run, "a thread of %s" % p.srv.comm)
        p.cli.connect(4, V4, port2)
        after = p.srv.call("wait", sid=lid2)
        run.wait_comm(p.srv.comm, 2)
        seen = map_keys_int(run.p.pid, "accept_seen")
        out, lost = lostcount.counted(ctx, run, "thread_map_full", _stash.NOW_RE,
                                      _stash.TOTAL_RE, judge=lostcount.judged)
        evs = [e for e in ctx.ours(e2elib.parse_json(out.trace))
               if e.get("event") == "accept" and e.get("pid") == p.srv.pid]
        want = sorted([held[0]["rport"], after["rport"]])
        check(sorted(e["dport"] for e in evs) == want,
              "the first accept made while held and the one after the start should be "
              "printed, ports %s: %s" % (want, show_lines([e["_line"] for e in evs])))
        check(lost == 2, "2 accepts found accept_seen full: stderr should count 2 calls "
              "forgotten, got %d: %s" % (lost, show_lines(out.stderr)))
        check(seen == {tids[0]}, "accept_seen (1 entry) should hold the first thread's "
              "(%d) accept, whose syscall ended before the syscall side was attached: %s"
              % (tids[0], sorted(seen)))
