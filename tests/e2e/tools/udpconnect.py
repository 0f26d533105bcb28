"""End-to-end cases for udpconnect (see docs/cli-contract.md).

The cases every tool has are in tests/e2e/shared.py; Actor below makes the
connects and sends they trace."""
import time

import e2elib
import lostcount
import shared
from e2elib import INET_JSON, MAPPED, V4, Skip, Suite, check, need_ipv6, show_lines
from tools import _bpfstate, _stash

TOOL = "udpconnect"

COLUMNS = ["TIME(s)", "TIME", "UID", "T", "PID", "COMM", "WORKLOAD", "IP", "SADDR", "SPORT",
           "DADDR", "DPORT", "COUNT"]
EVENTS = {"C": "connect", "S": "send"}


def event_name(t):
    if t not in EVENTS:
        raise ValueError(t)
    return EVENTS[t]


suite = Suite(
    TOOL, "UDP connects and first sends",
    ["T", "PID", "COMM", "IP", "SADDR", "SPORT", "DADDR", "DPORT"],
    colmap={"T": ("event", event_name), "SADDR": ("saddr", str), "SPORT": ("sport", int),
            "DADDR": ("daddr", str), "DPORT": ("dport", int)},
    json_keys=INET_JSON, proto="udp", events=tuple(EVENTS.values()),
    options=("-P", "-4", "-6", "-d"),
    bad_options=[(["-P", "0"], r"-P/--port\b"), (["-4", "-6"], r"-4/-6\b"),
                 (["-P", "53,x"], r"-P/--port\b"),
                 (["--max-destinations", "0"], r"--max-destinations\b"),
                 (["--max-destinations", "16777217"], r"--max-destinations\b")],
    matrix=("port_filter",),
    count=[("T", "event_type", lambda e: (e["event"], e["event"][0].upper())),
           ("PID", "pid", None), ("COMM", "comm", None), ("IP", "ip", None),
           ("SADDR", "saddr", None), ("DADDR", "daddr", None), ("DPORT", "dport", None),
           ("COUNT", "count", None)])
COLS = shared.COLS
ANY = {4: "0.0.0.0", 6: "::"}


def ev(cli, event, ip, r, daddr, dport, uid=0):
    """The line a connect/first send by `cli` must produce; r is the helper's
    getsockname() after the call, so sport is the port the kernel really used."""
    check(r.get("lport"), "test error: no source port from getsockname: %r" % r)
    return {"tool": TOOL, "event": event, "pid": cli.pid, "tid": cli.pid, "comm": cli.comm,
            "uid": uid, "netns": cli.netns_inode(), "proto": "udp", "ip": ip,
            "saddr": r["laddr"], "sport": r["lport"], "daddr": daddr, "dport": dport}


def connect(cli, ip, addr, port, bind=None):
    sid = cli.call("udp_socket", family=ip, bind=bind)["sid"]
    return cli.call("udp_connect", sid=sid, addr=addr, port=port)


def send(cli, ip, how, dests, bind=None):
    sid = cli.call("udp_socket", family=ip, bind=bind)["sid"]
    return cli.call("udp_send", sid=sid, how=how, dests=dests)


@suite.actor
class Actor(e2elib.Actor):
    """Has a bound socket; connects a new socket to it, then sends to it from
    another new one: a C and an S line."""

    def prepare(self):
        fam, addr = self.fam.listen
        return self.cli.call("udp_socket", family=fam, bind=addr)["port"]

    def act(self, args=()):
        f = self.fam
        rc = connect(self.cli, f.sock, f.addr, self.port)
        rs = send(self.cli, f.sock, "sendto", [[f.addr, self.port]])
        return [ev(self.cli, "connect", f.ip, rc, f.addr, self.port, self.uid),
                ev(self.cli, "send", f.ip, rs, f.addr, self.port, self.uid)]


# ----------------------------------------------------------------------------
# connect() and first sends, per family and send call

@suite.case("connect_{fam}", modes=COLS, matrix=True, fam=("ipv4", "ipv6"))
def connect_case(ctx, mode, fam):
    a = Actor(ctx, "cli", ctx.netns(), fam)
    run = ctx.start_tool(ctx.mode_args())
    r = connect(a.cli, fam.sock, fam.addr, a.port)
    run.wait_comm(a.comm)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(a.cli, "connect", fam.ip, r, fam.addr, a.port)])
    check(r["laddr"] == fam.addr, "test error: connected socket's source is %r" % r["laddr"])


@suite.case("{how}_{fam}", modes=COLS, matrix=True, how=("sendto", "sendmsg", "sendmmsg"),
            fam=("ipv4", "ipv6"))
def send_case(ctx, mode, how, fam):
    """Three datagrams to one destination, then one to another: two S lines,
    with the port the kernel bound during the first send."""
    a = Actor(ctx, "cli", ctx.netns(), fam)
    port, addr = a.port, fam.addr
    other = port + 1 if port < 65535 else port - 1
    run = ctx.start_tool(ctx.mode_args())
    r = send(a.cli, fam.sock, how, [[addr, port], [addr, port], [addr, other], [addr, port]])
    check(r["laddr"] == ANY[fam.sock], "test error: unbound socket has source %r" % r["laddr"])
    run.wait_comm(a.comm, 2)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(a.cli, "send", fam.ip, r, addr, port),
                                           ev(a.cli, "send", fam.ip, r, addr, other)])


@suite.case("send_bound_source")
def send_bound_source(ctx, mode):
    """A socket bound to an address shows it as SADDR."""
    a = Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool([])
    r = send(a.cli, 4, "sendto", [[V4, a.port]], bind=V4)
    run.wait_comm(a.comm)
    out = run.finish()
    check(r["laddr"] == V4, "test error: bound socket's source is %r" % r["laddr"])
    ctx.check_events(out, suite.header(), [ev(a.cli, "send", 4, r, V4, a.port)])


@suite.case("send_v4mapped", modes=COLS, matrix=True)
def send_v4mapped(ctx, mode):
    """An IPv6 socket sending to an IPv4 socket's v4-mapped address: IP 6."""
    need_ipv6()
    a = Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool(ctx.mode_args())
    r = send(a.cli, 6, "sendto", [[MAPPED, a.port], [MAPPED, a.port]])
    run.wait_comm(a.comm)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(a.cli, "send", 6, r, MAPPED, a.port)])


@suite.case("send_per_socket", matrix=True)
def send_per_socket(ctx, mode):
    """"Seen" is per socket: a second socket's first send to the same place shows."""
    a = Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool([])
    r1 = send(a.cli, 4, "sendto", [[V4, a.port], [V4, a.port]])
    r2 = send(a.cli, 4, "sendmsg", [[V4, a.port]])
    run.wait_comm(a.comm, 2)
    out = run.finish()
    check(r1["lport"] != r2["lport"], "test error: two sockets with one port")
    ctx.check_events(out, suite.header(), [ev(a.cli, "send", 4, r1, V4, a.port),
                                           ev(a.cli, "send", 4, r2, V4, a.port)])


@suite.case("connected_send_not_reported", matrix=True)
def connected_send(ctx, mode):
    """Sends on a connected socket are covered by its C line."""
    a = Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool([])
    sid = a.cli.call("udp_socket", family=4)["sid"]
    r = a.cli.call("udp_connect", sid=sid, addr=V4, port=a.port)
    a.cli.call("udp_send", sid=sid, how="sendmsg", dests=[[V4, a.port]])
    run.wait_comm(a.comm)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(a.cli, "connect", 4, r, V4, a.port)])


@suite.case("connect_only", modes=COLS, matrix=True)
def connect_only(ctx, mode):
    a = Actor(ctx, "cli", ctx.netns())
    run = ctx.start_tool(["--connect-only"] + ctx.mode_args())
    check(run.ready_line.startswith("Tracing UDP connects (backend"),
          "ready line should say UDP connects only: %r" % run.ready_line)
    send(a.cli, 4, "sendto", [[V4, a.port]])
    r = connect(a.cli, 4, V4, a.port)
    run.wait_comm(a.comm)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(a.cli, "connect", 4, r, V4, a.port)])


# ----------------------------------------------------------------------------
# Limits

@suite.case("seen_full", modes=("json",), matrix=True)
def seen_full(ctx, mode):
    """More new destinations than the LRU holds: the pairs it forgot (all
    those past its 16384, and before Linux 6.16 any it evicted earlier: the
    pairs sent to less those in the map) counted exactly, said as they go
    and in total, and with -j in lost lines that add up to the same; every
    destination printed once. The ring holds the whole burst (16 MiB, some
    100000 events): a reader the busy host held back must not lose S lines,
    which are what this case counts."""
    fill_seen(ctx, mode, 16384, 17, ["--ring-buffer", "16384"])


@suite.case("seen_full_sized", modes=("json",))
def seen_full_sized(ctx, mode):
    """seen_full with --max-destinations 1024 and 2048 destinations: the
    map takes the size asked, and what it forgets is counted the same way."""
    fill_seen(ctx, mode, 1024, 2, ["--max-destinations", "1024", "--ring-buffer", "4096"])


def fill_seen(ctx, mode, size, blocks, args):
    """Sends from one socket to blocks x 1024 new destinations, udpconnect
    run with args, whose seen map holds size pairs; checks the count."""
    cli = ctx.client("cli", ctx.netns())
    # -N: only the client's sends add pairs, none of the host's
    run = ctx.start_tool(ctx.mode_args() + args + ["-N", str(cli.netns_inode())])
    sid = cli.call("udp_socket", family=4)["sid"]
    total = 0
    for base in range(0, blocks * 1024, 1024):
        dests = [["127.0.%d.%d" % (i // 250, 1 + i % 250), 9] for i in range(base, base + 1024)]
        total += cli.call("udp_send", sid=sid, how="sendto", dests=dests)["sent"]
    held = len(_bpfstate.map_entries(run.p.pid, "seen"))
    check(held <= size, "the map holds %d pairs, more than its %d" % (held, size))
    forgotten = total - held

    def said(lines):
        return [int(l.split("full: ")[1].split()[0]) for l in lines
                if "memory for seen destinations is full: " in l]
    # the early evictions are counted once the tool sees the adds stop
    end = time.monotonic() + e2elib.EVENT_TIMEOUT
    while sum(said(run.stderr_lines())) < forgotten and time.monotonic() < end:
        time.sleep(0.1)
    out = run.finish()
    check(total == blocks * 1024, "the client should have sent to %d destinations, sent %d"
          % (blocks * 1024, total))
    now = said(out.stderr)
    check(now and sum(now) == forgotten,
          "stderr should count %d pairs forgotten as they go, got %s: %s"
          % (forgotten, now, show_lines(out.stderr)))
    want = "udpconnect: %d socket/destination pairs forgotten in total" % forgotten
    check(any(l.startswith(want) for l in out.stderr),
          "stderr should end with %r: %s" % (want, show_lines(out.stderr)))
    if mode == "json":
        objs = e2elib.parse_json(out.trace)
        lost = [o for o in objs if o.get("event") == "lost"]
        check(lost and all(o["reason"] == "seen_map_full" for o in lost) and
              sum(o["count"] for o in lost) == forgotten,
              "JSON lost lines should add up to %d seen_map_full: %s" % (forgotten, lost))
        sends = [o for o in objs if o.get("event") == "send" and o["dport"] == 9]
    else:
        sends = [l for l in out.trace if l.split()[:1] == ["S"] and l.split()[-1] == "9"]
    check(len(sends) == total, "every one of the %d destinations should print once, got %d"
          % (total, len(sends)))


@suite.case("sendmmsg_unexamined", modes=("json",), matrix=True)
def sendmmsg_unexamined(ctx, mode):
    """One sendmmsg() of 20 messages to 20 new destinations. On tracepoints,
    which see the call and examine its first 16 messages, 16 S lines and the
    4 others counted on every channel (lostcount.counted: sendmmsg_unexamined);
    on kprobes and fentry, which see each message's udp_sendmsg(), 20 S lines
    and nothing counted."""
    cli = ctx.client("cli", ctx.netns())
    run = lostcount.start_counting(ctx, ctx.mode_args())
    dests = [["127.0.1.%d" % (1 + i), 9] for i in range(20)]
    r = send(cli, 4, "sendmmsg", dests)
    check(r["sent"] == 20, "test error: sendmmsg() sent %s of 20" % r["sent"])
    if "tracepoint" in run.ready_backends:
        run.wait_comm(cli.comm, 16)
        out, now = lostcount.counted(ctx, run, "sendmmsg_unexamined",
                                     r"(\d+) sendmmsg\(\) messages naming a destination not",
                                     r"(\d+) sendmmsg\(\) messages not examined in total")
        check(now == 4, "4 messages past the 16th should be counted, got %d" % now)
        want = dests[:16]
    else:
        run.wait_comm(cli.comm, 20)
        out = run.finish()
        check(not any("sendmmsg" in l for l in out.stderr),
              "nothing should be counted unexamined: %s" % show_lines(out.stderr))
        want = dests
    ctx.check_events(out, suite.header(), [ev(cli, "send", 4, r, a, p) for a, p in want])


# ----------------------------------------------------------------------------
# limits

HELD = 8000     # bytes a datagram: past the least send buffer, so one held fills it


def held_loopback(ctx):
    """A namespace whose loopback lets one datagram of HELD bytes through and
    holds the next ones (a token bucket of 9000 bytes refilled at 8 bit/s):
    a datagram held keeps its socket's send buffer charged until the qdisc
    is deleted (netem would not: it gives the buffer back at once)."""
    ns = ctx.netns()
    r = ns.run(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "8bit",
                "burst", "9000", "limit", "1000000"], check_rc=False)
    if r.returncode != 0:
        raise Skip("cannot hold packets on a loopback (tc qdisc add ... tbf: %s)"
                   % (r.stderr or r.stdout).strip())
    return ns


@suite.case("thread_map_full", modes=("json",), matrix=True)
def thread_map_full(ctx, mode):
    """--max-threads 4 on the kprobe backend, 8 threads blocked sending to a
    new destination (a tbf qdisc holds the datagrams that filled each one's
    send buffer): every first send is printed or counted forgotten, and
    stderr, the JSON lost lines and the metrics page count exactly the
    forgotten ones (tools/_stash.py). A forgotten send's return finds no
    stash and cannot tell it from a send that names none: the user side
    counts those stashed, less those found, less those still inside."""
    run = _stash.start(ctx)
    ns = held_loopback(ctx)
    cli = ctx.client("cli", ns)
    sids = [cli.call("udp_socket", family=4)["sid"] for _ in range(_stash.BLOCKED)]
    for sid in sids:
        cli.call("udp_block", sid=sid, size=HELD, fill=[V4, 9], dest=[V4, 10])
    ns.run(["tc", "qdisc", "del", "dev", "lo", "root"])     # the buffers back
    sent = [cli.call("wait", sid=sid) for sid in sids]
    want = 2 * _stash.BLOCKED
    run.wait_lines(lambda l: cli.comm in l and '"send"' in l, _stash.BLOCKED)
    out, forgotten = _stash.finish(ctx, run)
    evs = [e for e in ctx.ours(e2elib.parse_json(out.trace)) if e.get("event") == "send"]
    check(all(e["comm"] == cli.comm and e["daddr"] == V4 and e["dport"] in (9, 10)
              for e in evs), "a send printed that the test did not make: %s"
          % show_lines([e["_line"] for e in evs]))
    firsts = sorted(e["sport"] for e in evs if e["dport"] == 9)
    check(firsts == sorted(s["lport"] for s in sent),
          "the %d sends that filled a buffer returned at once, each should be printed: %s"
          % (_stash.BLOCKED, show_lines([e["_line"] for e in evs])))
    check(len(evs) + forgotten == want,
          "%d first sends made: %d printed + %d counted forgotten should add up: %s"
          % (want, len(evs), forgotten, show_lines([e["_line"] for e in evs])))
