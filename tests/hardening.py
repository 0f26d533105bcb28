#!/usr/bin/env python3
"""Hardening tests: bad input, faults and hostile strings, for every tool.

  python3 tests/hardening.py --build-dir DIR [--only SUBSTRING] [-v]

Backend-independent, so they run on this machine only. One line per case
(PASS/FAIL name[: reason]), then "N passed, N failed". Runs as root.
"""
import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
import toollist  # noqa: E402  (beside this file)

TOOLS = toollist.tools()
# the ready line; in command mode it names COMMAND instead of saying Ctrl-C
READY = re.compile(r"^Tracing .* \(backend: [a-z_+]+\)\.( Ctrl-C to end\.)?$")
# ESC sequence, tab, newline, quote, backslash, bad UTF-8, C1 CSI, valid UTF-8 (e acute)
HOSTILE = b"\x1b[31m\t\n\"\\\xff\xc2\x9b\xc3\xa9"
# as the columns show it: escaped, the valid UTF-8 kept
HOSTILE_SHOWN = "\\x1b[31m\\x09\\x0a\"\\\\\\xff\\xc2\\x9b\u00e9"
TIMEOUT = 30


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def read_all(f):
    """What the tool wrote to f so far. pread: seek() would move the offset the
    tool shares and writes at, and its next line would overwrite the first."""
    data = b""
    while True:
        chunk = os.pread(f.fileno(), 1 << 16, len(data))
        if not chunk:
            return data
        data += chunk


# Every Tool started: a case that fails half-way leaves none running (main())
STARTED = []


def kill_left():
    while STARTED:
        p = STARTED.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


class Tool:
    """A running tool: stdout and stderr to files, ready when stderr says so."""

    def __init__(self, build, tool, args, stdout=None, env=None):
        self.err = tempfile.TemporaryFile()
        self.out = stdout if stdout is not None else tempfile.TemporaryFile()
        self.p = subprocess.Popen([os.path.join(build, tool), *args], stdin=subprocess.DEVNULL,
                                  stdout=self.out, stderr=self.err, start_new_session=True,
                                  env=env)
        STARTED.append(self.p)
        deadline = time.monotonic() + TIMEOUT
        while not any(READY.match(l) for l in self.stderr().splitlines()):
            if self.p.poll() is not None:
                raise Fail("%s exited (%s) before it was ready: %r" % (tool, self.p.returncode,
                                                                       self.stderr()))
            check(time.monotonic() < deadline, "%s not ready after %ss" % (tool, TIMEOUT))
            time.sleep(0.05)

    def stderr(self):
        return read_all(self.err).decode("utf-8", "replace")

    def stdout(self):
        return read_all(self.out).decode("utf-8", "replace")

    def stop(self, sig=signal.SIGINT):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Fail("did not exit within %ss of signal %d" % (TIMEOUT, sig))


def tool_options(build, tool):
    return subprocess.run([os.path.join(build, tool), "--help"], capture_output=True,
                          text=True).stdout


def bad_inputs(build, tool):
    """(args, text the error line must contain) for every option the tool has."""
    helptext = tool_options(build, tool)
    rows = [
        (["-p", "abc"], "-p"), (["-p", ""], "-p"), (["-p", "0"], "-p"),
        (["-p", "1,,2"], "-p"), (["-p", ",".join(str(i) for i in range(1, 70))], "-p"),
        (["-p", "99999999"], "-p"), (["-u", "x"], "-u"), (["-u", "-1"], "-u"),
        (["-N", "0"], "-N"), (["-N", "abc"], "-N"), (["--cgroup", ""], "--cgroup"),
        (["--cgroup", "/nonexistent"], "--cgroup"), (["--cgroup", "/proc"], "--cgroup"),
        (["--backend", "bogus"], "--backend"), (["-o", ""], "-o"),
        (["-o", "/nonexistent/dir/file"], "-o"), (["--ring-buffer", "3"], "--ring-buffer"),
        (["--ring-buffer", "0"], "--ring-buffer"), (["--ring-buffer", "x"], "--ring-buffer"),
        (["--max-processes", "0"], "--max-processes"),
        (["--max-processes", "x"], "--max-processes"),
        (["--max-processes", "4194305", "--", "true"], "--max-processes"),
        (["--max-processes", "8"], "--max-processes: needs COMMAND"),
        (["-t", "-T"], "-t"), (["-p", "1", "--", "true"], "-p"),
        (["--", "/nonexistent-command"], "nonexistent-command"),
        (["--"], "--: no COMMAND"), (["-j", "--"], "--: no COMMAND"),
        (["-o", "/dev/null", "--"], "--: no COMMAND"),
    ]
    gone, limit = absent_pid(), pid_max()
    rows += [(["-p", str(gone)], "PID %d: no such process" % gone),
             (["-p", "%d,%d" % (os.getpid(), gone)], "PID %d: no such process" % gone),
             (["-p", str(limit)], "PID %d cannot exist: PIDs stay below the kernel's pid_max "
                                  "(%d)" % (limit, limit))]
    if "--ipv4" in helptext:
        rows.append((["-4", "-6"], "-4"))
    if "--port=" in helptext:
        rows += [(["-P", "0"], "-P"), (["-P", "70000"], "-P"), (["-P", ""], "-P"),
                 (["-P", "80,"], "-P")]
    return rows


def pid_max():
    with open("/proc/sys/kernel/pid_max") as f:
        return int(f.read())


def absent_pid():
    """A PID below pid_max that no process has (as kill(pid, 0) sees it)."""
    for pid in range(pid_max() - 1, 300, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
    raise RuntimeError("every PID is taken")


def case_bad_input(build, tool, args, needle):
    p = subprocess.run([os.path.join(build, tool), *args], capture_output=True, text=True,
                       timeout=TIMEOUT)
    lines = p.stderr.splitlines()
    check(p.returncode != 0, "exit status 0 for %s" % args)
    check(len(lines) == 1, "want one stderr line, got %r" % lines)
    check(lines[0].startswith(tool + ": ") and needle in lines[0],
          "the line does not name %r: %r" % (needle, lines[0]))
    check(not p.stdout, "printed on stdout: %r" % p.stdout)


def case_dashdash_optarg(build, tool, args):
    """`-o --` writes to a file named "--": that "--" is not the end of the options."""
    d = tempfile.mkdtemp()
    try:
        p = subprocess.Popen([os.path.abspath(os.path.join(build, tool)), *args], cwd=d, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = p.stderr.readline()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=TIMEOUT)
        check(READY.match(ready.rstrip("\n")), "no ready line: %r %r" % (ready, err))
        check(p.returncode == 0 and not out, "exit status %s, stdout %r" % (p.returncode, out))
        with open(os.path.join(d, "--")) as f:
            head = f.readline()
        check("PID" in head.split(), "no header in the file --: %r" % head)
    finally:
        shutil.rmtree(d)


def loopback_connect(n=1):
    """n TCP connects to a local listener; returns the client ports."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    ports = []
    for _ in range(n):
        c = socket.create_connection(srv.getsockname())
        a, _ = srv.accept()
        ports.append(c.getsockname()[1])
        c.close()
        a.close()
    srv.close()
    return ports


def case_signal(build, tool, sig):
    t = Tool(build, tool, [])
    rc = t.stop(sig)
    check(rc == 0, "exit status %s after signal %d" % (rc, sig))
    extra = [l for l in t.stderr().splitlines() if not READY.match(l)]
    check(not extra, "stderr besides the ready line: %r" % extra)


def case_closed_pipe(build):
    r, w = os.pipe()
    t = Tool(build, "tcpconnect", [], stdout=os.fdopen(w, "wb"))
    os.close(w)
    os.read(r, 4096)          # the header
    os.close(r)               # the reader leaves
    deadline = time.monotonic() + TIMEOUT
    while t.p.poll() is None and time.monotonic() < deadline:
        loopback_connect(20)
        time.sleep(0.2)
    check(t.p.poll() is not None, "still running after its reader left")
    check(t.p.returncode == 0, "exit status %s" % t.p.returncode)
    extra = [l for l in t.stderr().splitlines() if not READY.match(l)]
    check(not extra, "not quiet: %r" % extra)


def case_full_disk(build):
    d = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", d], check=True)
    try:
        t = Tool(build, "tcpconnect", ["-o", os.path.join(d, "trace")])
        deadline = time.monotonic() + TIMEOUT
        while t.p.poll() is None and time.monotonic() < deadline:
            loopback_connect(50)
            time.sleep(0.2)
        check(t.p.poll() is not None, "still running with a full disk")
        lines = [l for l in t.stderr().splitlines() if not READY.match(l)]
        check(t.p.returncode == 1, "exit status %s, want 1" % t.p.returncode)
        check(len(lines) == 1 and "No space left on device" in lines[0],
              "want one line saying the disk is full: %r" % lines)
    finally:
        subprocess.run(["umount", d])
        os.rmdir(d)


def case_two_instances(build):
    a = Tool(build, "tcpconnect", ["-L"])
    b = Tool(build, "tcpconnect", ["-L", "-j"])
    port = loopback_connect()[0]
    time.sleep(0.5)
    check(a.stop() == 0 and b.stop() == 0, "an instance failed")
    check(re.search(r"\s%d\s" % port, a.stdout()), "first instance missed port %d" % port)
    check(any(json.loads(l).get("sport") == port for l in b.stdout().splitlines()),
          "second instance missed port %d" % port)


def case_command_killed(build):
    p = subprocess.run([os.path.join(build, "tcpconnect"), "--", "sh", "-c", "kill -9 $$"],
                       capture_output=True, timeout=TIMEOUT)
    check(p.returncode == 137, "exit status %s, want 137" % p.returncode)


def case_tool_killed(build):
    """SIGKILL the tool: COMMAND must not run on, untraced and unnoticed."""
    mark = tempfile.mktemp()
    t = Tool(build, "tcpconnect", ["--", "sh", "-c", "echo $$ > %s; exec sleep 60" % mark])
    deadline = time.monotonic() + TIMEOUT
    while not os.path.exists(mark) or not open(mark).read().strip():
        check(time.monotonic() < deadline, "COMMAND did not start")
        time.sleep(0.05)
    pid = int(open(mark).read())
    os.unlink(mark)
    t.p.kill()
    t.p.wait()
    deadline = time.monotonic() + 5
    while os.path.exists("/proc/%d" % pid):
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                break
        check(time.monotonic() < deadline, "COMMAND %d still runs after the tool died" % pid)
        time.sleep(0.05)


def case_debug(build, tool):
    """--debug: socktrace's decisions (hooks, backends, why), no libbpf line;
    --debug-libbpf: those and libbpf's own messages."""
    said = {}
    for opt in ("--debug", "--debug-libbpf"):
        t = Tool(build, tool, [opt])
        rc = t.stop()
        lines = [l for l in t.stderr().splitlines() if not READY.match(l)]
        check(rc == 0 and lines and all(l.startswith(tool + ": ") for l in lines),
              "%s: exit status %s, stderr %r" % (opt, rc, lines[:5]))
        said[opt] = ([l for l in lines if re.match(r"^%s: hook \w+: [a-z]+ \(" % tool, l)],
                     [l for l in lines if l.startswith(tool + ": libbpf: ")])
    hooks, libbpf = said["--debug"]
    check(hooks, "--debug names no hook")
    check(not libbpf, "--debug shows libbpf's messages: %r" % libbpf[:3])
    hooks2, libbpf2 = said["--debug-libbpf"]
    check(hooks2 == hooks, "--debug-libbpf: hooks %r, --debug said %r" % (hooks2, hooks))
    check(len(libbpf2) > 10, "--debug-libbpf shows no libbpf messages")


def our_program_names(build):
    names = set()
    for f in os.listdir(build):
        if f.endswith(".skel.h"):
            text = open(os.path.join(build, f)).read()
            names |= set(re.findall(r'progs\[\d+\]\.name = "([^"]+)"', text))
    return {n[:15] for n in names}   # the kernel keeps 15 characters


def attached_programs(names):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
    return [p for p in json.loads(out or "[]") if p.get("name") in names]


def case_nothing_left(build):
    names = our_program_names(build)
    check(names, "no program names found in %s/*.skel.h" % build)
    for tool in TOOLS:
        t = Tool(build, tool, [])
        t.stop()
    left = attached_programs(names)
    check(not left, "programs left loaded: %r" % [(p["id"], p["name"]) for p in left])


def set_comm(name):
    ctypes.CDLL(None, use_errno=True).prctl(15, ctypes.c_char_p(name), 0, 0, 0)


def hostile_action(tool, srv_addr):
    """In a child named HOSTILE: the action the tool reports."""
    set_comm(HOSTILE)
    if tool in ("tcpconnect", "tcptracer"):
        c = socket.create_connection(srv_addr)
        time.sleep(0.2)
        c.close()
    elif tool == "udpconnect":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))
    elif tool == "unixconnect":
        s = socket.socket(socket.AF_UNIX)
        s.connect(srv_addr)
        s.close()


def case_hostile_comm(build, tool, json_mode):
    unix_path = None
    if tool == "unixconnect":
        unix_path = tempfile.mktemp(suffix=".sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(unix_path)
    else:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    t = Tool(build, tool, ["-j"] if json_mode else [])
    try:
        if tool == "tcpaccept":
            pid = os.fork()
            if pid == 0:
                set_comm(HOSTILE)
                a, _ = srv.accept()
                a.close()
                os._exit(0)
            c = socket.create_connection(srv.getsockname())
            os.waitpid(pid, 0)
            c.close()
        else:
            pid = os.fork()
            if pid == 0:
                try:
                    hostile_action(tool, unix_path or srv.getsockname())
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            if tool != "udpconnect":
                a, _ = srv.accept()
                a.close()
        time.sleep(0.5)
    finally:
        t.stop()
        srv.close()
        if unix_path:
            os.unlink(unix_path)
    raw = t.out
    raw.seek(0)
    data = raw.read()
    for raw in (b"\x1b", b"\t", b"\xff", b"\xc2\x9b"):
        check(raw not in data, "the raw byte(s) %r got out: %r" % (raw, data))
    text = data.decode("utf-8")
    if json_mode:
        # the real bytes: json.loads, then surrogateescape gives them back
        comms = [json.loads(l)["comm"].encode("utf-8", "surrogateescape")
                 for l in text.splitlines()]
        check(HOSTILE in comms, "no event whose comm decodes to %r in %r" % (HOSTILE, comms))
    else:
        check(HOSTILE_SHOWN in text, "no line with the escaped comm %r:\n%s" % (
            HOSTILE_SHOWN, text))


PIDNS_DRIVER = r"""
import json, os, signal, socket, subprocess, sys, time
build, port, filt = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
go_r, go_w = os.pipe()
mine = []
for _ in range(2):                       # clients first: -p needs a PID
    pid = os.fork()
    if pid == 0:
        os.read(go_r, 1)
        socket.create_connection(("127.0.0.1", port)).close()
        os._exit(0)
    mine.append(pid)
args = ["-p", str(mine[1])] if filt else []
t = subprocess.Popen([build + "/tcpconnect", "-j", *args], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
t.stderr.readline()                      # the ready line
os.write(go_w, b"xx")
for pid in mine:
    os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"pids": mine}) + "\n")
sys.stdout.flush()
sys.stdin.readline()                     # the outside client has connected
time.sleep(0.5)
t.send_signal(signal.SIGINT)
out, _ = t.communicate()
print(json.dumps({"events": [json.loads(l) for l in out.splitlines()]}))
"""


def case_pid_namespace(build, use_pid_filter, depth=1):
    """In a new PID namespace, PIDs are the ones ps shows there (bcc #5145),
    however deep it is nested (depth: namespaces inside the host's)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc"] * depth +
                         [sys.executable, "-c", PIDNS_DRIVER, build, str(port),
                          "1" if use_pid_filter else "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    inner = json.loads(p.stdout.readline())["pids"]
    outside = socket.create_connection(("127.0.0.1", port))   # from the host namespace
    p.stdin.write("\n")
    p.stdin.flush()
    events = json.loads(p.stdout.readline())["events"]
    p.wait(TIMEOUT)
    outside.close()
    srv.close()
    got = sorted(e["pid"] for e in events if e["dport"] == port)
    want = sorted(inner[1:] if use_pid_filter else inner)
    check(got == want, "PIDs printed %r, want the namespace's %r" % (got, want))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def recursion_misses(pid):
    """Runs of process @pid's BPF programs the kernel skipped: a hook that
    fired on a CPU where the same program was running (each program fd's
    fdinfo, 5.12)."""
    d = "/proc/%d/fdinfo" % pid
    total = 0
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                m = re.search(r"^recursion_misses:\s+(\d+)", f.read(), re.M)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total


class StateObserver:
    """tests/e2e/helpers/statecount.bpf.o, held by bench's floorhold: every
    TCP state change the kernel reports to raw tracepoint programs, as the
    tool's tracepoint backend receives them, counted by (old, new)."""

    def __init__(self, build):
        self.p = subprocess.Popen([os.path.join(build, "floorhold"),
                                   os.path.join(build, "tests", "statecount.bpf.o"),
                                   "count_state"], stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
        STARTED.append(self.p)
        check(self.p.stdout.readline().strip() == "ready", "the state observer did not start")

    def _map_id(self):
        for fd in os.listdir("/proc/%d/fd" % self.p.pid):
            if os.readlink("/proc/%d/fd/%s" % (self.p.pid, fd)) != "anon_inode:bpf-map":
                continue
            with open("/proc/%d/fdinfo/%s" % (self.p.pid, fd)) as f:
                i = re.search(r"^map_id:\s+(\d+)", f.read(), re.M).group(1)
            if json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "id", i]))[
                    "name"] == "counts":
                return i
        raise Fail("the state observer has no counts map")

    def counts(self):
        """{(old, new): changes} so far; then stops it."""
        dump = json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "id",
                                                   self._map_id()]))
        self.p.kill()
        self.p.wait()
        got = {}
        for e in dump:
            f = e["formatted"]
            n = sum(v["value"] for v in f["values"])
            if n:
                got[divmod(f["key"], 16)] = n
        return got


TCP_ESTABLISHED, TCP_SYN_SENT, TCP_FIN_WAIT1, TCP_CLOSE_WAIT, TCP_LAST_ACK = 1, 2, 4, 8, 9


def case_million_events(build):
    """A million events through tcptracer at full speed: it stays up, prints
    or reports lost every one the kernel reported, and its memory stays
    flat. A run the kernel skipped (another socket's state change, in an
    interrupt, while the program ran for one of these) may have been one of
    them: the tool says how many, as the kernel counted them. The kernel also
    now and then reports none of a connection's closing changes at all
    (docs/limits.md, section 6): an observer on the same tracepoint, beside
    the tool, counts what the kernel did report, so that the shortfall is
    told apart from the tool's; the tool counts such a close when a new
    socket takes its address, or its sweep finds the socket gone."""
    cycles = 125000                      # 8 events a cycle: C, A, 2 X per family
    out = tempfile.NamedTemporaryFile(suffix=".trace")
    observer = StateObserver(build)
    t = Tool(build, "tcptracer", ["-o", out.name])
    gen = subprocess.Popen([os.path.join(build, "loadgen"), "-m", "tcp", "-n", str(cycles),
                            "-t", "600"], stdout=subprocess.PIPE, text=True)
    samples = []
    while gen.poll() is None:
        samples.append(rss_kib(t.p.pid))
        time.sleep(0.25)
    report = gen.stdout.read()
    check(gen.returncode == 0, "loadgen failed: %r" % report)
    time.sleep(1)
    check(t.p.poll() is None, "tcptracer died under load: %r" % t.stderr())
    skipped_kernel = recursion_misses(t.p.pid)
    check(t.stop() == 0, "tcptracer exited %s: %r" % (t.p.returncode, t.stderr()))
    seen = observer.counts()
    generated = sum(int(n) for k, n in re.findall(r"(tcp\d_\w+)=(\d+)", report))
    check(generated == 8 * cycles, "loadgen generated %d events, want %d: %r" % (
        generated, 8 * cycles, report))
    # the changes each line is printed at, as the kernel reported them (the
    # machine's other sockets may add some: never fewer than the workload's)
    closes = seen.get((TCP_ESTABLISHED, TCP_FIN_WAIT1), 0) + \
        seen.get((TCP_CLOSE_WAIT, TCP_LAST_ACK), 0)
    connects = seen.get((TCP_SYN_SENT, TCP_ESTABLISHED), 0)
    # (the observer's own skipped runs are not taken off: most are of other
    # changes, and one of those would hide a close the kernel did not report)
    unreported = max(0, 4 * cycles - closes) + max(0, 2 * cycles - connects)
    pid = str(gen.pid)
    kinds = {}                           # "C 4": lines of that type and family
    for line in open(out.name, errors="replace"):
        f = line.split()
        if f[1:2] == [pid]:
            kinds[f[0] + " " + f[3]] = kinds.get(f[0] + " " + f[3], 0) + 1
    printed = sum(kinds.values())
    m = re.search(r"(\d+) events lost in total", t.stderr())
    lost = int(m.group(1)) if m else 0
    # a close the kernel did not report, counted when a new socket took its
    # address or the sweep found its socket gone (docs/limits.md, section 6)
    m = re.search(r"(\d+) connection ends not reported by the kernel in total", t.stderr())
    unseen = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) runs of the tool's BPF programs skipped in total", t.stderr())
    skipped = int(m.group(1)) if m else 0
    # the kernel may skip more between the read and the stop, never fewer
    check(skipped >= skipped_kernel, "the kernel skipped %d runs, the tool says %d: %r" % (
        skipped_kernel, skipped, t.stderr()))
    # a skipped run leaves its entry too, and is then counted twice
    check(unseen <= unreported + skipped, "the tool counts %d closes the kernel did not "
          "report, the observer %d changes and the tool %d skipped runs" % (
              unseen, unreported, skipped))
    check(printed + lost + unseen <= generated <= printed + lost + skipped + unreported,
          "printed %d + lost %d (and %d runs skipped, %d changes the kernel did not report, "
          "%d of them counted) != generated %d; by kind %s; stderr %r" % (
              printed, lost, skipped, unreported, unseen, generated, kinds, t.stderr()))
    if unreported:
        print("NOTE million_events_tcptracer: the kernel did not report %d of the workload's "
              "connect and close changes; the tool counted %d as not reported" % (
                  unreported, unseen))
    check(len(samples) >= 8, "too short a run to judge memory: %d samples" % len(samples))
    warm = samples[len(samples) // 4]
    check(max(samples[len(samples) // 4:]) - warm <= 2048,
          "RSS grew from %d KiB to %d KiB under load" % (warm, max(samples)))


# The BTF cache (common/btfcache.c): SOCKTRACE_CACHE_DIR holds btf/, one file
# per tool, object and kernel; whatever is wrong with it, the tool still traces.
VMLINUX = "/sys/kernel/btf/vmlinux"
BTF_NAME = re.compile(r"tcpconnect-[0-9a-f]{8}-[0-9a-f]{16,}\.btf")


def cache_env(root):
    return dict(os.environ, SOCKTRACE_CACHE_DIR=root)


def btf_files(root):
    d = os.path.join(root, "btf")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def traced_connect(build, root, debug=True):
    """tcpconnect -j with the cache at root: one loopback connect from this
    process must come out right. Returns the tool's stderr lines."""
    args = ["-j", "--debug"] if debug else ["-j"]
    t = Tool(build, "tcpconnect", args, env=cache_env(root))
    srv = socket.socket()
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        dport = srv.getsockname()[1]
        c = socket.create_connection(("127.0.0.1", dport))
        sport = c.getsockname()[1]
        srv.accept()[0].close()
        c.close()
        deadline = time.monotonic() + 5
        while ('"sport":%d,' % sport) not in t.stdout() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        srv.close()
        rc = t.stop()
    check(rc == 0, "tcpconnect exited %s: %r" % (rc, t.stderr()))
    mine = [e for e in map(json.loads, t.stdout().splitlines())
            if e.get("sport") == sport and e.get("dport") == dport]
    check(len(mine) == 1, "want one event for 127.0.0.1:%d -> 127.0.0.1:%d, got %r" % (
        sport, dport, mine))
    e = mine[0]
    check((e["pid"], e["saddr"], e["daddr"]) == (os.getpid(), "127.0.0.1", "127.0.0.1"),
          "wrong event for our connect: %r (our PID is %d)" % (e, os.getpid()))
    return t.stderr().splitlines()


def btf_said(lines):
    return [l.split(": BTF: ", 1)[1] for l in lines if ": BTF: " in l]


def with_cache_root(fn):
    root = tempfile.mkdtemp(prefix="socktrace-cache-")
    try:
        fn(root)
    finally:
        shutil.rmtree(root)


def case_btf_cache_reuse(root, build):
    said = btf_said(traced_connect(build, root))
    files = btf_files(root)
    check(len(files) == 1 and BTF_NAME.fullmatch(files[0]),
          "want one tcpconnect-OBJKEY-KERNELKEY.btf in %s/btf, got %r" % (root, files))
    path = os.path.join(root, "btf", files[0])
    check(len(said) == 1 and said[0].startswith("using %s, generated now with /" % path),
          "first run, want 'using %s, generated now with ...', got %r" % (path, said))
    said = btf_said(traced_connect(build, root))
    check(said == ["using cached %s" % path], "second run, want 'using cached %s', got %r" % (
        path, said))
    check(btf_files(root) == files, "files changed: %r -> %r" % (files, btf_files(root)))


def case_btf_cache_unusable(root, build, how):
    d = os.path.join(root, "btf")
    if how == "file":
        open(d, "w").close()
        why = "cannot open %s: Not a directory" % d
    else:
        os.mkdir(d)
        os.chmod(d, 0o775 if how == "group_writable" else 0o755)
        if how == "foreign_owner":
            os.chown(d, 65534, 65534)
        why = "%s is %s" % (d, "writable by group or others (mode 0775)"
                            if how == "group_writable" else "owned by uid 65534, not by uid 0")
    said = btf_said(traced_connect(build, root))
    check(said == ["using the full %s: %s" % (VMLINUX, why)],
          "want 'using the full %s: %s', got %r" % (VMLINUX, why, said))
    if how != "file":
        check(not os.listdir(d), "wrote into the unusable %s: %r" % (d, os.listdir(d)))


def case_btf_cache_corrupt(root, build, how):
    traced_connect(build, root)
    files = btf_files(root)
    check(len(files) == 1, "want one file after the first run, got %r" % files)
    path = os.path.join(root, "btf", files[0])
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if how == "garbage":
            f.write(b"\xa5" * 24)            # the header: magic, lengths, offsets
        else:
            f.truncate(size // 2)             # as if a writer had stopped halfway
    said = btf_said(traced_connect(build, root))
    check(len(said) == 2 and said[0].startswith("%s: the cached file is not valid BTF: " % path)
          and said[0].endswith("; making it again")
          and said[1].startswith("using %s, generated now with /" % path),
          "want 'not valid BTF ... making it again', then 'generated now', got %r" % said)
    check(btf_files(root) == files and os.path.getsize(path) == size,
          "want %r again with %d bytes, got %r" % (files, size, btf_files(root)))
    said = btf_said(traced_connect(build, root))
    check(said == ["using cached %s" % path], "third run, want it cached, got %r" % said)


def case_btf_cache_off(build):
    said = btf_said(traced_connect(build, ""))
    want = "using the full %s: the cache is off (SOCKTRACE_CACHE_DIR is empty)" % VMLINUX
    check(said == [want], "want %r, got %r" % (want, said))


def case_btf_cache_quiet(root, build):
    """Without --debug the cache says nothing: not when it makes a file, not
    when it cannot use the directory."""
    for setup in ("fresh", "cached", "unusable"):
        if setup == "unusable":
            shutil.rmtree(os.path.join(root, "btf"))
            open(os.path.join(root, "btf"), "w").close()
        lines = traced_connect(build, root, debug=False)
        extra = [l for l in lines if not READY.match(l)]
        check(not extra, "%s cache: stderr besides the ready line: %r" % (setup, extra))
        if setup == "fresh":
            check(len(btf_files(root)) == 1, "no file made: %r" % btf_files(root))


def case_btf_cache_every_tool(root, build):
    """Each tool makes and uses its own file, side by side in one directory."""
    for tool in TOOLS:
        for want in ("using %s/btf/%s-" % (root, tool), "using cached %s/btf/%s-" % (root, tool)):
            t = Tool(build, tool, ["--debug"], env=cache_env(root))
            rc = t.stop()
            said = btf_said(t.stderr().splitlines())
            check(rc == 0 and len(said) == 1 and said[0].startswith(want),
                  "%s exited %s; want %r..., got %r" % (tool, rc, want, said))
    names = sorted(re.sub(r"-.*", "", f) for f in btf_files(root))
    check(names == sorted(TOOLS), "want one file per tool, got %r" % btf_files(root))


def cases(build):
    for tool in TOOLS:
        for args, needle in bad_inputs(build, tool):
            yield "%s/bad_input %s" % (tool, " ".join(repr(a) for a in args)), \
                lambda t=tool, a=args, n=needle: case_bad_input(build, t, a, n)
        for args in (["-o", "--"], ["--output", "--"], ["-To", "--"]):
            yield "%s/dashdash_as_argument %s" % (tool, " ".join(args)), \
                lambda t=tool, a=args: case_dashdash_optarg(build, t, a)
        yield "%s/debug_and_debug_libbpf" % tool, lambda t=tool: case_debug(build, t)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            yield "%s/signal_%s" % (tool, sig.name), lambda t=tool, s=sig: case_signal(build, t, s)
        for j in (False, True):
            yield "%s/hostile_comm%s" % (tool, "_json" if j else ""), \
                lambda t=tool, j=j: case_hostile_comm(build, t, j)
    yield "closed_pipe", lambda: case_closed_pipe(build)
    yield "full_disk", lambda: case_full_disk(build)
    yield "two_instances", lambda: case_two_instances(build)
    yield "command_killed_by_signal", lambda: case_command_killed(build)
    yield "tool_killed_while_command_runs", lambda: case_tool_killed(build)
    yield "million_events_tcptracer", lambda: case_million_events(build)
    yield "pid_namespace", lambda: case_pid_namespace(build, False)
    yield "pid_namespace_pid_filter", lambda: case_pid_namespace(build, True)
    # the kernel's deepest: 32 levels below the host's (MAX_PID_NS_LEVEL)
    yield "pid_namespace_deepest", lambda: case_pid_namespace(build, False, 32)
    yield "no_program_left_attached", lambda: case_nothing_left(build)
    yield "btf_cache_reuse", lambda: with_cache_root(lambda r: case_btf_cache_reuse(r, build))
    for how in ("file", "group_writable", "foreign_owner"):
        yield "btf_cache_unusable_%s" % how, \
            lambda h=how: with_cache_root(lambda r: case_btf_cache_unusable(r, build, h))
    for how in ("garbage", "truncated"):
        yield "btf_cache_corrupt_%s" % how, \
            lambda h=how: with_cache_root(lambda r: case_btf_cache_corrupt(r, build, h))
    yield "btf_cache_off", lambda: case_btf_cache_off(build)
    yield "btf_cache_quiet", lambda: with_cache_root(lambda r: case_btf_cache_quiet(r, build))
    yield "btf_cache_every_tool", \
        lambda: with_cache_root(lambda r: case_btf_cache_every_tool(r, build))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--only")
    a = ap.parse_args()
    passed = failed = 0
    for name, fn in cases(a.build_dir):
        if a.only and a.only not in name:
            continue
        try:
            fn()
            passed += 1
            print("PASS %s" % name, flush=True)
        except Exception as e:  # a crash in a case is that case's failure
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, " ".join(str(e).split("\n"))),
                  flush=True)
        kill_left()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
