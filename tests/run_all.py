#!/usr/bin/env python3
"""make test: runs every suite through make, then one closing tally.

Usage: run_all.py MAKE [MAKE ARGS...]
Each suite ends with "N passed, N failed[, N skipped]"; a suite that exits
non-zero or prints no such line counts as one more failure.
"""
import re
import subprocess
import sys
import time

# (name, make target, what, extra make arguments)
SAN = ["SAN=1", "OUTPUT=build-san"]
SUITES = [
    ("unit", "unit", "C unit tests of common/", []),
    ("e2e", "e2e", "end-to-end tests on this kernel", []),
    ("hardening", "hardening", "bad input, faults and hostile strings, every tool", []),
    ("san-unit", "unit", "the unit tests on the ASan/UBSan build", SAN),
    ("san-e2e", "e2e", "the end-to-end tests on the ASan/UBSan build", SAN),
    ("san-hard", "hardening", "the hardening tests on the ASan/UBSan build", SAN),
    ("check-man", "check-man", "man pages against --help", []),
    ("fuzz", "fuzz", "libFuzzer targets, briefly (make fuzz runs them longer)",
     ["FUZZ_SECONDS=10"]),
    ("bench-smoke", "bench-smoke", "the benchmark harness once, tiny (make bench measures)", []),
    # Without the guests' "e2e" cells (the whole host suite under 6.12 and
    # 6.1-arm64): on a machine whose qemu runs at half the usual speed they
    # alone took over 40 minutes each, past CI's 90. `make vmtest` runs them.
    ("vmtest", "vmtest",
     "kernel matrix under qemu: every backend cell, a third of its cases "
     "(make vmtest: all, and the e2e cells)",
     ["VMTEST_ARGS=--quick --e2e-kernels none"]),
]

CLOSING = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?(?:, (\d+) errors)?$",
                     re.M)


def main():
    make = sys.argv[1:]
    totals = [0, 0, 0]
    rows = []
    for name, target, what, extra in SUITES:
        start = time.monotonic()
        print(f"=== {name}: {what}", flush=True)
        # the last of two assignments of a variable on make's command line wins
        proc = subprocess.Popen(make + ["--no-print-directory", target] + extra,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        out = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            out.append(line)
        proc.wait()
        found = CLOSING.findall("".join(out))
        p, f, s, e = (int(x or 0) for x in found[-1]) if found else (0, 0, 0, 0)
        f += e  # a matrix cell that did not run to its end
        if proc.returncode and not f:
            f += 1
            print(f"FAIL {name}: exit status {proc.returncode}")
        if not found:
            print(f"FAIL {name}: ran no test (no closing line)")
            f += 1 if not proc.returncode else 0
        totals = [totals[0] + p, totals[1] + f, totals[2] + s]
        rows.append((name, p, f, s, time.monotonic() - start))
    print("=== summary")
    for target, p, f, s, secs in rows:
        print(f"{target:10} {p:5} passed {f:4} failed {s:4} skipped  {secs:6.0f}s")
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
