"""--max-threads at its limit (bpf/stash.bpf.h): more threads blocked in a
probed call than the thread map holds, on the kprobe backend, where the
entry probe stashes what the kretprobe needs. A forgotten call is counted
when its return finds nothing; stderr (as it happens and in total), the
JSON lost lines and the metrics page must each say the same count
(lostcount.py)."""
import lostcount
from e2elib import Fail, Skip, check, show_lines

ROOM, BLOCKED = 4, 8       # the thread map's size, the threads blocked at once
# stderr's "thread map full" lines: as it happens, and the total at exit
NOW_RE = r"thread map full: (\d+) calls forgotten"
TOTAL_RE = r"(\d+) calls forgotten in total before they returned"


def possible_cpus():
    """The CPUs the kernel may bring up (/sys/devices/system/cpu/possible: "0-N,...")"""
    with open("/sys/devices/system/cpu/possible") as f:
        parts = [p.partition("-") for p in f.read().strip().split(",")]
    return sum(int(hi or lo) - int(lo) + 1 for lo, _, hi in parts)


def start(ctx, args=()):
    """The tool with --max-threads ROOM (lostcount.start_counting()); Skip
    off the kprobe backend."""
    run = lostcount.start_counting(ctx, ["--max-threads", str(ROOM)] + list(args) +
                                   ctx.mode_args())
    backend = "+".join(run.ready_backends)
    if "kprobe" not in run.ready_backends:
        run.finish()
        raise Skip("the thread map holds calls from a kprobe to its kretprobe; this run "
                   "has backend %s" % backend)
    if BLOCKED >= max(10, 2 * possible_cpus()):
        run.finish()
        raise Fail("test error: the kretprobes follow fewer than %d threads at once" % BLOCKED)
    return run


def finish(ctx, run):
    """lostcount.counted() for thread_map_full: at least BLOCKED - ROOM."""
    out, now = lostcount.counted(ctx, run, "thread_map_full", NOW_RE, TOTAL_RE)
    check(now >= BLOCKED - ROOM, "%d threads blocked with room for %d: stderr should count "
          "at least %d calls forgotten, got %d: %s"
          % (BLOCKED, ROOM, BLOCKED - ROOM, now, show_lines(out.stderr)))
    return out, now
