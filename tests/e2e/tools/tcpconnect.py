"""End-to-end cases for tcpconnect (see docs/cli-contract.md)."""
import datetime
import errno
import os
import re
import signal
import subprocess
import sys
import time

from e2elib import (Client, EVENT_TIMEOUT, Fail, READY_RE, Skip, Suite, check,
                   is_int, parse_columns, parse_json, parse_ts, sh, show_lines, tracefs_mounts)

TOOL = "tcpconnect"

# Every column header the contract lists for this tool (tests/check_man.py
# checks they are all in the man page's FIELDS section).
COLUMNS = ["TIME(s)", "TIME", "UID", "PID", "COMM", "IP", "SADDR", "LPORT", "DADDR", "DPORT",
           "RESULT", "LADDR", "RADDR", "RPORT", "CONNECTS"]

JSON_KEYS = ["ts", "time_ns", "tool", "event", "pid", "tid", "comm", "uid", "netns", "proto",
             "ip", "saddr", "sport", "daddr", "dport"]
COUNT_KEYS = ["tool", "event", "ip", "saddr", "daddr", "dport", "count"]

suite = Suite(TOOL, colmap={
    "PID": ("pid", int), "COMM": ("comm", str), "IP": ("ip", int), "SADDR": ("saddr", str),
    "LPORT": ("sport", int), "DADDR": ("daddr", str), "DPORT": ("dport", int),
    "RESULT": ("result", str), "UID": ("uid", int), "TIME(s)": ("time_s", str),
    "TIME": ("time", str)}, json_keys=JSON_KEYS)

COLS = ("col", "json")
V4 = "127.0.0.1"
V6 = "::1"
MAPPED = "::ffff:127.0.0.1"
BLACKHOLE_LOCAL = "198.51.100.1"
BLACKHOLE = "198.51.100.2"


def header(lport=False, result=False, uid=False, ts=None):
    h = []
    if ts == "t":
        h.append("TIME(s)")
    elif ts == "T":
        h.append("TIME")
    if uid:
        h.append("UID")
    h += ["PID", "COMM", "IP", "SADDR"]
    if lport:
        h.append("LPORT")
    h += ["DADDR", "DPORT"]
    if result:
        h.append("RESULT")
    return h


def ev(cli, r, ip, saddr, daddr, dport, result=None, uid=0, netns=None, pid=None, tid=None,
       sport=True):
    """The event a connect by client `cli` (its conn r) must produce."""
    e = {"tool": TOOL, "event": "connect", "pid": pid or cli.pid, "tid": tid or cli.pid,
         "comm": cli.comm, "uid": uid,
         "netns": netns if netns is not None else cli.netns_inode(),
         "proto": "tcp", "ip": ip, "daddr": daddr, "dport": dport}
    if saddr is not None:
        e["saddr"] = saddr
    if sport:
        if not r.get("lport"):
            raise RuntimeError("test could not read the source port: %r" % r)
        e["sport"] = r["lport"]
    if result is not None:
        e["result"] = result
    return e


def simple(ctx, args, clients_connects, hdr, expected_fn, wait_n=None, netns=True):
    """Common shape: start the tool, run connects, stop, check events."""
    run = ctx.start_tool(args + ctx.mode_args())
    results = [c() for c in clients_connects]
    run.wait_comm(ctx.prefix + "-", wait_n if wait_n is not None else 1)
    out = run.finish()
    return ctx.check_events(out, hdr, expected_fn(results)), out


# ----------------------------------------------------------------------------
# Families and addresses

@suite.case("{fam}", modes=COLS, matrix=True, fam=("ipv4", "ipv6", "v4mapped"))
def family(ctx, mode, fam):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(*fam.listen)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(ctx.mode_args())
    r = cli.connect(fam.sock, fam.addr, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, r, fam.ip, fam.addr, fam.addr, port)])
    check(out.stderr == [run.ready_line],
          "stderr should hold only the ready line, got: %s" % show_lines(out.stderr))


def cell_starts(line):
    return [m.start() for m in re.finditer(r"\S+", line)]


@suite.case("columns_realign")
def columns_realign(ctx, mode):
    """A v4-mapped address (16 characters) overflows SADDR and DADDR: it pushes
    the rest of its own line only; the IPv4 line after it is under the header."""
    if not os.path.exists("/proc/net/if_inet6"):
        raise Skip("no IPv6 on this machine")
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    c6 = ctx.client("v6", ns)
    c4 = ctx.client("v4", ns)
    run = ctx.start_tool(["-L"])
    r6 = c6.connect(6, MAPPED, port)
    run.wait_comm(ctx.comm("v6"))
    r4 = c4.connect(4, V4, port)
    run.wait_comm(ctx.comm("v4"))
    out = run.finish()
    mine = ctx.check_events(out, header(lport=True), [ev(c6, r6, 6, MAPPED, MAPPED, port),
                                                      ev(c4, r4, 4, V4, V4, port)])
    lines = [e["_line"] for e in mine]
    check(lines[0].split()[1] == ctx.comm("v6"), "the v4-mapped line is not first: %s"
          % show_lines(lines))
    head = [l for l in out.trace if l.split() == header(lport=True)][0]
    check(cell_starts(lines[1]) == cell_starts(head),
          "IPv4 line after a v4-mapped one: cells at %s, header's at %s: %s" % (
              cell_starts(lines[1]), cell_starts(head), show_lines([head] + lines)))


@suite.case("lport", matrix=True)
def lport(ctx, mode):
    _lport(ctx, "-L")


@suite.case("lport_alias_s")
def lport_s(ctx, mode):
    _lport(ctx, "-s")


def _lport(ctx, flag):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool([flag])
    r1 = cli.connect(4, V4, port)
    r2 = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    ctx.check_events(out, header(lport=True), [ev(cli, r1, 4, V4, V4, port),
                                               ev(cli, r2, 4, V4, V4, port)])


# ----------------------------------------------------------------------------
# Result mode

@suite.case("result_ok", modes=COLS, matrix=True)
def result_ok(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(["-r"] + ctx.mode_args())
    r = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(result=True), [ev(cli, r, 4, V4, V4, port, result="ok")])


def closed_port(srv):
    """A port nothing listens on (in the client's private netns)."""
    return 9


@suite.case("result_refused", modes=COLS, matrix=True)
def result_refused(ctx, mode):
    ns = ctx.netns()
    blk = ctx.client("blk", ns)
    nb = ctx.client("nb", ns)
    port = closed_port(None)
    run = ctx.start_tool(["-r"] + ctx.mode_args())
    r1 = blk.connect(4, V4, port, want="ECONNREFUSED")
    r2 = nb.connect(4, V4, port, nonblock=True, want="ECONNREFUSED")
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    ctx.check_events(out, header(result=True), [
        ev(blk, r1, 4, V4, V4, port, result="ECONNREFUSED"),
        ev(nb, r2, 4, V4, V4, port, result="ECONNREFUSED")])


def blackhole_netns(ctx):
    """A netns where 198.51.100.2 is routed to an interface that drops everything."""
    ns = ctx.netns()
    r = ns.run(["ip", "link", "add", "bh0", "type", "dummy"], check_rc=False)
    if r.returncode == 0:
        ns.run(["ip", "addr", "add", BLACKHOLE_LOCAL + "/24", "dev", "bh0"])
        ns.run(["ip", "link", "set", "bh0", "up"])
    else:
        # No dummy module: a veth pair whose peer drops frames not addressed to
        # it; a permanent neighbour entry avoids ARP (which would turn the
        # timeout into EHOSTUNREACH).
        ctx.cfg.log("no dummy interface (%s), using veth" % r.stderr.strip())
        r2 = ns.run(["ip", "link", "add", "bh0", "type", "veth", "peer", "name", "bh1"],
                    check_rc=False)
        if r2.returncode != 0:
            raise Skip("cannot create a dummy interface (%s) nor a veth pair (%s)" % (
                r.stderr.strip(), r2.stderr.strip()))
        ns.run(["ip", "addr", "add", BLACKHOLE_LOCAL + "/24", "dev", "bh0"])
        ns.run(["ip", "link", "set", "bh0", "up"])
        ns.run(["ip", "link", "set", "bh1", "up"])
        ns.run(["ip", "neigh", "replace", BLACKHOLE, "lladdr", "02:00:00:00:00:02",
                "dev", "bh0", "nud", "permanent"])
    ns.run(["sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1"])
    return ns


@suite.case("result_timeout", modes=COLS, matrix=True)
def result_timeout(ctx, mode):
    ns = blackhole_netns(ctx)
    blk = ctx.client("blk", ns)
    nb = ctx.client("nb", ns)
    run = ctx.start_tool(["-r"] + ctx.mode_args())
    blk.ask("connect", family=4, addr=BLACKHOLE, port=80)
    nb.ask("connect", family=4, addr=BLACKHOLE, port=80, nonblock=True, timeout=60)
    r1 = blk.connected("ETIMEDOUT")
    r2 = nb.connected("ETIMEDOUT")
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    ctx.check_events(out, header(result=True), [
        ev(blk, r1, 4, BLACKHOLE_LOCAL, BLACKHOLE, 80, result="ETIMEDOUT",
           sport=bool(r1.get("lport"))),
        ev(nb, r2, 4, BLACKHOLE_LOCAL, BLACKHOLE, 80, result="ETIMEDOUT")])


@suite.case("result_closed", modes=COLS, matrix=True)
def result_closed(ctx, mode):
    ns = blackhole_netns(ctx)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(["-r"] + ctx.mode_args())
    r = cli.connect(4, BLACKHOLE, 80, nonblock=True, close=True)
    check(r.get("closed"), "test error: socket not closed while connecting: %r" % r)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(result=True), [
        ev(cli, r, 4, BLACKHOLE_LOCAL, BLACKHOLE, 80, result="closed")])


def unreach_netns(ctx):
    ns = ctx.netns()
    ns.run(["ip", "route", "add", "unreachable", "192.0.2.0/24"])
    return ns


@suite.case("result_unreach", modes=COLS, matrix=True)
def result_unreach(ctx, mode):
    """Failures before any SYN: EHOSTUNREACH (unreachable route), ENETUNREACH (no route)."""
    ns = unreach_netns(ctx)
    a = ctx.client("host", ns)
    b = ctx.client("net", ns)
    run = ctx.start_tool(["-r"] + ctx.mode_args())
    r1 = a.connect(4, "192.0.2.1", 80, want="EHOSTUNREACH")
    r2 = b.connect(4, "203.0.113.1", 80, want="ENETUNREACH")
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    mine = ctx.check_events(out, header(result=True), [
        ev(a, r1, 4, None, "192.0.2.1", 80, result="EHOSTUNREACH", sport=False),
        ev(b, r2, 4, None, "203.0.113.1", 80, result="ENETUNREACH", sport=False)])
    # no source port was ever bound: null, not a port 0
    check(mode != "json" or all(e["sport"] is None for e in mine),
          "sport should be null: %s" % show_lines([e["_line"] for e in mine]))


@suite.case("unreach_not_in_default_mode")
def unreach_default(ctx, mode):
    """Default mode prints connects whose SYN was sent: none for these."""
    ns = unreach_netns(ctx)
    a = ctx.client("host", ns)
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    ok = ctx.client("ok", ns)
    run = ctx.start_tool([])
    a.connect(4, "192.0.2.1", 80, want="EHOSTUNREACH")
    a.connect(4, "203.0.113.1", 80, want="ENETUNREACH")
    r = ok.connect(4, V4, port)
    run.wait_comm(ctx.comm("ok"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(ok, r, 4, V4, V4, port)])


@suite.case("failed_only", modes=COLS)
def failed_only(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    good = ctx.client("good", ns)
    bad = ctx.client("bad", ns)
    run = ctx.start_tool(["-x"] + ctx.mode_args())
    good.connect(4, V4, port)
    r = bad.connect(4, V4, closed_port(None), want="ECONNREFUSED")
    run.wait_comm(ctx.comm("bad"))
    out = run.finish()
    ctx.check_events(out, header(result=True), [
        ev(bad, r, 4, V4, V4, closed_port(None), result="ECONNREFUSED")])


# ----------------------------------------------------------------------------
# Filters

def two_clients_case(ctx, roles, args_fn, shown, ns_for=None):
    """Clients `roles` each connect once; only `shown` roles may be printed."""
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    clients = {role: ctx.client(role, ns) for role in roles}
    run = ctx.start_tool(args_fn(clients) + ctx.mode_args())
    # the ones that must not show first, so they are drained before the end
    order = [r for r in roles if r not in shown] + [r for r in roles if r in shown]
    res = {role: clients[role].connect(4, V4, port) for role in order}
    run.wait_comm(ctx.prefix + "-", len(shown))
    out = run.finish()
    ctx.check_events(out, header(), [ev(clients[r], res[r], 4, V4, V4, port) for r in shown])


@suite.case("pid_filter", modes=COLS, matrix=True)
def pid_filter(ctx, mode):
    two_clients_case(ctx, ["a", "b"], lambda c: ["-p", str(c["a"].pid)], ["a"])


@suite.case("pid_list")
def pid_list(ctx, mode):
    two_clients_case(ctx, ["a", "b", "c"],
                     lambda c: ["-p", "%d,%d" % (c["a"].pid, c["c"].pid)], ["a", "c"])


def idle_pids(ctx, n):
    """PIDs of n processes that make no connection, to pad a -p list (a PID no
    process has is refused)."""
    procs = [subprocess.Popen(["sleep", "600"]) for _ in range(n)]
    for p in procs:
        ctx.defer(lambda p=p: (p.kill(), p.wait()))
    return [p.pid for p in procs]


# A -p list of up to 8 PIDs is compared in place in the kernel, a longer one
# goes through a map: the last slot of each.
@suite.case("pid_list_full")
def pid_list_full(ctx, mode):
    two_clients_case(ctx, ["a", "b", "c"], lambda c: ["-p", ",".join(
        map(str, [c["a"].pid] + idle_pids(ctx, 6) + [c["c"].pid]))], ["a", "c"])


@suite.case("pid_list_map")
def pid_list_map(ctx, mode):
    two_clients_case(ctx, ["a", "b", "c"], lambda c: ["-p", ",".join(
        map(str, [c["a"].pid] + idle_pids(ctx, 7) + [c["c"].pid]))], ["a", "c"])


@suite.case("uid_filter", modes=COLS)
def uid_filter(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    nobody = ctx.client("nobody", ns)
    nobody.setuid(65534)
    root = ctx.client("root", ns)
    run = ctx.start_tool(["-u", "65534", "-U"] + ctx.mode_args())
    root.connect(4, V4, port)
    r = nobody.connect(4, V4, port)
    run.wait_comm(ctx.comm("nobody"))
    out = run.finish()
    ctx.check_events(out, header(uid=True), [ev(nobody, r, 4, V4, V4, port, uid=65534)])


@suite.case("print_uid")
def print_uid(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    nobody = ctx.client("nobody", ns)
    nobody.setuid(65534)
    root = ctx.client("root", ns)
    run = ctx.start_tool(["-U"])
    r1 = root.connect(4, V4, port)
    r2 = nobody.connect(4, V4, port)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    ctx.check_events(out, header(uid=True), [ev(root, r1, 4, V4, V4, port, uid=0),
                                             ev(nobody, r2, 4, V4, V4, port, uid=65534)])


@suite.case("netns_filter", modes=COLS, matrix=True)
def netns_filter(ctx, mode):
    ns = ctx.netns()
    srv_in = ctx.client("srvin", ns)
    port_in = srv_in.serve(4)
    srv_out = ctx.client("srvout")
    port_out = srv_out.serve(4)
    inside = ctx.client("in", ns)
    outside = ctx.client("out")
    inode = os.stat("/proc/%d/ns/net" % inside.pid).st_ino
    check(inode == ns.inode, "test error: client not in the netns")
    run = ctx.start_tool(["-N", str(inode)] + ctx.mode_args())
    outside.connect(4, V4, port_out)
    r = inside.connect(4, V4, port_in)
    run.wait_comm(ctx.comm("in"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(inside, r, 4, V4, V4, port_in, netns=inode)])


@suite.case("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    inside = ctx.client("in", ns)
    outside = ctx.client("out", ns)
    cg.add(inside.pid)
    run = ctx.start_tool(["--cgroup", cg.path])
    outside.connect(4, V4, port)
    r = inside.connect(4, V4, port)
    run.wait_comm(ctx.comm("in"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(inside, r, 4, V4, V4, port)])


def family_case(ctx, flag, shown):
    if not os.path.exists("/proc/net/if_inet6"):
        raise Skip("no IPv6 on this machine")
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    p4 = srv.serve(4)
    p6 = srv.serve(6)
    c4 = ctx.client("v4", ns)
    c6 = ctx.client("v6", ns)
    run = ctx.start_tool([flag] + ctx.mode_args())
    if shown == 4:
        c6.connect(6, V6, p6)
        r = c4.connect(4, V4, p4)
        e = ev(c4, r, 4, V4, V4, p4)
    else:
        c4.connect(4, V4, p4)
        r = c6.connect(6, V6, p6)
        e = ev(c6, r, 6, V6, V6, p6)
    run.wait_comm(ctx.prefix + "-")
    out = run.finish()
    ctx.check_events(out, header(), [e])


@suite.case("family_{fam}_only", fam=("ipv4", "ipv6"))
def family_only(ctx, mode, fam):
    family_case(ctx, "-%d" % fam.ip, fam.ip)


def port_case(ctx, nports, pick):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    ports = [srv.serve(4) for _ in range(nports)]
    cli = {i: ctx.client("c%d" % i, ns) for i in range(nports)}
    run = ctx.start_tool(["-P", ",".join(str(ports[i]) for i in pick)] + ctx.mode_args())
    res = {}
    for i in [i for i in range(nports) if i not in pick] + list(pick):
        res[i] = cli[i].connect(4, V4, ports[i])
    run.wait_comm(ctx.prefix + "-", len(pick))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli[i], res[i], 4, V4, V4, ports[i]) for i in pick])


@suite.case("port_filter", modes=COLS)
def port_filter(ctx, mode):
    port_case(ctx, 2, [1])


@suite.case("port_list")
def port_list(ctx, mode):
    port_case(ctx, 3, [0, 2])


# ----------------------------------------------------------------------------
# Count mode

@suite.case("count", modes=COLS)
def count(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    pa = srv.serve(4)
    pb = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(["-c"] + ctx.mode_args())
    cli.connect(4, V4, pb)
    for _ in range(3):
        cli.connect(4, V4, pa)
    out = run.finish()
    want_rows = [(pa, 3), (pb, 1)]
    if mode == "json":
        objs = parse_json(out.trace)
        for o in objs:
            keys = [k for k in o if k != "_line"]
            check(keys == COUNT_KEYS, "count JSON keys %s, expected %s: %r" % (
                keys, COUNT_KEYS, o["_line"]))
            check(o["tool"] == TOOL and o["event"] == "count" and is_int(o["count"])
                  and is_int(o["dport"]) and is_int(o["ip"]),
                  "bad count object %r" % o["_line"])
        rows = [(o["ip"], o["saddr"], o["daddr"], o["dport"], o["count"], o["_line"])
                for o in objs]
    else:
        hdr = ["LADDR", "RADDR", "RPORT", "CONNECTS"]
        try:
            rws = parse_columns(out.trace, hdr)
        except Fail as e:
            raise Fail("%s (full output: %s)" % (e, show_lines(out.trace)))
        rows = []
        for r in rws:
            try:
                rows.append((None, r["LADDR"], r["RADDR"], int(r["RPORT"]), int(r["CONNECTS"]),
                             r["_line"]))
            except ValueError:
                raise Fail("bad count row %r" % r["_line"])
    counts = [r[4] for r in rows]
    check(counts == sorted(counts, reverse=True),
          "count rows not biggest first: %s" % show_lines([r[5] for r in rows]))
    mine = [r for r in rows if r[2] == V4 and r[3] in (pa, pb)]
    got = [(r[3], r[4]) for r in mine]
    check(got == want_rows and all(r[1] == V4 and r[0] in (None, 4) for r in mine),
          "expected rows 127.0.0.1 127.0.0.1 %d 3 then ... %d 1; got %s" % (
              pa, pb, show_lines([r[5] for r in mine]) if mine else show_lines(out.trace)))


# ----------------------------------------------------------------------------
# Output formats

@suite.case("timestamp_t")
def timestamp_t(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(["-t"])
    r1 = cli.connect(4, V4, port)
    time.sleep(0.3)
    r2 = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    mine = ctx.check_events(out, header(ts="t"), [ev(cli, r1, 4, V4, V4, port),
                                                  ev(cli, r2, 4, V4, V4, port)])
    allrows = ctx.events(out, header(ts="t"))
    for e in allrows:
        check(re.match(r"^\d+\.\d{3,}$", e["time_s"]), "TIME(s) %r is not like 0.000 in %r" % (
            e["time_s"], e["_line"]))
    ts = [float(e["time_s"]) for e in allrows]
    check(ts[0] == 0.0, "first event's TIME(s) is %s, expected 0.000: %r" % (
        ts[0], allrows[0]["_line"]))
    mts = [float(e["time_s"]) for e in mine]
    check(mts == sorted(mts) and all(t >= 0 for t in ts),
          "TIME(s) not increasing: %s" % show_lines([e["_line"] for e in allrows]))
    t1, t2 = (float(e["time_s"]) for e in mine)
    check(0.25 <= t2 - t1 < 60, "TIME(s) of two connects 0.3 s apart differ by %.3f: %s" % (
        t2 - t1, show_lines([e["_line"] for e in mine])))


@suite.case("time_T")
def time_T(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(["-T"])
    now = time.time()
    r = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    mine = ctx.check_events(out, header(ts="T"), [ev(cli, r, 4, V4, V4, port)])
    t = mine[0]["time"]
    m = re.match(r"^(\d\d):(\d\d):(\d\d)$", t)
    check(m, "TIME %r is not HH:MM:SS: %r" % (t, mine[0]["_line"]))
    secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    lt = time.localtime(now)
    local = lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec
    diff = min((secs - local) % 86400, (local - secs) % 86400)
    check(diff <= 60, "TIME %s is not the local wall clock (%s)" % (
        t, time.strftime("%H:%M:%S", lt)))


@suite.case("output_file", modes=COLS)
def output_file(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    path = ctx.tmp("trace.out")
    run = ctx.start_tool(["-o", path] + ctx.mode_args(), output_file=path)
    r = cli.connect(4, V4, port)
    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                if ctx.comm("cli") in f.read():
                    break
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    out = run.finish()
    check(out.stdout == [], "stdout should be empty with -o, got: %s" % show_lines(out.stdout))
    ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port)])


@suite.case("json_schema")
def json_schema(ctx, mode):
    ctx.mode = "json"
    for args in ([], ["-r"]):
        ns = ctx.netns()
        srv = ctx.client("srv", ns)
        port = srv.serve(4)
        cli = ctx.client("cli", ns)
        run = ctx.start_tool(["-j"] + args)
        before = datetime.datetime.now(datetime.timezone.utc)
        r = cli.connect(4, V4, port)
        run.wait_comm(ctx.comm("cli"))
        out = run.finish()
        objs = parse_json(out.trace)
        check(objs, "no JSON lines at all (%s)" % " ".join(args))
        types = {"ts": str, "time_ns": int, "tool": str, "event": str, "pid": int, "tid": int,
                 "comm": str, "uid": int, "netns": int, "proto": str, "ip": int, "saddr": str,
                 "sport": int, "daddr": str, "dport": int, "result": str}
        for o in objs:
            keys = [k for k in o if k != "_line"]
            wantk = JSON_KEYS + (["result"] if args else [])
            check(keys == wantk, "JSON keys %s, expected in order %s (%s): %r" % (
                keys, wantk, " ".join(args) or "default mode", o["_line"]))
            for k in keys:
                t = types[k]
                ok = is_int(o[k]) if t is int else isinstance(o[k], t)
                check(ok, "JSON %s=%r is not %s: %r" % (k, o[k], t.__name__, o["_line"]))
            parse_ts(o["ts"])
            check(o["time_ns"] > 0, "time_ns %r not positive" % o["time_ns"])
            check(o["tool"] == TOOL and o["event"] == "connect" and o["proto"] == "tcp",
                  "tool/event/proto wrong: %r" % o["_line"])
        mine = ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port,
                                                   result="ok" if args else None)])
        ts = parse_ts(mine[0]["ts"])
        skew = abs((ts - before).total_seconds())
        check(skew < 120, "ts %s is %.0f s away from the UTC time of the connect (%s)" % (
            mine[0]["ts"], skew, before.isoformat()))
        ctx.stack.close()


# ----------------------------------------------------------------------------
# Processes: threads, command mode

@suite.case("thread", modes=COLS, matrix=True)
def thread(ctx, mode):
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("thr", ns)
    run = ctx.start_tool(ctx.mode_args())
    r = cli.connect(4, V4, port, thread=True)
    check(r["tid"] != cli.pid, "test error: connect did not run in a second thread")
    run.wait_comm(ctx.comm("thr"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port, pid=cli.pid, tid=r["tid"])])


def cmd_helper():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "helpers", "cmd_fork.py")


def write_fifo(run, path, timeout=EVENT_TIMEOUT * 3):
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            if run.p.poll() is not None or time.monotonic() > deadline:
                raise Fail("COMMAND's grandchild never got going within %gs (tool %s); "
                           "stdout: %s; stderr: %s" % (
                               timeout, "exited %s" % run.p.returncode
                               if run.p.poll() is not None else "still running",
                               show_lines(run.stdout_lines()), show_lines(run.stderr_lines())))
            time.sleep(0.02)
    os.write(fd, b"go\n")
    os.close(fd)


@suite.case("command_descendants", modes=COLS, matrix=True)
def command_descendants(ctx, mode):
    """-- COMMAND: a double-forked grandchild's connect is traced, an unrelated one not;
    the trace goes to stderr, stdout carries only the command's stdout."""
    import json as _json
    srv = ctx.client("srv")
    port = srv.serve(4)
    other = ctx.client("other")
    fifo = ctx.tmp("go")
    os.mkfifo(fifo)
    run = ctx.start_tool(ctx.mode_args(), command=[
        sys.executable, cmd_helper(), ctx.prefix + "-cmd", fifo, "4", V4, str(port)])
    r_other = other.connect(4, V4, port)
    write_fifo(run, fifo)
    out = run.finish(expect_rc=0)
    infos = []
    for l in out.stdout:
        try:
            infos.append(_json.loads(l))
        except ValueError:
            raise Fail("tool stdout has a line the command did not print: %r "
                       "(the trace must go to stderr in command mode)" % l)
    roles = [i.get("role") for i in infos]
    check(roles == ["top", "grandchild"], "stdout should be exactly the command's two lines, "
          "got: %s" % show_lines(out.stdout))
    gc = infos[1]
    if "error" in gc:
        raise RuntimeError("grandchild failed: %s" % gc["error"])
    check(gc["pid"] != infos[0]["pid"] and gc["ppid"] != infos[0]["pid"],
          "test error: grandchild still a child of the command")
    exp = {"tool": TOOL, "event": "connect", "pid": gc["pid"], "tid": gc["pid"],
           "comm": ctx.comm("cmd-gc"), "uid": 0, "netns": os.stat("/proc/self/ns/net").st_ino,
           "proto": "tcp", "ip": 4, "saddr": V4, "sport": gc["sport"], "daddr": V4,
           "dport": port}
    ctx.check_events(out, header(), [exp])
    del r_other


@suite.case("command_exit_status")
def command_exit_status(ctx, mode):
    for cmd, rc in ((["sh", "-c", "exit 3"], 3), (["sh", "-c", "kill -TERM $$"], 143),
                    (["true"], 0)):
        run = ctx.start_tool([], command=cmd)
        out = run.finish(expect_rc=None)
        check(out.rc == rc, "`%s -- %s` exited %s, expected %s; stderr: %s" % (
            TOOL, " ".join(cmd), out.rc, rc, show_lines(out.stderr)))


@suite.case("command_ready_line")
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
        want = "Tracing TCP connects by %s and its descendants (backend: %s)." % (shown, b)
        check(run.ready_line == want, "`%s -- %s`: ready line %r, expected %r" % (
            TOOL, cmd[0], run.ready_line, want))
        check(out.trace and out.trace[0].split() == header(),
              "no header after the ready line: %s" % show_lines(out.trace))


@suite.case("pipe_prompt", modes=COLS)
def pipe_prompt(ctx, mode):
    """The event line reaches a pipe while the tool keeps running (no block buffering)."""
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool(ctx.mode_args())
    r = cli.connect(4, V4, port)
    t0 = time.monotonic()
    limit = 8.0
    arrived = run.wait_comm(ctx.comm("cli"), 1, timeout=limit)
    still_running = run.p.poll() is None
    out = run.finish()
    check(arrived and still_running,
          "no event line on the stdout pipe within %gs of the connect while the tool ran "
          "(block-buffered?); after SIGINT it printed: %s" % (limit, show_lines(out.trace)))
    ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port)])
    del t0


# ----------------------------------------------------------------------------
# Environment and errors

@suite.case("sigterm")
def sigterm(ctx, mode):
    """SIGTERM, like SIGINT: drain, exit 0."""
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool([])
    r = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish(sig=signal.SIGTERM)
    ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port)])


@suite.case("comm_escaping", modes=COLS)
def comm_escaping(ctx, mode):
    """COMM bytes: in columns backslash, controls (C1 too) and invalid UTF-8 escaped,
    valid UTF-8 kept; in JSON the real bytes, given back by surrogateescape."""
    raw = (ctx.prefix + "-").encode() + b"\\\t\xff\xc2\x9b" + "\u00e9".encode()
    shown = ctx.prefix + "-" + "\\\\" + "\\x09" + "\\xff" + "\\xc2\\x9b" + "\u00e9"
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = Client(ctx, shown, ns, raw=raw)
    run = ctx.start_tool(ctx.mode_args())
    r = cli.connect(4, V4, port)
    run.wait_comm(ctx.prefix + "-")
    out = run.finish()
    mine = [e for e in ctx.ours(ctx.events(out, header())) if e.get("pid") == cli.pid]
    for e in mine:
        if mode == "json":
            e["comm"] = e["comm"].encode("utf-8", "surrogateescape")
        else:   # hex digits of \xNN in either case
            e["comm"] = re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: "\\x" + m.group(1).lower(),
                               e["comm"])
    want_comm = raw if mode == "json" else shown
    check(len(mine) == 1 and mine[0]["comm"] == want_comm,
          "comm bytes %r should print as %r; got: %s" % (
              raw, want_comm, show_lines([e["_line"] for e in mine] or out.trace[-8:])))
    del r


def tracefs_applies(cfg):
    b = cfg.expect_backend if cfg.backend == "auto" else cfg.backend
    return True if b == "tracepoint" else \
        "only where the tracepoint backend is in use (here: %s), the one that needs tracefs" % b


@suite.case("tracefs_unmounted", applies=tracefs_applies)
def tracefs_unmounted(ctx, mode):
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
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.serve(4)
    cli = ctx.client("cli", ns)
    run = ctx.start_tool([])
    r = cli.connect(4, V4, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, r, 4, V4, V4, port)])


@suite.case("bad_option")
def bad_option(ctx, mode):
    problems = []
    for args, name in ((["-p", "abc"], r"(-p\b|--pid|\bpid\b)"),
                       (["-P", "70000"], r"(-P\b|--port|\bport\b)"),
                       (["--backend", "bogus"], r"(--backend|\bbackend\b)")):
        run = ctx.start_tool(args, ready=False)
        try:
            rc = run.wait(EVENT_TIMEOUT * 2)
        except Fail:
            problems.append("`%s %s` kept running" % (TOOL, " ".join(args)))
            continue
        out = run.output()
        cmd = "%s %s" % (TOOL, " ".join(args))
        if any(READY_RE.match(l) for l in out.stderr):
            problems.append("`%s` printed a ready line" % cmd)
        if rc == 0:
            problems.append("`%s` exited 0" % cmd)
        if len(out.stderr) != 1 or not re.search(name, out.stderr[0], re.I):
            problems.append("`%s` should print one stderr line naming the option, got: %s" % (
                cmd, show_lines(out.stderr)))
    if problems:
        raise Fail("; ".join(problems))
