"""--metrics and --metrics-only (issue 18): the counts the kernel keeps,
served in the Prometheus text format on /metrics.

Imported by shared.py.  Two kinds of cases:

- @shared cases for every tool, its own Actor acting a known number of
  times: metrics_counts (in every tool's kernel matrix: the counting is BPF,
  per backend) scrapes /metrics itself; metrics_with_events checks that the
  events are printed as well; metrics_prometheus has a real Prometheus
  (Debian's) scrape the tool every second and reads the exact counts back
  through its HTTP API.  Each exposition passes `promtool check metrics`.
- The cases of the user-space code all tools share (the series limit and
  its "other" series, workloads as labels, hostile label values, clients
  that never read, scrapes during a burst, a port in use), run for
  tcpconnect only (ONCE_TOOL), whose connects (some refused) are the
  simplest events to count.

Every series of a case is found by its comm label (the case's clients'),
so other processes on the machine do not disturb the counts.
"""
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import shared
from e2elib import EVENT_TIMEOUT, READY_RE, Client, Fail, Skip, check, show_lines
from shared import shared as shared_case

ONCE_TOOL = "tcpconnect"
CLOSED_PORT = 9     # nothing listens on it in a case's own netns
SERVING_RE = re.compile(r"^Serving metrics on http://(?P<where>\S+)/metrics$")
SERIES_RE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
FAMILY = {("tcp", "connect"): "socktrace_tcp_connects_total",
          ("tcp", "accept"): "socktrace_tcp_accepts_total",
          ("tcp", "close"): "socktrace_tcp_closes_total",
          ("udp", "connect"): "socktrace_udp_connects_total",
          ("udp", "send"): "socktrace_udp_first_sends_total",
          ("unix", "connect"): "socktrace_unix_connects_total",
          ("unix", "accept"): "socktrace_unix_accepts_total"}
HISTOGRAM = {"socktrace_tcp_connects_total": "socktrace_tcp_connect_latency_seconds",
             "socktrace_tcp_closes_total": "socktrace_tcp_connection_lifetime_seconds"}

shared.BAD_OPTIONS.extend([
    (["--metrics", "9x"], r"--metrics: bad address '9x'"),
    (["--metrics", "70000"], r"--metrics: bad address"),
    (["--metrics", "300.1.1.1:9"], r"--metrics: bad address"),
    (["--metrics-only", "0", "-j"], r"--metrics-only: cannot be combined with -j"),
    (["--metrics-only", "0", "-c"], r"--metrics-only: cannot be combined with -c"),
    (["--metrics-max-series", "5"], r"--metrics-max-series: needs --metrics"),
    (["--metrics", "0", "--metrics-max-series", "0"], r"--metrics-max-series\b"),
    # an address this machine does not have: the kernel's word, before any load
    (["--metrics", "192.0.2.1:9"], r"--metrics: (cannot listen on 192\.0\.2\.1:9: "
                                    r"Cannot assign requested address|this build has no HTTP "
                                    r"server .*)$"),
])


NO_HTTP = "this build has no HTTP server"
start = shared.start_built


# ----------------------------------------------------------------------------
# Reading an exposition

def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{(name, frozenset(labels)): value} of every sample; HELP/TYPE checked
    to come before a family's samples."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = SERIES_RE.match(line)
        check(m is not None, "not a sample line: %r" % line)
        name = m.group("name")
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in typed or base in typed, "sample before its # TYPE: %r" % line)
        labels = frozenset((k, unescape(v)) for k, v in LABEL_RE.findall(m.group("labels") or ""))
        key = (name, labels)
        check(key not in samples, "sample given twice: %r" % line)
        samples[key] = float(m.group("value"))
    return samples


def url_of(run):
    for l in run.stderr_lines():
        m = SERVING_RE.match(l)
        if m:
            return "http://%s/metrics" % m.group("where")
    raise Fail("no 'Serving metrics on http://.../metrics' line on stderr: %s" % show_lines(
        run.stderr_lines()))


def scrape(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        check(r.status == 200, "GET %s: status %s" % (url, r.status))
        ctype = r.headers.get("Content-Type", "")
        check(ctype.startswith("text/plain; version=0.0.4"),
              "GET %s: Content-Type %r, expected the text format 0.0.4" % (url, ctype))
        return r.read().decode("utf-8")


def promtool(text):
    """`promtool check metrics` on text: its complaints fail the case."""
    if not shutil.which("promtool"):
        return "promtool not found (Debian's prometheus package has it)"
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    check(p.returncode == 0, "promtool check metrics: %s" % p.stdout.decode(errors="replace"))
    return None


def counters(samples, comms):
    """{(name, labels without workload): value} of the counters whose comm
    label is one of comms."""
    got = {}
    for (name, labels), v in samples.items():
        d = dict(labels)
        if name in FAMILY.values() and d.get("comm") in comms:
            d.pop("workload", None)
            got[(name, frozenset(d.items()))] = int(v)
    return got


def expected(events, port, result=None):
    """What events (as a tool's Actor says them) add to the counters: by
    family, comm, port (the actor's listener or destination) and, for TCP
    connects, result (tcpconnect counts with -r, which --metrics implies)."""
    want = collections.Counter()
    for e in events:
        proto = e.get("proto", "unix")
        name = FAMILY[(proto, e["event"])]
        labels = {"comm": e["comm"]}
        if proto != "unix":
            labels["port"] = str(port)
        if name == "socktrace_tcp_connects_total":
            labels["result"] = e.get("result") or result or "ok"
        want[(name, frozenset(labels.items()))] += 1
    return dict(want)


def check_histograms(samples, got):
    """Each counted TCP connect and close has its duration in the histogram:
    +Inf bucket and _count equal to the counter, buckets not decreasing."""
    for (name, labels), n in got.items():
        hist = HISTOGRAM.get(name)
        if not hist:
            continue
        mine = {k: v for k, v in samples.items()
                if k[0].startswith(hist) and dict(k[1]).get("comm") == dict(labels)["comm"] and
                all(dict(k[1]).get(a) == b for a, b in labels)}
        count = [v for (nm, _), v in mine.items() if nm == hist + "_count"]
        check(count == [n], "%s_count for %s is %s, expected [%d]" % (hist, dict(labels), count, n))
        buckets = sorted(((float(dict(l)["le"]), v) for (nm, l), v in mine.items()
                          if nm == hist + "_bucket"))
        check(buckets and buckets[-1] == (float("inf"), n) and
              all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
              "%s buckets for %s: %s" % (hist, dict(labels), buckets))


def wait_counts(url, comms, want, timeout=EVENT_TIMEOUT, get=scrape):
    """Scrapes (get(url)) until the counters of comms are want (then once
    more, a moment later, for any that came late); returns the last samples
    and exposition."""
    end = time.monotonic() + timeout
    while True:
        text = get(url)
        samples = parse(text)
        got = counters(samples, comms)
        if got == want or time.monotonic() > end:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    text = get(url)
    samples = parse(text)
    got = counters(samples, comms)
    check(got == want, "counters of %s: %s, expected %s" % (
        sorted(comms), sorted((k[0], sorted(k[1]), v) for k, v in got.items()),
        sorted((k[0], sorted(k[1]), v) for k, v in want.items())))
    return samples, text


def check_self(samples, ctx, limit=4096):
    check(samples.get(("socktrace_metrics_series_limit", frozenset())) == limit,
          "socktrace_metrics_series_limit is not %d" % limit)
    info = [dict(l) for (n, l), v in samples.items() if n == "socktrace_build_info" and v == 1]
    check(len(info) == 1 and info[0]["tool"] == ctx.tool and info[0]["backend"],
          "socktrace_build_info: %s" % info)
    for reason in ("ring_buffer_full", "process_map_full", "kprobe_missed", "recursion_missed",
                   "close_unseen", "connect_unseen"):
        check(("socktrace_events_lost_total", frozenset({("reason", reason)})) in samples,
              "no socktrace_events_lost_total{reason=%r}" % reason)


# ----------------------------------------------------------------------------
# The cases of every tool

def acted(ctx, run, actor, times):
    exp = []
    for _ in range(times):
        exp += actor.act(["--metrics"])
    return exp


@shared_case("metrics_counts", matrix=True)
def metrics_counts(ctx, mode):
    """--metrics-only: the actor acts three times; /metrics has exactly its
    events by family, comm, port and result, each connect and close in its
    histogram; nothing is printed but the two lines on stderr."""
    a = ctx.suite.Actor(ctx, "mc", ctx.netns())
    run = start(ctx, ["--metrics-only", "127.0.0.1:0"])
    url = url_of(run)
    exp = acted(ctx, run, a, 3)
    samples, text = wait_counts(url, {a.comm}, expected(exp, a.port))
    check_histograms(samples, counters(samples, {a.comm}))
    check_self(samples, ctx)
    why = promtool(text)
    out = run.finish()
    check(out.stdout == [], "--metrics-only printed on stdout: %s" % show_lines(out.stdout))
    check(len(out.stderr) == 2 and SERVING_RE.match(out.stderr[0]) and
          READY_RE.match(out.stderr[1]),
          "stderr should be the serving line and the ready line: %s" % show_lines(out.stderr))
    if why:
        ctx.cfg.log("metrics_counts: exposition not linted: " + why)


@shared_case("metrics_with_events")
def metrics_with_events(ctx, mode):
    """--metrics: the events are printed as without it, and counted too."""
    a = ctx.suite.Actor(ctx, "me", ctx.netns())
    run = start(ctx, ["--metrics", "0"])
    url = url_of(run)
    exp = acted(ctx, run, a, 2)
    run.wait_comm(a.comm, len(exp))
    wait_counts(url, {a.comm}, expected(exp, a.port))
    out = run.finish()
    lines = [l for l in out.trace if a.comm in l]
    check(len(lines) == len(exp), "%d event lines of %s, expected %d: %s" % (
        len(lines), a.comm, len(exp), show_lines(out.trace)))


class Prometheus:
    """Debian's Prometheus in the foreground on 127.0.0.1, scraping target
    every second, its data in a temporary directory; stopped by ctx's cleanup."""

    def __init__(self, ctx, target):
        exe = shutil.which("prometheus")
        if not exe:
            raise Skip("prometheus not found (Debian's prometheus package; make deps-test)")
        self.dir = tempfile.mkdtemp(prefix="stc-prom-")
        ctx.defer(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: socktrace\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.p = subprocess.Popen([exe, "--config.file=" + conf,
                                   "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                                   "--web.listen-address=127.0.0.1:%d" % self.port],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        ctx.defer(self.stop)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode(
            {"query": q}))
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            if e.code >= 500:
                return None     # starting (503 while its storage opens)
            raise Fail("query %r: HTTP %s: %s" % (q, e.code, e.read()[:300]))  # the case's own
        except OSError:
            return None     # not listening yet
        check(body.get("status") == "success", "query %r: %r" % (q, body))
        return body["data"]["result"]

    def wait(self, q, pred, timeout=60):
        """The result of q once pred(result) holds; fails after timeout."""
        end = time.monotonic() + timeout
        res = None
        while time.monotonic() < end:
            check(self.p.poll() is None, "prometheus exited: %s" % self.tail())
            res = self.query(q)
            if res is not None and pred(res):
                return res
            time.sleep(0.5)
        raise Fail("prometheus: %r is %r after %ds; its log: %s" % (q, res, timeout, self.tail()))

    def tail(self):
        self.log.seek(0)
        return show_lines(self.log.read().splitlines()[-8:])


def prometheus_counts(ctx, prom, comm, want):
    """Waits until Prometheus has the counters want for comm."""
    q = '{__name__=~"socktrace_.*_total",comm=%s}' % json.dumps(comm)

    def got(res):
        out = {}
        for r in res:
            m = dict(r["metric"])
            name = m.pop("__name__")
            for k in ("workload", "job", "instance"):
                m.pop(k, None)
            out[(name, frozenset(m.items()))] = int(float(r["value"][1]))
        return out
    try:
        return prom.wait(q, lambda res: got(res) == want, timeout=EVENT_TIMEOUT * 4)
    except Fail as e:
        raise Fail("%s; expected %s" % (e, sorted((k[0], sorted(k[1]), v)
                                                  for k, v in want.items())))


@shared_case("metrics_prometheus")
def metrics_prometheus(ctx, mode):
    """A real Prometheus scrapes --metrics-only every second: after the
    actor acted three times (tcpconnect: and two connects refused), its
    query API gives back exactly those counts; the job's target is up."""
    a = ctx.suite.Actor(ctx, "mp", ctx.netns())
    run = start(ctx, ["--metrics-only", "127.0.0.1:0"])
    where = url_of(run)[len("http://"):-len("/metrics")]
    prom = Prometheus(ctx, where)
    prom.wait('up{job="socktrace"}', lambda r: len(r) == 1 and r[0]["value"][1] == "1")
    exp = acted(ctx, run, a, 3)
    want = expected(exp, a.port)
    if ctx.tool == "tcpconnect":
        for _ in range(2):
            r = a.cli.connect(4, "127.0.0.1", CLOSED_PORT, want="ECONNREFUSED")
            check(r.get("errno") == "ECONNREFUSED", "test error: %r" % r)
        want.update(expected([{"proto": "tcp", "event": "connect", "comm": a.comm,
                               "result": "ECONNREFUSED"}] * 2, CLOSED_PORT))
    prometheus_counts(ctx, prom, a.comm, want)
    promtool(scrape(url_of(run)))
    run.finish()


# ----------------------------------------------------------------------------
# The cases of the code every tool shares: tcpconnect only

once, add_cases = shared.once_registry(ONCE_TOOL)


def connects(cli, port, n, want=None):
    for _ in range(n):
        cli.connect(4, "127.0.0.1", port, want=want)


def tcp_want(comm, port, result, n):
    return {("socktrace_tcp_connects_total",
             frozenset({("comm", comm), ("port", str(port)), ("result", result)})): n}


@once("metrics_series_limit")
def metrics_series_limit(ctx, mode):
    """--metrics-max-series 2: four processes connect, one after the other
    (one of them twice): the first two have their series, the other two's
    three connects are in the "other" series, socktrace_metrics_overflow_total
    says 3, and stderr says so."""
    ns = ctx.netns()
    clis = [ctx.client("l%d" % i, ns) for i in range(4)]
    port = clis[0].serve(4, "127.0.0.1")
    run = start(ctx, ["--metrics-only", "0", "--metrics-max-series", "2", "-N",
                      str(clis[0].netns_inode())])
    url = url_of(run)
    for c, n in zip(clis, (1, 1, 2, 1)):
        connects(c, port, n)
    want = {}
    for c in clis[:2]:
        want.update(tcp_want(c.comm, port, "ok", 1))
    samples, text = wait_counts(url, {c.comm for c in clis}, want)
    other = frozenset({("workload", "other"), ("comm", "other"), ("port", "other"),
                       ("result", "other")})
    check(samples.get(("socktrace_tcp_connects_total", other)) == 3,
          "the other series: %s" % samples.get(("socktrace_tcp_connects_total", other)))
    check(samples.get(("socktrace_metrics_overflow_total", frozenset())) == 3,
          "socktrace_metrics_overflow_total: %s" % samples.get(
              ("socktrace_metrics_overflow_total", frozenset())))
    check(samples.get(("socktrace_tcp_connect_latency_seconds_count", other)) == 3,
          "the other series' latency count is not 3")
    check_self(samples, ctx, limit=2)
    promtool(text)
    out = run.finish()
    err = "\n".join(out.stderr)
    now = sum(int(n) for n in re.findall(r"--metrics: (\d+) events counted in the \"other\"", err))
    total = re.findall(r"(\d+) events counted in total in the \"other\" series", err)
    check(now == 3 and total == ["3"], "stderr should say the 3 events counted in the other "
          "series, as it happens and in total: %s" % show_lines(out.stderr))


@once("metrics_workload_label")
def metrics_workload_label(ctx, mode):
    """A process in a cgroup shaped like a systemd service's: its series have
    workload="<name>.service"."""
    from workload import unit_cgroup    # the workload cases' helper
    cg, unit = unit_cgroup(ctx)
    cli = ctx.client("mw", ctx.netns())
    port = cli.serve(4, "127.0.0.1")
    cg.add(cli.pid)
    run = start(ctx, ["--metrics-only", "0"])
    connects(cli, port, 2)
    samples, _ = wait_counts(url_of(run), {cli.comm}, tcp_want(cli.comm, port, "ok", 2))
    wl = {dict(l).get("workload") for (n, l) in samples if dict(l).get("comm") == cli.comm}
    check(wl == {unit.decode()}, "workload labels %s, expected {%r}" % (wl, unit.decode()))
    run.finish()


@once("metrics_hostile_labels")
def metrics_hostile_labels(ctx, mode):
    """A comm with a quote, a backslash, a newline and an ESC: the label is
    escaped as the columns escape it, then for the format; promtool passes."""
    raw = (ctx.prefix + "-").encode() + b'"\\\n\x1b'
    shown = ctx.prefix + '-"\\\\\\x0a\\x1b'
    cli = Client(ctx, shown, ctx.netns(), raw=raw)
    port = cli.serve(4, "127.0.0.1")
    run = start(ctx, ["--metrics-only", "0"])
    connects(cli, port, 1)
    samples, text = wait_counts(url_of(run), {shown}, tcp_want(shown, port, "ok", 1))
    check("\x1b" not in text and "\n\"" not in text, "a raw control byte in the exposition")
    promtool(text)
    run.finish()


def open_fds(run):
    return len(os.listdir("/proc/%d/fd" % run.p.pid))


def still_fds(run, want=None, timeout=EVENT_TIMEOUT):
    """The tool's count of open files once it has held still for half a
    second (a scrape's socket is closed after its answer, between two
    batches of events), or at the timeout; with want, as soon as it is that."""
    end, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < end:
        n = open_fds(run)
        if n == want:
            return n
        if n != last:
            last, since = n, time.monotonic()
        elif want is None and time.monotonic() - since >= 0.5:
            return n
        time.sleep(0.05)
    return last


def check_fds_back(run, base):
    """Once its clients are gone, the tool holds the files it held before
    them (base, still_fds() after a first scrape): nothing leaked."""
    n = still_fds(run, want=base)
    check(n == base, "the tool holds %d files, %d before its clients: %s"
          % (n, base, sorted(os.listdir("/proc/%d/fd" % run.p.pid))))


def serving(ctx):
    """The tool with --metrics-only on a free port, scraped once: the run,
    its URL, its open files then, and (host, port) of the URL."""
    run = start(ctx, ["--metrics-only", "0"])
    url = url_of(run)
    scrape(url)
    host, port = url[len("http://"):-len("/metrics")].rsplit(":", 1)
    return run, url, still_fds(run), (host, int(port))


@once("metrics_slow_clients")
def metrics_slow_clients(ctx, mode):
    """Clients that connect and never finish a request, or ask and never
    read: scrapes still work, events are still counted, and the server drops
    the silent ones after its timeout (10 s). Once they are gone, the tool
    holds the files it held before them."""
    cli = ctx.client("ms", ctx.netns())
    port = cli.serve(4, "127.0.0.1")
    run, url, base, (host, mport) = serving(ctx)
    idle = []
    for i in range(4):
        s = socket.create_connection((host, mport), timeout=5)
        ctx.defer(s.close)
        s.sendall(b"GET /metr" if i % 2 else b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        idle.append(s)
    connects(cli, port, 3)
    wait_counts(url, {cli.comm}, tcp_want(cli.comm, port, "ok", 3))
    # the silent one (a half request) is closed within the timeout and a margin
    s = idle[1]
    s.settimeout(25)
    try:
        data = s.recv(4096)
    except socket.timeout:
        raise Fail("a client that never finished its request was still open after 25 s")
    except ConnectionResetError:
        data = b""
    check(data == b"", "the server answered a half request: %r" % data[:100])
    check(run.p.poll() is None, "the tool exited: %s" % show_lines(run.stderr_lines()))
    for s in idle:
        s.close()
    check_fds_back(run, base)
    run.finish()


HTTP_CLIENTS = 16       # ST_HTTP_CLIENTS, common/http.h


@once("metrics_clients_full")
def metrics_clients_full(ctx, mode):
    """As many clients as are served at once, each with half a request: a
    next one with a whole request waits, unanswered while they hold (the
    server takes no connection past 16; the kernel queues it), and once one
    of them leaves it gets the page. The tool then holds the files it held
    before them."""
    run, url, base, (host, mport) = serving(ctx)
    held = []
    for _ in range(HTTP_CLIENTS):
        s = socket.create_connection((host, mport), timeout=5)
        ctx.defer(s.close)
        s.sendall(b"GET /metr")
        held.append(s)
    silent_since = time.monotonic()     # the server drops them 10 s after this
    n = still_fds(run, base + HTTP_CLIENTS)
    check(n == base + HTTP_CLIENTS, "test error: the tool holds %s files, expected %d: "
          "not all %d clients taken in" % (n, base + HTTP_CLIENTS, HTTP_CLIENTS))
    extra = socket.create_connection((host, mport), timeout=2)
    ctx.defer(extra.close)
    extra.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    try:
        data = extra.recv(4096)
        raise Fail("a client past the %d held ones was answered at once: %r"
                   % (HTTP_CLIENTS, data[:100]))
    except socket.timeout:
        pass
    held.pop().close()
    # answered for the place freed, not because the server dropped the
    # other 15 after their 10 s of silence
    left = silent_since + 7 - time.monotonic()
    check(left > 1, "test error: %.1f s passed before a place was freed" % (7 - left))
    extra.settimeout(left)
    data = b""
    try:
        while True:
            chunk = extra.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise Fail("the waiting client got no whole answer within %.1f s of a place freed: %r"
                   % (left, data[:200]))
    except ConnectionResetError:
        raise Fail("the waiting client was reset: %r" % data[:200])
    check(data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0] and
          b"socktrace_build_info" in data, "the waiting client's answer: %r" % data[:300])
    for s in held:
        s.close()
    extra.close()
    check_fds_back(run, base)
    run.finish()


@once("metrics_burst")
def metrics_burst(ctx, mode):
    """Scrapes, one after the other, while a process makes 300 connects:
    every scrape answers, the count never goes down, and ends at 300; the
    tool then holds the files it held before the scrapes."""
    cli = ctx.client("mb", ctx.netns())
    port = cli.serve(4, "127.0.0.1")
    run = start(ctx, ["--metrics-only", "0"])
    url = url_of(run)
    scrape(url)
    base = still_fds(run)
    key = list(tcp_want(cli.comm, port, "ok", 1))[0]
    seen, stop, errors = [], threading.Event(), []

    def scraper():
        while not stop.is_set():
            try:
                seen.append(counters(parse(scrape(url)), {cli.comm}).get(key, 0))
            except Exception as e:     # noqa: BLE001 (said below)
                errors.append(repr(e))
    t = threading.Thread(target=scraper, daemon=True)
    t.start()
    connects(cli, port, 300)
    stop.set()
    t.join(30)
    check(not errors, "scrapes failed during the burst: %s" % errors[:3])
    check(len(seen) >= 2 and seen == sorted(seen), "counts seen while scraping: %s" % seen[-20:])
    wait_counts(url, {cli.comm}, tcp_want(cli.comm, port, "ok", 300))
    check_fds_back(run, base)
    run.finish()


@once("metrics_port_in_use")
def metrics_port_in_use(ctx, mode):
    """A port something else listens on: one line naming it, exit status 1,
    no ready line, nothing loaded that stays (the next run on a free port
    works)."""
    s = socket.socket()
    ctx.defer(s.close)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    run = ctx.start_tool(["--metrics", "127.0.0.1:%d" % port], ready=False)
    rc = run.wait()
    out = run.output()
    why = [l for l in out.stderr if NO_HTTP in l]
    if why:
        raise Skip(why[0])
    want = r"^%s: --metrics: cannot listen on 127\.0\.0\.1:%d: Address already in use$" % (
        ctx.tool, port)
    check(rc == 1 and len(out.stderr) == 1 and re.match(want, out.stderr[0]) and not out.stdout,
          "exit status %s, stderr %s, stdout %s" % (rc, show_lines(out.stderr),
                                                    show_lines(out.stdout)))
    check(not any(READY_RE.match(l) for l in out.stderr), "a ready line")
