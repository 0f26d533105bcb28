"""Workload attribution (issue 16), the cases every tool shares: which
cgroup, systemd unit, container or Kubernetes pod an event came from, the
-w column, --container and --unit.

Imported by shared.py, whose @shared cases these are.  Two kinds of real
parts:

- systemd- and Kubernetes-shaped cgroups made by hand under the cgroup2 mount
  (/proc/self/mountinfo; /sys/fs/cgroup/unified on a hybrid host, the guests'
  /sys/fs/cgroup), a test Client moved into them.  Every directory made is
  removed at the end, its processes moved out first, also when a case fails.
- podman containers (runc, cgroupfs manager: /libpod_parent/libpod-<id>) from
  an image imported once per run from a local busybox rootfs (no registry),
  cached by tag.  The traced process in a container is the suite's own
  Client (helpers/client.py), the container's only process (`podman run
  -i`), so every tool's Actor acts in a container exactly as it does on the
  host and the cases assert what the tool printed about that exact
  connection: the image is busybox plus /lib links, and the host's /usr
  (python3) and tests/e2e are bind-mounted read-only.  The container has a
  network namespace of its own with lo only (--network none).  In a guest of
  tests/vm podman's storage is a tmpfs (the root is read-only); where podman
  still cannot run (no podman, no runc: the Debian-root guests), the podman
  cases SKIP saying why.

Every tool shows its events' workload in JSON and -w, and filters by
--container NAME and --unit NAME (its programs call the filter), in cases of
its own; the cases of the user-space code every tool shares (ID prefixes,
containers and units that come later or again, Kubernetes paths, ownership,
escaping, bad input) run once, dealt out over the tools (shared(once=True)).

"A container started after the tool": --container must name a container
that exists when the tool starts, so the case creates it (`podman create`:
its name and id are in podman's records, it has no cgroup yet), starts the
tool, then starts the container: its cgroup appears while the tool runs.
"A unit started after the tool": a unit file in /etc/systemd/system (so the
name is known at start), its cgroup directory made while the tool runs; and
a unit restarted (directory removed and made again, a new cgroup id).
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

from e2elib import (EVENT_TIMEOUT, HERE, Client, Fail, Skip, cgroup2_mount, check, sh,
                    show_lines)
from shared import COLS, NOBODY, shared

WORKLOAD_CGROUPS_MAX = 4096     # ST_MAX_WORKLOAD_CGROUPS, common/event.h

ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
PODMAN = ["podman", "--runtime", "runc"]
IMAGE_LAYOUT = b"socktrace-e2e image 1: busybox, /lib links, /usr and /e2e mounted"
WL_KEYS = ("cgroup_id", "cgroup", "unit", "container_runtime", "container_id",
           "container_name", "container_pid", "pod_uid", "pod_qos")


def wl_header(ctx, **kw):
    """The tool's header with -w: WORKLOAD right after COMM."""
    h = ctx.suite.header(**kw)
    i = h.index("COMM") + 1
    return h[:i] + ["WORKLOAD"] + h[i:]


def wl_args(ctx):
    """The mode's arguments: -j, or -w for the column."""
    return ["-j"] if ctx.mode == "json" else ["-w"]


def wl_check(ctx, out, exp, hdr=None):
    """check_events with the workload column in column mode; JSON strings of
    the workload compared as bytes (surrogateescape), WORKLOAD's \\xNN hex
    digits in either case."""
    def printed(e):
        if ctx.mode == "json":
            for k in WL_KEYS:
                if isinstance(e.get(k), str):
                    e[k] = e[k].encode("utf-8", "surrogateescape")
        elif "workload" in e:
            e["workload"] = re.sub(r"\\x([0-9A-Fa-f]{2})",
                                   lambda m: "\\x" + m.group(1).lower(), e["workload"])
        return e
    return ctx.check_events(out, hdr or (wl_header(ctx) if ctx.mode != "json"
                                         else ctx.suite.header()), exp, normalize=printed)


# ----------------------------------------------------------------------------
# What a workload must look like in the output

class Workload:
    """The expected attribution of one cgroup: JSON's members (bytes for the
    strings) and the column's short form (text as printed, escaped)."""

    def __init__(self, rel, cgroup_id, unit=None, runtime=None, cid=None, name=None,
                 cpid=None, pod_uid=None, pod_qos=None, short=None):
        self.json = {"cgroup_id": cgroup_id, "cgroup": rel, "unit": unit,
                     "container_runtime": runtime, "container_id": cid,
                     "container_name": name, "container_pid": cpid,
                     "pod_uid": pod_uid, "pod_qos": pod_qos}
        for k, v in self.json.items():
            if isinstance(v, str):
                self.json[k] = v.encode()
        self.short = short

    def apply(self, ctx, exp):
        for e in exp:
            if ctx.mode == "json":
                e.update(self.json)
            else:
                e["workload"] = self.short
        return exp


def unit_workload(cg, unit_raw, shown=None):
    """A process in cgroup cg (a CgroupDir) whose last component is unit_raw."""
    return Workload(cg.rel, cg.ino(), unit=unit_raw,
                    short=shown if shown is not None else unit_raw.decode())


# ----------------------------------------------------------------------------
# Cgroups made by hand

def cgroup_root():
    root = cgroup2_mount()
    if root is None:
        raise Skip("no cgroup2 mount (/proc/mounts): workload attribution needs cgroup v2")
    return root


def cgroup_of(pid):
    """A process's cgroup v2 path (the 0:: line of /proc/PID/cgroup), as bytes."""
    with open("/proc/%d/cgroup" % pid, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"0::"):
                return line[3:]
    return None


class CgroupDir:
    """A cgroup v2 directory at path rel (bytes, "/a/b/c") under the cgroup2
    mount, made with every missing parent; ctx's cleanup moves processes out
    to the root and removes what was made, deepest first."""

    def __init__(self, ctx, rel):
        self.ctx = ctx
        self.root = cgroup_root().encode()
        self.rel = rel if isinstance(rel, bytes) else rel.encode()
        self.path = self.root + self.rel
        made = []
        parts = [p for p in self.rel.split(b"/") if p]
        for i in range(len(parts)):
            d = self.root + b"/" + b"/".join(parts[:i + 1])
            try:
                os.mkdir(d)
            except FileExistsError:
                if i == len(parts) - 1:
                    raise RuntimeError("test error: cgroup %r exists already" % d)
                continue
            made.append(d)
            ctx.defer(lambda d=d: remove_cgroup(self.root, d))
        self.made = made

    def ino(self):
        return os.stat(self.path).st_ino

    def add(self, pid):
        with open(self.path + b"/cgroup.procs", "w") as f:
            f.write(str(pid))
        got = cgroup_of(pid)
        check(got == self.rel, "test error: pid %d is in %r, not %r" % (pid, got, self.rel))

    def remove(self):
        """Now: processes out to the root, the directory removed."""
        remove_cgroup(self.root, self.path)
        check(not os.path.exists(self.path), "test error: could not remove %r" % self.path)


def remove_cgroup(root, path):
    for _ in range(100):
        try:
            with open(path + b"/cgroup.procs") as f:
                pids = f.read().split()
            for pid in pids:
                try:
                    with open(root + b"/cgroup.procs", "w") as f:
                        f.write(pid)
                except OSError:
                    pass
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            # EBUSY: a child (another runner's, or not yet removed), or a
            # process still leaving
            time.sleep(0.02)


def unit_cgroup(ctx, name=None, slice_=b"system.slice"):
    """/system.slice/<name>.service, name unique to the case by default."""
    name = name or ("stc-%s.service" % ctx.prefix).encode()
    return CgroupDir(ctx, b"/" + slice_ + b"/" + name), name


# ----------------------------------------------------------------------------
# podman

_image = None   # its tag, or the Skip saying why there is none


def podman_image():
    """The image, imported once per run (and kept, by tag, for later runs)."""
    global _image
    if isinstance(_image, Skip):
        raise _image
    if _image is None:
        try:
            _image = _make_image()
        except Skip as e:
            _image = e
            raise
    return _image


def _make_image():
    for prog in ("podman", "runc"):
        if not shutil.which(prog):
            raise Skip("no %s here (the podman cases run Debian's podman with runc)" % prog)
    bb = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(bb):
        raise Skip("no busybox for the container image (busybox-static)")
    with open(bb, "rb") as f:
        digest = hashlib.sha256(f.read() + IMAGE_LAYOUT).hexdigest()[:16]
    tag = "localhost/socktrace-e2e:bb-" + digest
    guest_storage()
    if sh(["podman", "image", "exists", tag], check_rc=False).returncode != 0:
        top = tempfile.mkdtemp(prefix="stc-e2e-rootfs-")
        try:
            for d in ("bin", "tmp", "proc", "sys", "dev", "etc", "usr", "e2e", "root"):
                os.mkdir(os.path.join(top, d))
            shutil.copy(bb, os.path.join(top, "bin", "busybox"))
            for a in subprocess.run([bb, "--list"], stdout=subprocess.PIPE, text=True,
                                    check=True).stdout.split():
                if a != "busybox":
                    os.symlink("busybox", os.path.join(top, "bin", a))
            # the host's /usr is mounted at /usr: its python3 finds its libraries
            for l in ("lib", "lib64"):
                os.symlink("usr/" + l, os.path.join(top, l))
            tar = subprocess.Popen(["tar", "-C", top, "-c", "."], stdout=subprocess.PIPE)
            r = subprocess.run(["podman", "import", "-", tag], stdin=tar.stdout,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            tar.stdout.close()
            tar.wait()
            if r.returncode != 0:
                raise Skip("podman import failed here: %s" % last_line(r.stderr))
        finally:
            shutil.rmtree(top, ignore_errors=True)
    # can a container run here at all (a guest: read-only root, no cgroup manager...)
    r = sh(PODMAN + ["run", "--rm", "--network", "none"] + ULIMITS + mounts() +
           [tag, "/usr/bin/python3", "-c", "pass"], check_rc=False)
    if r.returncode != 0:
        raise Skip("podman cannot run a container here: %s" % last_line(r.stderr or r.stdout))
    return tag


def guest_storage():
    """In a guest of tests/vm (/run/vmrun) the root is the host's, read-only:
    podman's storage gets a tmpfs of its own there, at its usual place, where
    the tool reads the containers' names.  Never on a host."""
    d = "/var/lib/containers"
    if not os.path.isdir("/run/vmrun") or not os.path.isdir(d) or os.path.ismount(d):
        return
    if not os.statvfs(d).f_flag & os.ST_RDONLY:
        return
    r = sh(["mount", "-t", "tmpfs", "-o", "mode=700", "tmpfs", d], check_rc=False)
    if r.returncode != 0:
        raise Skip("podman's storage %s is read-only in this guest and a tmpfs cannot be "
                   "mounted on it: %s" % (d, last_line(r.stderr)))


def last_line(text):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no message)"


def mounts():
    return ["-v", "/usr:/usr:ro", "-v", HERE + ":/e2e:ro"]


class Container:
    """A podman container whose one process is a test Client
    (helpers/client.py, its stdin and stdout attached), removed at the end
    of the case: `podman run -i` at once, or with created_only `podman
    create -i` (in podman's records, no cgroup yet) and `podman start -ai`
    later.  The Client is the container's init (PID 1 inside): `podman exec`
    cannot serve, its processes land outside the container's root in the
    guests of tests/vm (runc without pivot_root on their initramfs)."""

    def __init__(self, ctx, name, role="ctr", created_only=False):
        self.ctx = ctx
        self.name = name
        self.comm = ctx.comm(role)
        self.argv = (["-i", "--name", name, "--network", "none"] + ULIMITS + mounts() +
                     [podman_image(), "/usr/bin/python3", "/e2e/helpers/client.py", self.comm])
        ctx.defer(self.remove)
        self.id = None
        if created_only:
            r = sh(PODMAN + ["create"] + self.argv, check_rc=False)
            if r.returncode != 0:
                raise RuntimeError("podman create %s failed: %s" % (name, last_line(r.stderr)))
            self.id = r.stdout.strip().splitlines()[-1]

    def start(self):
        """Runs (or starts) the container: its Client, once it answers."""
        if self.id is None:
            cmd = PODMAN + ["run"] + self.argv
        else:
            cmd = PODMAN + ["start", "-ai", self.name]
        cli = ContainerClient(self.ctx, cmd, self.comm)
        r = sh(["podman", "inspect", "--format", "{{.Id}}", self.name])
        self.id = r.stdout.strip()
        check(re.match(r"^[0-9a-f]{64}$", self.id), "test error: podman said id %r" % self.id)
        self.rel = "/libpod_parent/libpod-" + self.id
        return cli

    def remove(self):
        sh(["podman", "rm", "-f", "-t", "0", self.name], check_rc=False)

    def workload(self, cli):
        """What a process of this container (cli) must be attributed to."""
        got = cgroup_of(cli.pid)
        check(got == self.rel.encode(), "test error: the container's process is in cgroup %r, "
              "expected %r (podman's cgroupfs layout)" % (got, self.rel))
        ino = os.stat(cgroup_root() + self.rel).st_ino
        return Workload(self.rel, ino, runtime="podman", cid=self.id, name=self.name,
                        cpid=cli.ns_pid, short=self.name)


class ContainerClient(Client):
    """A Client whose process podman runs in a container: pid is its host
    PID, ns_pid its PID in the container."""

    def __init__(self, ctx, cmd, comm):
        self.comm = comm
        self.ctx = ctx
        self.netns = None
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.pid = self.p.pid   # podman's, until find_comm()
        ctx.defer(self.kill)
        self.call("reap")   # up and answering, its comm set
        self.pid, self.ns_pid = find_comm(comm)

    def fix_tids(self, exp):
        """client.py reports thread ids as the container sees them."""
        for e in exp:
            if e.get("tid") == self.ns_pid:
                e["tid"] = self.pid
        return exp


def find_comm(comm):
    """(host PID, PID in its own namespace) of the one process named comm."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().rstrip("\n") != comm:
                    continue
            with open("/proc/%s/status" % d) as f:
                ns = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        except (OSError, IndexError):
            continue
        found.append((int(d), int(ns[-1])))
    check(len(found) == 1, "test error: %d processes named %r: %r" % (len(found), comm, found))
    return found[0]


def container_actor(ctx, ctr):
    return ctx.suite.Actor(ctx, client=ctr.start())


def ctr_name(ctx, what="c"):
    # podman allows [a-zA-Z0-9][a-zA-Z0-9_.-]*: use the odd ones
    return "%s_W.%s-1" % (ctx.prefix, what)


# ----------------------------------------------------------------------------
# Attribution

# In the kernel matrix for one tool: what the kernel does in a container
# (the PID in its namespace, owner.bpf.h's, and its cgroup) is the same code
# in every tool's programs; every tool runs it on the host, and
# workload_unit checks each tool's cgroups in the matrix.
@shared("workload_container", ("json",), matrix="once")
@shared("workload_container", ("col",), once=True)
def workload_container(ctx, mode):
    """An event inside a podman container: JSON names the cgroup
    /libpod_parent/libpod-<id>, runtime podman, its id, its --name, the PID
    inside it; -w shows the name (one with . _ - and capitals)."""
    ctr = Container(ctx, ctr_name(ctx))
    a = container_actor(ctx, ctr)
    run = ctx.start_tool(wl_args(ctx))
    exp = a.cli.fix_tids(a.act())
    ctr.workload(a.cli).apply(ctx, exp)
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)


def host_and_container(ctx, args, start_later=False):
    """A host actor (own netns) and one in a container act, the host's first;
    the tool, started with args(container) before the container if
    start_later, must print the container's events only."""
    ctr = Container(ctx, ctr_name(ctx), created_only=start_later)
    if not start_later:
        a = container_actor(ctx, ctr)
    host = ctx.suite.Actor(ctx, "host", ctx.netns())
    run = ctx.start_tool(args(ctr) + wl_args(ctx))
    if start_later:
        a = container_actor(ctx, ctr)
    host.act()
    exp = a.cli.fix_tids(a.act())
    ctr.workload(a.cli).apply(ctx, exp)
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)


# Not in the kernel matrix, nor the two below: what the programs do for them
# is what they do for a unit's cgroup (workload_unit_filter_name, per tool,
# and the units started later and restarted are), and the rest is user space.
# A podman case takes half a minute or more under qemu's emulation.
@shared("workload_container_filter_{by}", by=("name",))
@shared("workload_container_filter_{by}", once=True, by=("id_prefix",))
def workload_container_filter(ctx, mode, by):
    """--container NAME or an unambiguous ID prefix (12 digits): the
    container's events, not a host process's doing the same."""
    host_and_container(ctx, lambda c: ["--container", c.name if by == "name" else c.id[:12]])


@shared("workload_container_started_later", once=True)
def workload_container_started_later(ctx, mode):
    """--container NAME of a container created (podman create: in podman's
    records, no cgroup yet) but started only after the tool: traced."""
    host_and_container(ctx, lambda c: ["--container", c.name], start_later=True)


@shared("workload_container_recreated", once=True)
def workload_container_recreated(ctx, mode):
    """--container NAME follows the name: the container is removed and one
    made again under that name (a new id) while the tool runs; the new one's
    events are traced, not a host process's."""
    name = ctr_name(ctx)
    first = Container(ctx, name)
    container_actor(ctx, first)
    old = first.id
    host = ctx.suite.Actor(ctx, "host", ctx.netns())
    run = ctx.start_tool(["--container", name] + wl_args(ctx))
    first.remove()
    ctr = Container(ctx, name, role="ctr2")
    a = container_actor(ctx, ctr)
    check(ctr.id != old, "test error: the new container has the old one's id")
    host.act()
    exp = a.cli.fix_tids(a.act())
    ctr.workload(a.cli).apply(ctx, exp)
    run.wait_comm(ctx.prefix + "-", len(exp))
    wl_check(ctx, run.finish(), exp)


@shared("workload_unit", ("json", "col"), matrix=True)
def workload_unit(ctx, mode):
    """A process in /system.slice/<name>.service: JSON cgroup and unit (and
    no container), -w shows the unit."""
    cg, unit = unit_cgroup(ctx)
    a = ctx.suite.Actor(ctx, "unit", ctx.netns())
    cg.add(a.pid)
    run = ctx.start_tool(wl_args(ctx))
    exp = unit_workload(cg, unit).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)


def unit_filtered(ctx, args, later=None):
    """Actors: `unit` in /system.slice/stc-<prefix>.service, `other` in a
    sibling unit, `host` where the runner is; the tool runs with args(unit
    name); later(cg): between the tool's start and the acts, makes the unit's
    cgroup (None: made before).  Only the unit's events may be printed."""
    ns = ctx.netns()
    roles = {r: ctx.suite.Actor(ctx, r, ns) for r in ("host", "other", "unit")}
    name = ("stc-%s.service" % ctx.prefix).encode()
    oth, _ = unit_cgroup(ctx, ("stc-%s-other.service" % ctx.prefix).encode())
    oth.add(roles["other"].pid)
    cg = None
    if later is None:
        cg, _ = unit_cgroup(ctx, name)
        cg.add(roles["unit"].pid)
    run = ctx.start_tool(args(name.decode()) + wl_args(ctx))
    if later is not None:
        cg = later(ctx, name)
        cg.add(roles["unit"].pid)
        # the contract: a new cgroup is in the kernel filter within ~100 ms
        time.sleep(0.3)
    roles["host"].act()
    roles["other"].act()
    exp = unit_workload(cg, name).apply(ctx, roles["unit"].act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    return wl_check(ctx, out, exp)


@shared("workload_unit_filter_{form}", matrix=True, form=("name",))
@shared("workload_unit_filter_{form}", matrix=True, once=True, form=("full",))
def workload_unit_filter(ctx, mode, form):
    """--unit NAME (.service implied) or NAME.service: that unit's events
    only, not a sibling unit's nor the host's."""
    unit_filtered(ctx, lambda n: ["--unit", n[:-len(".service")] if form == "name" else n])


@shared("workload_unit_foreign_owner", matrix=True, once=True)
def workload_unit_foreign_owner(ctx, mode):
    """A cgroup named like the unit, and one like a podman container, in a
    subtree another user owns (as user@UID.service is delegated to its
    user): --unit must not trace the first, and no container may be taken
    from the second's path; only the unit root made is traced."""
    ns = ctx.netns()
    roles = {r: ctx.suite.Actor(ctx, r, ns) for r in ("spoof", "unit")}
    name = ("stc-%s.service" % ctx.prefix).encode()
    deleg = CgroupDir(ctx, ("/stc-%s-user.slice" % ctx.prefix).encode())
    os.chown(deleg.path, NOBODY, NOBODY)
    fake = CgroupDir(ctx, deleg.rel + b"/" + name)
    fake.add(roles["spoof"].pid)
    cg, _ = unit_cgroup(ctx, name)
    cg.add(roles["unit"].pid)
    run = ctx.start_tool(["--unit", name.decode()] + wl_args(ctx))
    roles["spoof"].act()
    exp = unit_workload(cg, name).apply(ctx, roles["unit"].act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    wl_check(ctx, run.finish(), exp)
    # the same subtree, a directory named like root's container: no container
    cid = hashlib.sha256(ctx.prefix.encode()).hexdigest()
    lib = CgroupDir(ctx, deleg.rel + b"/libpod-" + cid.encode() + b".scope")
    actor = ctx.suite.Actor(ctx, "lib", ns)
    lib.add(actor.pid)
    run = ctx.start_tool(wl_args(ctx))
    scope = lib.rel.rsplit(b"/", 1)[1]
    exp = Workload(lib.rel.decode(), lib.ino(), unit=scope.decode(),
                   short=scope.decode()).apply(ctx, actor.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    wl_check(ctx, run.finish(), exp)


@shared("workload_unit_too_deep", once=True)
def workload_unit_too_deep(ctx, mode):
    """--unit NAME with a second directory of that name 66 levels deep (the
    walks go 64): the unit at its usual place is traced, the deep one's
    process is not, and standard error says once that a directory was not
    looked at."""
    ns = ctx.netns()
    roles = {r: ctx.suite.Actor(ctx, r, ns) for r in ("deep", "unit")}
    name = ("stc-%s.service" % ctx.prefix).encode()
    cg, _ = unit_cgroup(ctx, name)
    cg.add(roles["unit"].pid)
    deep = CgroupDir(ctx, ("/stc-%s-deep" % ctx.prefix).encode() + b"/d" * 64 + b"/" + name)
    deep.add(roles["deep"].pid)
    run = ctx.start_tool(["--unit", name.decode()] + wl_args(ctx))
    roles["deep"].act()
    exp = unit_workload(cg, name).apply(ctx, roles["unit"].act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)
    said = [l for l in out.stderr if "are not looked at" in l]
    want = ("%s: cgroups deeper than 64 levels or with paths over 4096 bytes are not looked "
            "at: --unit matches no task in them (directories skipped: 1)" % ctx.tool)
    check(said == [want], "stderr should say once %r: %s" % (want, show_lines(out.stderr)))


def in_map(run, ids, timeout):
    """Waits until the tool's workload_cgroups map holds every cgroup id of
    ids (read with bpftool), or fails after timeout seconds."""
    from tools import _bpfstate
    end = time.monotonic() + timeout
    while True:
        held = _bpfstate.map_keys_int(run.p.pid, "workload_cgroups")
        if set(ids) <= held or time.monotonic() > end:
            break
        time.sleep(0.2)
    check(set(ids) <= held, "cgroups %s should be in workload_cgroups within %gs: %d held, "
          "missing %s" % (ids, timeout, len(held), sorted(set(ids) - held)))


@shared("workload_map_full", ("json",), once=True)
def workload_map_full(ctx, mode):
    """--unit with 4096 cgroups (the unit's and 4095 below it) when the tool
    starts, as many as workload_cgroups holds; 3 more made after: each
    counted once, on every channel, and a process in one of them not traced;
    3 of the first removed: within PRUNE_PAUSE_S (10 s, common/filter.c) of
    the prune that found no room, the 3 are traced."""
    import lostcount    # here: it imports metrics, which imports shared
    name = ("stc-%s.service" % ctx.prefix).encode()
    cg, _ = unit_cgroup(ctx, name)
    first = [CgroupDir(ctx, cg.rel + b"/c%d" % i) for i in range(WORKLOAD_CGROUPS_MAX - 1)]
    late = ctx.suite.Actor(ctx, "late", ctx.netns())
    run = lostcount.start_counting(ctx, ["--unit", name.decode(), "-j"])
    more = [CgroupDir(ctx, cg.rel + b"/late%d" % i) for i in range(3)]
    more[2].add(late.pid)
    now_re = r"--container/--unit: (\d+) new cgroups of the workload not traced"

    def said():
        return sum(int(n) for n in re.findall(now_re, "\n".join(run.stderr_lines())))
    end = time.monotonic() + EVENT_TIMEOUT
    while said() < 3 and time.monotonic() < end:
        time.sleep(0.1)
    check(said() == 3, "stderr should say 3 cgroups not traced: %s"
          % show_lines(run.stderr_lines()))
    late.act()                  # not traced: no room for its cgroup
    for c in first[:3]:
        c.remove()
    # the next prune (within PRUNE_PAUSE_S of the one that found no room)
    # makes room, and the refused cgroups are put in
    in_map(run, [m.ino() for m in more], 10 + EVENT_TIMEOUT)
    exp = unit_workload(more[2], name).apply(ctx, late.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out, n = lostcount.counted(ctx, run, "workload_map_full", now_re,
                               r"(\d+) new cgroups of the workload not traced in total")
    check(n == 3, "3 cgroups should be counted, each once: %d" % n)
    wl_check(ctx, out, exp)


@shared("workload_watch_limit", once=True)
def workload_watch_limit(ctx, mode):
    """--unit where inotify can watch nothing (fs.inotify.max_user_watches
    lowered to 1 for the case): said once, and the unit's cgroup, made again
    after the start (a restart: a new id), is found by the re-walk every
    ST_FILTER_REWALK_MS (2 s) and traced; a sibling unit's process is not."""
    knob = "/proc/sys/fs/inotify/max_user_watches"
    with open(knob) as f:
        old = f.read().strip()
    with open(knob, "w") as f:
        f.write("1")

    def restore():
        with open(knob, "w") as f:
            f.write(old)
    ctx.defer(restore)
    ns = ctx.netns()
    roles = {r: ctx.suite.Actor(ctx, r, ns) for r in ("other", "unit")}
    name = ("stc-%s.service" % ctx.prefix).encode()
    oth, _ = unit_cgroup(ctx, ("stc-%s-other.service" % ctx.prefix).encode())
    oth.add(roles["other"].pid)
    first, _ = unit_cgroup(ctx, name)
    run = ctx.start_tool(["--unit", name.decode()] + wl_args(ctx))
    first.remove()
    cg, _ = unit_cgroup(ctx, name)
    cg.add(roles["unit"].pid)
    in_map(run, [cg.ino()], EVENT_TIMEOUT)      # by a re-walk, every 2 s
    roles["other"].act()
    exp = unit_workload(cg, name).apply(ctx, roles["unit"].act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)
    want = ("%s: cannot watch every cgroup (No space left on device): looking for new "
            "ones every 2000 ms instead" % ctx.tool)
    said = [l for l in out.stderr if "cannot watch" in l]
    check(said == [want], "stderr should say once %r: %s" % (want, show_lines(out.stderr)))


@shared("workload_unit_started_later", matrix=True, once=True)
def workload_unit_started_later(ctx, mode):
    """--unit of a unit with a unit file but no cgroup when the tool starts
    (installed, not running); its cgroup appears later: traced."""
    d = "/etc/systemd/system"
    name = "stc-%s.service" % ctx.prefix
    path = os.path.join(d, name)
    try:
        with open(path, "x") as f:
            f.write("[Service]\nExecStart=/bin/true\n")
    except OSError as e:
        raise Skip("cannot write a unit file in %s (%s); workload_unit_restarted covers "
                   "units that start later without one" % (d, e.strerror))
    ctx.defer(lambda: os.unlink(path))

    unit_filtered(ctx, lambda n: ["--unit", n], lambda ctx, n: unit_cgroup(ctx, n)[0])


@shared("workload_unit_restarted", matrix=True, once=True)
def workload_unit_restarted(ctx, mode):
    """--unit of a running unit that then restarts (its cgroup removed and
    made again: a new cgroup id): the new one is traced too."""
    first = []

    def args(n):    # the first incarnation, there when the tool starts
        first.append(unit_cgroup(ctx, n.encode())[0])
        return ["--unit", n]

    def restart(ctx, n):
        old = first[0].ino()
        first[0].remove()
        time.sleep(0.1)
        cg = unit_cgroup(ctx, n)[0]
        check(cg.ino() != old, "test error: the new cgroup has the old one's id")
        return cg
    unit_filtered(ctx, args, restart)


class Kube:
    """A Kubernetes-shaped cgroup (systemd driver, burstable pod,
    containerd): cg (a CgroupDir), scope, cid (the container id, from the
    case's prefix and salt) and uid (the pod's, from the prefix only: a
    container made again, another salt, is in the same pod); no two cases,
    or runners, share a pod."""

    def __init__(self, ctx, salt=""):
        digest = hashlib.sha256((ctx.prefix + salt).encode()).hexdigest()
        pod = hashlib.sha256(ctx.prefix.encode()).hexdigest()
        self.cid = digest
        self.uid = "%s-%s-%s-%s-%s" % (pod[:8], pod[8:12], pod[12:16], pod[16:20], pod[20:32])
        base = ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice"
                % self.uid.replace("-", "_"))
        self.scope = "cri-containerd-%s.scope" % self.cid
        self.cg = CgroupDir(ctx, "%s/%s" % (base, self.scope))

    def link(self, name="web-5f7c9_shop_nginx"):
        """The kubelet's link to this container's log, named <pod>_<ns>_<ctr>"""
        return "%s-%s.log" % (name, self.cid)

    def workload(self, a, name=None):
        # the process is in the host's PID namespace: its PID there is its PID
        return Workload(self.cg.rel.decode(), self.cg.ino(), unit=self.scope,
                        runtime="containerd", cid=self.cid, name=name, cpid=a.pid,
                        pod_uid=self.uid, pod_qos="burstable", short=name or self.cid[:12])


KUBE_NAME = "shop/web-5f7c9/nginx"      # Kube.link()'s default, as the tool names it


def kube_actor(ctx):
    """An Actor in a Kube cgroup, and the Kube."""
    k = Kube(ctx)
    a = ctx.suite.Actor(ctx, "pod", ctx.netns())
    k.cg.add(a.pid)
    return a, k


@shared("workload_kubepods", ("json", "col"), matrix=True, once=True)
def workload_kubepods(ctx, mode):
    """A Kubernetes-shaped cgroup (systemd driver, burstable pod, containerd):
    pod UID with dashes, QoS, runtime containerd and the container id; -w
    the id's first 12 digits."""
    a, k = kube_actor(ctx)
    run = ctx.start_tool(wl_args(ctx))
    exp = a.act()
    k.workload(a).apply(ctx, exp)
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    wl_check(ctx, out, exp)


def kubelet_logs(links):
    """What runs the tool with its own /var/log/containers holding links
    named as the kubelet names them (a tmpfs over /var/log in a mount
    namespace of its own: the host's /var/log is not touched)."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs tmpfs /var/log && mkdir /var/log/containers && '
            'cd /var/log/containers && for l in $0; do ln -s ../pods/x/0.log "$l"; done && '
            'exec "$@"', " ".join(links)]


def kubelet_link_now(run, link):
    """The kubelet's link made now, in the tool's /var/log/containers"""
    sh(["nsenter", "-t", str(run.p.pid), "-m", "--", "ln", "-s", "../pods/x/0.log",
        "/var/log/containers/" + link])


@shared("workload_kubelet_name", ("json", "col"), once=True)
def workload_kubelet_name(ctx, mode):
    """The Kubernetes-shaped cgroup of workload_kubepods, and the kubelet's
    link to its container's log in /var/log/containers,
    <pod>_<namespace>_<container>-<id>.log: the container is named
    <namespace>/<pod>/<container> in JSON and -w. A link of another shape
    for the same id beside it names nothing."""
    a, k = kube_actor(ctx)
    links = [k.link(), k.link("a_b_c_d")]
    run = ctx.start_tool(wl_args(ctx), wrap=kubelet_logs(links))
    exp = a.act()
    k.workload(a, name=KUBE_NAME).apply(ctx, exp)
    run.wait_comm(ctx.prefix + "-", len(exp))
    wl_check(ctx, run.finish(), exp)


@shared("workload_kubelet_named_later", ("json",), once=True)
def workload_kubelet_named_later(ctx, mode):
    """The kubelet links a container's log once it has started, after its
    first connects: those have its id only; the link made while the tool
    runs, the events a second later have its name."""
    a, k = kube_actor(ctx)
    run = ctx.start_tool(wl_args(ctx), wrap=kubelet_logs([]))
    exp = k.workload(a).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    kubelet_link_now(run, k.link())
    time.sleep(1.2)     # the cache asks an unnamed container's name again after 1 s
    later = k.workload(a, name=KUBE_NAME).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp) + len(later))
    wl_check(ctx, run.finish(), exp + later)


@shared("workload_kubelet_named_count", once=True)
def workload_kubelet_named_count(ctx, mode):
    """-c -w, the container named while the tool runs: the groups counted
    before the kubelet's link show its name too, as it is when the table is
    printed (a group is a cgroup, whatever name it has yet)."""
    a, k = kube_actor(ctx)
    run = ctx.start_tool(["-c", "-w"], wrap=kubelet_logs([]))
    made = len(a.act())
    time.sleep(0.5)     # read and counted, the name unknown
    kubelet_link_now(run, k.link())
    time.sleep(1.2)     # the cache asks an unnamed container's name again after 1 s
    made += len(a.act())
    out = run.finish()
    hdr = next((l.split() for l in out.trace if "WORKLOAD" in l.split()), [])
    check(hdr, "no table header: %s" % show_lines(out.trace))
    at_wl = hdr.index("WORKLOAD")
    at_n = hdr.index(next(c[0] for c in ctx.suite.count if c[1] == "count"))
    rows = [l.split() for l in out.trace if a.comm in l.split()]
    check(rows and all(r[at_wl] == KUBE_NAME for r in rows) and
          sum(int(r[at_n]) for r in rows) == made,
          "the process's rows should each show WORKLOAD %s and count %d events in all: %s"
          % (KUBE_NAME, made, show_lines(out.trace)))


@shared("workload_kubelet_filter", once=True)
def workload_kubelet_filter(ctx, mode):
    """--container <namespace>/<pod>/<container>, the kubelet's name: the
    pod's events, not a host process's doing the same."""
    a, k = kube_actor(ctx)
    host = ctx.suite.Actor(ctx, "host", ctx.netns())
    run = ctx.start_tool(["--container", KUBE_NAME] + wl_args(ctx),
                         wrap=kubelet_logs([k.link()]))
    host.act()
    exp = k.workload(a, name=KUBE_NAME).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    wl_check(ctx, run.finish(), exp)


@shared("workload_kubelet_restarted", once=True)
def workload_kubelet_restarted(ctx, mode):
    """--container <namespace>/<pod>/<container> across a restart: the
    container made again in its pod (a new id, a new cgroup) acts before the
    kubelet has linked its log (not traced: nothing names it yet), then
    after (traced: the link's creation makes the filter look again)."""
    a, k = kube_actor(ctx)
    run = ctx.start_tool(["--container", KUBE_NAME] + wl_args(ctx),
                         wrap=kubelet_logs([k.link()]))
    exp = k.workload(a, name=KUBE_NAME).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    again = Kube(ctx, salt="again")
    again.cg.add(a.pid)
    a.act()             # not named yet: not traced
    kubelet_link_now(run, again.link())
    in_map(run, [again.cg.ino()], EVENT_TIMEOUT)
    later = again.workload(a, name=KUBE_NAME).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp) + len(later))
    wl_check(ctx, run.finish(), exp + later)


@shared("workload_cgroup_removed", ("json",), matrix=True, once=True)
def workload_cgroup_removed(ctx, mode):
    """An event in a unit's cgroup; the process moves out, the cgroup is
    removed; the tool keeps running and attributes the next event to where
    the process is now (the root), and exits 0."""
    cg, unit = unit_cgroup(ctx)
    a = ctx.suite.Actor(ctx, "gone", ctx.netns())
    cg.add(a.pid)
    run = ctx.start_tool(wl_args(ctx))
    first = unit_workload(cg, unit).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(first))
    cg.remove()
    root = cgroup_root()
    check(cgroup_of(a.pid) == b"/", "test error: not moved to the root cgroup")
    second = Workload("/", os.stat(root).st_ino, short="/").apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(first) + len(second))
    check(run.p.poll() is None, "the tool exited after a traced cgroup was removed: "
          "status %s; stderr: %s" % (run.p.returncode, show_lines(run.stderr_lines())))
    out = run.finish()
    wl_check(ctx, out, first + second)


# ----------------------------------------------------------------------------
# Hostile names

EVIL = b'-evil\x1b[31m"\\\xff\t\xc2\x9b\xc3\xa9.service'
EVIL_SHOWN = '-evil\\x1b[31m"\\\\\\xff\\x09\\xc2\\x9b\u00e9.service'


@shared("workload_hostile_unit", COLS, once=True)
def workload_hostile_unit(ctx, mode):
    """A unit directory named with an escape sequence, a quote, a backslash,
    a tab, invalid UTF-8 and a C1 control: -w escapes them like COMM (valid
    UTF-8 kept); JSON lines parse and give back the exact bytes."""
    name = ctx.prefix.encode() + EVIL
    cg, unit = unit_cgroup(ctx, name)
    a = ctx.suite.Actor(ctx, "evil", ctx.netns())
    cg.add(a.pid)
    run = ctx.start_tool(wl_args(ctx))
    exp = unit_workload(cg, unit, shown=ctx.prefix + EVIL_SHOWN).apply(ctx, a.act())
    run.wait_comm(ctx.prefix + "-", len(exp))
    out = run.finish()
    mine = wl_check(ctx, out, exp)
    if mode != "json":
        bad = [l for l in (e["_line"] for e in mine) if re.search(r"[\x00-\x1f\x7f]", l)]
        check(not bad, "raw control bytes in column output: %s" % show_lines(bad))


# ----------------------------------------------------------------------------
# Bad input

def refused(ctx, args, rc=2, one_line=True, pattern=None):
    """The tool refuses args before the ready line: exit rc, nothing on
    stdout, one stderr line (or some, for argp's usage errors) matching
    pattern.  Returns a complaint or None."""
    cmd = "`%s %s`" % (ctx.tool, " ".join(args))
    run = ctx.start_tool(args, ready=False)
    try:
        got = run.wait(EVENT_TIMEOUT * 2)
    except Fail:
        return "%s kept running" % cmd
    out = run.output()
    problems = []
    if got != rc:
        problems.append("exited %s, expected %d" % (got, rc))
    if out.stdout:
        problems.append("printed on stdout: %s" % show_lines(out.stdout))
    if (one_line and len(out.stderr) != 1) or not out.stderr:
        problems.append("stderr should be %s line, got: %s" % (
            "exactly one" if one_line else "at least one", show_lines(out.stderr)))
    elif pattern and not re.search(pattern, out.stderr[0]):
        problems.append("stderr %r does not match %r" % (out.stderr[0], pattern))
    return "%s: %s" % (cmd, ", ".join(problems)) if problems else None


@shared("workload_bad_input", once=True)
def workload_bad_input(ctx, mode):
    """--container and --unit that match nothing: one stderr line naming the
    option and the argument, exit 2, nothing on stdout; either with --cgroup:
    a usage error, exit 2."""
    nosuch = "stc-nosuch-%s" % ctx.prefix
    cg, unit = unit_cgroup(ctx)
    root = cgroup_root()
    problems = [
        refused(ctx, ["--container", nosuch],
                pattern=r"^%s: --container\b.*%s" % (ctx.tool, re.escape(nosuch))),
        refused(ctx, ["--unit", nosuch],
                pattern=r"^%s: --unit\b.*%s" % (ctx.tool, re.escape(nosuch))),
        refused(ctx, ["--unit", nosuch + ".timer"],
                pattern=r"^%s: --unit: %s\.timer has no cgroup" % (ctx.tool, re.escape(nosuch))),
        refused(ctx, ["--cgroup", root, "--container", nosuch], one_line=False,
                pattern=r"--cgroup|--container"),
        refused(ctx, ["--cgroup", root, "--unit", unit.decode()], one_line=False,
                pattern=r"--cgroup|--unit"),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise Fail("; ".join(problems))
