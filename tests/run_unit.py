#!/usr/bin/env python3
"""Runs each unit test binary given and sums their closing lines."""
import re
import subprocess
import sys

passed = failed = 0
for binary in sys.argv[1:]:
    proc = subprocess.run([binary], stdout=subprocess.PIPE, text=True)
    sys.stdout.write(proc.stdout)
    m = re.search(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.M)
    if not m:
        print(f"FAIL {binary}: no closing line (exit status {proc.returncode})")
        failed += 1
        continue
    passed += int(m.group(1))
    failed += int(m.group(2)) + (1 if proc.returncode and not int(m.group(2)) else 0)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
