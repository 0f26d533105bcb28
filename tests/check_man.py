#!/usr/bin/env python3
"""Check man pages against the tools: `check_man.py --build-dir DIR TOOL...`

For each TOOL: every long option that `DIR/TOOL --help` prints appears in
man/man8/TOOL.8, and every column header the contract lists for the tool (the
COLUMNS list of tests/e2e/tools/TOOL.py) appears in the page's FIELDS section.
Prints PASS/FAIL lines and `N passed, N failed`; exit status 1 if any failed.
"""
import argparse
import importlib
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "e2e"))


def roff_text(src):
    """Roughly the text a reader sees: escapes and font changes removed."""
    t = src.replace("\\-", "-").replace("\\(en", "-").replace("\\(em", "-")
    t = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", t)      # \fB \fR \f[CR] \f(CW
    t = re.sub(r"\\s[+-]?\d", "", t)                  # size changes
    t = re.sub(r"\\[&|^/,:]", "", t)                  # zero-width escapes
    t = t.replace("\\e", "\\").replace("\\ ", " ").replace("\\~", " ")
    t = re.sub(r"\\\(([a-z]{2})", "", t)
    return t


def sections(src):
    """{NAME: text} for each .SH section (name upper-cased, quotes stripped)."""
    out = {}
    cur = None
    for line in src.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            cur = m.group(1).strip().upper()
            out[cur] = ""
            continue
        if cur is not None:
            out[cur] += line + "\n"
    return out


def long_options(help_text):
    opts = []
    for m in re.finditer(r"(?<![\w-])--([a-zA-Z0-9][a-zA-Z0-9-]*)", help_text):
        if m.group(1) not in opts:
            opts.append(m.group(1))
    return opts


def check_tool(build_dir, tool):
    """Returns a list of (name, problem-or-None)."""
    results = []
    binary = os.path.join(build_dir, tool)
    page = os.path.join(ROOT, "man", "man8", tool + ".8")
    try:
        p = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        help_text = p.stdout + p.stderr
        help_err = None if p.returncode == 0 else "`%s --help` exited %d" % (tool, p.returncode)
    except (OSError, subprocess.TimeoutExpired) as e:
        help_text, help_err = "", "cannot run %s --help: %s" % (binary, e)
    try:
        with open(page, encoding="utf-8", errors="replace") as f:
            src = f.read()
    except OSError as e:
        src = None
        page_err = "no man page %s (%s)" % (os.path.relpath(page, ROOT), e.strerror)
    try:
        columns = importlib.import_module("tools." + tool).COLUMNS
        col_err = None
    except (ImportError, AttributeError) as e:
        columns, col_err = [], "no COLUMNS list for %s in tests/e2e/tools (%s)" % (tool, e)

    opts = long_options(help_text)
    if help_err or not opts:
        results.append(("%s/help" % tool, help_err or "`%s --help` lists no long options" % tool))
    else:
        if src is None:
            results.append(("%s/options" % tool, page_err))
        else:
            text = roff_text(src)
            missing = [o for o in opts
                       if not re.search(r"(?<![\w-])--%s(?![\w-])" % re.escape(o), text)]
            results.append(("%s/options" % tool, "long options from --help missing in %s: %s" % (
                os.path.relpath(page, ROOT), " ".join("--" + o for o in missing))
                if missing else None))
    if col_err:
        results.append(("%s/fields" % tool, col_err))
    elif src is None:
        results.append(("%s/fields" % tool, page_err))
    else:
        secs = sections(src)
        if "FIELDS" not in secs:
            results.append(("%s/fields" % tool, "%s has no FIELDS section" % os.path.relpath(
                page, ROOT)))
        else:
            text = roff_text(secs["FIELDS"])
            missing = [c for c in columns
                       if not re.search(r"(?<![\w(])%s(?![\w(])" % re.escape(c), text)]
            results.append(("%s/fields" % tool, "column headers missing in FIELDS: %s" % (
                " ".join(missing)) if missing else None))
    return results


def main():
    ap = argparse.ArgumentParser(description="check man pages against --help and the contract")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("tools", nargs="+", metavar="TOOL")
    a = ap.parse_args()
    passed = failed = 0
    for tool in a.tools:
        for name, problem in check_tool(os.path.abspath(a.build_dir), tool):
            if problem:
                failed += 1
                print("FAIL %s: %s" % (name, problem), flush=True)
            else:
                passed += 1
                print("PASS %s" % name, flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
