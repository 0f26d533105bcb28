"""-d/--dns (issue 17): the name a destination was resolved from, in
tcpconnect, tcptracer and udpconnect: the QUERY column (last; in count mode
just before the count), and in JSON "query" and "cnames" after the event's
other members.

Imported by shared.py.  Two kinds of cases:

- dns_query, a @shared case for each tool that takes -d (Suite.options has
  "-d"): the tool's own Actor acts in a netns where a name was resolved to
  the address it uses (127.0.0.1) through a CNAME chain; every line of it
  carries the name and the chain.  That proves each tool's wiring.
- The cases of the user-space code the three tools share (the cache, its
  TTL and netns keys, the parser glue, escaping, count rows, -r), written
  once and run for tcpconnect only (ONCE_TOOL, add_cases()): the clients
  there are real ones (getent, Python, dig, curl) whose TCP connects
  tcpconnect prints one line each.

Real parts: dnsmasq (Debian's dnsmasq-base) on 127.0.0.1:53 inside a private
netns, which has a resolv.conf of its own: /etc/netns/NAME/resolv.conf for
`ip netns exec NAME`, or where /etc cannot be written (a guest's read-only
root) the same file bind-mounted over /etc/resolv.conf in a private mount
namespace.  Addresses the names resolve to are put on the netns's lo, so
every connect is answered there.  The hostile answers come from a DNS
server of the runner's own: a UDP socket on 127.0.0.1:53 made inside the
netns (setns(2) of the runner's thread around socket()), to a raw query
from a socket there too, not a resolver library.  Every process, netns,
/etc/netns directory and file a case makes is removed by ctx's cleanup.
"""
import copy
import ctypes
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import count
import e2elib
import lostcount
from e2elib import NULL, Skip, check, show_lines
import shared as shared_mod
from shared import COLS, shared

ONCE_TOOL = "tcpconnect"
CLONE_NEWNET = 0x40000000
TIMEOUT = 20.0      # a client's run, generous for software emulation
LONG_TTL = 600      # dnsmasq's --local-ttl unless a case needs a short one

_libc = ctypes.CDLL(None, use_errno=True)


# ----------------------------------------------------------------------------
# The suite as -d changes it

def dns_suite(ctx):
    """ctx.suite as the tool prints with -d: QUERY (None for "-") and the
    JSON keys query, cnames after every other one, QUERY before the count
    column in count mode.  A copy, for this case only."""
    base = ctx.suite
    s = copy.copy(base)
    s.colmap = dict(base.colmap, QUERY=("query", lambda v: None if v == "-" else v))
    s.json_types = dict(base.json_types, query=(str, NULL), cnames=list)
    s.json_keys = lambda event, with_result=False: base.json_keys(event, with_result) + [
        "query", "cnames"]
    if base.count:
        s.count = base.count[:-1] + [("QUERY", "query", None)] + base.count[-1:]
        check(base.count[-1][1] == "count", "test error: the count column is not last")
    ctx.suite = s
    return s


def header(ctx, hdr=None):
    """The tool's header (default: its default columns) and QUERY last."""
    return (hdr or ctx.suite.header()) + ["QUERY"]


def named(events, query, cnames=()):
    """The events, each with the name and CNAME chain it must show."""
    for e in events:
        e.update(query=query, cnames=list(cnames))
    return events


def check_dns_events(ctx, out, hdr, exp):
    """check_events, and in JSON every line's cnames a list of strings."""
    mine = ctx.check_events(out, hdr, exp)
    if ctx.mode == "json":
        bad = [e["_line"] for e in mine if not all(isinstance(c, str) for c in e["cnames"])]
        check(not bad, "cnames not a list of strings: %s" % show_lines(bad))
    return mine


def skipped_lines(ctx, out):
    """The tool's "-d: ... skipped" lines on stderr."""
    return [l for l in out.stderr if re.match(r"^%s: -d: .*skipped" % ctx.tool, l)]


def check_skipped(ctx, out, truncated, malformed, server_cut=0):
    """The exit line counts exactly these (none at all if both are 0). The
    lines as it happens, and in JSON the lost lines (dns_answer_skipped),
    count them less the server_cut of the truncated (the TC flag: the client
    asks again over TCP, and that answer is read: not a loss)."""
    got = skipped_lines(ctx, out)
    n = truncated + malformed
    now = sum(int(m.group(1)) for m in (re.match(
        r"^%s: -d: (\d+) DNS answers not read \(cut short in capture, or malformed\)"
        % ctx.tool, l) for l in out.stderr) if m)
    check(now == n - server_cut, "stderr should say %d answers not read as it happens, "
          "said %d: %s" % (n - server_cut, now, show_lines(out.stderr)))
    if ctx.mode == "json":
        lost = sum(o["count"] for o in e2elib.parse_json(out.trace)
                   if o.get("event") == "lost" and o.get("reason") == "dns_answer_skipped")
        check(lost == n - server_cut, "JSON lost lines should count %d dns_answer_skipped, "
              "got %d: %s" % (n - server_cut, lost, show_lines(out.trace)))
    if n == 0:
        check(got == [], "a skipped-answers line, but no answer was truncated or malformed: "
              "%s" % show_lines(got))
        return
    want = "%s: -d: %d DNS answers skipped: %d truncated, %d malformed" % (
        ctx.tool, n, truncated, malformed)
    check(got == [want], "stderr should have the line %r, got: %s (all stderr: %s)" % (
        want, show_lines(got), show_lines(out.stderr)))


# ----------------------------------------------------------------------------
# DNS messages, built by hand

def wire(name):
    """A name in wire form: a str ("a.test") or a list of raw labels (bytes)."""
    labels = [l.encode() for l in name.split(".")] if isinstance(name, str) else name
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def message(qid, qname, records=(), flags=0x8180, qtype=1):
    """A message with one question (qname in wire form) and the records
    (raw bytes) as its answer section; flags 0x0100 for a query."""
    return (struct.pack(">HHHHHH", qid, flags, 1, len(records), 0, 0) + qname +
            struct.pack(">HH", qtype, 1) + b"".join(records))


def a_record(addr, ttl=LONG_TTL, owner=b"\xc0\x0c"):
    """An A record, its owner by default the question's name (a pointer to 12)."""
    return owner + struct.pack(">HHIH", 1, 1, ttl, 4) + socket.inet_aton(addr)


def rcode(reply):
    return struct.unpack(">H", reply[2:4])[0] & 0xf


def ancount(reply):
    return struct.unpack(">H", reply[6:8])[0]


# ----------------------------------------------------------------------------
# Network namespaces with a resolver

def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def ns_socket(ns, family=socket.AF_INET, kind=socket.SOCK_DGRAM):
    """A socket of the runner's that lives in netns ns: this thread enters
    ns for socket() only."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        fd = os.open(ns.path, os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        try:
            return socket.socket(family, kind)
        finally:
            setns(own)
    finally:
        os.close(own)


def need(prog, package):
    path = shutil.which(prog)
    if not path:
        raise Skip("no %s here (Debian's %s, in the Makefile's TEST_DEB_PACKAGES: "
                   "make deps-test)" % (prog, package))
    return path


class DnsNetns:
    """A private netns (ctx.netns()) whose processes resolve through
    127.0.0.1, addrs (CIDR) on its lo, a listener on "::" port `port` (both
    families), and a dnsmasq there (dnsmasq())."""

    def __init__(self, ctx, addrs=()):
        self.ctx = ctx
        self.ns = ctx.netns()
        self.inode = self.ns.inode
        for a in addrs:
            self.ns.run(["ip", "addr", "add", a, "dev", "lo"] + (["nodad"] if ":" in a else []))
        self.prefix = self._resolv_conf()
        self._port = None
        self._qid = 0x5300

    @property
    def port(self):
        """The listener's port (a Client holds it, made when first asked for)."""
        if self._port is None:
            self._port = self.ctx.client("srv", self.ns).serve(6, "::")
        return self._port

    def _resolv_conf(self):
        """How to run a command in the netns with its own resolv.conf."""
        conf = "nameserver 127.0.0.1\n"
        if self.ns.holder is None:     # a named netns: ip netns exec
            top = "/etc/netns"
            d = os.path.join(top, self.ns.name)
            try:
                if not os.path.isdir(top):
                    os.mkdir(top)
                    self.ctx.defer(lambda: _rmdir_quietly(top))
                os.mkdir(d)
                self.ctx.defer(lambda: shutil.rmtree(d, ignore_errors=True))
                with open(os.path.join(d, "resolv.conf"), "w") as f:
                    f.write(conf)
                return ["ip", "netns", "exec", self.ns.name]
            except OSError as e:
                self.ctx.cfg.log("cannot write %s (%s): bind mount instead" % (d, e.strerror))
        path = self.ctx.tmp("resolv.conf.%s" % self.inode)
        with open(path, "w") as f:
            f.write(conf)
        prefix = ["nsenter", "--net=" + self.ns.path, "unshare", "--mount", "--propagation",
                  "private", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', path]
        r = subprocess.run(prefix + ["true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise Skip("cannot give the netns a resolv.conf of its own (neither "
                       "/etc/netns/NAME nor a bind mount): %s" % r.stdout.strip())
        return prefix

    # -- processes in the netns, resolving through it

    def popen(self, argv):
        """argv run in the netns (exec'd: the Popen's pid is argv's process)."""
        p = subprocess.Popen(self.prefix + list(argv), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ctx.defer(lambda: _kill(p))
        return p

    def run(self, argv, want_rc=0):
        """(pid, stdout) of argv run to its end; its exit status must be want_rc."""
        p = self.popen(argv)
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill(p)
            raise RuntimeError("%s did not end within %gs" % (" ".join(argv), TIMEOUT))
        self.ctx.cfg.log("%s -> %s %r %r" % (" ".join(argv), p.returncode, out, err))
        if p.returncode != want_rc:
            raise RuntimeError("test client %s exited %s (expected %s): %s" % (
                " ".join(argv), p.returncode, want_rc, (err or out).strip()[-500:]))
        return p.pid, out

    def getent(self, db, name, want_rc=0):
        """`getent DB NAME` (glibc's resolver): the addresses it printed, in order."""
        need("getent", "libc-bin")
        _, out = self.run(["getent", db, name], want_rc)
        addrs = []
        for l in out.splitlines():
            if l.split() and l.split()[0] not in addrs:
                addrs.append(l.split()[0])
        return addrs

    def dig(self, name, *opts):
        """`dig +short NAME A` (bind9's own resolver): the addresses, in order."""
        need("dig", "bind9-dnsutils")
        _, out = self.run(["dig", "+short", "+time=5", "+tries=2"] + list(opts) + [name, "A"])
        return [l for l in out.split() if re.match(r"^\d+\.\d+\.\d+\.\d+$", l)]

    def ask(self, name, timeout=TIMEOUT):
        """A raw query for NAME's A records to 127.0.0.1:53 from a socket of
        the runner's in the netns; returns the reply (socket.timeout if none)."""
        self._qid += 1
        s = ns_socket(self.ns)
        try:
            s.settimeout(timeout)
            s.sendto(message(self._qid, wire(name), flags=0x0100), ("127.0.0.1", 53))
            while True:
                reply, _ = s.recvfrom(65535)
                if reply[:2] == struct.pack(">H", self._qid):
                    return reply
        finally:
            s.close()

    def resolve(self, name):
        """ask(), and the answer must have addresses."""
        reply = self.ask(name)
        check(rcode(reply) == 0 and ancount(reply) > 0,
              "test error: dnsmasq did not answer %s with records (rcode %d)" % (
                  name, rcode(reply)))
        return reply

    # -- servers

    def dnsmasq(self, *opts, ttl=LONG_TTL):
        """dnsmasq on 127.0.0.1:53 with opts (--host-record, --cname,
        --address...): the names under .test it was not given are NXDOMAIN,
        its answers' TTL is ttl.  Returns once it answers."""
        prog = need("dnsmasq", "dnsmasq-base")
        log = self.ctx.tmp("dnsmasq.%s.log" % self.inode)
        argv = ["nsenter", "--net=" + self.ns.path, prog, "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=",
                "--user=root", "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53",
                "--local=/test/", "--local-ttl=%d" % ttl, "--log-facility=-",
                "--log-queries"] + list(opts)
        with open(log, "w") as f:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f)
        self.ctx.defer(lambda: _kill(p, term=True))
        deadline = time.monotonic() + TIMEOUT
        while True:
            if p.poll() is not None:
                with open(log) as f:
                    raise RuntimeError("dnsmasq exited %s: %s" % (p.returncode, f.read()[-800:]))
            try:
                self.ask("ready.test", 0.5)
                return p
            except OSError:     # not listening yet (refused), or no answer yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq did not answer within %gs" % TIMEOUT)
            time.sleep(0.1)

    def http_server(self, addr):
        """A small HTTP server (the runner's, a thread) on addr in the netns:
        its port."""
        s = ns_socket(self.ns, socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 0))
        s.listen(8)
        srv = http.server.HTTPServer((addr, 0), _Http, bind_and_activate=False)
        srv.socket.close()
        srv.socket = s
        srv.server_address = s.getsockname()
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True)
        t.start()

        def stop():
            srv.shutdown()
            srv.server_close()
            t.join(5)
        self.ctx.defer(stop)
        return s.getsockname()[1]


class _Http(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"socktrace e2e\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _kill(p, term=False):
    if p.poll() is None:
        try:
            p.terminate() if term else p.kill()
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for f in (p.stdout, p.stderr):
        if f:
            f.close()


def _rmdir_quietly(d):
    try:
        os.rmdir(d)
    except OSError:
        pass


# ----------------------------------------------------------------------------
# Expected lines

def conn_ev(ctx, pid, comm, netns, laddr, lport, daddr, dport, query=None, cnames=()):
    """A connect tcpconnect must print, with the name it must show."""
    return {"tool": ctx.tool, "event": "connect", "pid": pid, "comm": comm, "uid": 0,
            "netns": netns, "proto": "tcp", "ip": 6 if ":" in daddr else 4, "saddr": laddr,
            "sport": lport, "daddr": daddr, "dport": dport, "query": query,
            "cnames": list(cnames)}


def client_connect(ctx, dn, cli, addr, port=None, want=None, **name):
    """The test Client cli connects to addr (port: the netns's listener);
    returns the event tcpconnect must print (name: query=, cnames=)."""
    port = dn.port if port is None else port
    r = cli.connect(6 if ":" in addr else 4, addr, port, want=want)
    return conn_ev(ctx, cli.pid, cli.comm, dn.inode, r["laddr"], r["lport"], addr, port, **name)


PY_CONNECT = r"""
import ctypes, json, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
name, port, family = sys.argv[2], int(sys.argv[3]), sys.argv[4]
if family == "any":
    s = socket.create_connection((name, port), timeout=10)
else:
    ai = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1])
    s.settimeout(10)
    s.connect(ai[4])
la, ra = s.getsockname(), s.getpeername()
print(json.dumps({"laddr": la[0], "lport": la[1], "raddr": ra[0], "rport": ra[1]}))
"""


def python_connect(ctx, dn, role, name, family="any", **expect):
    """Python (glibc's getaddrinfo) connects to name: create_connection(), or
    with family "inet" getaddrinfo(AF_INET) and connect() to the first
    address.  Returns the event tcpconnect must print."""
    comm = ctx.comm(role)
    pid, out = dn.run([sys.executable, "-S", "-c", PY_CONNECT, comm, name, str(dn.port),
                       family])
    r = json.loads(out)
    return conn_ev(ctx, pid, comm, dn.inode, r["laddr"], r["lport"], r["raddr"], r["rport"],
                   **expect)


# ----------------------------------------------------------------------------
# Each tool's wiring

@shared("dns_query", COLS, needs="-d", matrix=True)
def dns_query(ctx, mode):
    """-d: the tool's Actor acts on 127.0.0.1 after glibc (getent) resolved
    a.test there through a.test CNAME b.test CNAME web.test: each of its
    lines shows QUERY a.test, in JSON query a.test and cnames [b.test,
    web.test], after every other member."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.1/32"])
    dn.dnsmasq("--host-record=web.test,127.0.0.1", "--cname=a.test,b.test",
               "--cname=b.test,web.test")
    actor = ctx.suite.Actor(ctx, "cli", dn.ns)
    run = ctx.start_tool(["-d"] + ctx.mode_args())
    got = dn.getent("ahostsv4", "a.test")
    check(got == ["127.0.0.1"], "test error: getent gave %s for a.test" % got)
    exp = named(actor.act(), "a.test", ["b.test", "web.test"])
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    check_dns_events(ctx, out, header(ctx), exp)


# ----------------------------------------------------------------------------
# The shared user-space code: once, for ONCE_TOOL

once, _add_once = shared_mod.once_registry(ONCE_TOOL)


def add_cases(suite):
    """Called by shared.add_cases: the once-cases, to ONCE_TOOL's suite."""
    if suite.tool == ONCE_TOOL and "-d" not in suite.options:
        raise ValueError("%s: Suite.options has no -d, but the -d cases run for it" % suite.tool)
    _add_once(suite)


def traced(ctx, args, act, n=None, before_stop=None):
    """Starts the tool with -d, args and the mode's; act() does what it
    traces and returns the expected events; before_stop(run), if given,
    looks at the running tool once they are printed, and the tool serves
    metrics too where the build can (lostcount.start_counting()); returns
    (run, out, events)."""
    args = ["-d"] + list(args) + ctx.mode_args()
    run = lostcount.start_counting(ctx, args) if before_stop else ctx.start_tool(args)
    exp = act()
    run.wait_comm(ctx.prefix + "-", len(exp) if n is None else n)
    check(run.p.poll() is None, "the tool exited: status %s; stderr: %s" % (
        run.p.returncode, show_lines(run.stderr_lines())))
    if before_stop:
        before_stop(run)
    return run, run.finish(), exp


@once("dns_clients", COLS)
def dns_clients(ctx, mode):
    """Clients resolving through dnsmasq in the netns, each then connecting:
    getent (glibc) and a connect to the address it printed; Python's
    create_connection() to a.test (CNAME b.test CNAME web.test); dig (its
    own resolver) and a connect to its address; curl to an HTTP server
    there by a name with a CNAME.  Each line shows the name asked."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.%d/32" % i for i in (1, 2, 3, 4)])
    dn.dnsmasq("--host-record=gent.test,10.53.0.1", "--host-record=web.test,10.53.0.2",
               "--cname=a.test,b.test", "--cname=b.test,web.test",
               "--host-record=dig.test,10.53.0.3", "--host-record=web2.test,10.53.0.4",
               "--cname=www.test,web2.test")
    need("curl", "curl")
    need("dig", "bind9-dnsutils")
    hport = dn.http_server("10.53.0.4")
    gent, dig = ctx.client("gent", dn.ns), ctx.client("dig", dn.ns)
    bindir = ctx.tmp("bin")
    os.mkdir(bindir)
    curl = os.path.join(bindir, ctx.comm("curl"))    # its comm: the file's name
    os.symlink(shutil.which("curl"), curl)

    def act():
        exp = []
        addrs = dn.getent("ahostsv4", "gent.test")
        check(addrs == ["10.53.0.1"], "test error: getent gave %s for gent.test" % addrs)
        exp.append(client_connect(ctx, dn, gent, addrs[0], query="gent.test"))
        exp.append(python_connect(ctx, dn, "py", "a.test", query="a.test",
                                  cnames=["b.test", "web.test"]))
        addrs = dn.dig("dig.test")
        check(addrs == ["10.53.0.3"], "test error: dig gave %s for dig.test" % addrs)
        exp.append(client_connect(ctx, dn, dig, addrs[0], query="dig.test"))
        pid, out = dn.run([curl, "-sS", "--noproxy", "*", "--max-time", "10", "-o", "/dev/null",
                           "-w", "%{http_code} %{local_ip} %{local_port} %{remote_ip} "
                           "%{remote_port}", "http://www.test:%d/" % hport])
        code, lip, lport, rip, rport = out.split()
        check(code == "200" and rip == "10.53.0.4",
              "test error: curl got HTTP %s from %s" % (code, rip))
        exp.append(conn_ev(ctx, pid, ctx.comm("curl"), dn.inode, lip, int(lport), rip,
                           int(rport), query="www.test", cnames=["web2.test"]))
        return exp
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)


@once("dns_records", ("json",))
def dns_records(ctx, mode):
    """What answers hold: AAAA only (getent ahosts, a connect over IPv6); a
    name with three addresses (dig's order), a connect to the last; a
    v4-mapped destination, the A record's name; NXDOMAIN, then a connect to
    an address no answer had: null; two names for one address, the later
    answer's wins.  No skipped answers."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.%d/32" % i for i in (11, 12, 13, 21, 29)] +
                  ["fd00:53::6/128"])
    dn.dnsmasq("--host-record=v6.test,fd00:53::6",
               *["--address=/multi.test/10.53.0.%d" % i for i in (11, 12, 13)],
               "--host-record=first.test,10.53.0.21", "--host-record=again.test,10.53.0.21")
    cli = ctx.client("cli", dn.ns)

    def act():
        exp = []
        addrs = dn.getent("ahosts", "v6.test")
        check(addrs == ["fd00:53::6"], "test error: getent gave %s for v6.test" % addrs)
        exp.append(client_connect(ctx, dn, cli, addrs[0], query="v6.test"))
        addrs = dn.dig("multi.test")
        check(sorted(addrs) == ["10.53.0.11", "10.53.0.12", "10.53.0.13"],
              "test error: dig gave %s for multi.test" % addrs)
        exp.append(client_connect(ctx, dn, cli, addrs[-1], query="multi.test"))
        exp.append(client_connect(ctx, dn, cli, "::ffff:" + addrs[0], query="multi.test"))
        check(dn.getent("ahosts", "nx.test", want_rc=2) == [], "test error: nx.test resolved")
        exp.append(client_connect(ctx, dn, cli, "10.53.0.29"))
        dn.getent("ahostsv4", "first.test")
        dn.getent("ahostsv4", "again.test")
        exp.append(client_connect(ctx, dn, cli, "10.53.0.21", query="again.test"))
        return exp
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)
    check_skipped(ctx, out, 0, 0)


TTL = 2


@once("dns_ttl")
def dns_ttl(ctx, mode):
    """An answer with TTL 2 (dnsmasq --local-ttl): a connect at once shows
    the name, one TTL + 1.5 s after the answer "-", one after the name was
    resolved again the name."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.31/32"])
    dn.dnsmasq("--host-record=ttl.test,10.53.0.31", ttl=TTL)
    cli = ctx.client("cli", dn.ns)

    def act():
        dn.resolve("ttl.test")
        answered = time.monotonic()
        exp = [client_connect(ctx, dn, cli, "10.53.0.31", query="ttl.test")]
        took = time.monotonic() - answered
        if took > TTL - 0.5:
            raise Skip("the connect came %.1f s after the answer, too close to its TTL of "
                       "%d s to say what it must show (a machine this slow)" % (took, TTL))
        time.sleep(max(0.0, answered + TTL + 1.5 - time.monotonic()))
        exp.append(client_connect(ctx, dn, cli, "10.53.0.31"))
        dn.resolve("ttl.test")
        exp.append(client_connect(ctx, dn, cli, "10.53.0.31", query="ttl.test"))
        return exp
    _, out, exp = traced(ctx, [], act)
    mine = check_dns_events(ctx, out, header(ctx), exp)
    shown = [e["query"] for e in mine]
    check(shown == ["ttl.test", None, "ttl.test"], "QUERY in the order of the connects "
          "should be ttl.test, -, ttl.test: %s" % show_lines([e["_line"] for e in mine]))


@once("dns_tcp")
def dns_tcp(ctx, mode):
    """Answers over TCP: dig +tcp, then a connect to its address; glibc
    asking for big.test's A records (40: over 512 bytes) gets a truncated
    (TC) UDP answer and asks again over TCP (its connect to 127.0.0.1:53
    shows, no name), then Python connects to the first address: QUERY from
    the TCP answers, the TC one counted as truncated at exit, nothing as
    malformed."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.41/32", "10.53.1.254/24"])
    dn.dnsmasq("--host-record=tcp.test,10.53.0.41",
               *["--address=/big.test/10.53.1.%d" % i for i in range(1, 41)])
    cli = ctx.client("cli", dn.ns)

    def act():
        addrs = dn.dig("tcp.test", "+tcp")
        check(addrs == ["10.53.0.41"], "test error: dig +tcp gave %s for tcp.test" % addrs)
        exp = [client_connect(ctx, dn, cli, addrs[0], query="tcp.test")]
        e = python_connect(ctx, dn, "py", "big.test", family="inet", query="big.test")
        check(e["daddr"].startswith("10.53.1."), "test error: big.test gave %s" % e["daddr"])
        # glibc's own connect to dnsmasq, asking again over TCP: no name
        retry = {"pid": e["pid"], "comm": e["comm"], "ip": 4, "saddr": "127.0.0.1",
                 "daddr": "127.0.0.1", "dport": 53, "query": None}
        return exp + [retry, e]
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)
    check_skipped(ctx, out, 1, 0, server_cut=1)     # the TC answer


@once("dns_tcp_cut")
def dns_tcp_cut(ctx, mode):
    """Two answers on one TCP stream (dig +tcp +keepopen), the first with
    100 A records (over 1600 bytes) longer than a record keeps: it is
    counted as truncated, and the stream is still read after it, so a
    connect to the second answer's address shows its QUERY (issue 19: the
    rest of a stream cut once was ignored, uncounted); no read is counted as
    ignored."""
    dns_suite(ctx)
    need("dig", "bind9-dnsutils")
    dn = DnsNetns(ctx, ["10.53.0.42/32", "10.53.2.254/24"])
    dn.dnsmasq("--host-record=after.test,10.53.0.42",
               *["--address=/huge.test/10.53.2.%d" % i for i in range(1, 101)])
    cli = ctx.client("cli", dn.ns)

    def act():
        _, got = dn.run(["dig", "+short", "+time=5", "+tries=2", "+tcp", "+keepopen",
                         "huge.test", "A", "after.test", "A"])
        addrs = got.split()
        check(len(addrs) == 101 and addrs[-1] == "10.53.0.42",
              "test error: dig gave %d addresses, the last %s" % (len(addrs), addrs[-1:]))
        return [client_connect(ctx, dn, cli, "10.53.0.42", query="after.test")]
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)
    check_skipped(ctx, out, 1, 0)      # the message over 1232 bytes
    ignored = [l for l in out.stderr if "TCP reads from DNS servers ignored" in l]
    check(not ignored, "no read should be ignored: %s" % show_lines(ignored))


@once("dns_ipv6_server")
def dns_ipv6_server(ctx, mode):
    """Answers over IPv6, UDP and TCP: dnsmasq also on [::1]:53, dig @::1
    and dig +tcp @::1, then a connect to each address: QUERY from each."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.61/32", "10.53.0.62/32"])
    dn.dnsmasq("--listen-address=::1", "--host-record=udp6.test,10.53.0.61",
               "--host-record=tcp6.test,10.53.0.62")
    cli = ctx.client("cli", dn.ns)

    def act():
        exp = []
        for name, addr, opts in (("udp6.test", "10.53.0.61", ["@::1"]),
                                 ("tcp6.test", "10.53.0.62", ["@::1", "+tcp"])):
            got = dn.dig(name, *opts)
            check(got == [addr], "test error: dig %s gave %s for %s" % (
                " ".join(opts), got, name))
            exp.append(client_connect(ctx, dn, cli, addr, query=name))
        return exp
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)


@once("dns_per_netns")
def dns_per_netns(ctx, mode):
    """Two netns, each with its dnsmasq naming 10.53.3.1 differently: both
    resolve (getent), then both connect there: each line shows its own
    netns's name."""
    dns_suite(ctx)
    one, two = DnsNetns(ctx, ["10.53.3.1/32"]), DnsNetns(ctx, ["10.53.3.1/32"])
    one.dnsmasq("--host-record=one.test,10.53.3.1")
    two.dnsmasq("--host-record=two.test,10.53.3.1")
    c1, c2 = ctx.client("one", one.ns), ctx.client("two", two.ns)

    def act():
        for dn, name in ((one, "one.test"), (two, "two.test")):
            got = dn.getent("ahostsv4", name)
            check(got == ["10.53.3.1"], "test error: getent gave %s for %s" % (got, name))
        return [client_connect(ctx, one, c1, "10.53.3.1", query="one.test"),
                client_connect(ctx, two, c2, "10.53.3.1", query="two.test")]
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)


# A name with an escape sequence, a newline, a quote, a backslash, a dot, a
# NUL, DEL, UTF-8 and a space in its labels; as dn_expand() presents it
EVIL = [b'ev\x1b[31m\n"\\il.x', b'\x00\x7f\xc3\xa9 sp', b"test"]
EVIL_DN = r'ev\027[31m\010\"\\il\.x.\000\127\195\169\032sp.test'
EVIL_ADDR = "10.53.4.1"


HOSTILE_TRUNCATED, HOSTILE_MALFORMED = 2, 3


def hostile_answers(qid):
    """What the test's server answers queries (id qid) with: each skipped,
    as malformed (3) or truncated (2), but the last, EVIL's A record."""
    good = message(qid, wire("h.test"), [a_record("10.53.9.1")])
    many = [a_record("10.53.9.%d" % (i % 250 + 1)) for i in range(90)]
    answers = [
        # a label of 64 bytes (the length's top bits 01: no such label type)
        message(qid, wire([b"x" * 64, b"test"]), [a_record("10.53.9.2")]),
        # the question's name a pointer to itself: a compression loop
        message(qid, b"\xc0\x0c", [a_record("10.53.9.3")]),
        # cut short inside the A record's address
        good[:-2],
        # TC: the server cut it, the client asks again over TCP
        message(qid, wire("h.test"), [a_record("10.53.9.4")], flags=0x8380),
        # 1400 bytes: more than the tool captures of a message
        message(qid, wire("h.test"), many),
        message(qid, wire(EVIL), [a_record(EVIL_ADDR)]),
    ]
    check(len(answers[4]) > 1300, "test error: the long answer has %d bytes" % len(answers[4]))
    return answers


@once("dns_hostile", COLS)
def dns_hostile(ctx, mode):
    """A DNS server of the test's own on 127.0.0.1:53 answers raw queries
    with an over-long label, a compression loop, a packet cut short, a TC
    answer, one longer than what is captured, and one whose name holds
    control characters, a quote, a backslash, a dot in a label, a NUL and
    UTF-8, its A record the address a client then connects to.  The tool
    keeps running; the connect shows the name as dn_expand() gives it (all
    printable ASCII, the column as is: no raw control byte anywhere in the
    output; in JSON that exact string); the exit line counts 2 truncated
    and 3 malformed."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, [EVIL_ADDR + "/32"])
    server = ns_socket(dn.ns)
    ctx.defer(server.close)
    try:
        server.bind(("127.0.0.1", 53))
    except OSError as e:
        raise RuntimeError("test DNS server cannot bind 127.0.0.1:53 in its netns: %s" % e)
    server.settimeout(TIMEOUT)
    client = ns_socket(dn.ns)
    ctx.defer(client.close)
    client.settimeout(TIMEOUT)
    cli = ctx.client("cli", dn.ns)

    def act():
        answers = hostile_answers(0x1234)
        for i, answer in enumerate(answers):
            client.sendto(message(0x1234, wire("q%d.test" % i), flags=0x0100),
                          ("127.0.0.1", 53))
            _, peer = server.recvfrom(512)
            server.sendto(answer, peer)
            got, _ = client.recvfrom(65535)
            check(got == answer, "test error: answer %d arrived as %d bytes, not %d" % (
                i, len(got), len(answer)))
        return [client_connect(ctx, dn, cli, EVIL_ADDR, query=EVIL_DN)]
    _, out, exp = traced(ctx, [], act)
    check_dns_events(ctx, out, header(ctx), exp)
    raw = [l for l in out.stdout + out.stderr if re.search(r"[^\x20-\x7e]", l)]
    check(not raw, "output lines with bytes that are not printable ASCII: %s" % show_lines(raw))
    check_skipped(ctx, out, HOSTILE_TRUNCATED, HOSTILE_MALFORMED, server_cut=1)


CACHE_MAX = 65536          # ST_DNS_CACHE_MAX
FILL_PER_ANSWER = 70       # A records of 16 bytes: 1150 bytes, all captured
FILL_ANSWERS = 950
FILL_TARGET = "10.59.0.1"


def fill_address(i):
    """The i-th address of the answers that fill the cache: 10.60.0.0 on."""
    return socket.inet_ntoa(struct.pack(">I", (10 << 24 | 60 << 16) + i))


@once("dns_cache_full", ("json",))
def dns_cache_full(ctx, mode):
    """Answers of the test's own server bring 950 x 70 addresses and one
    more, 965 past the cache's 65536, all with a long TTL; then a connect to
    the last.  The connect has its name; stderr counts exactly 965 names
    forgotten, as they go and in total; the JSON lost lines (dns_cache_full)
    and socktrace_events_lost_total{reason="dns_cache_full"} on the
    metrics page (--metrics) add up to the same; no answer was lost on the
    way."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, [FILL_TARGET + "/32"])
    server = ns_socket(dn.ns)
    ctx.defer(server.close)
    server.bind(("127.0.0.1", 53))
    server.settimeout(TIMEOUT)
    client = ns_socket(dn.ns)
    ctx.defer(client.close)
    client.settimeout(TIMEOUT)
    cli = ctx.client("cli", dn.ns)

    def ask(qname, answer):
        client.sendto(message(0x4242, qname, flags=0x0100), ("127.0.0.1", 53))
        _, peer = server.recvfrom(512)
        server.sendto(answer, peer)
        client.recvfrom(65535)

    def act():
        for n in range(FILL_ANSWERS):
            q = wire("fill%d.test" % n)
            ask(q, message(0x4242, q, [a_record(fill_address(n * FILL_PER_ANSWER + i))
                                       for i in range(FILL_PER_ANSWER)]))
            if n % 50 == 49:
                time.sleep(0.05)    # the ring queues answers while less than half full
        q = wire("last.test")
        ask(q, message(0x4242, q, [a_record(FILL_TARGET)]))
        exp = client_connect(ctx, dn, cli, FILL_TARGET, query="last.test")
        exp.update(result="ok", failure=None, syn_retrans=0)   # -r, as --metrics implies
        return [exp]
    forgotten = FILL_ANSWERS * FILL_PER_ANSWER + 1 - CACHE_MAX
    scraped = []

    def scrape(run):
        scraped.extend(lostcount.scrape_until_still(run, "dns_cache_full"))
    run, out, exp = traced(ctx, ["-r"], act, before_stop=scrape)
    lostcount.check_page(run, "dns_cache_full", scraped, forgotten)
    check_dns_events(ctx, out, header(ctx, ctx.suite.header(
        ["PID", "COMM", "IP", "SADDR", "DADDR", "DPORT", "RESULT", "LAT(ms)", "RETRANS",
         "FAILURE"])), exp)
    err = "\n".join(out.stderr)
    check("DNS answers" not in err or "lost" not in err,
          "answers were lost on the way, the count cannot be exact: %s" % show_lines(out.stderr))
    now = sum(int(n) for n in re.findall(r"DNS cache full \(65536 addresses\): (\d+) names "
                                         r"forgotten before their TTL ended", err))
    total = re.findall(r"-d: (\d+) names forgotten in total before their TTL ended", err)
    check(now == forgotten and total == [str(forgotten)],
          "stderr should say %d names forgotten, as they go and in total: %s"
          % (forgotten, show_lines(out.stderr)))
    lost = [o for o in e2elib.parse_json(out.trace) if o.get("event") == "lost"]
    check(lost and all(o["reason"] == "dns_cache_full" for o in lost) and
          sum(o["count"] for o in lost) == forgotten,
          "JSON lost lines should add up to %d dns_cache_full: %s"
          % (forgotten, show_lines([o["_line"] for o in lost])))


HALF_ASKED = 12            # answers made while the tool is stopped
HALF_HOLDS = 6             # of 344 bytes: the 6th is queued at 1720, still under 2 KiB


@once("dns_ring_half_full", ("json",))
def dns_ring_half_full(ctx, mode):
    """--ring-buffer 4, and the tool stopped (SIGSTOP) while the test's own
    server answers 12 queries, each with one address: an answer is queued
    only while the ring holds at most half (2 KiB): 6 of 344 bytes, the 6th
    queued at 1720; the other 6 are counted (dns_ring_buffer_half_full), on
    4 KiB pages (Debian's x86-64 and arm64 kernels). Run on
    (SIGCONT), a connect to each address: exactly the first 6 show their
    names, the others none; the 6 are counted on stderr (as they happen and
    in total), in the JSON lost lines and on the metrics page."""
    dns_suite(ctx)
    addrs = ["10.59.1.%d" % (i + 1) for i in range(HALF_ASKED)]
    dn = DnsNetns(ctx, [a + "/32" for a in addrs])
    server, client = ns_socket(dn.ns), ns_socket(dn.ns)
    for s in (server, client):
        ctx.defer(s.close)
        s.settimeout(TIMEOUT)
    server.bind(("127.0.0.1", 53))
    cli = ctx.client("cli", dn.ns)
    port = dn.port
    run = lostcount.start_counting(ctx, ["-d", "--ring-buffer", "4", "-N", str(dn.inode)] +
                                   ctx.mode_args())
    with e2elib.stopped(run.p.pid):
        for i, a in enumerate(addrs):
            q = wire("half%d.test" % i)
            client.sendto(message(0x4242, q, flags=0x0100), ("127.0.0.1", 53))
            _, peer = server.recvfrom(512)
            server.sendto(message(0x4242, q, [a_record(a)]), peer)
            client.recvfrom(65535)
    made = [cli.connect(4, a, port) for a in addrs]
    run.wait_comm(cli.comm, HALF_ASKED)
    out, lost = lostcount.counted(ctx, run, "dns_ring_buffer_half_full",
                                  r"lost (\d+) DNS answers \(ring buffer half full\)",
                                  r"(\d+) DNS answers lost in total \(ring buffer half full\)")
    evs = {e["sport"]: e for e in e2elib.parse_json(out.trace) if e.get("comm") == cli.comm}
    got = [evs.get(m["lport"], {}).get("query") for m in made]
    want = ["half%d.test" % i for i in range(HALF_HOLDS)] + [None] * (HALF_ASKED - HALF_HOLDS)
    check(got == want, "names shown, connect by connect: %s, expected %s" % (got, want))
    check(lost == HALF_ASKED - HALF_HOLDS, "stderr should count %d answers lost, got %d: %s"
          % (HALF_ASKED - HALF_HOLDS, lost, show_lines(out.stderr)))


CHAIN_MAX = 8              # ST_DNS_CHAIN_MAX


def cname_chain(prefix, n, target):
    """dnsmasq's --cname options of a chain of n CNAMEs, prefix0.test ->
    prefix1.test ... -> target; and the chain's names after the first."""
    names = ["%s%d.test" % (prefix, i) for i in range(n)] + [target]
    return ["--cname=%s,%s" % (a, b) for a, b in zip(names, names[1:])], names[1:]


@once("dns_chain_cut", ("json",))
def dns_chain_cut(ctx, mode):
    """Two answers through the test's dnsmasq: one with a chain of 8
    CNAMEs (as many as the tool follows), one of 9; then a connect to each
    address.  The first is named with its 8 CNAMEs; the second has no name,
    and its cut is counted, once: on stderr as it goes and at exit, in the
    JSON lost lines (dns_chain_cut) and on the metrics page."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.61/32", "10.53.0.62/32"])
    full, full_names = cname_chain("full", CHAIN_MAX, "fullweb.test")
    cut, _ = cname_chain("cut", CHAIN_MAX + 1, "cutweb.test")
    dn.dnsmasq("--host-record=fullweb.test,10.53.0.61", "--host-record=cutweb.test,10.53.0.62",
               *(full + cut))
    cli = ctx.client("chn", dn.ns)
    run = lostcount.start_counting(ctx, ["-d", "-r"] + ctx.mode_args())
    dn.resolve("full0.test")
    dn.resolve("cut0.test")
    exp = [client_connect(ctx, dn, cli, "10.53.0.61", query="full0.test", cnames=full_names),
           client_connect(ctx, dn, cli, "10.53.0.62")]
    for e in exp:
        e.update(result="ok", failure=None, syn_retrans=0)     # -r
    run.wait_comm(ctx.prefix + "-", len(exp))
    out, n = lostcount.counted(
        ctx, run, "dns_chain_cut",
        r"-d: (\d+) DNS answers with more than 8 CNAMEs in a chain: the addresses of names "
        r"past the first 8 CNAMEs are not cached, so they show no QUERY",
        r"-d: (\d+) DNS answers in total with more than 8 CNAMEs \(their chains cut\)")
    check(n == 1, "one chain was cut, stderr says %d: %s" % (n, show_lines(out.stderr)))
    check_dns_events(ctx, out, header(ctx, ctx.suite.header(
        ["PID", "COMM", "IP", "SADDR", "DADDR", "DPORT", "RESULT", "LAT(ms)", "RETRANS",
         "FAILURE"])), exp)


@once("dns_count", COLS)
def dns_count(ctx, mode):
    """-c -d: rows grouped by QUERY, just before the count: one address
    connected to twice under one.test, then once after two.test was
    answered with it, and another address no answer had once: three rows
    (2, 1 and 1), "-"/null for the last."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.51/32", "10.53.0.52/32"])
    dn.dnsmasq("--host-record=one.test,10.53.0.51", "--host-record=two.test,10.53.0.51")
    cli = ctx.client("cnt", dn.ns)
    run = ctx.start_tool(["-c", "-d"] + ctx.mode_args())
    dn.resolve("one.test")
    exp = [client_connect(ctx, dn, cli, "10.53.0.51", query="one.test") for _ in range(2)]
    dn.resolve("two.test")
    exp.append(client_connect(ctx, dn, cli, "10.53.0.51", query="two.test"))
    exp.append(client_connect(ctx, dn, cli, "10.53.0.52"))
    out = run.finish()
    tables = count.tables_of(ctx, out, [cli])
    check(len(tables) == 1, "%d tables, expected one at exit: %s" % (
        len(tables), show_lines(out.trace)))
    count.check_total(tables, count.expect(ctx, exp), out)


@once("dns_result", COLS)
def dns_result(ctx, mode):
    """tcpconnect -d -r: QUERY after FAILURE, query and cnames after the
    result's members; a connect that worked and a refused one."""
    dns_suite(ctx)
    dn = DnsNetns(ctx, ["10.53.0.61/32"])
    dn.dnsmasq("--host-record=real.test,10.53.0.61", "--cname=res.test,real.test")
    cli = ctx.client("cli", dn.ns)

    def act():
        dn.resolve("res.test")
        exp = [client_connect(ctx, dn, cli, "10.53.0.61", query="res.test",
                              cnames=["real.test"]),
               client_connect(ctx, dn, cli, "10.53.0.61", port=9, want="ECONNREFUSED",
                              query="res.test", cnames=["real.test"])]
        exp[0].update(result="ok", failure=None, syn_retrans=0)
        # the client reads no source address after a refusal: the route's
        exp[1].update(result="ECONNREFUSED", failure="refused", syn_retrans=0,
                      saddr="10.53.0.61")
        return exp
    _, out, exp = traced(ctx, ["-r"], act)
    hdr = ctx.suite.header(["PID", "COMM", "IP", "SADDR", "DADDR", "DPORT", "RESULT",
                            "LAT(ms)", "RETRANS", "FAILURE"])
    check_dns_events(ctx, out, header(ctx, hdr), exp)
