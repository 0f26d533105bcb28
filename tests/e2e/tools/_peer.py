"""Shared by the tcpaccept and tcptracer cases: helpers/tcppeer.py driven from a test."""
import json
import os
import subprocess
import sys
import time

from e2elib import EVENT_TIMEOUT, Fail, Skip

HELPERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers")
V4, V6, MAPPED = "127.0.0.1", "::1", "::ffff:127.0.0.1"


def need_ipv6():
    if not os.path.exists("/proc/net/if_inet6"):
        raise Skip("no IPv6 on this machine")


class Peer:
    """A tcppeer.py process with comm ctx.comm(role) (see its docstring)."""

    def __init__(self, ctx, role, netns=None, comm=None):
        self.ctx = ctx
        self.comm = comm or ctx.comm(role)
        self.p = subprocess.Popen([sys.executable, os.path.join(HELPERS, "tcppeer.py"), self.comm],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.pid = self.p.pid
        ctx.defer(self.kill)
        if netns is not None:
            self.call("setns", path=netns.path)

    def send(self, op, **kw):
        kw["op"] = op
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()

    def recv(self, what="reply"):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("peer %s (pid %d) died (%s)" % (self.comm, self.pid, what))
        res = json.loads(line)
        if not res.get("ok"):
            raise RuntimeError("peer %s: %s: %s" % (self.comm, what, res.get("error")))
        return res

    def call(self, op, **kw):
        self.send(op, **kw)
        r = self.recv(op)
        self.ctx.cfg.log("%s pid %d %s %s -> %s" % (self.comm, self.pid, op, kw, r))
        return r

    def listen(self, family=4, addr=None, backlog=16):
        addr = addr or (V4 if family == 4 else V6)
        r = self.call("listen", family=family, addr=addr, backlog=backlog)
        return r["port"], r["lid"]

    def connect(self, family, addr, port):
        return self.call("connect", family=family, addr=addr, port=port)

    def netns_inode(self):
        return os.stat("/proc/%d/ns/net" % self.pid).st_ino

    def kill(self):
        if self.p.poll() is None:
            try:
                self.send("exit")
                self.p.stdin.close()
                self.p.wait(5)
            except Exception:
                pass
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def end(peer, info, uid=0):
    """The event keys for one end of a connection, as `peer` saw it (conn info)."""
    return {"pid": peer.pid, "tid": info["tid"], "comm": peer.comm, "uid": uid,
            "netns": peer.netns_inode(), "proto": "tcp", "ip": 6 if ":" in info["laddr"] else 4,
            "saddr": info["laddr"], "sport": info["lport"], "daddr": info["raddr"],
            "dport": info["rport"]}


def build_uring_helper(ctx):
    """helpers/uring_accept.c as the Makefile builds it (make e2e), or Skip.
    Built beforehand, not here: a qemu guest has no compiler."""
    path = os.path.join(ctx.cfg.build_dir, "tests", "uring_accept")
    if not os.access(path, os.X_OK):
        raise Skip("no io_uring helper %s (make e2e builds it; needs liburing-dev)" % path)
    return path


class UringServer:
    """uring_accept: one accept through io_uring, no accept() syscall."""

    def __init__(self, ctx, binary, comm, family=4, addr=V4):
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


def uring_checked(run):
    """io_uring accepts bypass the syscalls:* tracepoints: only the fentry and
    kprobe backends can see them. Returns the backend string, or Skip."""
    b = run.ready_line.split("backend: ")[1].split(")")[0]
    if "fentry" not in b and "kprobe" not in b:
        raise Skip("io_uring accepts are asserted on the fentry and kprobe backends "
                   "only; this run has backend %s (tracepoints do not see io_uring)" % b)
    return b


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
