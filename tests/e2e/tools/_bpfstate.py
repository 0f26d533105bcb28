"""What a running tool holds in the kernel, read from /proc/PID/fdinfo and
bpftool: its maps' entries and which of its programs are attached. Debian's
bpftool lists no owner PIDs, so the tool's own file descriptors lead."""
import json
import os
import platform
import subprocess

from e2elib import READY_RE, check


def _fdinfos(pid, target):
    """The fdinfo fields ({name: value}) of pid's fds that link to
    anon_inode:`target`."""
    infos = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:" + target:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                infos.append({k.strip(): v.strip() for k, v in
                              (l.split(":", 1) for l in f if ":" in l)})
        except FileNotFoundError:
            continue
    return infos


def _fd_ids(pid, target, key):
    """`key` ids from the fdinfo of pid's fds that link to anon_inode:`target`."""
    return [i[key] for i in _fdinfos(pid, target) if key in i]


def _bpftool(*args):
    return json.loads(subprocess.check_output(["bpftool", "-j"] + list(args)))


_maps = {}   # (pid, name) -> the map's `bpftool map show` entry


def _map(pid, name):
    """pid's BPF map `name` (the kernel keeps 15 characters), as `bpftool map
    show` lists it. One bpftool for all maps, and then kept for (pid, name)
    while pid holds that map: each bpftool takes a second or more in the
    guests of tests/vm, and a case may read a map many times."""
    ids = set(_fd_ids(pid, "bpf-map", "map_id"))
    m = _maps.get((pid, name))
    if m is None or str(m["id"]) not in ids:   # not yet, or a new run's pid
        found = [m for m in _bpftool("map", "show")
                 if str(m["id"]) in ids and m.get("name") == name[:15]]
        check(len(found) == 1, "map %r: %d of pid %d's maps have that name" % (
            name, len(found), pid))
        m = _maps[(pid, name)] = found[0]
    return m


def map_entries(pid, name):
    """The entries of pid's BPF map `name`."""
    return _bpftool("map", "dump", "id", str(_map(pid, name)["id"]))


def map_put_u64(pid, name, key):
    """Puts an entry of zeros at 64-bit key `key` in pid's BPF map `name`."""
    m = _map(pid, name)
    subprocess.check_call(["bpftool", "map", "update", "id", str(m["id"]), "key", "hex"] +
                          ["%02x" % b for b in key.to_bytes(8, "little")] +
                          ["value", "hex"] + ["00"] * m["bytes_value"])


def map_keys_int(pid, name):
    """The keys of pid's BPF map `name` whose keys are numbers (little-endian)."""
    def key(e):
        f = e.get("formatted")
        if f is not None:
            return int(f["key"])
        return int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little")
    return {key(e) for e in map_entries(pid, name)}


def attached_programs(pid):
    """Names of pid's programs that a link of pid attaches (whole from BTF,
    or the kernel's first 15 characters without it)."""
    return sorted(_bpftool("prog", "show", "id", i)["name"]
                  for i in _fd_ids(pid, "bpf_link", "prog_id"))


def attach_order(pid):
    """Names of pid's programs that a link of pid attaches, in the order the
    links were made (link ids grow)."""
    links = sorted((int(i["link_id"]), i["prog_id"]) for i in _fdinfos(pid, "bpf_link")
                   if "link_id" in i and "prog_id" in i)
    return [_bpftool("prog", "show", "id", p)["name"] for _, p in links]


# accept() and accept4(); arm64 has accept4 alone
ACCEPT_NRS = {"x86_64": (43, 288), "aarch64": (242,)}
CATCH_UP = "tp_sys_exit_acc"    # tp_sys_exit_accept and _accept4, whole or cut


def threads_in_accept():
    """TIDs of the threads now blocked in accept() or accept4()."""
    nrs, found = ACCEPT_NRS[platform.machine()], []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            tids = os.listdir("/proc/%s/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%s/task/%s/syscall" % (pid, tid)) as f:
                    first = f.read().split()[0]
            except (OSError, IndexError):
                continue
            if first.isdigit() and int(first) in nrs:
                found.append(int(tid))
    return found


def start_unblocked(ctx, args):
    """Starts the tool with none of the case's threads blocked in accept(),
    and checks its catch-up programs against the threads that are; returns
    the run, with run.seen_unused: whether the function side must leave
    accept_seen alone (no syscall side reads it, or there is no function
    side)."""
    blocked = threads_in_accept()
    run = ctx.start_tool(args)
    check_catch_up(run, blocked and "threads %s" % blocked)
    run.seen_unused = not blocked or READY_RE.match(run.ready_line).group("backend") == "tracepoint"
    return run


def check_catch_up(run, blocked):
    """The sys_exit_accept* programs are attached on tracepoints, where they
    are the accept hook, and on fentry and kprobes only when a thread was
    blocked in accept() at the start: fexit and kretprobes miss that call,
    and a syscall tracepoint costs every syscall on the machine."""
    backend = READY_RE.match(run.ready_line).group("backend")
    check("+" not in backend, "mixed backends, cannot tell the accept hook's: %r" %
          run.ready_line)
    names = attached_programs(run.p.pid)
    got = len([n for n in names if n.startswith(CATCH_UP)])
    want = 2 if backend == "tracepoint" or blocked else 0
    check(got == want,
          "backend %s, %s blocked in accept at the start: %d sys_exit_accept* programs "
          "attached, expected %d (attached: %s)" % (
              backend, blocked or "no thread", got, want, names))


def add_unblocked_case(suite):
    """syscall_hooks_unblocked, for the tools that trace accepts."""
    @suite.case("syscall_hooks_unblocked", matrix=True)
    def syscall_hooks_unblocked(ctx, mode):
        """With no thread blocked in accept() at the start, fentry and kprobes
        leave sys_exit_accept* unattached, and the events are still printed;
        accept_seen, kept for that syscall side alone, stays empty."""
        a = ctx.suite.Actor(ctx, "cli", ctx.netns())
        run = start_unblocked(ctx, ctx.mode_args())
        exp = a.act()
        run.wait_comm(ctx.prefix + "-", len(exp))
        seen = map_entries(run.p.pid, "accept_seen") if run.seen_unused else []
        out = run.finish()
        ctx.check_events(out, ctx.suite.header(), exp)
        check(not seen, "accept_seen should be empty with no syscall side to read it: %r"
              % [e.get("formatted", e) for e in seen])
