"""Count mode (-c, -i), the cases every tool shares (issue 17): events
counted per group (process, workload, destination: the tool's count
columns, Suite.count) instead of printed, the table biggest first at exit
and with -i every interval, in columns or as JSON rows ("event": "count").

Imported by shared.py, whose @shared cases these are.  The actors are the
shared cases' (Actor.act(), which says what each event is); the table's
rows for this case's processes must be exactly the groups of those events,
each with its exact count.
"""
from e2elib import WORKLOAD_JSON, Fail, check, is_int, parse_columns, parse_json, show_lines
from shared import COLS, shared
from workload import cgroup_of


def spec(ctx):
    """(key columns, the count's header, every header in order) of Suite.count."""
    cols = ctx.suite.count
    return ([c for c in cols if c[1] != "count"],
            next(c[0] for c in cols if c[1] == "count"), [c[0] for c in cols])


def expect(ctx, events):
    """{group: count}: a group is the tuple of the count columns' values
    (JSON values in JSON mode, column texts else) of an expected event."""
    cols, _, _ = spec(ctx)
    groups = {}
    for e in events:
        key = []
        for _, jkey, value in cols:
            v = value(e) if value else (e[jkey], None)
            if ctx.mode == "json":
                key.append(v[0])
            else:
                key.append(v[1] if v[1] is not None else "-" if v[0] is None else str(v[0]))
        groups[tuple(key)] = groups.get(tuple(key), 0) + 1
    return groups


LOST_KEYS = ["ts", "time_ns", "tool", "event", "reason", "count"]


def check_lost(ctx, o, keys):
    """A lost line among the rows (issue 19: a table says what it did not
    count after its rows) has the shape of the tool's other lost lines; a
    few groups never fill the table, so none is the table's."""
    check(keys == LOST_KEYS and o["tool"] == ctx.suite.tool and is_int(o["count"])
          and o["count"] > 0, "bad lost line, keys expected in this order %s: %r" % (
              LOST_KEYS, o["_line"]))
    check(o["reason"] not in ("count_table_full", "count_no_memory"),
          "the count table lost events of a few groups: %r" % o["_line"])


def json_tables(ctx, trace, actors):
    """[[(group, count)]]: the tables of JSON rows (one time_ns each), their
    keys checked in order, only the rows of this case's processes kept;
    lost lines checked and left out."""
    cols, _, _ = spec(ctx)
    want = ["ts", "time_ns", "tool", "event"] + [c[1] for c in cols] + [
        k for k, _ in WORKLOAD_JSON] + ["count"]
    cgroups = {a.pid: cgroup_of(a.pid).decode() for a in actors}
    tables, last = [], None
    for o in parse_json(trace):
        keys = [k for k in o if k != "_line"]
        if o.get("event") == "lost":
            check_lost(ctx, o, keys)
            continue
        check(keys == want, "count row keys %s, expected in this order %s: %r" % (
            keys, want, o["_line"]))
        check(o["tool"] == ctx.suite.tool and o["event"] == "count" and is_int(o["count"])
              and o["count"] > 0 and is_int(o["cgroup_id"]), "bad count row %r" % o["_line"])
        if o["time_ns"] != last:
            tables.append([])
            last = o["time_ns"]
        if o["pid"] in cgroups:
            check(o["cgroup"] == cgroups[o["pid"]], "row of pid %d has cgroup %r, expected "
                  "%r: %r" % (o["pid"], o["cgroup"], cgroups[o["pid"]], o["_line"]))
            tables[-1].append((tuple(o[c[1]] for c in cols), o["count"], o["_line"]))
    return tables


def text_tables(ctx, trace, actors):
    """The same for column tables: a header each, an empty line between. The
    other processes' rows are only checked for order (a COMM or a path with
    a space in it does not split into the columns)."""
    cols, count_hdr, hdr = spec(ctx)
    pids = {str(a.pid) for a in actors}
    at_pid, at_count = hdr.index("PID"), hdr.index(count_hdr)
    tables, block = [], []
    for line in trace + [""]:
        if line.strip():
            block.append(line)
            continue
        if block:
            whole = [l.split() for l in block[1:] if len(l.split()) == len(hdr)]
            counts = [int(t[at_count]) for t in whole]
            check(counts == sorted(counts, reverse=True), "count rows not biggest first: %s"
                  % show_lines(block))
            mine = [l for l in block[1:] if l.split()[at_pid:at_pid + 1] in ([p] for p in pids)]
            rows = parse_columns(block[:1] + mine, hdr)
            tables.append([(tuple(r[c[0]] for c in cols), int(r[count_hdr]), r["_line"])
                           for r in rows])
        block = []
    return tables


def tables_of(ctx, out, actors):
    try:
        if ctx.mode == "json":
            return json_tables(ctx, out.trace, actors)
        return text_tables(ctx, out.trace, actors)
    except Fail as e:
        raise Fail("%s (full output: %s)" % (e, show_lines(out.trace)))


def check_total(tables, groups, out):
    """Over all tables, each expected group's counts add up to its count,
    and no other group of this case's processes shows."""
    got = {}
    for t in tables:
        for key, n, _ in t:
            got[key] = got.get(key, 0) + n
    if got != groups:
        raise Fail("counts %s, expected %s; this case's rows: %s" % (
            sorted(got.items()), sorted(groups.items()),
            show_lines([r[2] for t in tables for r in t]) or show_lines(out.trace)))


@shared("count", COLS)
def count(ctx, mode):
    """-c: one process acts three times, another once; at exit one table
    with each of their groups once, its count exact (3 and 1), biggest first."""
    a = ctx.suite.Actor(ctx, "ca", ctx.netns())
    b = ctx.suite.Actor(ctx, "cb", ctx.netns())
    run = ctx.start_tool(["-c"] + ctx.mode_args())
    exp = a.act() + a.act() + a.act() + b.act()
    out = run.finish()
    tables = tables_of(ctx, out, [a, b])
    check(len(tables) == 1, "%d tables, expected one at exit: %s" % (
        len(tables), show_lines(out.trace)))
    check_total(tables, expect(ctx, exp), out)


@shared("count_interval", COLS)
def count_interval(ctx, mode):
    """-c -i 1: a table every second, each counting what came since the one
    before; the process acts once, then (after a table showed it) twice:
    its groups show in two tables or more, their counts adding up to 3."""
    a = ctx.suite.Actor(ctx, "ci", ctx.netns())
    run = ctx.start_tool(["-c", "-i", "1"] + ctx.mode_args())
    exp = a.act()
    run.wait_comm(a.comm)
    exp += a.act() + a.act()
    out = run.finish()
    tables = tables_of(ctx, out, [a])
    mine = [t for t in tables if t]
    check(len(mine) >= 2, "the process's rows in %d tables, expected 2 or more: %s" % (
        len(mine), show_lines(out.trace)))
    check_total(tables, expect(ctx, exp), out)
