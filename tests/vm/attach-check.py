#!/usr/bin/env python3
"""Self-check used by tests/vm/selftest-suite inside a guest: attach an empty
program of one backend's kind the way tests/e2e/kernel.py probes it (fexit on
tcp_v4_connect, a kprobe on it, or a tracepoint on sys_exit_connect), make TCP
connects on 127.0.0.1 and check with bpf_stats that it ran for each.
No compiler needed: the programs are two instructions, any architecture.

usage: attach-check.py fentry|kprobe|tracepoint   (exit 0, "ok: ..." when it fired)
"""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import kernel  # noqa: E402

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def run_count(prog_fd):
    out = subprocess.run(["bpftool", "prog", "show", "id", str(kernel.prog_id(prog_fd))],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split("run_cnt")[1].split()[0]) if "run_cnt" in out else 0


def main():
    kind = sys.argv[1]
    fds = kernel.ATTACH[kind]()
    with open(STATS) as f:
        stats_was = f.read().strip()
    try:
        with open(STATS, "w") as f:
            f.write("1")
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        for _ in range(3):
            socket.create_connection(srv.getsockname(), timeout=10).close()
            srv.accept()[0].close()
        cnt = run_count(fds[0])
    finally:
        with open(STATS, "w") as f:
            f.write(stats_was)
        for fd in fds:
            os.close(fd)
    if cnt < 3:
        print(f"{kind} attached but ran {cnt} times for 3 connects")
        return 1
    print(f"ok: {kind} ran {cnt} times for 3 connects")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # one line for the FAIL reason
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
