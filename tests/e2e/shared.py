"""The cases every tool shares, written once.

run.py adds them to each tool's suite after the tool's own (add_cases).  What
differs between the tools comes from the tool's Suite (header, JSON keys,
options, bad options, which of these cases are in its kernel matrix) and from
its Actor, which makes the tool's events and says what the tool must print
about them (e2elib.Actor).
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

import lostcount
import toollist
from e2elib import (BACKENDS, EVENT_TIMEOUT, IPV4, IPV6, READY_RE, Client, Fail, Skip, check,
                    need_ipv6, parse_json, parse_ts, sh, show_lines, tracefs_mounts)

COLS = ("col", "json")
NOBODY = 65534
CASES = []
# What every tool refuses; each tool adds its own (Suite.bad_options)
BAD_OPTIONS = [(["-p", "abc"], r"-p/--pid\b"), (["--backend", "bogus"], r"--backend\b"),
               (["-i", "5"], r"-i/--interval\b.*-c"), (["-c", "-i", "0"], r"-i/--interval\b"),
               (["-c", "-i", "x"], r"-i/--interval\b"), (["-c", "-T"], r"-c/--count\b")]


def unknown_option(opt):
    """The two stderr lines argp prints for an option the tool does not have."""
    first = ("unrecognized option '%s'" % opt if opt.startswith("--")
             else "invalid option -- '%s'" % opt[1:])
    return [re.escape(first), r"^Try `{tool} --help' or `{tool} --usage' for more information\.$"]


BAD_OPTIONS.append((["--bogus"], unknown_option("--bogus")))
BAD_OPTIONS += [(["--max-processes", "0"], r"--max-processes\b"),
                (["--max-processes", "x"], r"--max-processes\b"),
                (["--max-processes", "8"], r"--max-processes: needs COMMAND\b")]


def shared(name, modes=("col",), needs=None, applies=None, matrix=False, once=False,
           **params):
    """A case for every tool (that has the option `needs`); matrix=True: in
    every tool's kernel matrix, else where the tool's Suite says so;
    matrix="once": in one tool's (dealt as once-cases are), every tool's on
    the host: a case slow under qemu whose kernel side is the same code in
    every tool.
    once=True: a case of user-space code every tool shares (name resolution,
    escaping, following cgroups), the same whichever tool runs it: it runs
    for one tool only, the once-cases dealt out in turn over the tools so
    that each carries some (what each tool's programs do is the per-tool
    cases' job)."""
    def deco(func):
        CASES.append((name, modes, needs, applies, matrix, once, params, func))
        return func
    return deco


def start_built(ctx, args, **kw):
    """ctx.start_tool(args), but a build without what args need (HTTP=0,
    JOURNAL=0, the STATIC=1 arm64 build) skips the case with the tool's own
    line saying so."""
    run = ctx.start_tool(args, ready=False, **kw)
    try:
        run.wait_ready()
    except Fail:
        why = [l for l in run.stderr_lines() if "this build has no " in l]
        if why:
            raise Skip(why[0])
        raise
    return run


def once_registry(tool):
    """(once, add_cases) for a module's cases of user-space code every tool
    shares, run for `tool` only: @once(name) registers one, add_cases(suite)
    (called by add_cases below) adds them to that tool's suite."""
    cases = []

    def once(name, modes=("col",)):
        def deco(func):
            cases.append((name, modes, func))
            return func
        return deco

    def add(suite):
        if suite.tool == tool:
            for name, modes, func in cases:
                suite.case(name, modes)(func)
    return once, add


def once_tool(name):
    """The tool a once-case runs for (and a matrix="once" case in the matrix)."""
    names = list(dict.fromkeys(c[0] for c in CASES if c[5] or c[4] == "once"))
    tools = toollist.tools()
    return tools[names.index(name) % len(tools)]


def add_cases(suite):
    """Adds to suite, after its own cases, every shared case for its tool."""
    stray = (suite.matrix | set(suite.names)) - {c[0] for c in CASES}
    if stray:
        raise ValueError("%s: no shared case %s" % (suite.tool, ", ".join(sorted(stray))))
    if suite.Actor is None:
        raise ValueError("%s: no Actor (@suite.actor) for the shared cases" % suite.tool)
    for name, modes, needs, applies, matrix, once, params, func in CASES:
        if once and once_tool(name) != suite.tool:
            continue
        if matrix == "once":
            matrix = once_tool(name) == suite.tool
        if needs is None or needs in suite.options:
            suite.case(suite.names.get(name, name), modes, applies,
                       matrix or name in suite.matrix, **params)(func)
    dns.add_cases(suite)
    metrics.add_cases(suite)
    journal.add_cases(suite)
    deploy.add_cases(suite)


def one_act(ctx, args=(), fam=IPV4, hdr=None, sig=signal.SIGINT, quiet=False, start=None):
    """An actor (in a netns of its own) acts once while the tool runs with
    args and the mode's; the tool must print what the actor says, and no
    other line of the case; quiet: and nothing on stderr but the ready line.
    start(ctx, argv): how to start the tool.  Returns (run, out, the case's
    events)."""
    a = ctx.suite.Actor(ctx, "cli", ctx.netns(), fam)
    argv = list(args) + ctx.mode_args()
    run = start(ctx, argv) if start else ctx.start_tool(argv)
    exp = a.act(args)
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish(sig=sig)
    mine = ctx.check_events(out, hdr or ctx.suite.header(), exp)
    check(not quiet or out.stderr == [run.ready_line],
          "stderr should hold only the ready line, got: %s" % show_lines(out.stderr))
    return run, out, mine


def filtered(ctx, args, shown, roles=("a", "b"), hdr=None, netns=None, uid=None, fam=None):
    """Actors `roles` each act once, those not shown first; the tool, started
    with args(actors), must print the events of the `shown` ones and no other.
    netns, uid, fam: by role (default: one new netns for all, root, IPv4)."""
    if netns is None:
        ns = ctx.netns()
        netns = {r: ns for r in roles}
    actors = {r: ctx.suite.Actor(ctx, r, netns.get(r), (fam or {}).get(r, IPV4),
                                 (uid or {}).get(r, 0)) for r in roles}
    run = ctx.start_tool(args(actors) + ctx.mode_args())
    events = {}
    for r in [r for r in roles if r not in shown] + list(shown):
        events[r] = actors[r].act()
    want = [e for r in shown for e in events[r]]
    run.wait_comm(ctx.prefix + "-", len(want))
    out = run.finish()
    return ctx.check_events(out, hdr or ctx.suite.header(), want)


# ----------------------------------------------------------------------------
# Filters

@shared("pid_filter", COLS)
def pid_filter(ctx, mode):
    filtered(ctx, lambda a: ["-p", str(a["a"].pid)], ["a"])


@shared("pid_list")
def pid_list(ctx, mode):
    filtered(ctx, lambda a: ["-p", "%d,%d" % (a["a"].pid, a["c"].pid)], ["a", "c"],
             roles=("a", "b", "c"))


def idle_pids(ctx, n):
    """PIDs of n processes that make no event, to pad a -p list (a PID no
    process has is refused)."""
    procs = [subprocess.Popen(["sleep", "600"]) for _ in range(n)]
    for p in procs:
        ctx.defer(lambda p=p: (p.kill(), p.wait()))
    return [p.pid for p in procs]


# A -p list of up to 8 PIDs is compared in place in the kernel, a longer one
# goes through a map: the last slot of each.
@shared("pid_list_{how}", how=("full", "map"))
def pid_list_long(ctx, mode, how):
    pad = 6 if how == "full" else 7
    filtered(ctx, lambda a: ["-p", ",".join(map(str, [a["a"].pid] + idle_pids(ctx, pad) +
                                                [a["c"].pid]))],
             ["a", "c"], roles=("a", "b", "c"))


@shared("uid_filter", COLS)
def uid_filter(ctx, mode):
    filtered(ctx, lambda a: ["-u", str(NOBODY), "-U"], ["a"], uid={"a": NOBODY},
             hdr=ctx.suite.header(uid=True))


@shared("print_uid")
def print_uid(ctx, mode):
    filtered(ctx, lambda a: ["-U"], ["b", "a"], uid={"a": NOBODY},
             hdr=ctx.suite.header(uid=True))


@shared("netns_filter", COLS)
def netns_filter(ctx, mode):
    """-N: the actor in the case's netns is shown, the one in the runner's not."""
    ns = ctx.netns()
    filtered(ctx, lambda a: ["-N", str(ns.inode)], ["a"], netns={"a": ns, "b": None})


@shared("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()

    def args(a):
        cg.add(a["a"].pid)
        return ["--cgroup", cg.path]
    filtered(ctx, args, ["a"])


@shared("family_{fam}_only", needs="-4", fam=("ipv4", "ipv6"))
def family_only(ctx, mode, fam):
    """-4 or -6: the events of that family only."""
    need_ipv6()
    filtered(ctx, lambda a: ["-%d" % fam.ip], ["a"],
             fam={"a": fam, "b": IPV6 if fam is IPV4 else IPV4})


@shared("port_filter", COLS, needs="-P")
def port_filter(ctx, mode):
    """-P: the events of the actor whose listener has that port only."""
    filtered(ctx, lambda a: ["-P", str(a["b"].port)], ["b"])


@shared("port_list", needs="-P")
def port_list(ctx, mode):
    filtered(ctx, lambda a: ["-P", "%d,%d" % (a["a"].port, a["c"].port)], ["a", "c"],
             roles=("a", "b", "c"))


# ----------------------------------------------------------------------------
# Output

@shared("timestamp_t")
def timestamp_t(ctx, mode):
    """-t: TIME(s), seconds since the first event (0.000 on the first line),
    increasing, two acts 0.3 s apart that far apart."""
    a = ctx.suite.Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool(["-t"])
    first = a.act()
    run.wait_comm(ctx.prefix + "-", len(first))
    time.sleep(0.3)
    second = a.act()
    run.wait_comm(ctx.prefix + "-", len(first) + len(second))
    out = run.finish()
    hdr = ctx.suite.header(ts="t")
    mine = ctx.check_events(out, hdr, first + second)
    rows = ctx.events(out, hdr)
    for e in rows:
        check(re.match(r"^\d+\.\d{3,}$", e["time_s"]), "TIME(s) %r is not like 0.000 in %r" % (
            e["time_s"], e["_line"]))
    check(float(rows[0]["time_s"]) == 0.0, "first event's TIME(s) is %s, expected 0.000: %r" % (
        rows[0]["time_s"], rows[0]["_line"]))
    ts = [float(e["time_s"]) for e in mine]
    check(ts == sorted(ts), "TIME(s) not increasing: %s" % show_lines([e["_line"] for e in mine]))
    gap = min(ts[len(first):]) - max(ts[:len(first)])
    check(0.25 <= gap < 60, "TIME(s) of two acts 0.3 s apart differ by %.3f: %s" % (
        gap, show_lines([e["_line"] for e in mine])))


@shared("time_T")
def time_T(ctx, mode):
    """-T: TIME, the local wall clock as HH:MM:SS."""
    now = time.time()
    _, _, mine = one_act(ctx, ["-T"], hdr=ctx.suite.header(ts="T"))
    lt = time.localtime(now)
    local = lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec
    for e in mine:
        m = re.match(r"^(\d\d):(\d\d):(\d\d)$", e["time"])
        check(m, "TIME %r is not HH:MM:SS: %r" % (e["time"], e["_line"]))
        secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
        diff = min((secs - local) % 86400, (local - secs) % 86400)
        check(diff <= 60, "TIME %s is not the local wall clock (%s)" % (
            e["time"], time.strftime("%H:%M:%S", lt)))


@shared("output_file", COLS)
def output_file(ctx, mode):
    """-o FILE: the trace goes to FILE, nothing to stdout."""
    a = ctx.suite.Actor(ctx, "cli", ctx.netns())
    path = ctx.tmp("trace.out")
    run = ctx.start_tool(["-o", path] + ctx.mode_args(), output_file=path)
    exp = a.act()
    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                if sum(1 for l in f if ctx.prefix + "-" in l) >= len(exp):
                    break
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    out = run.finish()
    check(out.stdout == [], "stdout should be empty with -o, got: %s" % show_lines(out.stdout))
    ctx.check_events(out, ctx.suite.header(), exp)


@shared("json_schema")
def json_schema(ctx, mode):
    """Every JSON line, the case's and any other: the tool's keys in order, of
    their types (Ctx.check_json), ts ISO-8601 UTC, time_ns positive, tool,
    event and proto the tool's; the case's ts near the wall clock.  Without
    options, then with each of the tool's json_args."""
    ctx.mode = "json"
    for args in [[]] + [list(x) for x in ctx.suite.json_args]:
        a = ctx.suite.Actor(ctx, "cli", ctx.netns())
        run = ctx.start_tool(["-j"] + args)
        before = datetime.datetime.now(datetime.timezone.utc)
        exp = a.act(args)
        run.wait_comm(ctx.prefix + "-", len(exp))
        out = run.finish()
        objs = parse_json(out.trace)
        check(objs, "no JSON lines at all (%s)" % (" ".join(args) or "no options"))
        for o in objs:
            ctx.check_json(o, "result" in exp[0])
            parse_ts(o["ts"])
            check(o["time_ns"] > 0, "time_ns %r not positive: %r" % (o["time_ns"], o["_line"]))
            check(o["tool"] == ctx.tool and o["event"] in ctx.suite.events and
                  o["proto"] == ctx.suite.proto, "tool/event/proto wrong: %r" % o["_line"])
        for e in ctx.check_events(out, ctx.suite.header(), exp):
            skew = abs((parse_ts(e["ts"]) - before).total_seconds())
            check(skew < 120, "ts %s is %.0f s away from the UTC time of the act (%s)" % (
                e["ts"], skew, before.isoformat()))
        ctx.stack.close()


@shared("comm_escaping", COLS)
def comm_escaping(ctx, mode):
    """COMM bytes: in columns backslash, controls (C1 too) and invalid UTF-8
    escaped, valid UTF-8 kept; in JSON the real bytes, given back by
    surrogateescape."""
    raw = (ctx.prefix + "-").encode() + b"\\\t\xff\xc2\x9b" + "\u00e9".encode()
    shown = ctx.prefix + "-" + "\\\\" + "\\x09" + "\\xff" + "\\xc2\\x9b" + "\u00e9"
    a = ctx.suite.Actor(ctx, client=Client(ctx, shown, ctx.netns(), raw=raw))
    run = ctx.start_tool(ctx.mode_args())
    exp = a.act()
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    for e in exp:
        e["comm"] = raw if mode == "json" else shown

    def printed(e):
        if mode == "json":
            e["comm"] = e["comm"].encode("utf-8", "surrogateescape")
        else:   # hex digits of \xNN in either case
            e["comm"] = re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: "\\x" + m.group(1).lower(),
                               e["comm"])
        return e
    ctx.check_events(out, ctx.suite.header(), exp, normalize=printed)


@shared("pipe_prompt", COLS)
def pipe_prompt(ctx, mode):
    """The event lines reach a pipe while the tool keeps running (no block buffering)."""
    a = ctx.suite.Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool(ctx.mode_args())
    exp = a.act()
    limit = 8.0
    arrived = run.wait_comm(ctx.prefix + "-", len(exp), timeout=limit)
    still_running = run.p.poll() is None
    out = run.finish()
    check(arrived and still_running,
          "not every event line on the stdout pipe within %gs of the act while the tool ran "
          "(block-buffered?); after SIGINT it printed: %s" % (limit, show_lines(out.trace)))
    ctx.check_events(out, ctx.suite.header(), exp)


# ----------------------------------------------------------------------------
# Processes, environment and errors

@shared("sigterm")
def sigterm(ctx, mode):
    """SIGTERM, like SIGINT: drain, exit 0."""
    one_act(ctx, sig=signal.SIGTERM)


@shared("command_exit_status")
def command_exit_status(ctx, mode):
    """-- COMMAND: the tool exits with COMMAND's status, 128+N for a signal."""
    for cmd, rc in ((["sh", "-c", "exit 3"], 3), (["sh", "-c", "kill -TERM $$"], 143),
                    (["true"], 0)):
        run = ctx.start_tool([], command=cmd)
        out = run.finish(expect_rc=None)
        check(out.rc == rc, "`%s -- %s` exited %s, expected %s; stderr: %s" % (
            ctx.tool, " ".join(cmd), out.rc, rc, show_lines(out.stderr)))


@shared("command_ready_line")
def command_ready_line(ctx, mode):
    """In command mode the tool ends with COMMAND: the ready line names it,
    escaped like any foreign string, and does not say Ctrl-C."""
    d = ctx.tmp("bin")
    os.mkdir(d)
    path = os.path.join(d, "ok\t\x1b[31m")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, 0o755)
    for cmd, shown in ((["true"], "true"), ([path], d + "/ok\\x09\\x1b[31m")):
        run = ctx.start_tool([], command=cmd)
        out = run.finish()
        b = READY_RE.match(run.ready_line).group("backend")
        want = "Tracing %s by %s and its descendants (backend: %s)." % (ctx.suite.what, shown, b)
        check(run.ready_line == want, "`%s -- %s`: ready line %r, expected %r" % (
            ctx.tool, cmd[0], run.ready_line, want))
        check(out.trace and out.trace[0].split() == ctx.suite.header(),
              "no header after the ready line: %s" % show_lines(out.trace))


def tracefs_applies(cfg):
    b = cfg.expect_backend if cfg.backend == "auto" else cfg.backend
    return True if b == "tracepoint" else \
        "only where the tracepoint backend is in use (here: %s), the one that needs tracefs" % b


@shared("tracefs_unmounted", applies=tracefs_applies)
def tracefs_unmounted(ctx, mode):
    """The tracepoint backend with tracefs nowhere mounted: the tool mounts it itself."""
    mp = "/sys/kernel/tracing"
    n = 0
    while mp in tracefs_mounts():
        r = sh(["umount", mp], check_rc=False)
        if r.returncode != 0:
            raise Skip("cannot umount %s: %s" % (mp, r.stderr.strip()))
        n += 1
    if n:
        ctx.defer(lambda: sh(["mount", "-t", "tracefs", "tracefs", mp], check_rc=False))
    ctx.cfg.log("tracefs unmounted %d time(s)" % n)
    one_act(ctx)


@shared("bad_option")
def bad_option(ctx, mode):
    """Each bad option is refused before the ready line: exit status 1 or 2,
    nothing on stdout, one stderr line that names the option (argp's two for
    an option the tool does not have)."""
    problems = []
    for args, want in BAD_OPTIONS + list(ctx.suite.bad_options):
        cmd = "`%s %s`" % (ctx.tool, " ".join(args))
        want = [want] if isinstance(want, str) else [w.format(tool=ctx.tool) for w in want]
        run = ctx.start_tool(args, ready=False)
        try:
            rc = run.wait(EVENT_TIMEOUT * 2)
        except Fail:
            problems.append("%s kept running" % cmd)
            continue
        out = run.output()
        if any(READY_RE.match(l) for l in out.stderr):
            problems.append("%s printed a ready line" % cmd)
        if rc not in (1, 2):
            problems.append("%s exited %s, expected 1 or 2" % (cmd, rc))
        if out.stdout:
            problems.append("%s printed on stdout: %s" % (cmd, show_lines(out.stdout)))
        if len(out.stderr) != len(want) or not all(
                re.search(w, l) for w, l in zip(want, out.stderr)):
            problems.append("%s: stderr should be %d line(s) like %s, got: %s" % (
                cmd, len(want), " | ".join(want), show_lines(out.stderr)))
    if problems:
        raise Fail("; ".join(problems))


def some_unavailable(cfg):
    if cfg.unavailable:
        return True
    return "this kernel offers every backend (%s): no refusal to check" % ", ".join(BACKENDS)


@shared("unavailable_backend", applies=some_unavailable, matrix=True)
def unavailable_backend(ctx, mode):
    """Each backend the kernel does not offer is refused: one line, exit 1,
    no ready line, nothing on stdout."""
    for b in ctx.cfg.unavailable:
        run = ctx.start_tool([], ready=False, backend=b)
        rc = run.wait()
        out = run.output()
        cmd = "`%s --backend %s`" % (ctx.tool, b)
        check(not any(READY_RE.match(l) for l in out.stderr),
              "%s printed a ready line: %s" % (cmd, show_lines(out.stderr)))
        check(rc == 1, "%s exited %s, expected 1; stderr: %s" % (cmd, rc, show_lines(out.stderr)))
        pat = r"^%s: backend %s is not available on this kernel: \S.*$" % (ctx.tool, b)
        check(len(out.stderr) == 1 and re.match(pat, out.stderr[0]),
              "%s: stderr should be exactly one line '%s: backend %s is not available on this "
              "kernel: <why>', got: %s" % (cmd, ctx.tool, b, show_lines(out.stderr)))
        check(out.stdout == [], "%s printed on stdout: %s" % (cmd, show_lines(out.stdout)))


# Workload attribution (issue 16), count mode and -d (issue 17), metrics
# (issue 18): their cases are shared ones too (-d's and the metrics' shared
# code once, dns.add_cases, metrics.add_cases)
import workload  # noqa: E402,F401
import count  # noqa: E402,F401
import dns  # noqa: E402
import metrics  # noqa: E402
import journal  # noqa: E402
import deploy  # noqa: E402


# ----------------------------------------------------------------------------
# Limits (issue 19). Here, after the imports above, so that appending this
# once-case does not change which tool the earlier ones are dealt to.

# COMMAND for process_map_full: forks N children (argv[1]) that wait on a
# pipe until the last is forked, so that all are alive at once; each then
# makes the events every tool traces (a TCP connect and accept on its own
# loopback listener, a UDP send, a unix stream connect and accept) and
# exits. COMMAND prints the children's PIDs in fork order once they have
# exited, then waits for the file argv[2] (the test has read the metrics).
FORKER = r"""
import json, os, socket, sys, time

def act():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(1)
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", u.getsockname())
    name = "\0stc-forker-%d" % os.getpid()
    ul = socket.socket(socket.AF_UNIX)
    ul.bind(name)
    ul.listen(1)
    uc = socket.socket(socket.AF_UNIX)
    uc.connect(name)
    ua, _ = ul.accept()
    for x in (c, a, l, s, u, uc, ua, ul):
        x.close()

r, w = os.pipe()
kids = []
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)       # EOF once the parent and every child closed w
        code = 1
        try:
            act()
            code = 0
        finally:
            os._exit(code)  # after the traceback, if any: COMMAND then exits 1
    kids.append(pid)
os.close(w)
bad = [k for k in kids if os.waitpid(k, 0)[1]]
print(json.dumps(kids), flush=True)
end = time.monotonic() + 60
while not os.path.exists(sys.argv[2]) and time.monotonic() < end:
    time.sleep(0.05)
sys.exit(1 if bad else 0)
"""
PROCESS_ROOM, FORKED = 8, 12


@shared("process_map_full", ("json",), once=True)
def process_map_full(ctx, mode):
    """--max-processes 8 -- COMMAND, which forks 12 children alive at once:
    COMMAND takes one entry of the process map, its first 7 children the
    others; the last 5 are refused. stderr (as it happens and the total at
    exit), the JSON lost lines and the metrics page say exactly 5
    (process_map_full); the events of the first 7 children are printed, none
    of the last 5's, nor of any other process. Not a matrix case: the
    follow programs are raw tracepoints whatever the backend."""
    followed = PROCESS_ROOM - 1
    refused = FORKED - followed
    trace, go = ctx.tmp("trace.json"), ctx.tmp("go")
    cmd = [sys.executable, "-c", FORKER, str(FORKED), go]
    args = ["--max-processes", str(PROCESS_ROOM), "-j", "-o", trace]
    run = ctx.start_tool(["--metrics", "127.0.0.1:0"] + args, command=cmd,
                         output_file=trace, ready=False)
    try:
        run.wait_ready()
        run.no_metrics = False
    except Fail:
        if not any(lostcount.NO_HTTP in l for l in run.stderr_lines()):
            raise
        run = ctx.start_tool(args, command=cmd, output_file=trace)
        run.no_metrics = True
    end = time.monotonic() + EVENT_TIMEOUT
    while not run.stdout_lines() and run.p.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    check(run.stdout_lines(), "COMMAND did not say its children's PIDs within %ds; stderr: %s"
          % (EVENT_TIMEOUT, show_lines(run.stderr_lines())))
    kids = json.loads(run.stdout_lines()[0])
    check(len(kids) == FORKED, "test error: COMMAND forked %s" % kids)
    scraped = lostcount.scrape_until_still(run, "process_map_full")
    open(go, "w").close()
    out = run.finish()
    err = "\n".join(out.stderr)
    now = sum(int(n) for n in re.findall(r"process map full: (\d+) new processes not followed",
                                         err))
    total = re.findall(r"(\d+) new processes not followed in total \(process map full\)", err)
    check(now == refused and total == [str(refused)],
          "stderr should say %d new processes not followed, as they happen and in total: %s"
          % (refused, show_lines(out.stderr)))
    objs = parse_json(out.trace)
    lost = [o for o in objs if o.get("event") == "lost" and
            o.get("reason") != "metrics_series_limit"]
    check(lost and all(o["reason"] == "process_map_full" for o in lost) and
          sum(o["count"] for o in lost) == refused,
          "JSON lost lines should add up to %d process_map_full: %s"
          % (refused, show_lines([o["_line"] for o in lost])))
    lostcount.check_page(run, "process_map_full", scraped, refused)
    shown = sorted({o["pid"] for o in objs if o.get("event") != "lost"})
    check(shown == sorted(kids[:followed]),
          "expected the events of the first %d children %s and no other (not of %s), got "
          "those of %s: %s" % (followed, kids[:followed], kids[followed:], shown,
                               show_lines(out.trace)))
