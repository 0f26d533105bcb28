"""--max-threads at its limit (bpf/stash.bpf.h): more threads blocked in a
probed call than the thread map holds, on the kprobe backend, where the
entry probe stashes what the kretprobe needs. A forgotten call is counted
when its return finds nothing; stderr (as it happens and in total), the
JSON lost lines and the metrics page must each say the same count."""
import re
import time

import e2elib
from e2elib import EVENT_TIMEOUT, Fail, Skip, check, show_lines

ROOM, BLOCKED = 4, 8       # the thread map's size, the threads blocked at once


def possible_cpus():
    """The CPUs the kernel may bring up (/sys/devices/system/cpu/possible: "0-N,...")"""
    with open("/sys/devices/system/cpu/possible") as f:
        parts = [p.partition("-") for p in f.read().strip().split(",")]
    return sum(int(hi or lo) - int(lo) + 1 for lo, _, hi in parts)


def start(ctx, args=()):
    """The tool with --max-threads ROOM and --metrics; Skip off the kprobe backend."""
    run = ctx.start_tool(["--max-threads", str(ROOM), "--metrics", "127.0.0.1:0"] +
                         list(args) + ctx.mode_args())
    backend = run.ready_line.split("backend: ")[1].split(")")[0]
    if "kprobe" not in backend.split("+"):
        run.finish()
        raise Skip("the thread map holds calls from a kprobe to its kretprobe; this run "
                   "has backend %s" % backend)
    if BLOCKED >= max(10, 2 * possible_cpus()):
        run.finish()
        raise Fail("test error: the kretprobes follow fewer than %d threads at once" % BLOCKED)
    return run


def counted(ctx, run, reason, now_re, total_re):
    """Reads the tool's metrics page until the count of `reason` holds still
    for a second (the tool reads its counters every 250 ms), stops the tool;
    checks that stderr's lines as it happens (now_re, summed), its exit total
    (total_re), the JSON lost lines and the page say the same count.
    Returns (its output, the count)."""
    import metrics     # here: metrics imports shared, which imports the tools' modules
    key = ("socktrace_events_lost_total", frozenset({("reason", reason)}))
    url, scraped = metrics.url_of(run), []
    end = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < end and not (len(scraped) > 5 and scraped[-1] and
                                          len(set(scraped[-5:])) == 1):
        scraped.append(metrics.parse(metrics.scrape(url)).get(key))
        time.sleep(0.25)
    out = run.finish()
    err = "\n".join(out.stderr)
    now = sum(int(m) for m in re.findall(now_re, err))
    total = re.findall(total_re, err)
    lost = [o for o in e2elib.parse_json(out.trace) if o.get("event") == "lost"]
    check(total == [str(now)], "the exit total should say %d: %s" % (now, show_lines(out.stderr)))
    check(lost and all(o["reason"] == reason for o in lost) and
          sum(o["count"] for o in lost) == now,
          "JSON lost lines should add up to %d %s: %s"
          % (now, reason, show_lines([o["_line"] for o in lost])))
    check(scraped[-1:] == [now], "socktrace_events_lost_total{reason=\"%s\"} should be %d, "
          "scraped: %s" % (reason, now, scraped[-6:]))
    return out, now


def finish(ctx, run):
    """counted() for thread_map_full: at least BLOCKED - ROOM."""
    out, now = counted(ctx, run, "thread_map_full", r"thread map full: (\d+) calls forgotten",
                       r"(\d+) calls forgotten in total before they returned")
    check(now >= BLOCKED - ROOM, "%d threads blocked with room for %d: stderr should count "
          "at least %d calls forgotten, got %d: %s"
          % (BLOCKED, ROOM, BLOCKED - ROOM, now, show_lines(out.stderr)))
    return out, now
