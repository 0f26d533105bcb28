"""What the running kernel offers, asked independently of the tools.

The suite must describe the kernel it runs on, not the machine it was written
on: `auto` has to choose the best backend this kernel offers, and a forced
backend has to be refused only where it is really absent. The tools have their
own probe (common/probe.c); this is a second opinion, made the way a kernel
developer would check by hand, so that a wrong answer from the tools' probe
fails a test instead of being repeated by it:

  fentry      load an empty fexit program on tcp_v4_connect (its BTF id read
              from /sys/kernel/btf/vmlinux here) and attach it: a kernel may
              load and verify one and still refuse to attach it (arm64 6.1
              has no ftrace direct calls: -524);
  kprobe      create a kprobe on tcp_v4_connect through the kprobe PMU and put
              an empty kprobe program on it;
  tracepoint  put an empty tracepoint program on syscalls/sys_exit_connect,
              mounting tracefs privately if nothing has it mounted.

python3 stdlib only (ctypes), x86_64 and aarch64.
"""
import ctypes
import errno
import fcntl
import os
import platform
import struct
import subprocess
import tempfile

BACKENDS = ("fentry", "kprobe", "tracepoint")   # best first
PROBE_FUNC = "tcp_v4_connect"
PROBE_TP = "syscalls/sys_exit_connect"
BTF_VMLINUX = "/sys/kernel/btf/vmlinux"

# syscall numbers: (bpf, perf_event_open)
NR = {"x86_64": (321, 298), "aarch64": (280, 241)}

BPF_PROG_LOAD, BPF_OBJ_GET_INFO_BY_FD, BPF_RAW_TRACEPOINT_OPEN = 5, 15, 17
PROG_KPROBE, PROG_TRACEPOINT, PROG_TRACING = 2, 5, 26
PROG_NAMES = {PROG_KPROBE: "kprobe", PROG_TRACEPOINT: "tracepoint", PROG_TRACING: "fexit"}
BPF_TRACE_FEXIT = 25
PERF_TYPE_TRACEPOINT = 2
PERF_FLAG_FD_CLOEXEC = 8
PERF_EVENT_IOC_SET_BPF = 0x40042408
ENOTSUPP = 524   # the kernel's own, not in errno: no trampoline here

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class ProgLoad(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", ctypes.c_uint32), ("expected_attach_type", ctypes.c_uint32),
                ("prog_btf_fd", ctypes.c_uint32), ("func_info_rec_size", ctypes.c_uint32),
                ("func_info", ctypes.c_uint64), ("func_info_cnt", ctypes.c_uint32),
                ("line_info_rec_size", ctypes.c_uint32), ("line_info", ctypes.c_uint64),
                ("line_info_cnt", ctypes.c_uint32), ("attach_btf_id", ctypes.c_uint32),
                ("attach_prog_fd", ctypes.c_uint32)]


class RawTpOpen(ctypes.Structure):
    _fields_ = [("name", ctypes.c_uint64), ("prog_fd", ctypes.c_uint32),
                ("pad", ctypes.c_uint32)]


class PerfAttr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32),
                ("config", ctypes.c_uint64), ("sample_period", ctypes.c_uint64),
                ("sample_type", ctypes.c_uint64), ("read_format", ctypes.c_uint64),
                ("flags", ctypes.c_uint64), ("wakeup_events", ctypes.c_uint32),
                ("bp_type", ctypes.c_uint32), ("config1", ctypes.c_uint64),
                ("config2", ctypes.c_uint64), ("pad", ctypes.c_uint8 * 64)]


class Unavailable(Exception):
    pass


def _nr():
    try:
        return NR[platform.machine()]
    except KeyError:
        raise Unavailable("no syscall numbers for %s in tests/e2e/kernel.py" % platform.machine())


def _errtext(e):
    return "ENOTSUPP (524)" if e == ENOTSUPP else "%s (%s)" % (
        errno.errorcode.get(e, "E?"), os.strerror(e))


def _syscall(nr, *args):
    r = _libc.syscall(nr, *args)
    if r < 0:
        return -ctypes.get_errno()
    return r


def _load(prog_type, attach_type=0, btf_id=0):
    """An empty program (r0 = 0; exit): its fd, or raise Unavailable."""
    insns = (ctypes.c_uint64 * 2)(0xb7, 0x95)   # BPF_MOV64_IMM(r0, 0); BPF_EXIT
    lic = ctypes.create_string_buffer(b"GPL")
    attr = ProgLoad(prog_type=prog_type, insn_cnt=2, insns=ctypes.addressof(insns),
                    license=ctypes.addressof(lic), expected_attach_type=attach_type,
                    attach_btf_id=btf_id)
    fd = _syscall(_nr()[0], BPF_PROG_LOAD, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd < 0:
        raise Unavailable("cannot load an empty %s program: %s" % (
            PROG_NAMES[prog_type], _errtext(-fd)))
    return fd


def btf_func_id(name, path=BTF_VMLINUX):
    """The BTF id of FUNC `name` in the kernel's BTF, or raise Unavailable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Unavailable("the kernel has no BTF (%s: %s)" % (path, e.strerror))
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, _str_len = \
        struct.unpack_from("<HBBIIIII", data, 0)
    if magic != 0xeb9f:
        raise Unavailable("%s is not little-endian BTF" % path)
    strs = hdr_len + str_off
    want = data.find(b"\0" + name.encode() + b"\0", strs)
    if want < 0:
        raise Unavailable("%s is not in the kernel's BTF" % name)
    want = want + 1 - strs
    # the bytes each kind carries after its 12-byte header (per vlen, or fixed)
    per_vlen = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}
    fixed = {1: 4, 3: 12, 14: 4, 17: 4}
    off, end, tid = hdr_len + type_off, hdr_len + type_off + type_len, 1
    while off < end:
        name_off, info = struct.unpack_from("<II", data, off)
        kind, vlen = (info >> 24) & 0x1f, info & 0xffff
        if kind == 12 and name_off == want:
            return tid
        off += 12 + fixed.get(kind, 0) + per_vlen.get(kind, 0) * vlen
        tid += 1
    raise Unavailable("%s is in the kernel's BTF strings but not a FUNC" % name)


def attach_fentry():
    """An empty fexit program attached on PROBE_FUNC: [prog fd, link fd]."""
    fd = _load(PROG_TRACING, BPF_TRACE_FEXIT, btf_func_id(PROBE_FUNC))
    attr = RawTpOpen(name=0, prog_fd=fd)
    link = _syscall(_nr()[0], BPF_RAW_TRACEPOINT_OPEN, ctypes.byref(attr), ctypes.sizeof(attr))
    if link < 0:
        os.close(fd)
        raise Unavailable("fexit on %s loads but cannot attach: %s" % (
            PROBE_FUNC, _errtext(-link)))
    return [fd, link]


def _perf_attach(attr, prog_type, what):
    """perf_event_open(attr) with an empty program on it: [prog fd, event fd]."""
    ev = _syscall(_nr()[1], ctypes.byref(attr), -1, 0, -1, PERF_FLAG_FD_CLOEXEC)
    if ev < 0:
        raise Unavailable("cannot create %s: %s" % (what, _errtext(-ev)))
    try:
        prog = _load(prog_type)
    except Unavailable:
        os.close(ev)
        raise
    try:
        fcntl.ioctl(ev, PERF_EVENT_IOC_SET_BPF, prog)
    except OSError as e:
        os.close(prog)
        os.close(ev)
        raise Unavailable("cannot attach a program to %s: %s" % (what, _errtext(e.errno)))
    return [prog, ev]


def attach_kprobe():
    """An empty kprobe program on PROBE_FUNC: [prog fd, event fd]."""
    try:
        with open("/sys/bus/event_source/devices/kprobe/type") as f:
            ptype = int(f.read())
    except OSError:
        raise Unavailable("no kprobe PMU (/sys/bus/event_source/devices/kprobe: "
                          "CONFIG_KPROBES off?)")
    fn = ctypes.create_string_buffer(PROBE_FUNC.encode())
    attr = PerfAttr(type=ptype, size=ctypes.sizeof(PerfAttr), config1=ctypes.addressof(fn),
                    sample_period=1, wakeup_events=1)
    return _perf_attach(attr, PROG_KPROBE, "a kprobe on %s" % PROBE_FUNC)


def _tracepoint_id(name):
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        try:
            with open(os.path.join(d, "events", name, "id")) as f:
                return int(f.read())
        except OSError:
            pass
    # nothing has tracefs mounted: look through a private mount of our own
    mp = tempfile.mkdtemp(prefix="stc-tracefs-")
    try:
        r = subprocess.run(["mount", "-t", "tracefs", "tracefs", mp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise Unavailable("no tracefs: %s" % r.stderr.strip())
        try:
            with open(os.path.join(mp, "events", name, "id")) as f:
                return int(f.read())
        except OSError as e:
            raise Unavailable("no tracepoint %s: %s" % (name, e.strerror))
        finally:
            subprocess.run(["umount", mp])
    finally:
        os.rmdir(mp)


def attach_tracepoint():
    """An empty tracepoint program on PROBE_TP: [prog fd, event fd]."""
    attr = PerfAttr(type=PERF_TYPE_TRACEPOINT, size=ctypes.sizeof(PerfAttr),
                    config=_tracepoint_id(PROBE_TP), sample_period=1, wakeup_events=1)
    return _perf_attach(attr, PROG_TRACEPOINT, "tracepoint %s" % PROBE_TP)


ATTACH = {"fentry": attach_fentry, "kprobe": attach_kprobe, "tracepoint": attach_tracepoint}


def prog_id(fd):
    """The kernel's id of the program behind fd (bpf_prog_info.id)."""
    info = (ctypes.c_uint32 * 64)()
    attr = (ctypes.c_uint32 * 4)(fd, ctypes.sizeof(info), 0, 0)
    attr_p = ctypes.cast(attr, ctypes.c_void_p).value
    ctypes.c_uint64.from_address(attr_p + 8).value = ctypes.addressof(info)
    r = _syscall(_nr()[0], BPF_OBJ_GET_INFO_BY_FD, ctypes.c_void_p(attr_p), 16)
    if r < 0:
        raise OSError(-r, "BPF_OBJ_GET_INFO_BY_FD: %s" % os.strerror(-r))
    return info[1]


def offered():
    """{backend: None if offered, else why not}, for every backend."""
    out = {}
    for b in BACKENDS:
        try:
            for fd in ATTACH[b]():
                os.close(fd)
            out[b] = None
        except Unavailable as e:
            out[b] = str(e)
    return out


def best(offer):
    """What `auto` must choose: the best backend offered, or None."""
    for b in BACKENDS:
        if offer[b] is None:
            return b
    return None


if __name__ == "__main__":
    o = offered()
    for b in BACKENDS:
        print("%-10s %s" % (b, "offered" if o[b] is None else "not offered: " + o[b]))
    print("auto       %s" % (best(o) or "nothing"))
