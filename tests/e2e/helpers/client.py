#!/usr/bin/env python3
"""The test process of the socktrace end-to-end tests: `client.py COMM`.

Started by e2elib.Client (in a forked child of the runner).  It sets its comm
with prctl(PR_SET_NAME) before anything else ("hex:..." for raw bytes), then
reads one JSON request per line on stdin and answers one JSON object per line
on stdout: {"ok": true, ...} or {"ok": false, "error": "..."}.  Every socket it
makes is named by an integer "sid" and stays open until a "close" request or
exit, so the runner decides what the traced process does and when.

Process:
  setns      {"path"}                     join a network namespace
  setuid     {"uid"}                      setgroups([]), setgid, setuid: drops root
  exit       {}
TCP (conn: {"sid","tid","laddr","lport","raddr","rport"}; raddr and rport are
null for a socket with no peer, e.g. one reset before it was accepted):
  serve      {"family","addr"}            listener whose connections a thread
                                          accepts and holds -> {"port","sid"}
  listen     {"family","addr","backlog"}  listener the runner accepts on -> {"port","sid"}
  accept     {"sid"}                      accept one now -> conn
  block      {"sid"}                      a thread blocks in accept() now -> {"tid"}
  wait       {"sid"}                      that thread's accept -> conn (or udp_block's send)
  connect    {"family","addr","port","nonblock","timeout","thread","close","to_self"}
             -> conn plus "pid" and "errno" (null: connected; "PENDING": still
             connecting at the timeout), "immediate" (nonblock: connect()'s own
             errno), "closed" (close: closed while connecting); the source
             address is read as early as it can be; to_self: to its own address
             (bound to addr, port 0): a simultaneous open with itself
  disconnect {"sid"}                      connect(AF_UNSPEC) -> {"errno"}
  shutdown   {"sid"}                      shutdown(SHUT_WR): the FIN
  send       {"sid","n"}                  send n bytes
  recv       {"sid","n"}                  receive n bytes or until EOF -> {"got"}
  close      {"sid","abort"}              abort: SO_LINGER 0 first, a reset
  accept_many {"sid","count","spin"}    a thread accepts count connections and
                                          closes each; spin: polling the listener
                                          without blocking (at once as each is
                                          queued, while its handshake may still be
                                          ending); wait {"sid"} -> {"accepted"}
  connect_many {"family","addr","port","count"}  count connects in a row, each
                                          closed once connected -> {"lports"}
  fork_serve {"sid","count"}              accept count connections, fork a worker
                                          (comm COMM-wrk) for each that reads until
                                          EOF and closes; the parent closes its copy
                                          at once -> {"workers": [{"pid","conn"}]}
  reap       {}                           wait for every worker -> {"status": [...]}
UDP:
  udp_socket {"family","bind"?}           -> {"sid","port"} (port: bound ones only)
  udp_connect {"sid","addr","port"}       -> {"laddr","lport"}
  udp_send   {"sid","how","dests":[[addr,port]...]}
             how: sendto (one call per dest), sendmsg (one per dest), sendmmsg
             (one call for all) -> {"laddr","lport","sent"}
  udp_block  {"sid","size","fill":[addr,port],"dest":[addr,port]}
             SO_SNDBUF at its least, datagrams of "size" bytes to fill until
             the buffer is full (a qdisc must hold them), then a thread that
             sleeps sending "size" bytes to dest -> {"tid"}; wait {"sid"}
             -> {"laddr","lport"} once the qdisc lets go
Unix (paths are hex strings of the raw bytes; abstract names start with 00):
  unix_listen {"type","path"}             bind+listen (bind only for dgram) -> {"sid"}
  unix_connect {"type","path","bind"?}    -> {"sid"}
  unix_accept {"sid"}                     accept one queued connection
"""
import ctypes
import errno
import json
import os
import select
import socket
import struct
import sys
import threading
import time

PR_SET_NAME = 15
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    if isinstance(name, str):
        name = name.encode()
    if libc.prctl(PR_SET_NAME, name[:15], 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


COMM = sys.argv[1] if len(sys.argv) > 1 else "stc-client"
if COMM.startswith("hex:"):    # raw bytes, for escaping tests
    COMM = bytes.fromhex(COMM[4:])
set_comm(COMM)

socks = {}
lock = threading.Lock()
blocked = {}
workers = []


def keep(s):
    with lock:
        sid = len(socks) + 1
        socks[sid] = s
    return sid


def sock(req):
    return socks[int(req["sid"])]


def fam(f):
    return socket.AF_INET6 if int(f) == 6 else socket.AF_INET


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else None


def names(s):
    """(laddr, lport, raddr, rport) of s, None where there is none (yet)."""
    try:
        la = s.getsockname()[:2]
    except OSError:
        la = (None, None)
    try:
        ra = s.getpeername()[:2]
    except OSError as e:
        if e.errno not in (errno.ENOTCONN, errno.EBADF):
            raise
        ra = (None, None)
    return la + ra


def conn(s, sid=None):
    if s.family == socket.AF_UNIX:      # no addresses, no ports
        return {"sid": sid or keep(s), "tid": threading.get_native_id()}
    la, lp, ra, rp = names(s)
    return {"sid": sid or keep(s), "tid": threading.get_native_id(), "laddr": la,
            "lport": lp, "raddr": ra, "rport": rp}


# ----------------------------------------------------------------------------
# TCP

def listener(req):
    s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((req["addr"], int(req.get("port", 0))))
    s.listen(int(req.get("backlog", 128)))
    return s


def listen(req):
    s = listener(req)
    return {"port": s.getsockname()[1], "sid": keep(s)}


def serve(req):
    s = listener(req)
    sid = keep(s)

    def acceptor():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            keep(c)

    threading.Thread(target=acceptor, daemon=True).start()
    return {"port": s.getsockname()[1], "sid": sid}


def sleeper(sid, call):
    """A thread that runs call() (its result: a dict) and sleeps in it by the
    time this returns; wait() takes its result."""
    res, ready = {}, threading.Event()

    def run():
        res["tid0"] = threading.get_native_id()
        ready.set()
        try:
            res.update(call())
        except OSError as e:
            res["error"] = repr(e)
    t = threading.Thread(target=run)
    t.start()
    ready.wait()
    stat = "/proc/self/task/%d/stat" % res["tid0"]
    for _ in range(200):
        try:
            with open(stat) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "S":
                    break
        except (FileNotFoundError, ProcessLookupError):
            break       # it returned already (or is ending): wait() has its result
        time.sleep(0.01)
    blocked.setdefault(sid, []).append((t, res))
    return {"tid": res["tid0"]}


def block(req):
    """A thread that sleeps in accept() by the time this answers."""
    ls = sock(req)
    return sleeper(int(req["sid"]), lambda: conn(ls.accept()[0]))


def wait(req):
    """What the thread block() or udp_block() left sleeping first returned."""
    t, res = blocked[int(req["sid"])].pop(0)
    t.join()
    if "error" in res:
        raise RuntimeError(res["error"])
    del res["tid0"]
    return res


def connect(req):
    s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
    sid = keep(s)
    addr = (req["addr"], int(req["port"]))
    if req.get("to_self"):
        s.bind((req["addr"], 0))
        addr = s.getsockname()[:2]
    res = {"pid": os.getpid()}
    if req.get("nonblock"):
        s.setblocking(False)
        rc = s.connect_ex(addr)
        res.update(conn(s, sid))
        res["immediate"] = errname(rc)
        if rc != errno.EINPROGRESS:
            res["errno"] = errname(rc)
        elif req.get("close"):
            s.close()             # closed before the handshake finished
            res["errno"], res["closed"] = None, True
            return res
        elif not select.select([], [s], [], float(req.get("timeout", 60)))[1]:
            res["errno"] = "PENDING"
        else:
            res["errno"] = errname(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        res["raddr"], res["rport"] = names(s)[2:]
    else:
        try:
            s.connect(addr)
            res["errno"] = None
        except OSError as e:
            res["errno"] = errname(e.errno)
        res.update(conn(s, sid))
    if req.get("close"):
        s.close()
    return res


def disconnect(req):
    """connect(AF_UNSPEC) on conn "sid": the kernel's disconnect (for TCP
    tcp_disconnect(), which takes a socket still connecting to CLOSE)."""
    sa = (ctypes.c_ubyte * 16)()    # struct sockaddr, sa_family AF_UNSPEC (0)
    rc = libc.connect(sock(req).fileno(), sa, len(sa))
    return {"errno": None if rc == 0 else errname(ctypes.get_errno())}


def connect_block(req):
    """A blocking connect() to "addr":"port", which never answers, that
    gives up after one SYN retransmit (TCP_SYNCNT 1: ETIMEDOUT in about 3 s),
    in a thread that sleeps in it by the time this answers; wait() with the
    returned "sid" takes {"errno"}."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
    sid = keep(s)
    res = sleeper(sid, lambda: {"errno": errname(s.connect_ex((req["addr"], int(req["port"]))))})
    res["sid"] = sid
    return res


def connect_in_thread(req):
    out = {}

    def run():
        set_comm(COMM)
        try:
            out.update(connect(req))
        except Exception as e:  # reported to the runner
            out["error"] = repr(e)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


def recv(req):
    s, want, got = sock(req), int(req["n"]), 0
    while got < want:
        b = s.recv(want - got)
        if not b:
            break
        got += len(b)
    return {"got": got}


def close(req):
    s = sock(req)
    if req.get("abort"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return {}


def accept_many(req):
    ls, want = sock(req), int(req["count"])
    res = {"accepted": 0, "tid0": None}     # wait() takes tid0 off

    def run():
        ls.setblocking(not req.get("spin"))
        try:
            while res["accepted"] < want:
                try:
                    s, _ = ls.accept()
                except BlockingIOError:
                    continue
                s.close()
                res["accepted"] += 1
        except OSError as e:
            res["error"] = repr(e)
        ls.setblocking(True)
    t = threading.Thread(target=run)
    t.start()
    blocked.setdefault(int(req["sid"]), []).append((t, res))
    return {"tid": t.native_id}


def connect_many(req):
    lports = []
    for _ in range(int(req["count"])):
        s = socket.socket(fam(req["family"]), socket.SOCK_STREAM)
        s.connect((req["addr"], int(req["port"])))
        lports.append(s.getsockname()[1])
        s.close()
    return {"lports": lports}


def fork_serve(req):
    ls, out = sock(req), []
    wcomm = (COMM if isinstance(COMM, bytes) else COMM.encode()) + b"-wrk"
    for _ in range(int(req["count"])):
        s, _ = ls.accept()
        i = conn(s)
        pid = os.fork()
        if pid == 0:
            set_comm(wcomm)
            while s.recv(65536):
                pass
            s.close()
            os._exit(0)
        s.close()
        workers.append(pid)
        out.append({"pid": pid, "conn": i})
    return {"workers": out}


# ----------------------------------------------------------------------------
# UDP

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]


def sockaddr(family, addr, port):
    """Raw struct sockaddr_in/_in6 bytes."""
    if family == socket.AF_INET:
        return (socket.AF_INET.to_bytes(2, "little") + port.to_bytes(2, "big") +
                socket.inet_pton(socket.AF_INET, addr) + bytes(8))
    return (socket.AF_INET6.to_bytes(2, "little") + port.to_bytes(2, "big") + bytes(4) +
            socket.inet_pton(socket.AF_INET6, addr) + bytes(4))


def sendmmsg(s, dests):
    n = len(dests)
    names_ = [ctypes.create_string_buffer(sockaddr(s.family, a, int(p))) for a, p in dests]
    data = ctypes.create_string_buffer(b"x")
    iov = iovec(ctypes.cast(data, ctypes.c_void_p), 1)
    vec = (mmsghdr * n)()
    for i in range(n):
        vec[i].hdr.name = ctypes.cast(names_[i], ctypes.c_void_p)
        vec[i].hdr.namelen = len(names_[i].raw)
        vec[i].hdr.iov = ctypes.pointer(iov)
        vec[i].hdr.iovlen = 1
    r = libc.sendmmsg(s.fileno(), vec, n, 0)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def udp_socket(req):
    s = socket.socket(fam(req["family"]), socket.SOCK_DGRAM)
    if req.get("bind"):
        s.bind((req["bind"], 0))
    return {"sid": keep(s), "port": s.getsockname()[1] if req.get("bind") else None}


def udp_connect(req):
    s = sock(req)
    s.connect((req["addr"], int(req["port"])))
    n = s.getsockname()
    return {"laddr": n[0], "lport": n[1]}


def udp_block(req):
    """The smallest send buffer, filled with datagrams of "size" bytes to
    "fill" (which the runner's qdisc holds, and with them the buffer) until
    one would block, then a thread that sleeps sending another to "dest" by
    the time this answers; wait() takes its {"laddr","lport"}."""
    s = sock(req)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
    data = b"x" * int(req["size"])
    for _ in range(8):
        try:
            s.sendto(data, socket.MSG_DONTWAIT, tuple(req["fill"]))
        except BlockingIOError:
            break
    else:
        raise RuntimeError("the send buffer never filled: is a qdisc holding the datagrams?")

    def send():
        s.sendto(data, tuple(req["dest"]))
        n = s.getsockname()
        return {"laddr": n[0], "lport": n[1]}
    return sleeper(int(req["sid"]), send)


def udp_send(req):
    s = sock(req)
    dests = [(a, int(p)) for a, p in req["dests"]]
    sent = 0
    if req["how"] == "sendmmsg":
        sent = sendmmsg(s, dests)
    else:
        for a, p in dests:
            if req["how"] == "sendto":
                s.sendto(b"x", (a, p))
            else:
                s.sendmsg([b"x"], [], 0, (a, p))
            sent += 1
    n = s.getsockname()
    return {"laddr": n[0], "lport": n[1], "sent": sent}


# ----------------------------------------------------------------------------
# Unix

TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
         "seqpacket": socket.SOCK_SEQPACKET}


def unix_listen(req):
    s = socket.socket(socket.AF_UNIX, TYPES[req["type"]])
    s.bind(bytes.fromhex(req["path"]))
    if req["type"] != "dgram":
        s.listen(16)
    return {"sid": keep(s)}


def unix_connect(req):
    s = socket.socket(socket.AF_UNIX, TYPES[req["type"]])
    if req.get("bind"):
        s.bind(bytes.fromhex(req["bind"]))
    s.connect(bytes.fromhex(req["path"]))
    return {"sid": keep(s)}


def unix_accept(req):
    keep(sock(req).accept()[0])
    return {}


# ----------------------------------------------------------------------------

def setns(req):
    fd = os.open(req["path"], os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + req["path"])
    finally:
        os.close(fd)
    return {}


def setuid(req):
    uid = int(req["uid"])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    return {}


OPS = {
    "setns": setns, "setuid": setuid,
    "serve": serve,
    "listen": listen,
    "accept": lambda req: conn(sock(req).accept()[0]),
    "block": block, "wait": wait,
    "connect": lambda req: (connect_in_thread if req.get("thread") else connect)(req),
    "connect_block": connect_block, "disconnect": disconnect,
    "shutdown": lambda req: sock(req).shutdown(socket.SHUT_WR) or {},
    "send": lambda req: sock(req).sendall(b"s" * int(req["n"])) or {},
    "recv": recv, "close": close, "fork_serve": fork_serve,
    "accept_many": accept_many, "connect_many": connect_many,
    "reap": lambda req: {"status": [os.waitpid(p, 0)[1] for p in workers]},
    "udp_socket": udp_socket, "udp_connect": udp_connect, "udp_send": udp_send,
    "udp_block": udp_block,
    "unix_listen": unix_listen, "unix_connect": unix_connect, "unix_accept": unix_accept,
}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req["op"] == "exit":
                break
            if req["op"] not in OPS:
                raise ValueError("unknown op %r" % req["op"])
            res = OPS[req["op"]](req)
            res["ok"] = True
        except Exception as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
