"""The accept side, shared by the tcpaccept and tcptracer cases: an accept
made through io_uring (helpers/uring_accept.c), which no accept() syscall
shows; a COMMAND's file, waited for."""
import json
import os
import subprocess
import time

from e2elib import EVENT_TIMEOUT, V4, Fail, Skip


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
