#!/usr/bin/env python3
"""client.py plus UDP and AF_UNIX requests, for udpconnect and unixconnect.

Started as `python3 sock_client.py COMM`; same protocol as client.py (one JSON
request per line, one JSON answer per line).  Extra requests:
  udp_server  {"family","addr"}                 bound UDP socket -> {"port"}
  udp_socket  {"family","bind"?}                new UDP socket -> {"sid"}
  udp_connect {"sid","addr","port"}             -> {"saddr","sport"}
  udp_send    {"sid","how","dests":[[addr,port]...]}
              how: sendto (one call per dest), sendmsg (one per dest),
              sendmmsg (one call for all) -> {"saddr","sport","sent"}
  unix_listen {"type","path"}    bind+listen (or bind only for dgram) -> {"sid"}
  unix_connect {"type","path","bind"?}          -> {"sid"}
  unix_accept {"sid"}                           accept one queued connection
Paths are hex strings of the raw bytes (abstract names start with 00).
"""
import ctypes
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client  # noqa: E402  (sets the comm from argv[1])

TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
         "seqpacket": socket.SOCK_SEQPACKET}
byid = {}


def keep(s):
    with client.lock:
        client.socks.append(s)
    byid[len(byid) + 1] = s
    return len(byid)


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
    names = [ctypes.create_string_buffer(sockaddr(s.family, a, int(p)))
             for a, p in dests]
    data = ctypes.create_string_buffer(b"x")
    iov = iovec(ctypes.cast(data, ctypes.c_void_p), 1)
    vec = (mmsghdr * n)()
    for i in range(n):
        vec[i].hdr.name = ctypes.cast(names[i], ctypes.c_void_p)
        vec[i].hdr.namelen = len(names[i].raw)
        vec[i].hdr.iov = ctypes.pointer(iov)
        vec[i].hdr.iovlen = 1
    r = client.libc.sendmmsg(s.fileno(), vec, n, 0)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def udp_send(req):
    s = byid[req["sid"]]
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
    return {"ok": True, "saddr": n[0], "sport": n[1], "sent": sent}


def handle(req):
    op = req["op"]
    if op == "udp_server":
        s = socket.socket(client.fam(req["family"]), socket.SOCK_DGRAM)
        s.bind((req["addr"], 0))
        keep(s)
        return {"ok": True, "port": s.getsockname()[1]}
    if op == "udp_socket":
        s = socket.socket(client.fam(req["family"]), socket.SOCK_DGRAM)
        if req.get("bind"):
            s.bind((req["bind"], 0))
        return {"ok": True, "sid": keep(s)}
    if op == "udp_connect":
        s = byid[req["sid"]]
        s.connect((req["addr"], int(req["port"])))
        n = s.getsockname()
        return {"ok": True, "saddr": n[0], "sport": n[1]}
    if op == "udp_send":
        return udp_send(req)
    if op == "unix_listen":
        s = socket.socket(socket.AF_UNIX, TYPES[req["type"]])
        s.bind(bytes.fromhex(req["path"]))
        if req["type"] != "dgram":
            s.listen(16)
        return {"ok": True, "sid": keep(s)}
    if op == "unix_connect":
        s = socket.socket(socket.AF_UNIX, TYPES[req["type"]])
        if req.get("bind"):
            s.bind(bytes.fromhex(req["bind"]))
        s.connect(bytes.fromhex(req["path"]))
        return {"ok": True, "sid": keep(s)}
    if op == "unix_accept":
        c, _ = byid[req["sid"]].accept()
        keep(c)
        return {"ok": True}
    return orig_handle(req)


orig_handle = client.handle
client.handle = handle

if __name__ == "__main__":
    client.main()
