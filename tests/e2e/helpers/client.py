#!/usr/bin/env python3
"""Test client/server process for the socktrace end-to-end tests.

Started by e2elib.Client as `python3 client.py COMM`.  It sets its comm with
prctl(PR_SET_NAME) before doing anything else, then reads one JSON request per
line on stdin and answers one JSON object per line on stdout.  Every socket it
makes stays open until a "close" request or exit, so the runner controls what
the traced process does and when.

Requests ({"op": ...}):
  setns      {"path"}                       join a network namespace
  setuid     {"uid"}                        setgid+setuid (drops root)
  listen     {"family","addr","port"}       TCP listener; accepted sockets are held
  connect    {"family","addr","port","nonblock","timeout","thread","close"}
  info       {}                             pid, uid, netns inode
  close      {}                             close every socket
  exit       {}
Answers: {"ok": true, ...} or {"ok": false, "error": "..."}.
"""
import ctypes
import errno
import json
import os
import select
import socket
import sys
import threading

PR_SET_NAME = 15
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    if isinstance(name, str):
        name = name.encode()
    if libc.prctl(PR_SET_NAME, name, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


COMM = sys.argv[1] if len(sys.argv) > 1 else "stc-client"
if COMM.startswith("hex:"):    # raw bytes, for escaping tests
    COMM = bytes.fromhex(COMM[4:])
set_comm(COMM)

socks = []
lock = threading.Lock()


def fam(f):
    return socket.AF_INET6 if int(f) == 6 else socket.AF_INET


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else None


def sockname(s):
    try:
        n = s.getsockname()
        return n[0], n[1]
    except OSError:
        return None, None


def do_connect(req):
    """Connect; report the source address/port as early as it can be read."""
    s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
    with lock:
        socks.append(s)
    addr = (req["addr"], int(req["port"]))
    timeout = float(req.get("timeout", 60))
    res = {"ok": True, "tid": threading.get_native_id(), "pid": os.getpid()}
    if req.get("nonblock"):
        s.setblocking(False)
        rc = s.connect_ex(addr)
        res["saddr"], res["sport"] = sockname(s)
        res["immediate"] = errname(rc)
        if rc == errno.EINPROGRESS:
            if req.get("close"):
                # closed before the handshake finished
                s.close()
                res["errno"] = None
                res["closed"] = True
                return res
            r = select.select([], [s], [], timeout)
            if not r[1]:
                res["errno"] = "PENDING"
            else:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                res["errno"] = errname(err)
        else:
            res["errno"] = errname(rc)
    else:
        s.settimeout(None)
        try:
            s.connect(addr)
            res["errno"] = None
        except OSError as e:
            res["errno"] = errname(e.errno)
        res["saddr"], res["sport"] = sockname(s)
    if req.get("close"):
        s.close()
    return res


def handle(req):
    op = req["op"]
    if op == "setns":
        fd = os.open(req["path"], os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns " + req["path"])
        finally:
            os.close(fd)
        return {"ok": True}
    if op == "setuid":
        uid = int(req["uid"])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        return {"ok": True}
    if op == "listen":
        s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((req.get("addr", "127.0.0.1"), int(req.get("port", 0))))
        s.listen(128)
        with lock:
            socks.append(s)

        def acceptor():
            while True:
                try:
                    c, _ = s.accept()
                except OSError:
                    return
                with lock:
                    socks.append(c)

        threading.Thread(target=acceptor, daemon=True).start()
        return {"ok": True, "port": s.getsockname()[1]}
    if op == "connect":
        if req.get("thread"):
            out = {}

            def run():
                set_comm(COMM)
                try:
                    out.update(do_connect(req))
                except Exception as e:  # reported to the runner
                    out.update({"ok": False, "error": repr(e)})

            t = threading.Thread(target=run)
            t.start()
            t.join()
            return out
        return do_connect(req)
    if op == "info":
        return {"ok": True, "pid": os.getpid(), "uid": os.getuid(),
                "netns": os.stat("/proc/self/ns/net").st_ino}
    if op == "close":
        with lock:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
            socks.clear()
        return {"ok": True}
    if op == "exit":
        return None
    return {"ok": False, "error": "unknown op " + op}


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            res = handle(req)
        except Exception as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        if res is None:
            break
        out.write(json.dumps(res) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
