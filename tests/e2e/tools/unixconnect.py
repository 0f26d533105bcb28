"""End-to-end cases for unixconnect (see docs/cli-contract.md).

The cases every tool has are in tests/e2e/shared.py; Actor below makes the
connects they trace."""
import json

import e2elib
import shared
from tools import _stash
from e2elib import NULL, Suite, check, show_lines

TOOL = "unixconnect"

COLUMNS = ["TIME(s)", "TIME", "UID", "T", "PID", "COMM", "WORKLOAD", "TYPE", "PEER",
           "PATH", "COUNT"]
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


suite = Suite(
    TOOL, "Unix connects and accepts", ["T", "PID", "COMM", "TYPE", "PEER", "PATH"],
    colmap={"T": ("event", event_name), "TYPE": ("type", sock_type), "PEER": ("peer_pid", peer),
            "PATH": ("path", path)},
    json_keys=[("type", str), ("path", (str, NULL)), ("peer_pid", (int, NULL))],
    proto="unix", events=tuple(EVENTS.values()),
    bad_options=[(["--path", ""], r"--path\b"), (["-4"], shared.unknown_option("-4")),
                 (["-P", "53"], shared.unknown_option("-P")),
                 (["-d"], shared.unknown_option("-d"))],
    count=[("T", "event_type", lambda e: (e["event"], e["event"][0].upper())),
           ("PID", "pid", None), ("COMM", "comm", None),
           ("TYPE", "type", lambda e: (e["type"], e["type"].upper())), ("COUNT", "count", None),
           ("PATH", "path", lambda e: (e["path"], e["path"] or "(unnamed)"))])
COLS = shared.COLS


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


@suite.actor
class Actor(e2elib.Actor):
    """Connects a datagram socket to one of its own, bound to an abstract
    name: a C line, PEER unknown."""

    def prepare(self):
        self.raw, self.shown = abstract_name(self.ctx, "d%d" % self.pid)
        self.cli.call("unix_listen", type="dgram", path=self.raw)

    def act(self, args=()):
        self.cli.call("unix_connect", type="dgram", path=self.raw)
        return [ev(self.cli, "connect", "dgram", self.shown, None, self.uid)]


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
    return ctx.check_events(out, suite.header(), [ev(cli, "connect", typ, shown, srv.pid),
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
    ctx.check_events(out, suite.header(), [ev(cli, "connect", "dgram", shown, None)])


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

def path_filter_case(ctx, pattern, names):
    """--path PATTERN: datagram connects to each of names [(raw, shown)], in
    order; only the last one's is printed."""
    srv = ctx.client("srv")
    cli = ctx.client("cli")
    for raw, _ in names:
        srv.call("unix_listen", type="dgram", path=raw)
    run = ctx.start_tool(["--path", pattern] + ctx.mode_args())
    for raw, _ in names:
        cli.call("unix_connect", type="dgram", path=raw)
    run.wait_comm(cli.comm)
    out = run.finish()
    ctx.check_events(out, suite.header(), [ev(cli, "connect", "dgram", names[-1][1], None)])


@suite.case("path_filter", modes=COLS)
def path_filter(ctx, mode):
    path_filter_case(ctx, "/*/good.*", [fs_name(ctx, "bad.sock"), abstract_name(ctx, "good"),
                                        fs_name(ctx, "good.sock")])


@suite.case("path_filter_abstract")
def path_filter_abstract(ctx, mode):
    path_filter_case(ctx, "@%s-*" % ctx.prefix, [fs_name(ctx, "good"),
                                                 abstract_name(ctx, "good")])


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


@suite.case("thread_map_full", modes=("json",), matrix=True)
def thread_map_full(ctx, mode):
    """--max-threads 4 on the kprobe backend, 8 threads of a stream server
    blocked in accept(), then 8 connects: every connect is printed, the
    accepts the thread map forgot are not, and stderr, the JSON lost lines
    and the metrics page count exactly those (tools/_stash.py)."""
    srv, cli = ctx.client("srv"), ctx.client("cli")
    raw, _ = fs_name(ctx, "full")
    sid = srv.call("unix_listen", type="stream", path=raw)["sid"]
    run = _stash.start(ctx)
    for _ in range(_stash.BLOCKED):
        srv.call("block", sid=sid)
    for _ in range(_stash.BLOCKED):
        cli.call("unix_connect", type="stream", path=raw)
    for _ in range(_stash.BLOCKED):
        srv.call("wait", sid=sid)
    run.wait_comm(cli.comm, _stash.BLOCKED)
    out, forgotten = _stash.finish(ctx, run)
    evs = ctx.ours(e2elib.parse_json(out.trace))
    conns = [e for e in evs if e.get("event") == "connect" and e["comm"] == cli.comm]
    accs = [e for e in evs if e.get("event") == "accept" and e["comm"] == srv.comm]
    check(len(conns) == _stash.BLOCKED, "%d connects made, %d printed: %s"
          % (_stash.BLOCKED, len(conns), show_lines([e["_line"] for e in evs])))
    check(len(accs) + forgotten == _stash.BLOCKED,
          "%d accepts made: %d printed + %d counted forgotten should add up"
          % (_stash.BLOCKED, len(accs), forgotten))
