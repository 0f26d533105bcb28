"""--journal (issue 18): each event one entry in the systemd journal, its
JSON members as SOCKTRACE_* fields, a readable MESSAGE.

Imported by shared.py.  Real parts: Debian's systemd-journald, started
hermetically for the case in a mount namespace of its own (private, with
tmpfs over /run/systemd and /run/log, so the machine's journal, if any, is
untouched); the tool runs in that namespace (nsenter), and the entries are
read back with `journalctl -D /run/log/journal -o json` there.

- journal_fields, for every tool: each event of the tool's Actor is one
  entry whose fields are the event's members (SOCKTRACE_COMM, _PID, _EVENT,
  the ports...), with MESSAGE, PRIORITY 6 and SYSLOG_IDENTIFIER the tool.
- For tcpconnect only (the code is shared): a hostile comm stays escaped
  in its fields; with no journald the tool says so, counts the entries
  not written, goes on, and writes again once journald is there.
"""
import json
import os
import re
import shutil
import subprocess
import time

import lostcount
import shared as shared_mod
from e2elib import EVENT_TIMEOUT, Client, Fail, Skip, check, show_lines
from shared import shared

JOURNALD = "/lib/systemd/systemd-journald"
shared_mod.BAD_OPTIONS.extend([
    (["--journal", "-o", "x"], r"--journal: cannot be combined with -o"),
    (["--journal", "-j"], r"--journal: cannot be combined with -j"),
    (["--journal", "-c"], r"--journal: cannot be combined with -c"),
    (["--metrics-only", "0", "--journal"], r"--metrics-only: cannot be combined with --journal"),
])
ONCE_TOOL = "tcpconnect"
SOCKET = "/run/systemd/journal/socket"


class Namespace:
    """A private mount namespace with tmpfs over /run/systemd and /run/log,
    held by a process of its own; journald() starts journald there."""

    def __init__(self, ctx):
        if not os.access(JOURNALD, os.X_OK) or not shutil.which("journalctl"):
            raise Skip("%s or journalctl not found (Debian's systemd package; make deps-test)"
                       % JOURNALD)
        self.ctx = ctx
        self.journald_p = self.holder = None
        ctx.defer(self.stop)
        # the mount points, where /run lacks them (a guest's tmpfs): made
        # here, removed at the end; what the namespace mounts on them stays in it
        for d in ("/run/systemd", "/run/log"):
            if not os.path.isdir(d):
                os.mkdir(d)
                ctx.defer(lambda d=d: os.rmdir(d))
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             "mount -t tmpfs tmpfs /run/systemd && mount -t tmpfs tmpfs /run/log && "
             "echo ok && exec sleep 1000000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True)
        if self.holder.stdout.readline().strip() != b"ok":
            self.holder.wait(10)
            raise Fail("test error: no private mount namespace with tmpfs on /run/systemd and "
                       "/run/log: %s" % self.holder.stderr.read().decode(errors="replace"))

    def enter(self):
        # -r -w: the holder's root and directory too, not the namespace's own
        # root (a guest's initramfs, where the root we run in is a chroot)
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-r", "-w", "--"]

    def path(self, p):
        """p as seen in the namespace"""
        return "/proc/%d/root%s" % (self.holder.pid, p)

    def journald(self):
        self.journald_p = subprocess.Popen(self.enter() + [JOURNALD], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True)
        end = time.monotonic() + EVENT_TIMEOUT
        while not os.path.exists(self.path(SOCKET)):
            check(time.monotonic() < end and self.journald_p.poll() is None,
                  "test error: systemd-journald did not start (status %s)" % self.journald_p.poll())
            time.sleep(0.05)

    def entries(self, tool):
        p = subprocess.run(self.enter() + ["journalctl", "-D", "/run/log/journal", "-o", "json",
                                           "--no-pager", "SYSLOG_IDENTIFIER=" + tool],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if p.returncode not in (0, 1):     # 1: no entries yet
            raise Fail("journalctl: %s" % p.stderr.decode(errors="replace"))
        return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]

    def stop(self):
        for p in (self.journald_p, self.holder):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if self.holder:
            self.holder.stdout.close()
            self.holder.stderr.close()


def wait_entries(ns, ctx, n, pred=lambda e: True):
    """The tool's entries of this case (SOCKTRACE_COMM with its prefix), once n are there."""
    end = time.monotonic() + EVENT_TIMEOUT
    while True:
        mine = [e for e in ns.entries(ctx.tool)
                if str(e.get("SOCKTRACE_COMM", "")).startswith(ctx.prefix) and pred(e)]
        if len(mine) >= n or time.monotonic() > end:
            return mine
        time.sleep(0.2)


def field(v):
    return str(v) if not isinstance(v, bool) else ("true" if v else "false")


def check_entry(ctx, entry, ev):
    """The entry has ev's members as fields (those with a plain value)."""
    for k, v in ev.items():
        if k.startswith("_") or not isinstance(v, (str, int)):
            continue
        got = entry.get("SOCKTRACE_" + k.upper())
        check(got == field(v), "SOCKTRACE_%s is %r, expected %r: %r" % (k.upper(), got, v, entry))
    check(entry.get("PRIORITY") == "6" and entry.get("SYSLOG_IDENTIFIER") == ctx.tool,
          "PRIORITY, SYSLOG_IDENTIFIER: %r" % entry)
    msg = entry.get("MESSAGE", "")
    check(msg.startswith(ev["event"] + " ") and ("COMM=" + ev["comm"]) in msg,
          "MESSAGE %r, expected the event and its columns" % msg)


def match(ctx, entries, expected):
    """Each expected event is exactly one entry (by event, pid and comm)."""
    left = list(entries)
    for ev in expected:
        hit = [e for e in left if e.get("SOCKTRACE_EVENT") == ev["event"] and
               e.get("SOCKTRACE_PID") == str(ev["pid"]) and
               e.get("SOCKTRACE_COMM") == ev["comm"] and
               all(e.get("SOCKTRACE_" + k.upper()) == field(ev[k])
                   for k in ("sport", "dport", "path") if isinstance(ev.get(k), (str, int)))]
        check(hit, "no entry for %r among %s" % (ev, show_lines([e.get("MESSAGE") for e in left])))
        check_entry(ctx, hit[0], ev)
        left.remove(hit[0])
    check(not left, "entries no event explains: %s" % show_lines([e.get("MESSAGE") for e in left]))


@shared("journal_fields", modes=("json",))
def journal_fields(ctx, mode):
    """The actor acts twice: one entry per event, fields and MESSAGE; nothing
    on stdout; the header is not written anywhere."""
    ns = Namespace(ctx)
    ns.journald()
    a = ctx.suite.Actor(ctx, "jf", ctx.netns())
    run = shared_mod.start_built(ctx, ["--journal"], wrap=ns.enter())
    exp = a.act() + a.act()
    got = wait_entries(ns, ctx, len(exp))
    out = run.finish()
    check(out.stdout == [], "--journal printed on stdout: %s" % show_lines(out.stdout))
    match(ctx, got, exp)


# ----------------------------------------------------------------------------
# The shared code's cases: tcpconnect only

once, add_cases = shared_mod.once_registry(ONCE_TOOL)


@once("journal_hostile_comm")
def journal_hostile_comm(ctx, mode):
    """A comm with a newline, an ESC and invalid UTF-8: SOCKTRACE_COMM and
    MESSAGE hold the columns' escapes, no control byte."""
    ns = Namespace(ctx)
    ns.journald()
    raw = (ctx.prefix + "-").encode() + b"\n\x1b\xff"
    shown = ctx.prefix + "-\\x0a\\x1b\\xff"
    cli = Client(ctx, shown, ctx.netns(), raw=raw)
    port = cli.serve(4, "127.0.0.1")
    run = shared_mod.start_built(ctx, ["--journal"], wrap=ns.enter())
    cli.connect(4, "127.0.0.1", port)
    got = wait_entries(ns, ctx, 1)
    run.finish()
    check(len(got) == 1 and got[0].get("SOCKTRACE_COMM") == shown and
          ("COMM=" + shown) in got[0].get("MESSAGE", ""),
          "entries %r, expected one with SOCKTRACE_COMM %r" % (got, shown))


@once("journal_missing")
def journal_missing(ctx, mode):
    """No journald: one line says so, the trace goes on; journald started
    later gets the next events; the count of entries not written as it
    grows, on the metrics page (journal_not_written) where the build serves
    one, and at exit."""
    ns = Namespace(ctx)
    cli = ctx.client("jm", ctx.netns())
    port = cli.serve(4, "127.0.0.1")
    args = ["--journal", "-N", str(cli.netns_inode())]
    try:
        run = shared_mod.start_built(ctx, args + ["--metrics", "127.0.0.1:0"], wrap=ns.enter())
        run.no_metrics = False
    except Skip as e:
        if lostcount.NO_HTTP not in str(e):
            raise
        run = shared_mod.start_built(ctx, args, wrap=ns.enter())
        run.no_metrics = True
    cli.connect(4, "127.0.0.1", port)
    end = time.monotonic() + EVENT_TIMEOUT
    while not any("did not take an entry" in l for l in run.stderr_lines()):
        check(time.monotonic() < end, "no line about the entry not written: %s" %
              show_lines(run.stderr_lines()))
        time.sleep(0.1)
    ns.journald()
    cli.connect(4, "127.0.0.1", port)
    got = wait_entries(ns, ctx, 1)
    scraped = lostcount.scrape_until_still(run, "journal_not_written")
    out = run.finish()
    lostcount.check_page(run, "journal_not_written", scraped, 1)
    check(len(got) == 1 and got[0]["SOCKTRACE_COMM"] == cli.comm, "entries after journald "
          "started: %s" % show_lines([e.get("MESSAGE") for e in got]))
    err = "\n".join(out.stderr)
    check("--journal: no journal at /run/systemd/journal/socket" in err and
          "--journal: 1 of 2 entries not written" in err,
          "stderr should say there is no journal and, at exit, 1 of 2 entries not written: %s"
          % show_lines(out.stderr))
    now = sum(int(n) for n in re.findall(r"--journal: (\d+) entries not written: the journal "
                                         r"did not take them", err))
    check(now == 1, "stderr should count the 1 entry not written as it happens: %s"
          % show_lines(out.stderr))
