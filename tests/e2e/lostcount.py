"""A loss count checked on every channel the tool says it on: stderr as it
happens and in total at exit, the JSON lost lines, and the metrics page
(socktrace_events_lost_total{reason}) where the build serves one."""
import re
import time

import e2elib
from e2elib import EVENT_TIMEOUT, Fail, KernelSkipped, check, show_lines, skipped_said

NO_HTTP = "this build has no HTTP server"


def start_counting(ctx, args, start=None):
    """start(--metrics 127.0.0.1:0 and args), by default ctx.start_tool: the
    tool, ready; in a build without an HTTP server (HTTP=0, or the STATIC=1
    arm64 build), which refuses --metrics in one line, the tool without it,
    marked run.no_metrics: counted() then checks the other channels only."""
    start = start or ctx.start_tool
    try:
        run = start(["--metrics", "127.0.0.1:0"] + list(args))
        run.no_metrics = False
    except Fail as e:
        if NO_HTTP not in str(e):
            raise
        run = start(list(args))
        run.no_metrics = True
    return run


def scrape_until_still(run, reason):
    """The page's counts of `reason`, read every 250 ms until the last holds
    still for a second (the tool reads its counters every 250 ms) and is not
    0, or EVENT_TIMEOUT; [] without a page."""
    if run.no_metrics:
        return []
    import metrics     # here: metrics imports shared, which imports the tools' modules
    key = ("socktrace_events_lost_total", frozenset({("reason", reason)}))
    url, scraped = metrics.url_of(run), []
    end = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < end and not (len(scraped) > 5 and scraped[-1] and
                                          len(set(scraped[-5:])) == 1):
        scraped.append(metrics.parse(metrics.scrape(url)).get(key))
        time.sleep(0.25)
    return scraped


def check_page(run, reason, scraped, want):
    if not run.no_metrics:
        check(scraped[-1:] == [want], "socktrace_events_lost_total{reason=\"%s\"} should be "
              "%d, scraped: %s" % (reason, want, scraped[-6:]))


def counted(ctx, run, reason, now_re, total_re, judge=None):
    """Reads the page (scrape_until_still), stops the tool; checks that
    stderr's lines as it happens (now_re, summed), its exit total
    (total_re), the JSON lost lines and the page say the same count.
    judge, if given, is called with the output first. Returns (its output,
    the count)."""
    scraped = scrape_until_still(run, reason)
    out = run.finish()
    if judge:
        judge(out)
    err = "\n".join(out.stderr)
    now = sum(int(m) for m in re.findall(now_re, err))
    total = re.findall(total_re, err)
    # metrics_series_limit counts events put in an "other" series of the
    # page, not lost ones: seen once on 6.1 (kprobe backend, tcpaccept with
    # 8 threads accepting at once), likely a label set made by two CPUs at
    # once that read as refused (docs/limits.md: a map update's error on 6.1)
    lost = [o for o in e2elib.parse_json(out.trace)
            if o.get("event") == "lost" and o.get("reason") != "metrics_series_limit"]
    check(total == [str(now)], "the exit total should say %d: %s" % (now, show_lines(out.stderr)))
    check(lost and all(o["reason"] == reason for o in lost) and
          sum(o["count"] for o in lost) == now,
          "JSON lost lines should add up to %d %s: %s"
          % (now, reason, show_lines([o["_line"] for o in lost])))
    check_page(run, reason, scraped, now)
    return out, now


def judged(out):
    """Raises KernelSkipped (run_case() runs the case again) if the tool
    said the kernel skipped runs: a skipped close leaves its entry, a
    skipped change lacks its line, so exact counts cannot be judged."""
    said = skipped_said(out.stderr)
    if said:
        raise KernelSkipped(said)
