"""End-to-end cases for udpconnect (see docs/cli-contract.md)."""
import os
import re
import time

from e2elib import Skip, Suite, check, show_lines

TOOL = "udpconnect"

COLUMNS = ["TIME(s)", "TIME", "UID", "T", "PID", "COMM", "IP", "SADDR", "SPORT", "DADDR",
           "DPORT"]
JSON_KEYS = ["ts", "time_ns", "tool", "event", "pid", "tid", "comm", "uid", "netns", "proto",
             "ip", "saddr", "sport", "daddr", "dport"]
EVENTS = {"C": "connect", "S": "send"}


def event_name(t):
    if t not in EVENTS:
        raise ValueError(t)
    return EVENTS[t]


suite = Suite(TOOL, colmap={
    "T": ("event", event_name), "PID": ("pid", int), "COMM": ("comm", str), "IP": ("ip", int),
    "SADDR": ("saddr", str), "SPORT": ("sport", int), "DADDR": ("daddr", str),
    "DPORT": ("dport", int), "UID": ("uid", int), "TIME(s)": ("time_s", str),
    "TIME": ("time", str)}, json_keys=JSON_KEYS)

COLS = ("col", "json")
V4 = "127.0.0.1"
V6 = "::1"
ANY = {4: "0.0.0.0", 6: "::"}


def header(uid=False, ts=None):
    h = {"t": ["TIME(s)"], "T": ["TIME"]}.get(ts, [])
    return h + (["UID"] if uid else []) + ["T", "PID", "COMM", "IP", "SADDR", "SPORT",
                                           "DADDR", "DPORT"]


def need_v6(ip):
    if ip == 6 and not os.path.exists("/proc/net/if_inet6"):
        raise Skip("no IPv6 on this machine")


def ev(cli, event, ip, r, daddr, dport, uid=0):
    """The line a connect/first send by `cli` must produce; r is the helper's
    getsockname() after the call, so sport is the port the kernel really used."""
    check(r.get("lport"), "test error: no source port from getsockname: %r" % r)
    return {"tool": TOOL, "event": event, "pid": cli.pid, "tid": cli.pid, "comm": cli.comm,
            "uid": uid, "netns": cli.netns_inode(), "proto": "udp", "ip": ip,
            "saddr": r["laddr"], "sport": r["lport"], "daddr": daddr, "dport": dport}


def setup(ctx, ip=4, roles=("cli",)):
    need_v6(ip)
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    port = srv.call("udp_socket", family=ip, bind=V4 if ip == 4 else V6)["port"]
    return ns, port, [ctx.client(r, ns) for r in roles]


def connect(cli, ip, addr, port, bind=None):
    sid = cli.call("udp_socket", family=ip, bind=bind)["sid"]
    return cli.call("udp_connect", sid=sid, addr=addr, port=port)


def send(cli, ip, how, dests, bind=None):
    sid = cli.call("udp_socket", family=ip, bind=bind)["sid"]
    return cli.call("udp_send", sid=sid, how=how, dests=dests)


# ----------------------------------------------------------------------------
# connect() and first sends, per family and send call

def connect_case(ctx, ip):
    addr = V4 if ip == 4 else V6
    ns, port, (cli,) = setup(ctx, ip)
    run = ctx.start_tool(ctx.mode_args())
    r = connect(cli, ip, addr, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", ip, r, addr, port)])
    check(r["laddr"] == addr, "test error: connected socket's source is %r" % r["laddr"])


@suite.case("connect_{fam}", modes=COLS, matrix=True, fam=("ipv4", "ipv6"))
def connect_fam(ctx, mode, fam):
    connect_case(ctx, fam.ip)


def send_case(ctx, ip, how):
    """Three datagrams to one destination, then one to another: two S lines,
    with the port the kernel bound during the first send."""
    addr = V4 if ip == 4 else V6
    ns, port, (cli,) = setup(ctx, ip)
    other = port + 1 if port < 65535 else port - 1
    run = ctx.start_tool(ctx.mode_args())
    r = send(cli, ip, how, [[addr, port], [addr, port], [addr, other], [addr, port]])
    check(r["laddr"] == ANY[ip], "test error: unbound socket has source %r" % r["laddr"])
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "send", ip, r, addr, port),
                                     ev(cli, "send", ip, r, addr, other)])


@suite.case("{how}_{fam}", modes=COLS, matrix=True, how=("sendto", "sendmsg", "sendmmsg"),
            fam=("ipv4", "ipv6"))
def send_fam(ctx, mode, how, fam):
    send_case(ctx, fam.ip, how)


@suite.case("send_bound_source")
def send_bound_source(ctx, mode):
    """A socket bound to an address shows it as SADDR."""
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool([])
    r = send(cli, 4, "sendto", [[V4, port]], bind=V4)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    check(r["laddr"] == V4, "test error: bound socket's source is %r" % r["laddr"])
    ctx.check_events(out, header(), [ev(cli, "send", 4, r, V4, port)])


@suite.case("send_v4mapped", modes=COLS, matrix=True)
def send_v4mapped(ctx, mode):
    need_v6(6)
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool(ctx.mode_args())
    mapped = "::ffff:" + V4
    r = send(cli, 6, "sendto", [[mapped, port], [mapped, port]])
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "send", 6, r, mapped, port)])


@suite.case("send_per_socket", matrix=True)
def send_per_socket(ctx, mode):
    """"Seen" is per socket: a second socket's first send to the same place shows."""
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool([])
    r1 = send(cli, 4, "sendto", [[V4, port], [V4, port]])
    r2 = send(cli, 4, "sendmsg", [[V4, port]])
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    check(r1["lport"] != r2["lport"], "test error: two sockets with one port")
    ctx.check_events(out, header(), [ev(cli, "send", 4, r1, V4, port),
                                     ev(cli, "send", 4, r2, V4, port)])


@suite.case("connected_send_not_reported", matrix=True)
def connected_send(ctx, mode):
    """Sends on a connected socket are covered by its C line."""
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool([])
    sid = cli.call("udp_socket", family=4)["sid"]
    r = cli.call("udp_connect", sid=sid, addr=V4, port=port)
    cli.call("udp_send", sid=sid, how="sendmsg", dests=[[V4, port]])
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", 4, r, V4, port)])


@suite.case("connect_only", modes=COLS, matrix=True)
def connect_only(ctx, mode):
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool(["--connect-only"] + ctx.mode_args())
    check(run.ready_line.startswith("Tracing UDP connects (backend"),
          "ready line should say UDP connects only: %r" % run.ready_line)
    send(cli, 4, "sendto", [[V4, port]])
    r = connect(cli, 4, V4, port)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", 4, r, V4, port)])


# ----------------------------------------------------------------------------
# Filters and extra columns

@suite.case("port_filter", modes=COLS, matrix=True)
def port_filter(ctx, mode):
    ns, port, (cli,) = setup(ctx, 4)
    other = port + 1 if port < 65535 else port - 1
    run = ctx.start_tool(["-P", str(port)] + ctx.mode_args())
    connect(cli, 4, V4, other)
    send(cli, 4, "sendto", [[V4, other]])
    rc = connect(cli, 4, V4, port)
    rs = send(cli, 4, "sendmsg", [[V4, other], [V4, port]])
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", 4, rc, V4, port),
                                     ev(cli, "send", 4, rs, V4, port)])


def family_case(ctx, flag, shown):
    need_v6(6)
    ns = ctx.netns()
    srv = ctx.client("srv", ns)
    p4 = srv.call("udp_socket", family=4, bind=V4)["port"]
    p6 = srv.call("udp_socket", family=6, bind=V6)["port"]
    cli = ctx.client("cli", ns)
    run = ctx.start_tool([flag] + ctx.mode_args())
    r4 = send(cli, 4, "sendto", [[V4, p4]])
    r6 = send(cli, 6, "sendto", [[V6, p6]])
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    e = ev(cli, "send", 4, r4, V4, p4) if shown == 4 else ev(cli, "send", 6, r6, V6, p6)
    ctx.check_events(out, header(), [e])


@suite.case("family_{fam}_only", fam=("ipv4", "ipv6"))
def family_only(ctx, mode, fam):
    family_case(ctx, "-%d" % fam.ip, fam.ip)


def two_clients(ctx, args_fn, hdr=None, uid_b=None):
    """Clients a and b each connect and send; only a may be printed."""
    ns, port, (a, b) = setup(ctx, 4, roles=("a", "b"))
    if uid_b is not None:
        a.setuid(uid_b)
    run = ctx.start_tool(args_fn(a, b, ns) + ctx.mode_args())
    connect(b, 4, V4, port)
    send(b, 4, "sendto", [[V4, port]])
    rc = connect(a, 4, V4, port)
    rs = send(a, 4, "sendto", [[V4, port]])
    run.wait_comm(ctx.comm("a"), 2)
    out = run.finish()
    uid = uid_b or 0
    ctx.check_events(out, hdr or header(), [ev(a, "connect", 4, rc, V4, port, uid=uid),
                                            ev(a, "send", 4, rs, V4, port, uid=uid)])


@suite.case("pid_filter", modes=COLS)
def pid_filter(ctx, mode):
    two_clients(ctx, lambda a, b, ns: ["-p", str(a.pid)])


@suite.case("uid_filter", modes=COLS)
def uid_filter(ctx, mode):
    two_clients(ctx, lambda a, b, ns: ["-u", "65534", "-U"], hdr=header(uid=True), uid_b=65534)


@suite.case("netns_filter", modes=COLS)
def netns_filter(ctx, mode):
    """-N: the client in another netns (sending to its own loopback) is not shown."""
    ns, port, (a,) = setup(ctx, 4, roles=("a",))
    b = ctx.client("b", ctx.netns())
    run = ctx.start_tool(["-N", str(ns.inode)] + ctx.mode_args())
    send(b, 4, "sendto", [[V4, port]])
    connect(b, 4, V4, port)
    rs = send(a, 4, "sendto", [[V4, port]])
    run.wait_comm(ctx.comm("a"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(a, "send", 4, rs, V4, port)])


@suite.case("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()
    two_clients(ctx, lambda a, b, ns: (cg.add(a.pid), ["--cgroup", cg.path])[1])


@suite.case("timestamp_t")
def timestamp_t(ctx, mode):
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool(["-t"])
    r1 = send(cli, 4, "sendto", [[V4, port]])
    time.sleep(0.3)
    r2 = connect(cli, 4, V4, port)
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    mine = ctx.check_events(out, header(ts="t"), [ev(cli, "send", 4, r1, V4, port),
                                                  ev(cli, "connect", 4, r2, V4, port)])
    t = sorted(float(e["time_s"]) for e in mine)
    check(0.25 <= t[1] - t[0] < 60, "TIME(s) 0.3 s apart differ by %.3f: %s" % (
        t[1] - t[0], show_lines([e["_line"] for e in mine])))


@suite.case("time_T")
def time_T(ctx, mode):
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool(["-T"])
    r = send(cli, 4, "sendto", [[V4, port]])
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    mine = ctx.check_events(out, header(ts="T"), [ev(cli, "send", 4, r, V4, port)])
    check(re.match(r"^\d\d:\d\d:\d\d$", mine[0]["time"]), "TIME %r is not HH:MM:SS" %
          mine[0]["time"])


# ----------------------------------------------------------------------------
# Limits and errors

@suite.case("seen_full")
def seen_full(ctx, mode):
    """More new destinations than the LRU holds: said once on stderr."""
    ns, port, (cli,) = setup(ctx, 4)
    run = ctx.start_tool([])
    sid = cli.call("udp_socket", family=4)["sid"]
    total = 0
    for base in range(0, 16640, 1024):
        dests = [["127.0.%d.%d" % (i // 250, 1 + i % 250), 9] for i in range(base, base + 1024)]
        total += cli.call("udp_send", sid=sid, how="sendto", dests=dests)["sent"]
    out = run.finish()
    msgs = [l for l in out.stderr if "seen destinations is full" in l]
    check(len(msgs) == 1, "after %d new destinations, expected one 'full' line on stderr, "
          "got: %s" % (total, show_lines(out.stderr)))


@suite.case("bad_option")
def bad_option(ctx, mode):
    for args in (["-P", "0"], ["-4", "-6"], ["-P", "53,x"]):
        run = ctx.start_tool(args, ready=False)
        rc = run.wait()
        o = run.output()
        check(rc in (1, 2) and len(o.stderr) == 1 and not o.stdout,
              "`%s %s`: exit %s, stderr %s" % (TOOL, " ".join(args), rc, show_lines(o.stderr)))
