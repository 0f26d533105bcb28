#!/usr/bin/env python3
"""socktrace end-to-end tests.

  python3 tests/e2e/run.py --build-dir DIR [--backend auto|fentry|kprobe|tracepoint]
      [--tool NAME] [--only SUBSTRING] [--expect-backend NAME]
      [--unavailable fentry,kprobe] [--matrix] [-v]

Runs as root.  One line per case (PASS/FAIL/SKIP tool/case[: reason]), then
`N passed, N failed[, N skipped]`.  Exit status 1 if any case failed.
Each tool's cases live in tests/e2e/tools/<tool>.py (a `suite` object).
"""
import argparse
import importlib
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import e2elib  # noqa: E402


def tool_names():
    d = os.path.join(HERE, "tools")
    return sorted(f[:-3] for f in os.listdir(d)
                  if f.endswith(".py") and not f.startswith("_"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--backend", default="auto", choices=["auto", "fentry", "kprobe", "tracepoint"])
    ap.add_argument("--tool", action="append",
                    help="only this tool (repeatable); default: every module in tools/")
    ap.add_argument("--only", action="append",
                    help="only cases whose tool/case name contains this (repeatable)")
    ap.add_argument("--expect-backend",
                    help="in auto runs, the ready line must say backend: NAME")
    ap.add_argument("--unavailable", default="",
                    help="comma list of backends that must be refused on this kernel")
    ap.add_argument("--matrix", action="store_true",
                    help="only the cases that depend on kernel and backend (the qemu matrix)")
    ap.add_argument("--smoke", action="store_true",
                    help="only the first matrix case of each tool")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args()

    unavailable = [b for b in a.unavailable.split(",") if b]
    for b in unavailable:
        if b not in e2elib.BACKENDS:
            ap.error("--unavailable: unknown backend %r" % b)
    if os.geteuid() != 0 and not a.list:
        print("run.py: must run as root", file=sys.stderr)
        return 2
    cfg = e2elib.Config(a.build_dir, a.backend, a.expect_backend, unavailable, a.verbose)

    names = a.tool or tool_names()
    cases = []
    for n in names:
        try:
            mod = importlib.import_module("tools." + n)
        except ImportError as e:
            print("run.py: no test module for tool %r (%s)" % (n, e), file=sys.stderr)
            return 2
        cases.extend(mod.suite.cases)

    passed = failed = skipped = 0
    smoked = set()
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
        if c.applies is not None:
            why = c.applies(cfg)
            if why is not True:
                cfg.log("not applicable: %s: %s" % (full, why))
                continue
        if a.list:
            print(full)
            continue
        if cfg.backend in cfg.unavailable and c.name != "unavailable_backend":
            status, reason = "SKIP", "backend %s is listed as unavailable here" % cfg.backend
        else:
            cfg.log("--- %s" % full)
            status, reason = e2elib.run_case(cfg, c)
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
    if a.matrix or a.smoke:
        # say what this cell leaves out, rather than drop it quietly
        host_only = sum(1 for c in cases if not c.matrix and
                        (not a.only or any(s in "%s/%s" % (c.suite.tool, c.name) for s in a.only)))
        print("NOTE %d host-only cases (output format, options) not run here: "
              "run.py without --matrix runs them" % host_only, flush=True)
    tail = "%d passed, %d failed" % (passed, failed)
    if skipped:
        tail += ", %d skipped" % skipped
    print(tail, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
