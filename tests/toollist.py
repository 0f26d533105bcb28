"""The suite's tools: one per tools/*.c, the list the Makefile's TOOLS is made
of.  The tests (run.py, hardening.py) and bench/bench read it here."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tools(root=ROOT):
    """Tool names, sorted (as $(sort) in the Makefile sorts them)."""
    return sorted(f[:-2] for f in os.listdir(os.path.join(root, "tools")) if f.endswith(".c"))


if __name__ == "__main__":
    print(" ".join(tools()))
