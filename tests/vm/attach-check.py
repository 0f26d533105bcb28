#!/usr/bin/env python3
"""Self-check used by tests/vm/selftest-suite inside a guest: compile a tiny BPF
program with clang, load it with bpftool, attach it (fexit through
BPF_RAW_TRACEPOINT_OPEN, kprobe through perf_event_open + PERF_EVENT_IOC_SET_BPF),
make a TCP connect on 127.0.0.1 and check with bpf_stats that it ran.

usage: attach-check.py fexit|kprobe   (exit 0 and "ok: ..." when it fired)
"""
import ctypes, os, socket, subprocess, sys, tempfile

SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("%s/tcp_v4_connect")
int vmcheck(void *ctx) { return 0; }
"""
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_BPF, NR_PERF_EVENT_OPEN = 321, 298
BPF_OBJ_GET, BPF_RAW_TRACEPOINT_OPEN = 7, 17


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"bpf cmd {cmd}: {os.strerror(e)}")
    return r


class ObjGet(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32), ("file_flags", ctypes.c_uint32)]


class RawTpOpen(ctypes.Structure):
    _fields_ = [("name", ctypes.c_uint64), ("prog_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32)]


class PerfAttr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("config", ctypes.c_uint64),
                ("sample_period", ctypes.c_uint64), ("sample_type", ctypes.c_uint64),
                ("read_format", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("wakeup_events", ctypes.c_uint32), ("bp_type", ctypes.c_uint32),
                ("config1", ctypes.c_uint64), ("config2", ctypes.c_uint64),
                ("pad", ctypes.c_uint8 * 56)]


def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {(p.stderr or p.stdout).strip().splitlines()[-1:]}")
    return p.stdout


def main():
    kind = sys.argv[1]
    sec = {"fexit": "fexit", "kprobe": "kprobe"}[kind]
    tmp = tempfile.mkdtemp()
    src, obj = os.path.join(tmp, "p.c"), os.path.join(tmp, "p.o")
    with open(src, "w") as f:
        f.write(SRC % sec)
    run("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", src, "-o", obj)
    pin = f"/sys/fs/bpf/vmcheck_{kind}_{os.getpid()}"
    run("bpftool", "prog", "load", obj, pin)
    try:
        path = ctypes.create_string_buffer(pin.encode())
        prog_fd = bpf(BPF_OBJ_GET, ObjGet(pathname=ctypes.addressof(path)))
        if kind == "fexit":
            link = bpf(BPF_RAW_TRACEPOINT_OPEN, RawTpOpen(name=0, prog_fd=prog_fd))
        else:
            ptype = int(open("/sys/bus/event_source/devices/kprobe/type").read())
            fn = ctypes.create_string_buffer(b"tcp_v4_connect")
            attr = PerfAttr(type=ptype, size=ctypes.sizeof(PerfAttr), config1=ctypes.addressof(fn),
                            sample_period=1, wakeup_events=1)
            link = libc.syscall(NR_PERF_EVENT_OPEN, ctypes.byref(attr), -1, 0, -1, 8)  # CLOEXEC
            if link < 0:
                e = ctypes.get_errno()
                raise OSError(e, f"perf_event_open(kprobe tcp_v4_connect): {os.strerror(e)}")
            PERF_EVENT_IOC_SET_BPF, PERF_EVENT_IOC_ENABLE = 0x40042408, 0x2400
            import fcntl
            fcntl.ioctl(link, PERF_EVENT_IOC_SET_BPF, prog_fd)
            fcntl.ioctl(link, PERF_EVENT_IOC_ENABLE, 0)
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        for _ in range(3):
            socket.create_connection(srv.getsockname(), timeout=10).close()
            srv.accept()[0].close()
        out = run("bpftool", "prog", "show", "pinned", pin)
        cnt = int(out.split("run_cnt")[1].split()[0]) if "run_cnt" in out else 0
        os.close(link)
        if cnt < 3:
            print(f"{kind} on tcp_v4_connect attached but ran {cnt} times for 3 connects")
            return 1
        print(f"ok: {kind} tcp_v4_connect ran {cnt} times")
        return 0
    finally:
        os.unlink(pin)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # one line for the FAIL reason
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
