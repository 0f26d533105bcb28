"""Small framework for the socktrace end-to-end tests (python3 stdlib only, root).

A tool module (tests/e2e/tools/<tool>.py) makes a Suite, the Actor that the
cases every tool shares (tests/e2e/shared.py) drive, and its own cases:

    suite = Suite("tcpconnect", "TCP connects", columns=[...], colmap={...}, ...)

    @suite.actor
    class Actor(e2elib.Actor):              # one process making the tool's events
        def prepare(self):                  # before the tool starts
            return self.cli.serve(*self.fam.listen)
        def act(self, args=()):             # traced; what the tool must print
            r = self.cli.connect(self.fam.sock, self.fam.addr, self.port)
            return [{"pid": self.pid, "comm": self.comm, "sport": r["lport"], ...}]

    @suite.case("{fam}", modes=("col", "json"), fam=("ipv4", "ipv6"))
    def family(ctx, mode, fam):             # cases ipv4, ipv4_json, ipv6, ipv6_json
        a = Actor(ctx, "cli", ctx.netns(), fam)
        run = ctx.start_tool(ctx.mode_args())
        exp = a.act()
        run.wait_comm(a.comm, len(exp))
        out = run.finish()                  # SIGINT, collect, exit status 0
        ctx.check_events(out, suite.header(), exp)

The processes a case drives are Clients (helpers/client.py), but for the
io_uring server and the COMMANDs of command mode.

Everything a case creates (processes, netns, cgroups, mounts) is undone by
ctx's cleanup stack, also when the case fails.  Client processes get the comm
`<ctx.prefix>-<role>` (prefix: 7 characters, unique per runner and case; role up
to 7 characters); lines whose COMM starts with ctx.prefix belong to the case.
"""
import collections
import contextlib
import ctypes  # noqa: F401  (imported once here for the forked clients)
import datetime
import functools
import itertools
import json
import os
import re
import runpy
import select  # noqa: F401  (imported once here for the forked clients)
import shutil
import signal
import socket  # noqa: F401
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "helpers", "client.py")

# Generous: guests run under software emulation.  Never used as assertions on
# speed except where a case is about promptness (and then says so).
READY_TIMEOUT = 30.0
EVENT_TIMEOUT = 10.0
EXIT_TIMEOUT = 30.0
GRACE = 0.3

# "Tracing WHAT (backend: B). Ctrl-C to end." or, in command mode, where the
# tool ends with COMMAND: "Tracing WHAT by COMMAND and its descendants (backend: B)."
READY_RE = re.compile(
    r"^Tracing (?P<what>.+?)(?: by (?P<command>.+) and its descendants)? "
    r"\(backend: (?P<backend>[a-z_]+(?:\+[a-z_]+)*)\)\.(?P<ctrl_c> Ctrl-C to end\.)?$")
LOST_RE = re.compile(r"^(\S+: )?lost \d+ events?\b")
BACKENDS = ("fentry", "kprobe", "tracepoint")

V4, V6, MAPPED = "127.0.0.1", "::1", "::ffff:127.0.0.1"
LOOPBACK = {4: V4, 6: V6}


class Family(collections.namedtuple("Family", "name sock addr listen ip")):
    """An address family as the cases use it: a `sock` socket (4 or 6) connects
    to `addr` on loopback, a listener is bound to `listen` (family, address),
    and the tools print IP `ip`."""

    def need(self):
        if self.ip == 6:
            need_ipv6()


FAMILIES = {f.name: f for f in (
    Family("ipv4", 4, V4, (4, V4), 4),
    Family("ipv6", 6, V6, (6, V6), 6),
    # an IPv6 socket connecting to an IPv4 address: IPv4 on the wire, a
    # dual-stack listener, the v4-mapped address at both ends
    Family("v4mapped", 6, MAPPED, (6, "::"), 6))}
IPV4, IPV6 = FAMILIES["ipv4"], FAMILIES["ipv6"]


def need_ipv6():
    if not os.path.exists("/proc/net/if_inet6"):
        raise Skip("no IPv6 on this machine")


class Fail(Exception):
    pass


class KernelSkipped(Fail):
    """What a case checks came out wrong, and the tool said that the kernel
    skipped runs of its programs or that its kprobes missed calls (a hook
    that fired again on a CPU where the same program was running: in an
    interrupt, or on a preemptible kernel such as PREEMPT_RT in a task that
    preempted it; docs/limits.md, section 6). A skipped run may be the
    missing line or the entry left: run_case() tries the case again."""


# what the tool's stderr says of runs the kernel skipped and calls kprobes missed
SKIPPED_SAYS = ("runs of the tool's BPF programs", "calls of the probed functions")


def skipped_said(stderr):
    """The first line of @stderr saying the kernel skipped runs, or None."""
    return next((l for l in stderr if any(s in l for s in SKIPPED_SAYS)), None)


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


@contextlib.contextmanager
def stopped(pid, timeout=10):
    """`with stopped(pid):` SIGSTOP pid, and wait until each of its threads
    is seen stopped (kill() returns before they are), so that the block runs
    while nothing of it does; SIGCONT at the end, also when the block or the
    wait fails."""
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_stopped(pid, timeout)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_stopped(pid, timeout):
    end = time.monotonic() + timeout
    while True:
        states = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass        # a thread that ended
        if states and all(s in "Tt" for s in states):
            return
        check(time.monotonic() < end, "process %d not stopped %d s after SIGSTOP: %s"
              % (pid, timeout, states))
        time.sleep(0.01)


class HeldStart:
    """The tool started and held at its own `function` by gdb until
    release(), for what must happen between two steps of its start that
    nothing else holds apart. The tool's first process stops itself
    (SIGSTOP) before it execs the tool, gdb attaches to it there and sets
    the breakpoint before the tool's first instruction; the breakpoint's
    commands say it is held (a file) and wait for release(), at most
    HOLD_MAX s, then detach. gdb exits 1 if the tool stops any other way.
    The tool keeps its pid and its pipes: self.run is an ordinary ToolRun,
    not yet ready."""

    WRAP = ["sh", "-c", 'kill -STOP $$ && exec "$@"', "sh"]
    HOLD_MAX = 300
    _n = 0

    def __init__(self, ctx, args, function, timeout=120):
        if not shutil.which("gdb"):
            raise Skip("holding the start needs gdb, not installed here (make deps-test "
                       "installs it on the host; the Debian-root guests have none)")
        HeldStart._n += 1       # a case may hold more than one start
        held, self.go, script = (ctx.tmp("%s%d" % (n, HeldStart._n))
                                 for n in ("held", "go", "gdb"))
        with open(script, "w") as f:
            f.write("set breakpoint pending on\n"
                    # not passed on: the SIGSTOP the tool stopped itself with
                    "handle SIGSTOP nostop noprint nopass\n"
                    "break %s\n"
                    "commands 1\n"
                    "shell touch %s; i=0; until [ -e %s ] || [ $i -ge %d ]; do "
                    "sleep 0.05; i=$((i + 1)); done\n"
                    "detach\n"
                    "quit 0\n"
                    "end\n"
                    "continue\n"
                    "quit 1\n" % (function, held, self.go, self.HOLD_MAX * 20))
        self.run = ctx.start_tool(args, ready=False, wrap=self.WRAP)
        wait_stopped(self.run.p.pid, 10)
        argv = ["gdb", "-q", "-nx", "-batch", "-p", str(self.run.p.pid), "-x", script]
        ctx.cfg.log("hold:", " ".join(argv))
        self.gdb = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        ctx.defer(self._end)
        end = time.monotonic() + timeout
        while not os.path.exists(held):
            if self.gdb.poll() is not None or time.monotonic() > end:
                if self.run.p.poll() is not None:
                    self.run.wait_ready()   # raises Fail, with the tool's stderr
                raise Fail("gdb did not hold the tool at %s within %d s: %s" % (
                    function, timeout, clip(self._output())))
            time.sleep(0.05)

    def _output(self):
        if self.gdb.poll() is None:
            return "(gdb still running)"
        return self.gdb.stdout.read()

    def _end(self):
        open(self.go, "w").close()
        try:
            self.gdb.wait(30)
        except subprocess.TimeoutExpired:
            self.gdb.kill()
            self.gdb.wait()
        if self.run.p.poll() is None:
            os.kill(self.run.p.pid, signal.SIGCONT)

    def release(self):
        """Lets the tool go on, and waits for its ready line."""
        open(self.go, "w").close()
        try:
            self.gdb.wait(60)
        except subprocess.TimeoutExpired:
            raise Fail("gdb did not detach from the tool within 60 s")
        check(self.gdb.returncode == 0, "gdb: exit status %d: %s" % (
            self.gdb.returncode, clip(self._output())))
        # detached, it is stopped again: the SIGSTOP's group stop outlives gdb
        os.kill(self.run.p.pid, signal.SIGCONT)
        self.run.wait_ready()
        return self.run


def clip(text, n=1500):
    text = str(text)
    return text if len(text) <= n else text[:n] + "...[%d more chars]" % (len(text) - n)


def show_lines(lines):
    if not lines:
        return "(nothing)"
    return clip(" | ".join(repr(l) for l in lines))


def sh(cmd, check_rc=True, **kw):
    """Run a helper command (ip, sysctl, mount...), return CompletedProcess."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                    (p.stderr or p.stdout).strip()))
    return p


class Config:
    def __init__(self, build_dir, backend="auto", expect_backend=None, offer=None,
                 verbose=False):
        """offer: {backend: None if the kernel offers it, else why not}
        (tests/e2e/kernel.py); expect_backend: what auto must choose."""
        self.build_dir = os.path.abspath(build_dir)
        self.backend = backend
        self.expect_backend = expect_backend
        self.offer = dict(offer or {b: None for b in BACKENDS})
        self.unavailable = [b for b in BACKENDS if self.offer.get(b) is not None]
        self.verbose = verbose

    def log(self, *a):
        if self.verbose:
            print("    " + " ".join(str(x) for x in a), file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# Processes the tests drive

class Forked:
    """A helper script run in a forked child of the runner (no new interpreter:
    much faster than subprocess under software emulation).  Looks enough like
    subprocess.Popen(..., stdin=PIPE, stdout=PIPE, text=True) for Client."""

    def __init__(self, script, args):
        r_in, w_in = os.pipe()
        r_out, w_out = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.dup2(r_in, 0)
                os.dup2(w_out, 1)
                for fd in [int(f) for f in os.listdir("/proc/self/fd")]:
                    if fd > 2:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                sys.argv = [script] + list(args)
                sys.stdin = os.fdopen(0, "r")
                sys.stdout = os.fdopen(1, "w")
                runpy.run_path(script, run_name="__main__")
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(r_in)
        os.close(w_out)
        self.pid = pid
        self.returncode = None
        self.stdin = os.fdopen(w_in, "w", buffering=1)
        self.stdout = os.fdopen(r_out, "r")

    def poll(self):
        if self.returncode is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(st)
                for f in (self.stdin, self.stdout):
                    try:
                        f.close()
                    except OSError:
                        pass
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("client %d" % self.pid, timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Client:
    """The test process (helpers/client.py, see its docstring for the requests)
    with a known comm, driven by JSON lines: every process a case traces."""

    def __init__(self, ctx, comm, netns=None, raw=None):
        """comm: what the tool must print; raw: the comm's bytes if not plain text."""
        arg = "hex:" + raw.hex() if raw is not None else comm
        if len(raw if raw is not None else comm.encode()) > 15:
            raise ValueError("comm too long: %r" % (raw or comm))
        self.comm = comm
        self.ctx = ctx
        self.p = Forked(CLIENT, [arg])
        self.pid = self.p.pid
        ctx.defer(self.kill)
        if netns is not None:
            self.call("setns", path=netns.path)
        self.netns = netns

    # -- the transport: one request, one answer

    def ask(self, op, **kw):
        """Send a request without waiting for its answer (answer() reads it)."""
        kw["op"] = op
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()

    def answer(self, what="reply"):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("client %s (pid %d) died (%s)" % (self.comm, self.pid, what))
        res = json.loads(line)
        if not res.get("ok"):
            raise RuntimeError("client %s: %s: %s" % (self.comm, what, res.get("error")))
        self.ctx.cfg.log("%s pid %d %s -> %s" % (self.comm, self.pid, what, clip(res, 300)))
        return res

    def call(self, op, **kw):
        self.ask(op, **kw)
        return self.answer(op)

    # -- requests with a shorter spelling

    def setuid(self, uid):
        self.call("setuid", uid=uid)

    def netns_inode(self):
        return os.stat("/proc/%d/ns/net" % self.pid).st_ino

    def serve(self, family=4, addr=None):
        """A listener whose connections a thread accepts and holds: a server
        for connects the case traces.  Returns its port."""
        return self.call("serve", family=family, addr=addr or LOOPBACK[family])["port"]

    def listen(self, family=4, addr=None, backlog=16):
        """A listener the case accepts on; returns (port, sid)."""
        r = self.call("listen", family=family, addr=addr or LOOPBACK[family], backlog=backlog)
        return r["port"], r["sid"]

    def connect(self, family, addr, port, want=None, **kw):
        """Returns the conn (see helpers/client.py); raises unless its errno is
        `want` (None: connected)."""
        self.ask("connect", family=family, addr=addr, port=port, **kw)
        return self.connected(want)

    def connected(self, want=None):
        """The answer to a connect asked before (ask("connect", ...))."""
        r = self.answer("connect")
        if r.get("errno") != want:
            raise RuntimeError("test connect gave %s, the case needs %s: %r" % (
                r.get("errno"), want, r))
        return r

    def accept(self, lid):
        return self.call("accept", sid=lid)

    def send(self, conn, n):
        self.call("send", sid=conn["sid"], n=n)

    def recv(self, conn, n):
        return self.call("recv", sid=conn["sid"], n=n)["got"]

    def close(self, conn, abort=False):
        self.call("close", sid=conn["sid"], abort=abort)

    def kill(self):
        if self.p.poll() is None:
            try:
                self.ask("exit")
                self.p.stdin.close()
                self.p.wait(5)
            except Exception:
                pass
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


BLACKHOLE_LOCAL = "198.51.100.1"
BLACKHOLE = "198.51.100.2"


class Netns:
    """A private network namespace with lo up (ip netns add; nsenter for commands)."""
    _n = 0

    def __init__(self, ctx):
        Netns._n += 1
        self.name = "stc%d-%d" % (os.getpid(), Netns._n)
        self.holder = None
        r = sh(["ip", "netns", "add", self.name], check_rc=False)
        if r.returncode == 0:
            self.path = "/run/netns/" + self.name
            ctx.defer(lambda: sh(["ip", "netns", "del", self.name], check_rc=False))
        else:
            # /run not writable (e.g. a read-only root in a guest): hold the
            # namespace with a sleeping process instead.
            ctx.cfg.log("ip netns add failed (%s); using unshare" % r.stderr.strip())
            self.holder = subprocess.Popen(["unshare", "--net", "sleep", "3600"])
            self.path = "/proc/%d/ns/net" % self.holder.pid
            for _ in range(100):
                if os.stat(self.path).st_ino != os.stat("/proc/self/ns/net").st_ino:
                    break
                time.sleep(0.02)
            ctx.defer(self._kill_holder)
        self.run(["ip", "link", "set", "lo", "up"])
        self.inode = os.stat(self.path).st_ino

    def _kill_holder(self):
        self.holder.kill()
        self.holder.wait()

    def run(self, cmd, check_rc=True):
        return sh(["nsenter", "--net=" + self.path] + cmd, check_rc=check_rc)

    def add_blackhole(self, ctx):
        """BLACKHOLE routed to an interface that drops everything: a SYN
        there is never answered (tcp_syn_retries 1: ETIMEDOUT in about 3 s)."""
        r = self.run(["ip", "link", "add", "bh0", "type", "dummy"], check_rc=False)
        if r.returncode == 0:
            self.run(["ip", "addr", "add", BLACKHOLE_LOCAL + "/24", "dev", "bh0"])
            self.run(["ip", "link", "set", "bh0", "up"])
        else:
            # No dummy module: a veth pair whose peer drops frames not addressed to
            # it; a permanent neighbour entry avoids ARP (which would turn the
            # timeout into EHOSTUNREACH).
            ctx.cfg.log("no dummy interface (%s), using veth" % r.stderr.strip())
            r2 = self.run(["ip", "link", "add", "bh0", "type", "veth", "peer", "name", "bh1"],
                          check_rc=False)
            if r2.returncode != 0:
                raise Skip("cannot create a dummy interface (%s) nor a veth pair (%s)" % (
                    r.stderr.strip(), r2.stderr.strip()))
            self.run(["ip", "addr", "add", BLACKHOLE_LOCAL + "/24", "dev", "bh0"])
            self.run(["ip", "link", "set", "bh0", "up"])
            self.run(["ip", "link", "set", "bh1", "up"])
            self.run(["ip", "neigh", "replace", BLACKHOLE, "lladdr", "02:00:00:00:00:02",
                      "dev", "bh0", "nud", "permanent"])
        self.run(["sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1"])


def cgroup2_mount():
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "cgroup2":
                return parts[1]
    return None


class Cgroup:
    """A cgroup v2 directory under the cgroup2 mount."""

    def __init__(self, ctx, name):
        root = cgroup2_mount()
        if root is None:
            # e.g. a minimal guest: mount the v2 hierarchy privately
            root = ctx.tmp("cgroup2")
            os.mkdir(root)
            r = sh(["mount", "-t", "cgroup2", "none", root], check_rc=False)
            if r.returncode != 0:
                raise Skip("no cgroup2 mount and cannot mount one: %s" % r.stderr.strip())
            ctx.defer(lambda: sh(["umount", root], check_rc=False))
        self.root = root
        self.path = os.path.join(root, name)
        os.mkdir(self.path)
        ctx.defer(self.remove)

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def remove(self):
        for _ in range(50):
            try:
                with open(os.path.join(self.path, "cgroup.procs")) as f:
                    pids = f.read().split()
                for pid in pids:
                    try:
                        with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                            f.write(pid)
                    except OSError:
                        pass
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


def tracefs_mounts():
    with open("/proc/mounts") as f:
        return [l.split()[1] for l in f if l.split()[2:3] == ["tracefs"]]


# ----------------------------------------------------------------------------
# The tool under test

class Output:
    """What a finished tool run printed."""

    def __init__(self, rc, stdout, stderr, trace, argv):
        self.rc = rc
        self.stdout = stdout   # list of lines, no newline
        self.stderr = stderr
        self.trace = trace     # the trace stream's lines (ready line removed)
        self.argv = argv


class ToolRun:
    def __init__(self, ctx, args, command=None, output_file=None, backend=None, wrap=(),
                 binary=None):
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.tool = ctx.tool
        self.backend = backend or self.cfg.backend
        # binary: another build of the tool (the Makefile's knob builds)
        path = binary or os.path.join(self.cfg.build_dir, self.tool)
        if not os.access(path, os.X_OK):
            raise Fail("tool binary %s is missing or not executable" % path)
        # wrap: what runs the tool, e.g. nsenter into a mount namespace
        self.argv = list(wrap) + [path, "--backend", self.backend] + list(args)
        if command:
            self.argv += ["--"] + list(command)
        self.command_mode = bool(command)
        self.output_file = output_file
        self.out = []   # (monotonic time, line)
        self.err = []
        self.cond = threading.Condition()
        self.ready_line = None
        self.ready_backends = []    # what the ready line says was attached
        self.ready_at = None
        self.sigint_at = None
        self.rc = None
        self.cfg.log("run:", " ".join(self.argv))
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        ctx.defer(self.kill)
        self.readers = [threading.Thread(target=self._read, args=(self.p.stdout, self.out),
                                         daemon=True),
                        threading.Thread(target=self._read, args=(self.p.stderr, self.err),
                                         daemon=True)]
        for t in self.readers:
            t.start()

    def _read(self, f, dest):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                dest.append((time.monotonic(), line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                if pred():
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))

    def wait_ready(self, timeout=READY_TIMEOUT):
        def ready():
            for _, l in self.err:
                if READY_RE.match(l):
                    return True
            return self.p.poll() is not None
        ok = self._wait(ready, timeout)
        for _, l in list(self.err):
            m = READY_RE.match(l)
            if m:
                self.ready_line = l
                break
        if self.ready_line is None:
            if not ok:
                self.kill()
                raise Fail("no ready line on stderr within %gs; stderr: %s; stdout: %s" % (
                    timeout, show_lines(self.stderr_lines()), show_lines(self.stdout_lines())))
            self.p.wait()
            time.sleep(0.1)
            raise Fail("tool exited with status %s before the ready line; stderr: %s" % (
                self.p.returncode, show_lines(self.stderr_lines())))
        self.ready_at = time.monotonic()
        m = READY_RE.match(self.ready_line)
        check(bool(m.group("command")) == self.command_mode and
              bool(m.group("ctrl_c")) != self.command_mode,
              "ready line %r: %s" % (self.ready_line, "in command mode it names COMMAND and "
                                     "does not say Ctrl-C" if self.command_mode else
                                     "without COMMAND it says Ctrl-C to end"))
        b = m.group("backend")
        self.ready_backends = b.split("+")
        if self.backend == "auto":
            want = self.cfg.expect_backend
            # -d's hooks are tracepoints whatever the others' backend
            if want and want != "tracepoint" and ("-d" in self.argv or "--dns" in self.argv):
                want += "+tracepoint"
            if want:
                check(b == want, "ready line says backend %r, expected %r: %r" % (
                    b, want, self.ready_line))
        else:
            check(self.backend in b.split("+"),
                  "forced --backend %s but the ready line says %r" % (self.backend, self.ready_line))
        return self.ready_line

    def stdout_lines(self):
        with self.cond:
            return [l for _, l in self.out]

    def stderr_lines(self):
        with self.cond:
            return [l for _, l in self.err]

    def trace_lines_now(self):
        """Trace stream so far (not for -o FILE)."""
        if self.command_mode and not self.output_file:
            return [l for l in self.stderr_lines() if l != self.ready_line]
        return self.stdout_lines()

    def wait_lines(self, pred, n=1, timeout=EVENT_TIMEOUT):
        """Wait until at least n trace lines satisfy pred (or the tool exits)."""
        def enough():
            if self.p.poll() is not None:
                return True
            if self.command_mode and not self.output_file:
                lines = [l for _, l in self.err]
            else:
                lines = [l for _, l in self.out]
            return sum(1 for l in lines if pred(l)) >= n
        return self._wait(enough, timeout)

    def wait_comm(self, comm_prefix, n=1, timeout=EVENT_TIMEOUT):
        return self.wait_lines(lambda l: comm_prefix in l, n, timeout)

    def first_time(self, pred):
        """Monotonic time the first line satisfying pred arrived, or None."""
        src = self.err if (self.command_mode and not self.output_file) else self.out
        with self.cond:
            for t, l in src:
                if pred(l):
                    return t
        return None

    def stop(self, timeout=EXIT_TIMEOUT, sig=signal.SIGINT):
        if self.p.poll() is None:
            time.sleep(GRACE)
            self.sigint_at = time.monotonic()
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass
        return self.wait(timeout)

    def wait(self, timeout=EXIT_TIMEOUT):
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("tool did not exit within %gs (after SIGINT or command end); "
                       "stderr: %s" % (timeout, show_lines(self.stderr_lines())))
        for t in self.readers:
            t.join(10)
        return self.rc

    def output(self):
        stdout = self.stdout_lines()
        stderr = self.stderr_lines()
        if self.output_file:
            try:
                with open(self.output_file, encoding="utf-8", errors="replace") as f:
                    trace = f.read().splitlines()
            except FileNotFoundError:
                trace = []
        elif self.command_mode:
            trace = [l for l in stderr if l != self.ready_line]
        else:
            trace = stdout
        trace = [l for l in trace if not LOST_RE.match(l)]
        return Output(self.rc, stdout, stderr, trace, self.argv)

    def finish(self, expect_rc=0, sig=signal.SIGINT):
        """SIGINT (unless command mode), wait, check the exit status, return Output."""
        if self.command_mode:
            self.wait()
        else:
            self.stop(sig=sig)
        out = self.output()
        if expect_rc is not None:
            check(out.rc == expect_rc, "exit status %s, expected %s; stderr: %s" % (
                out.rc, expect_rc, show_lines(out.stderr[-10:])))
        return out

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()


# ----------------------------------------------------------------------------
# Parsing and checking output

def parse_columns(lines, header):
    """Header row must be exactly `header`; rows split on whitespace."""
    lines = [l for l in lines if l.strip()]
    check(lines, "no output at all on the trace stream (expected header %r)" % " ".join(header))
    got = lines[0].split()
    check(got == list(header), "header row %r, expected %r" % (lines[0], " ".join(header)))
    rows = []
    for l in lines[1:]:
        toks = l.split()
        check(len(toks) == len(header),
              "line %r has %d columns, header has %d (%s)" % (l, len(toks), len(header),
                                                           " ".join(header)))
        d = dict(zip(header, toks))
        d["_line"] = l
        rows.append(d)
    return rows


def parse_json(lines):
    objs = []
    for l in lines:
        if not l.strip():
            raise Fail("empty line on the JSON stream")
        try:
            o = json.loads(l)
        except ValueError:
            raise Fail("non-JSON line on the JSON stream: %r" % l)
        check(isinstance(o, dict), "JSON line is not an object: %r" % l)
        o["_line"] = l
        objs.append(o)
    return objs


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Like:
    """An expected value that is a property, not one value: equal to every
    value that has it (for Ctx.check_events)."""

    def __init__(self, text, test):
        self.text = text
        self.test = test

    def __eq__(self, v):
        return v is self if isinstance(v, Like) else bool(self.test(v))

    __hash__ = None

    def __repr__(self):
        return "<%s>" % self.text


POSITIVE = Like("a positive integer", lambda v: is_int(v) and v > 0)


def parse_ts(ts):
    """ISO-8601 UTC with a Z suffix -> aware datetime (or Fail)."""
    check(isinstance(ts, str) and ts.endswith("Z"), "ts %r is not an ISO-8601 UTC string "
                                                    "ending in Z" % (ts,))
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z$", ts)
    check(m, "ts %r is not ISO-8601 (YYYY-MM-DDTHH:MM:SS[.frac]Z)" % ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = float(m.group(2) or 0)
    return base.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=frac)


# ----------------------------------------------------------------------------
# Cases and the per-case context

class Case:
    def __init__(self, suite, name, func, mode, applies, matrix=False):
        self.suite = suite
        self.name = name
        self.func = func
        self.mode = mode
        self.applies = applies
        # in the kernel matrix: the case exercises the hooks themselves
        self.matrix = matrix


NULL = type(None)
# What every tool prints: column header -> (event key, converter), and the
# JSON keys every line starts with, in order, with their types
COLMAP = {"PID": ("pid", int), "COMM": ("comm", str), "UID": ("uid", int), "IP": ("ip", int),
          "TIME(s)": ("time_s", str), "TIME": ("time", str), "WORKLOAD": ("workload", str)}
# The workload of the event's task (issue 16): every line has these keys,
# null for what is not known (tests/e2e/workload.py)
STR_OR_NULL = (str, NULL)
WORKLOAD_JSON = [("cgroup_id", (int, NULL)), ("cgroup", STR_OR_NULL), ("unit", STR_OR_NULL),
                 ("container_runtime", STR_OR_NULL), ("container_id", STR_OR_NULL),
                 ("container_name", STR_OR_NULL), ("container_pid", (int, NULL)),
                 ("pod_uid", STR_OR_NULL), ("pod_qos", STR_OR_NULL)]
JSON = [("ts", str), ("time_ns", int), ("tool", str), ("event", str), ("pid", int),
        ("tid", int), ("comm", str), ("uid", int), ("netns", int)] + WORKLOAD_JSON + [
        ("proto", str)]
# and what the tools of IP sockets print after them
INET_JSON = [("ip", int), ("saddr", str), ("sport", int), ("daddr", str), ("dport", int)]
# and a connect's outcome, in tcpconnect's result mode (-r, -x)
RESULT_JSON = [("result", str), ("latency_ns", (int, NULL)), ("syn_retrans", int),
               ("failure", (str, NULL))]


def lat_ms(v):
    """LAT(ms) and MS as event keys: "0.123" -> 123000 (ns), "-" -> None."""
    return None if v == "-" else int(round(float(v) * 1e6))


def at_least_ns(lo):
    return Like("a latency of %g s or more" % (lo / 1e9), lambda v: is_int(v) and v >= lo)


class Suite:
    """One per tool: its own cases, and what the cases every tool shares
    (tests/e2e/shared.py) need to know of it.  An Actor subclass
    (@suite.actor) makes the tool's events for those."""

    def __init__(self, tool, what, columns, colmap, json_keys, proto, events, json_extra=None,
                 options=(), bad_options=(), json_args=(), matrix=(), names=None, count=None):
        """what: the ready line's "Tracing WHAT"; columns: the default header;
        colmap: the tool's columns beside COLMAP's; json_keys: [(key, type)]
        after JSON's, in order, a type (int, NULL) for a value that may be
        null; json_extra: {event: [(key, type)]} for events that add keys;
        proto, events: the values "proto" and "event" take; options: those of
        -P, -4, -6 the tool has; bad_options: [(args, pattern)], each refused
        with one stderr line that matches pattern (a list of patterns: one
        line each, e.g. shared.unknown_option()); json_args: argument lists
        the json_schema case runs with besides none; matrix: the shared cases
        that are in the kernel matrix for this tool; names: {shared case: its
        name here}; count: the columns of -c, each (HEADER, json_key, value)
        where value(event) gives an expected event's (JSON value, column
        text) in its group, None for event[json_key]; json_key "count" is the
        count's column (tests/e2e/count.py)."""
        self.tool = tool
        self.what = what
        self.columns = list(columns)
        self.colmap = dict(COLMAP, **colmap)
        self.json = JSON + list(json_keys)
        self.json_extra = json_extra or {}
        self.json_types = dict(self.json)
        for more in self.json_extra.values():
            self.json_types.update(more)
        # tcpconnect -r: see Ctx.check_events
        self.json_types.update(dict(RESULT_JSON))
        self.proto = proto
        self.events = events
        self.options = options
        self.bad_options = bad_options
        self.json_args = json_args
        self.matrix = set(matrix)
        self.names = names or {}
        self.count = count
        self.Actor = None
        self.cases = []

    def header(self, cols=None, uid=False, ts=None):
        """-t adds TIME(s), -T TIME, then -U UID, before the columns
        (default: the tool's default ones)."""
        h = {"t": ["TIME(s)"], "T": ["TIME"]}.get(ts, [])
        return h + (["UID"] if uid else []) + list(self.columns if cols is None else cols)

    def json_keys(self, event, with_result=False):
        return [k for k, _ in self.json + self.json_extra.get(event, [])] + (
            [k for k, _ in RESULT_JSON] if with_result else [])

    def actor(self, cls):
        self.Actor = cls
        return cls

    def case(self, name, modes=("col",), applies=None, matrix=False, **params):
        """matrix=True: a case whose outcome depends on the kernel and the
        backend (hooks, softirq attribution, families), run in every cell of
        the qemu matrix in its first mode; output formatting and option
        handling are the same on every backend and run on the host only.

        params: name=values, one case for each combination (in the order
        given, the last one varying fastest), named name.format(**values),
        which func gets as keyword arguments; fam= takes names of FAMILIES and
        passes the Family (skipped where it needs IPv6 and there is none)."""
        def deco(func):
            keys = list(params)
            for combo in itertools.product(*(params[k] for k in keys)):
                kw = dict(zip(keys, combo))
                n = name.format(**kw)
                f = functools.partial(_with_params, func, kw) if kw else func
                for i, m in enumerate(modes):
                    mn = n if m == "col" else "%s_%s" % (n, m)
                    self.cases.append(Case(self, mn, f, m, applies, matrix and i == 0))
            return func
        return deco


def _with_params(func, kw, ctx, mode):
    if "fam" in kw:
        kw = dict(kw, fam=FAMILIES[kw["fam"]])
        kw["fam"].need()
    return func(ctx, mode, **kw)


class Actor:
    """One test process making events of the tool, the way the shared cases
    need them.  A tool's subclass sets up in prepare() what must exist before
    the tool starts (a listener, a bound socket: its port, or None), and in
    act() does what the tool traces, returning the events the tool must print
    about it (dicts of event keys, as Ctx.check_events takes them)."""

    def __init__(self, ctx, role=None, netns=None, fam=IPV4, uid=0, client=None):
        fam.need()
        self.ctx = ctx
        self.fam = fam
        self.uid = uid
        self.cli = client or ctx.client(role, netns)
        self.pid = self.cli.pid
        self.comm = self.cli.comm
        if uid:
            self.cli.setuid(uid)
        self.port = self.prepare()

    def prepare(self):
        return None

    def act(self, args=()):
        """args: the tool's arguments, where they change what it prints."""
        raise NotImplementedError


def tcp_end(cli, conn, uid=0):
    """The event keys of one end of a TCP connection, the one `cli` holds
    (conn: as helpers/client.py answers)."""
    return {"pid": cli.pid, "tid": conn["tid"], "comm": cli.comm, "uid": uid,
            "netns": cli.netns_inode(), "proto": "tcp", "ip": 6 if ":" in conn["laddr"] else 4,
            "saddr": conn["laddr"], "sport": conn["lport"], "daddr": conn["raddr"],
            "dport": conn["rport"]}


def b36(n, width):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        n, d = divmod(n, 36)
        out = digits[d] + out
    return out


class Ctx:
    _n = 0

    def __init__(self, cfg, case):
        Ctx._n += 1
        self.cfg = cfg
        self.case = case
        self.suite = case.suite
        self.tool = case.suite.tool
        self.mode = case.mode
        # Unique per runner and case (several runners may share a machine):
        # "s" + 4 base-36 digits of the runner's pid + 2 of the case number,
        # then "-" + a role of up to 7 characters: at most 15 (TASK_COMM_LEN-1).
        self.prefix = "s" + b36(os.getpid(), 4) + b36(Ctx._n, 2)
        self.stack = contextlib.ExitStack()
        self.tmpdir = None

    def defer(self, fn):
        self.stack.callback(fn)

    def comm(self, role):
        c = self.prefix + "-" + role
        if len(c) > 15:
            raise ValueError("comm %r longer than 15 bytes" % c)
        return c

    def client(self, role, netns=None):
        return Client(self, self.comm(role), netns)

    def netns(self):
        return Netns(self)

    def cgroup(self):
        return Cgroup(self, "stc-%d-%s" % (os.getpid(), self.prefix))

    def tmp(self, name):
        if self.tmpdir is None:
            import tempfile
            self.tmpdir = tempfile.mkdtemp(prefix="stc-e2e-")
            self.defer(lambda: shutil.rmtree(self.tmpdir, ignore_errors=True))
        return os.path.join(self.tmpdir, name)

    def start_tool(self, args, command=None, output_file=None, ready=True, backend=None,
                   wrap=(), binary=None):
        run = ToolRun(self, args, command=command, output_file=output_file, backend=backend,
                      wrap=wrap, binary=binary)
        if ready:
            run.wait_ready()
        return run

    def mode_args(self):
        return ["-j"] if self.mode == "json" else []

    # -- checking events ---------------------------------------------------

    def events(self, out, header):
        """Parse the trace stream in the case's mode; return typed event dicts."""
        if self.mode == "json":
            return parse_json(out.trace)
        rows = parse_columns(out.trace, header)
        evs = []
        for r in rows:
            e = {"_line": r["_line"]}
            for col, val in r.items():
                if col == "_line":
                    continue
                key, conv = self.suite.colmap.get(col, (col, str))
                try:
                    e[key] = conv(val)
                except ValueError:
                    raise Fail("column %s has a bad value %r in line %r" % (col, val, r["_line"]))
            evs.append(e)
        return evs

    def ours(self, evs):
        return [e for e in evs if str(e.get("comm", "")).startswith(self.prefix + "-")]

    def check_events(self, out, header, expected, normalize=None):
        """Every expected event printed exactly once, no other line of this case.

        expected: list of dicts of event keys (pid, comm, ip, saddr, sport, ...),
        a value a Like where any value with a property will do.  In column
        mode only keys that have a column are compared; in JSON mode
        every line of this case has the tool's keys, in order, of their types.
        normalize: applied to each of this case's events before comparing."""
        evs = self.events(out, header)
        ours = self.ours(evs)
        if self.mode == "json":
            for e in ours:
                self.check_json(e, "result" in expected[0] if expected else False)
        if normalize:
            ours = [normalize(e) for e in ours]
        used = set()
        problems = []
        groups = []   # (compared subset, how many times expected)
        for exp in expected:
            cmp_keys = [k for k in exp if self.mode == "json" or any(
                self.suite.colmap.get(c, (c,))[0] == k for c in header)]
            sub = {k: exp[k] for k in cmp_keys}
            for g in groups:
                if g[0] == sub:
                    g[1] += 1
                    break
            else:
                groups.append([sub, 1])
        for sub, n in groups:
            hits = [i for i, e in enumerate(ours)
                    if all(e.get(k) == v for k, v in sub.items())]
            if len(hits) < n:
                problems.append("missing: %s%s" % (
                    sub, "" if n == 1 else " (expected %d lines, got %d)" % (n, len(hits))))
            elif len(hits) > n:
                problems.append("printed %d times (expected %d): %s" % (len(hits), n, sub))
            used.update(hits)
        extra = [ours[i]["_line"] for i in range(len(ours)) if i not in used]
        if extra:
            problems.append("unexpected lines: %s" % show_lines(extra))
        if problems:
            msg = "%s; this case's lines: %s" % ("; ".join(problems),
                                                 show_lines([e["_line"] for e in ours]))
            if not ours:
                msg += "; whole trace (last 8 lines): %s" % show_lines(out.trace[-8:])
            # what the tool said of its own losses, e.g. runs the kernel skipped
            msg += "; its stderr (last 6 lines): %s" % show_lines(out.stderr[-6:])
            raise (KernelSkipped if skipped_said(out.stderr) else Fail)(msg)
        return ours

    def check_json(self, e, with_result):
        """One JSON line: the tool's keys for its event, in order, each of its type."""
        keys = [k for k in e if k != "_line"]
        want = self.suite.json_keys(e.get("event"), with_result)
        check(keys == want, "JSON keys %s, expected in this order %s: %r" % (
            keys, want, e["_line"]))
        for k in keys:
            t = self.suite.json_types[k]
            types = t if isinstance(t, tuple) else (t,)
            check(any(is_int(e[k]) if x is int else isinstance(e[k], x) for x in types),
                  "JSON %s=%r is not %s: %r" % (k, e[k], " or ".join(
                      "null" if x is NULL else x.__name__ for x in types), e["_line"]))


# ----------------------------------------------------------------------------
# Running

TRIES = 4   # runs of a case while the kernel skips runs of the tool's programs


def run_case(cfg, case):
    """(status, reason) of @case: PASS, FAIL or SKIP. A case that fails
    where the tool said the kernel skipped runs (KernelSkipped) is run
    again, in a new context, saying so; still so at the TRIES-th, it is
    skipped, saying why. In the guests the kernel skips runs (fentry, and
    6.1-rt's preemptible programs) or its kprobes miss calls (6.1) in many
    runs of tcptracer/accept_races_handshake, the old build's and the new
    one's alike; 6.1-rt's fentry once skipped a refused connect's run."""
    for n in range(1, TRIES + 1):
        status, reason = run_once(cfg, case)
        if status != "AGAIN":
            return status, reason
        print("NOTE %s/%s: try %d of %d: %s: again" % (
            case.suite.tool, case.name, n, TRIES, " ".join(reason.split("\n"))), flush=True)
    return "SKIP", ("the kernel skipped runs of the tool's programs or its kprobes missed "
                    "calls in %d tries: what the case checks cannot be judged here" % TRIES)


def run_once(cfg, case):
    ctx = Ctx(cfg, case)
    status, reason = "PASS", ""
    try:
        with ctx.stack:
            case.func(ctx, case.mode)
    except Skip as e:
        status, reason = "SKIP", str(e)
    except KernelSkipped as e:
        status, reason = "AGAIN", str(e)
    except Fail as e:
        status, reason = "FAIL", str(e)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        status, reason = "FAIL", "test error: %s: %s" % (type(e).__name__, e)
        if cfg.verbose:
            traceback.print_exc()
    return status, reason
