#!/usr/bin/env python3
"""socktrace end-to-end tests.

  python3 tests/e2e/run.py --build-dir DIR [--backend auto|fentry|kprobe|tracepoint]
      [--tool NAME] [--only SUBSTRING] [--expect-backend NAME]
      [--unavailable fentry,kprobe] [--matrix] [-v]

Runs as root.  One line per case (PASS/FAIL/SKIP tool/case[: reason]), then
`N passed, N failed[, N skipped]`.  Exit status 1 if any case failed.
Each tool (tools/*.c, tests/toollist.py) has its own cases in
tests/e2e/tools/<tool>.py (a `suite` object), then the cases every tool shares
(tests/e2e/shared.py); a tool without a test module is an error.
Which backends the running kernel offers is asked of the kernel itself
(tests/e2e/kernel.py): `auto` must choose the best of them, and only those it
does not offer must be refused.  --expect-backend and --unavailable override
that answer, for debugging the suite.
"""
import argparse
import importlib
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

import e2elib  # noqa: E402
import kernel  # noqa: E402
import shared  # noqa: E402
import toollist  # noqa: E402


def load_suites(names):
    """The suite of each tool, with the shared cases added; or a complaint:
    a tool without a test module, a test module without a tool."""
    tools = toollist.tools()
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "tools"))
                     if f.endswith(".py") and not f.startswith("_"))
    wrong = ["%s: no such tool (tools/*.c has %s)" % (n, ", ".join(tools))
             for n in names if n not in tools]
    wrong += ["tool %s has no test module tests/e2e/tools/%s.py" % (n, n)
              for n in tools if n not in modules]
    wrong += ["tests/e2e/tools/%s.py tests no tool (there is no tools/%s.c)" % (n, n)
              for n in modules if n not in tools]
    if wrong:
        return None, wrong
    suites = []
    for n in names:
        mod = importlib.import_module("tools." + n)
        shared.add_cases(mod.suite)
        suites.append(mod.suite)
    return suites, []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--backend", default="auto", choices=["auto", "fentry", "kprobe", "tracepoint"])
    ap.add_argument("--tool", action="append",
                    help="only this tool (repeatable); default: every tool (tools/*.c). "
                    "A shared case of common user-space code runs for one tool only "
                    "(shared.py, once=True): --tool X runs those dealt to X")
    ap.add_argument("--only", action="append",
                    help="only cases whose tool/case name contains this (repeatable)")
    ap.add_argument("--expect-backend", choices=kernel.BACKENDS,
                    help="in auto runs, the ready line must say backend: NAME "
                    "(default: the best backend the kernel offers)")
    ap.add_argument("--unavailable",
                    help="comma list of backends that must be refused on this kernel "
                    "(default: those the kernel does not offer)")
    ap.add_argument("--matrix", action="store_true",
                    help="only the cases that depend on kernel and backend (the qemu matrix)")
    ap.add_argument("--smoke", action="store_true",
                    help="only the first matrix case of each tool")
    ap.add_argument("--slice", metavar="K/N",
                    help="only the cases K, K+N, K+2N... of those selected (0 <= K < N)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args()

    sl = None
    if a.slice:
        try:
            sl = tuple(int(x) for x in a.slice.split("/"))
            if len(sl) != 2 or not 0 <= sl[0] < sl[1]:
                raise ValueError
        except ValueError:
            ap.error("--slice: expected K/N with 0 <= K < N, got %r" % a.slice)
    if a.unavailable is not None:
        for b in a.unavailable.split(","):
            if b and b not in e2elib.BACKENDS:
                ap.error("--unavailable: unknown backend %r" % b)
    if os.geteuid() != 0 and not a.list:
        print("run.py: must run as root", file=sys.stderr)
        return 2
    offer = kernel.offered() if not a.list else {b: None for b in kernel.BACKENDS}
    if a.unavailable is not None:   # told, not asked: say it was so
        offer = {b: "listed by --unavailable" if b in a.unavailable.split(",") else None
                 for b in kernel.BACKENDS}
    expect = a.expect_backend or kernel.best(offer)
    cfg = e2elib.Config(a.build_dir, a.backend, expect, offer, a.verbose)
    if not a.list:
        print("NOTE kernel %s (%s): %s; auto must choose %s" % (
            os.uname().release, os.uname().machine,
            ", ".join("%s %s" % (b, "offered" if offer[b] is None else
                                 "not offered (%s)" % offer[b]) for b in kernel.BACKENDS),
            expect), flush=True)

    suites, wrong = load_suites(a.tool or toollist.tools())
    for w in wrong:
        print("run.py: %s" % w, file=sys.stderr)
    if wrong:
        return 2
    # each tool's own cases, then the shared ones (--smoke takes the first)
    cases = [c for s in suites for c in s.cases]

    passed = failed = skipped = 0
    took = []       # (seconds, case) of the cases run, for the slowest list
    smoked = set()
    nth = -1
    for c in cases:
        full = "%s/%s" % (c.suite.tool, c.name)
        if a.only and not any(s in full for s in a.only):
            continue
        if (a.matrix or a.smoke) and not c.matrix:
            continue
        if a.smoke:
            if c.suite.tool in smoked:
                continue
            smoked.add(c.suite.tool)
        nth += 1
        if sl and not a.smoke and nth % sl[1] != sl[0]:
            continue
        if a.list:
            print(full)
            continue
        why = c.applies(cfg) if c.applies is not None else True
        if why is not True:
            status, reason = "SKIP", why
        elif cfg.backend in cfg.unavailable and c.name != "unavailable_backend":
            status, reason = "SKIP", "backend %s is not offered by this kernel: %s" % (
                cfg.backend, cfg.offer[cfg.backend])
        else:
            cfg.log("--- %s" % full)
            t0 = time.monotonic()
            status, reason = e2elib.run_case(cfg, c)
            took.append((time.monotonic() - t0, full))
        if status == "PASS":
            passed += 1
            print("PASS %s" % full, flush=True)
        else:
            if status == "FAIL":
                failed += 1
            else:
                skipped += 1
            print("%s %s: %s" % (status, full, " ".join(reason.split("\n"))), flush=True)
    if a.list:
        return 0
    if sl and not a.smoke:
        print("NOTE slice %d/%d: %d of the %d selected cases not run here (other slices run "
              "them)" % (sl[0], sl[1], nth + 1 - (nth + sl[1] - sl[0]) // sl[1], nth + 1),
              flush=True)
    if a.matrix or a.smoke:
        # say what this cell leaves out, rather than drop it quietly
        host_only = sum(1 for c in cases if not c.matrix and
                        (not a.only or any(s in "%s/%s" % (c.suite.tool, c.name) for s in a.only)))
        print("NOTE %d host-only cases (output format, options) not run here: "
              "run.py without --matrix runs them" % host_only, flush=True)
    if took:
        # where the time goes: what to look at first when a cell nears its limit
        took.sort(reverse=True)
        print("NOTE %.0f s in %d cases; slowest: %s" % (
            sum(t for t, _ in took), len(took),
            ", ".join("%s %.1f s" % (n, t) for t, n in took[:8])), flush=True)
    tail = "%d passed, %d failed" % (passed, failed)
    if skipped:
        tail += ", %d skipped" % skipped
    print(tail, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
