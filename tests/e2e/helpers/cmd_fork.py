#!/usr/bin/env python3
"""COMMAND for command-mode tests: `cmd_fork.py PREFIX FIFO FAMILY ADDR PORT`.

The top process forks a middle process, which forks the grandchild and exits
at once (double fork: the grandchild is no longer a child of the top one).
The grandchild waits until the runner writes to FIFO, connects to ADDR:PORT
and prints one JSON line {"role":"grandchild","pid","ppid","sport"} on stdout.
The top process prints {"role":"top","pid"} first and stays alive until the
grandchild has finished, so that the traced command outlives the connect.
Comms: PREFIX-top, PREFIX-mid, PREFIX-gc.
"""
import ctypes
import json
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    libc.prctl(15, name[:15].encode(), 0, 0, 0)


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    prefix, fifo, family, addr, port = sys.argv[1:6]
    set_comm(prefix + "-top")
    say({"role": "top", "pid": os.getpid()})
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        set_comm(prefix + "-mid")
        os.close(r)
        gc = os.fork()
        if gc == 0:
            set_comm(prefix + "-gc")
            code = 0
            try:
                with open(fifo) as f:
                    f.read()
                af = socket.AF_INET6 if family == "6" else socket.AF_INET
                s = socket.socket(af, socket.SOCK_STREAM)
                s.connect((addr, int(port)))
                say({"role": "grandchild", "pid": os.getpid(),
                     "ppid": os.getppid(), "sport": s.getsockname()[1]})
                s.close()
            except Exception as e:
                say({"role": "grandchild", "error": repr(e)})
                code = 1
            os._exit(code)
        os._exit(0)
    os.close(w)
    os.waitpid(mid, 0)
    while os.read(r, 1):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
