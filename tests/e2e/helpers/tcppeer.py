#!/usr/bin/env python3
"""TCP peer for the tcpaccept/tcptracer end-to-end tests: `tcppeer.py COMM`.

Like client.py (comm set with prctl first, one JSON request per line on
stdin, one JSON answer per line on stdout) but with explicit connection ids,
so a test decides who sends what and who closes first.

Requests ({"op": ...}); every connection is named by an integer "conn":
  setns    {"path"}                    join a network namespace
  setuid   {"uid"}
  listen   {"family","addr","port"}    -> {"port","lid"}
  block    {"lid"}                     a thread blocks in accept() now; -> {"tid"}
  wait     {"lid"}                     that thread's accept -> conn info
  accept   {"lid"}                     accept now -> conn info
  connect  {"family","addr","port"}    -> conn info
  send     {"conn","n"}                send n bytes
  recv     {"conn","n"}                receive exactly n bytes (or until EOF)
  close    {"conn","abort"}            abort: SO_LINGER 0 first, a reset
  fork_serve {"lid","count"}           accept count connections, fork a worker
                                       (comm COMM-wrk) for each that echoes
                                       nothing, reads until EOF, then closes;
                                       the parent closes its copy at once.
                                       -> {"workers": [{"pid","conn":info}]}
  reap     {}                          wait for every worker; -> {"status": [...]}
  exit     {}
Conn info: {"conn","tid","laddr","lport","raddr","rport"}; raddr and rport
are null for a connection the peer reset before it was accepted.
"""
import ctypes
import errno
import json
import os
import socket
import struct
import sys
import threading
import time

libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    if libc.prctl(15, name[:15].encode(), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


COMM = sys.argv[1] if len(sys.argv) > 1 else "stc-peer"
set_comm(COMM)
listeners = {}
conns = {}
blocked = {}
workers = []


def fam(f):
    return socket.AF_INET6 if int(f) == 6 else socket.AF_INET


def info(s):
    cid = len(conns) + 1
    conns[cid] = s
    la = s.getsockname()
    try:
        ra = s.getpeername()
    except OSError as e:
        if e.errno != errno.ENOTCONN:
            raise
        ra = (None, None)
    return {"conn": cid, "tid": threading.get_native_id(), "laddr": la[0], "lport": la[1],
            "raddr": ra[0], "rport": ra[1]}


def do_fork_serve(req):
    ls = listeners[int(req["lid"])]
    out = []
    for _ in range(int(req["count"])):
        s, _ = ls.accept()
        i = info(s)
        pid = os.fork()
        if pid == 0:
            set_comm(COMM + "-wrk")
            while s.recv(65536):
                pass
            s.close()
            os._exit(0)
        s.close()
        workers.append(pid)
        out.append({"pid": pid, "conn": i})
    return {"workers": out}


def handle(req):
    op = req["op"]
    if op == "setns":
        fd = os.open(req["path"], os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        return {}
    if op == "setuid":
        os.setgroups([])
        os.setgid(int(req["uid"]))
        os.setuid(int(req["uid"]))
        return {}
    if op == "listen":
        s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((req["addr"], int(req.get("port", 0))))
        s.listen(int(req.get("backlog", 16)))
        lid = len(listeners) + 1
        listeners[lid] = s
        return {"port": s.getsockname()[1], "lid": lid}
    if op == "block":
        lid = int(req["lid"])
        res = {}
        ready = threading.Event()

        def run():
            res["tid0"] = threading.get_native_id()
            ready.set()
            try:
                s, _ = listeners[lid].accept()
                res.update(info(s))
            except OSError as e:
                res["error"] = repr(e)
        t = threading.Thread(target=run)
        t.start()
        ready.wait()
        # until the thread sleeps in accept(): its wchan stops being 0/running
        stat = "/proc/self/task/%d/stat" % res["tid0"]
        for _ in range(200):
            with open(stat) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "S":
                    break
            time.sleep(0.01)
        blocked[lid] = (t, res)
        return {"tid": res["tid0"]}
    if op == "wait":
        t, res = blocked.pop(int(req["lid"]))
        t.join()
        if "error" in res:
            raise RuntimeError(res["error"])
        return res
    if op == "accept":
        s, _ = listeners[int(req["lid"])].accept()
        return info(s)
    if op == "connect":
        s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
        s.connect((req["addr"], int(req["port"])))
        return info(s)
    if op == "send":
        conns[int(req["conn"])].sendall(b"s" * int(req["n"]))
        return {}
    if op == "recv":
        s, want, got = conns[int(req["conn"])], int(req["n"]), 0
        while got < want:
            b = s.recv(want - got)
            if not b:
                break
            got += len(b)
        return {"got": got}
    if op == "close":
        s = conns[int(req["conn"])]
        if req.get("abort"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return {}
    if op == "fork_serve":
        return do_fork_serve(req)
    if op == "reap":
        return {"status": [os.waitpid(p, 0)[1] for p in workers]}
    if op == "exit":
        return None
    raise RuntimeError("unknown op " + op)


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            res = handle(json.loads(line))
            if res is None:
                break
            res["ok"] = True
        except Exception as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
