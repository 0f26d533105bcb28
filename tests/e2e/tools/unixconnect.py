"""End-to-end cases for unixconnect (see docs/cli-contract.md)."""
import json
import re
import time

from e2elib import Suite, check, show_lines

TOOL = "unixconnect"

COLUMNS = ["TIME(s)", "TIME", "UID", "T", "PID", "COMM", "TYPE", "PEER", "PATH"]
JSON_KEYS = ["ts", "time_ns", "tool", "event", "pid", "tid", "comm", "uid", "netns", "proto",
             "type", "path", "peer_pid"]
EVENTS = {"C": "connect", "A": "accept"}
TYPES = {"STREAM": "stream", "DGRAM": "dgram", "SEQPACKET": "seqpacket"}


def event_name(t):
    if t not in EVENTS:
        raise ValueError(t)
    return EVENTS[t]


def sock_type(t):
    if t not in TYPES:
        raise ValueError(t)
    return TYPES[t]


def peer(v):
    return None if v == "-" else int(v)


def path(v):
    return None if v == "(unnamed)" else v


suite = Suite(TOOL, colmap={
    "T": ("event", event_name), "PID": ("pid", int), "COMM": ("comm", str),
    "TYPE": ("type", sock_type), "PEER": ("peer_pid", peer), "PATH": ("path", path),
    "UID": ("uid", int), "TIME(s)": ("time_s", str), "TIME": ("time", str)},
    json_keys=JSON_KEYS)

COLS = ("col", "json")


def header(uid=False, ts=None):
    h = {"t": ["TIME(s)"], "T": ["TIME"]}.get(ts, [])
    return h + (["UID"] if uid else []) + ["T", "PID", "COMM", "TYPE", "PEER", "PATH"]


def ev(who, event, typ, shown, peer_pid, uid=0):
    """The line `who` must get for a connect/accept on a socket named `shown`
    (the path as printed: escaped, @ for abstract)."""
    return {"tool": TOOL, "event": event, "pid": who.pid, "tid": who.pid, "comm": who.comm,
            "uid": uid, "netns": who.netns_inode(), "proto": "unix", "type": typ,
            "path": shown, "peer_pid": peer_pid}


def fs_name(ctx, name):
    """A filesystem socket path: (raw bytes as hex, text as printed)."""
    p = ctx.tmp(name)
    return p.encode().hex(), p


def abstract_name(ctx, name):
    n = "%s-%s" % (ctx.prefix, name)
    return ("\0" + n).encode().hex(), "@" + n


def pair_case(ctx, typ, raw, shown, args=(), bind=None):
    """srv listens on raw, cli connects (bound to `bind` if given), srv accepts;
    a C line for cli with srv as PEER, an A line for srv with cli as PEER."""
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    sid = srv.call("unix_listen", type=typ, path=raw)["sid"]
    run = ctx.start_tool(list(args) + ctx.mode_args())
    cli.call("unix_connect", type=typ, path=raw, bind=bind)
    srv.call("unix_accept", sid=sid)
    run.wait_comm(ctx.prefix + "-", 2)
    out = run.finish()
    return ctx.check_events(out, header(), [ev(cli, "connect", typ, shown, srv.pid),
                                            ev(srv, "accept", typ, shown, cli.pid)])


NAMES = {"path": fs_name, "abstract": abstract_name}


@suite.case("{typ}_{where}", modes=COLS, matrix=True, typ=("stream", "seqpacket"),
            where=("path", "abstract"))
def pair(ctx, mode, typ, where):
    pair_case(ctx, typ, *NAMES[where](ctx, "srv.sock"))


@suite.case("bound_client", matrix=True)
def bound_client(ctx, mode):
    """A client with its own address still shows the server's path."""
    raw, shown = fs_name(ctx, "srv.sock")
    craw, _ = fs_name(ctx, "cli.sock")
    pair_case(ctx, "stream", raw, shown, bind=craw)


def dgram_case(ctx, raw, shown):
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw)
    run = ctx.start_tool(ctx.mode_args())
    cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    # no SO_PEERCRED for datagram sockets: PEER unknown
    ctx.check_events(out, header(), [ev(cli, "connect", "dgram", shown, None)])


@suite.case("dgram_{where}", modes=COLS, matrix=True, where=("path", "abstract"))
def dgram(ctx, mode, where):
    dgram_case(ctx, *NAMES[where](ctx, "d.sock"))


# ----------------------------------------------------------------------------
# Hostile names: escaped in columns; in JSON the real bytes, which
# json.loads() and .encode("utf-8", "surrogateescape") give back exactly

def as_printed(mode, shown, raw):
    """PATH in this mode: the columns' escaped text, or JSON's decoded string."""
    return shown if mode == "col" else raw.decode("utf-8", "surrogateescape")


@suite.case("hostile_path", modes=COLS)
def hostile_path(ctx, mode):
    base = ctx.tmp("x")[:-1]
    raw = base.encode() + b"a\x1b[31m\t\n\"b\xff\\c\xc2\x9b\xc3\xa9.sock"
    shown = base + "a\\x1b[31m\\x09\\x0a\"b\\xff\\\\c\\xc2\\x9b\u00e9.sock"
    mine = pair_case(ctx, "stream", raw.hex(), as_printed(mode, shown, raw))
    if mode == "json":
        check(all(e["path"].encode("utf-8", "surrogateescape") == raw for e in mine),
              "JSON path does not give back %r: %s" % (raw, show_lines(
                  [e["_line"] for e in mine])))


@suite.case("hostile_abstract", modes=COLS, matrix=True)
def hostile_abstract(ctx, mode):
    n = ctx.prefix.encode() + b"\x00\x07\t\"\x7f\xc2\x85\xe2\x82\xac\xffz"
    shown = "@" + ctx.prefix + "\\x00\\x07\\x09\"\\x7f\\xc2\\x85\u20ac\\xffz"
    mine = pair_case(ctx, "seqpacket", (b"\0" + n).hex(), as_printed(mode, shown, b"@" + n))
    if mode == "json":
        check(all(e["path"].encode("utf-8", "surrogateescape") == b"@" + n for e in mine),
              "JSON path does not give back @%r: %s" % (n, show_lines(
                  [e["_line"] for e in mine])))


# ----------------------------------------------------------------------------
# Filters and extra columns

@suite.case("path_filter", modes=COLS)
def path_filter(ctx, mode):
    raw_a, shown_a = fs_name(ctx, "good.sock")
    raw_b, _ = fs_name(ctx, "bad.sock")
    raw_c, _ = abstract_name(ctx, "good")
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw_b)
    srv.call("unix_listen", type="dgram", path=raw_c)
    srv.call("unix_listen", type="dgram", path=raw_a)
    run = ctx.start_tool(["--path", "/*/good.*"] + ctx.mode_args())
    for raw in (raw_b, raw_c, raw_a):
        cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", "dgram", shown_a, None)])


@suite.case("path_filter_abstract")
def path_filter_abstract(ctx, mode):
    raw_a, shown_a = abstract_name(ctx, "good")
    raw_b, _ = fs_name(ctx, "good")
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw_a)
    srv.call("unix_listen", type="dgram", path=raw_b)
    run = ctx.start_tool(["--path", "@%s-*" % ctx.prefix])
    cli.call("unix_connect", type="dgram", path=raw_b)
    cli.call("unix_connect", type="dgram", path=raw_a)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    ctx.check_events(out, header(), [ev(cli, "connect", "dgram", shown_a, None)])


def two_clients(ctx, args_fn, hdr=None, uid=0, netns=None):
    """a and b each connect to one datagram socket; only a's line may show."""
    raw, shown = abstract_name(ctx, "d")
    srv = ctx.client("srv", netns)
    a = ctx.client("a", netns)
    b = ctx.client("b")
    if uid:
        a.setuid(uid)
    srv.call("unix_listen", type="dgram", path=raw)
    braw, _ = abstract_name(ctx, "bd")
    b.call("unix_listen", type="dgram", path=braw)
    run = ctx.start_tool(args_fn(a, b) + ctx.mode_args())
    b.call("unix_connect", type="dgram", path=braw)
    a.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("a"))
    out = run.finish()
    return ctx.check_events(out, hdr or header(),
                            [ev(a, "connect", "dgram", shown, None, uid=uid)])


@suite.case("pid_filter", modes=COLS)
def pid_filter(ctx, mode):
    two_clients(ctx, lambda a, b: ["-p", str(a.pid)])


@suite.case("uid_filter", modes=COLS)
def uid_filter(ctx, mode):
    two_clients(ctx, lambda a, b: ["-u", "65534", "-U"], hdr=header(uid=True), uid=65534)


@suite.case("netns_filter", modes=COLS)
def netns_filter(ctx, mode):
    """A Unix socket belongs to the netns of the process that made it."""
    ns = ctx.netns()
    two_clients(ctx, lambda a, b: ["-N", str(ns.inode)], netns=ns)


@suite.case("cgroup_filter")
def cgroup_filter(ctx, mode):
    cg = ctx.cgroup()
    two_clients(ctx, lambda a, b: (cg.add(a.pid), ["--cgroup", cg.path])[1])


@suite.case("timestamp_t")
def timestamp_t(ctx, mode):
    raw, shown = abstract_name(ctx, "d")
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw)
    run = ctx.start_tool(["-t"])
    cli.call("unix_connect", type="dgram", path=raw)
    time.sleep(0.3)
    cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("cli"), 2)
    out = run.finish()
    e = ev(cli, "connect", "dgram", shown, None)
    evs = ctx.ours(ctx.events(out, header(ts="t")))
    check(len(evs) == 2 and all(all(x.get(k) == e[k] for k in ("pid", "comm", "path"))
                                for x in evs), "expected two lines like %r: %s" % (
        e, show_lines([x["_line"] for x in evs])))
    t = [float(x["time_s"]) for x in evs]
    check(0.25 <= t[1] - t[0] < 60, "TIME(s) 0.3 s apart differ by %.3f" % (t[1] - t[0]))


@suite.case("time_T")
def time_T(ctx, mode):
    raw, shown = abstract_name(ctx, "d")
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw)
    run = ctx.start_tool(["-T"])
    cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    mine = ctx.check_events(out, header(ts="T"), [ev(cli, "connect", "dgram", shown, None)])
    check(re.match(r"^\d\d:\d\d:\d\d$", mine[0]["time"]), "TIME %r" % mine[0]["time"])


@suite.case("json_null_peer")
def json_null_peer(ctx, mode):
    """JSON says null, not 0, for a PEER the kernel does not know."""
    raw, shown = abstract_name(ctx, "d")
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    srv.call("unix_listen", type="dgram", path=raw)
    run = ctx.start_tool(["-j"])
    cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(ctx.comm("cli"))
    out = run.finish()
    mine = [l for l in out.trace if ctx.comm("cli") in l]
    check(len(mine) == 1 and '"peer_pid":null}' in mine[0] and
          json.loads(mine[0])["path"] == shown, "expected one line ending peer_pid null: %s"
          % show_lines(mine))


@suite.case("bad_option")
def bad_option(ctx, mode):
    for args in (["--path", ""], ["-4"], ["-P", "53"]):
        run = ctx.start_tool(args, ready=False)
        rc = run.wait()
        o = run.output()
        check(rc in (1, 2) and o.stderr and not o.stdout,
              "`%s %s`: exit %s, stderr %s" % (TOOL, " ".join(args), rc, show_lines(o.stderr)))
