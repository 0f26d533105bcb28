"""deploy/ (issue 18): what runs socktrace on every node, run here for real.

Imported by shared.py; the cases run for tcpconnect only (ONCE_TOOL): they
are about the deployment files, the same for every tool.

- deploy_container: the image built from deploy/container/Containerfile
  (deploy/container/mkroot's root of this build), run by podman (runc) with
  what deploy/kubernetes/daemonset.yaml gives its container, read from the
  manifest: the capabilities, the host PID namespace, the read-only root,
  the seccomp profile, the host paths mounted and the emptyDir as tmpfs.
  Only the network differs: the host's (the test's podman runs use no
  podman network), with the metrics on 127.0.0.1 and a free port instead
  of the pod's 0.0.0.0:9433.  From the container it must count the host's
  connects, and print their host PIDs.
- deploy_systemd_unit: `systemd-analyze verify` passes on
  deploy/systemd/socktrace@.service, and the tool runs with exactly the
  unit's CapabilityBoundingSet (setpriv) and its default arguments.
- deploy_systemd_service: the unit as written, run by systemd: systemd is
  PID 1 of a privileged podman container whose root is an overlay of this
  host's (SystemdHost), since this machine's PID 1 is not systemd. The
  tool and the unit are installed as the unit's header says, its options
  from deploy/systemd/socktrace.default (metrics and --journal); the
  service must run with the unit's capabilities, no new privileges and a
  read-only root, count the exact connects made in the container (the
  tool sees its own PID namespace, the container's, as a DaemonSet without
  hostPID would), write them to systemd's journald, and stop cleanly on
  `systemctl stop`.
- deploy_prometheus_config: `promtool check config` passes on
  deploy/prometheus/prometheus.yml.
"""
import itertools
import json
import os
import re
import shutil
import subprocess
import threading
import time

import metrics
import shared
import workload
from e2elib import EVENT_TIMEOUT, Fail, Skip, check, parse_json, show_lines

ONCE_TOOL = "tcpconnect"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
SERVING_RE = metrics.SERVING_RE


def podman_flags(container, pod, host_paths=None):
    """podman run's flags for what the manifest gives the container;
    host_paths: a directory of the test's for a host path."""
    flags = []
    sc = container.get("securityContext", {})
    caps = sc.get("capabilities", {})
    if "ALL" in caps.get("drop", []):
        flags.append("--cap-drop=all")
    flags += ["--cap-add=" + c for c in caps.get("add", [])]
    if sc.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if sc.get("seccompProfile", {}).get("type") == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    if sc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    check(not sc.get("privileged"), "the manifest's container is privileged")
    if pod.get("hostPID"):
        flags.append("--pid=host")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in container.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "hostPath" in v:
            path = v["hostPath"]["path"]
            flags += ["-v", "%s:%s%s" % ((host_paths or {}).get(path, path), m["mountPath"],
                                         ":ro" if m.get("readOnly") else "")]
        elif "emptyDir" in v:
            flags += ["--tmpfs", m["mountPath"]]
        else:
            raise Fail("test error: volume %r of a kind the test does not map" % v)
    return flags


def daemonset():
    import yaml
    with open(os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")) as f:
        docs = list(yaml.safe_load_all(f))
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    check(len(ds) == 1, "test error: %d DaemonSets in the manifest" % len(ds))
    pod = ds[0]["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


class Image:
    """The image of this build, from the Containerfile; removed by cleanup."""

    def __init__(self, ctx):
        if not shutil.which("podman"):
            raise Skip("no podman here (Debian's podman with runc)")
        ctx_dir = ctx.tmp("image")
        sh = subprocess.run([os.path.join(DEPLOY, "container", "mkroot"), ctx.cfg.build_dir,
                             os.path.join(ctx_dir, "root")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
        check(sh.returncode == 0, "mkroot: %s" % sh.stdout.decode(errors="replace"))
        self.tag = "localhost/socktrace-test:%s" % ctx.prefix
        b = subprocess.run(["podman", "build", "--runtime", "runc", "-q", "-t", self.tag, "-f",
                            os.path.join(DEPLOY, "container", "Containerfile"), ctx_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        check(b.returncode == 0, "podman build: %s" % b.stdout.decode(errors="replace")[-2000:])
        ctx.defer(lambda: subprocess.run(["podman", "rmi", "-f", self.tag],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


class Container:
    """podman run of the image with the manifest's flags and args; its
    stdout and stderr lines collected."""
    _n = itertools.count()

    def __init__(self, ctx, image, flags, argv):
        self.name = "stc-%s-%d" % (ctx.prefix, next(Container._n))
        self.argv = ["podman", "--runtime", "runc", "run", "--rm", "--name", self.name,
                     "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit",
                     "nproc=4096:4096"] + flags + [image.tag] + argv
        ctx.cfg.log("run:", " ".join(self.argv))
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        ctx.defer(self.stop)
        self.out, self.err = [], []
        for f, dest in ((self.p.stdout, self.out), (self.p.stderr, self.err)):
            threading.Thread(target=self._read, args=(f, dest), daemon=True).start()

    def _read(self, f, dest):
        for raw in iter(f.readline, b""):
            dest.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_line(self, pred, where, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hit = [l for l in list(where) if pred(l)]
            if hit:
                return hit[0]
            check(self.p.poll() is None, "the container exited (%s): %s" % (
                self.p.returncode, show_lines(self.err[-10:])))
            time.sleep(0.1)
        raise Fail("nothing from the container within %ds; stderr: %s" % (
            timeout, show_lines(self.err[-10:])))

    def stop(self):
        if self.p.poll() is None:
            subprocess.run(["podman", "kill", "--signal", "INT", self.name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                subprocess.run(["podman", "rm", "-f", self.name], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def local_args(args):
    """The manifest's args, the metrics on 127.0.0.1 and a free port."""
    out = list(args)
    i = out.index("--metrics-only") + 1
    check(out[i] == "0.0.0.0:9433", "test error: the manifest serves on %r" % out[i])
    out[i] = "127.0.0.1:0"
    return out


def deploy_container(ctx, mode):
    shared.start_built(ctx, ["--metrics-only", "127.0.0.1:0"]).finish()   # built with it?
    pod, ctr = daemonset()
    image = Image(ctx)
    # no kubelet here: its log links are made in a directory of the test's,
    # for a Kubernetes-shaped cgroup the client is moved into
    kube = ctx.tmp("kubelet-logs")
    os.mkdir(kube)
    flags = podman_flags(ctr, pod, {"/var/log/containers": kube})
    check(ctr["command"] == ["/usr/sbin/" + ctx.tool], "test error: command %r" % ctr["command"])
    c = Container(ctx, image, flags, local_args(ctr["args"]))
    line = c.wait_line(SERVING_RE.match, c.err)
    url = "http://%s/metrics" % SERVING_RE.match(line).group("where")
    c.wait_line(lambda l: l.startswith("Tracing "), c.err)
    cli = ctx.client("dc", ctx.netns())
    k = workload.Kube(ctx)
    k.cg.add(cli.pid)
    os.symlink("/var/log/pods/shop_web-5f7c9_x/nginx/0.log", os.path.join(kube, k.link()))
    port = cli.serve(4, "127.0.0.1")
    metrics.connects(cli, port, 2)
    metrics.connects(cli, metrics.CLOSED_PORT, 1, want="ECONNREFUSED")
    want = metrics.tcp_want(cli.comm, port, "ok", 2)
    want.update(metrics.tcp_want(cli.comm, metrics.CLOSED_PORT, "ECONNREFUSED", 1))
    samples, _ = metrics.wait_counts(url, {cli.comm}, want)
    named = {dict(l).get("workload") for (_, l), _ in samples.items()
             if dict(l).get("comm") == cli.comm}
    check(named == {workload.KUBE_NAME}, "the workload label of the client's series: %r, "
          "expected the kubelet's name" % named)
    check(c.stop() == 0, "the container's tool exited %s: %s" % (c.p.returncode,
                                                                 show_lines(c.err[-5:])))
    # the same container printing events: the host's PIDs
    c = Container(ctx, image, flags, ["-j", "-N", str(cli.netns_inode())])
    c.wait_line(lambda l: l.startswith("Tracing "), c.err)
    metrics.connects(cli, port, 1)
    c.wait_line(lambda l: cli.comm in l, c.out, EVENT_TIMEOUT * 3)
    ev = [e for e in parse_json(c.out) if e.get("comm") == cli.comm]
    check(len(ev) == 1 and ev[0]["pid"] == cli.pid, "events %r, expected one with the host PID "
          "%d" % (ev, cli.pid))


def unit_file():
    with open(os.path.join(DEPLOY, "systemd", "socktrace@.service")) as f:
        return f.read()


def deploy_systemd_unit(ctx, mode):
    if not shutil.which("systemd-analyze") or not shutil.which("setpriv"):
        raise Skip("systemd-analyze or setpriv not found (Debian's systemd, util-linux)")
    text = unit_file()
    tool = os.path.join(ctx.cfg.build_dir, ctx.tool)
    inst = ctx.tmp("socktrace@%s.service" % ctx.tool)
    with open(inst, "w") as f:
        f.write(text.replace("/usr/local/sbin/%i", tool))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", inst], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace").strip()
    check(p.returncode == 0 and not out, "systemd-analyze verify: %s" % out)
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
    args = re.search(r'^Environment="SOCKTRACE_ARGS=(.*)"$', text, re.M).group(1).split()
    check(args == ["--metrics-only", "127.0.0.1:9433"], "test error: the unit's args %r" % args)
    bounding = "-all," + ",".join("+" + c[len("CAP_"):].lower() for c in caps)
    cli = ctx.client("du", ctx.netns())
    port = cli.serve(4, "127.0.0.1")
    run = shared.start_built(ctx, ["--metrics-only", "127.0.0.1:0"],
                             wrap=["setpriv", "--bounding-set=" + bounding, "--inh-caps=-all",
                                   "--no-new-privs", "--"])
    metrics.connects(cli, port, 2)
    metrics.wait_counts(metrics.url_of(run), {cli.comm}, metrics.tcp_want(cli.comm, port, "ok", 2))
    run.finish()


CAP_BITS = {"CAP_DAC_READ_SEARCH": 2, "CAP_NET_ADMIN": 12, "CAP_SYS_PTRACE": 19,
            "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24, "CAP_PERFMON": 38, "CAP_BPF": 39}
SYSTEMD = "/lib/systemd/systemd"
# What systemd would do to the host's kernel from a privileged container:
# sysctl.d applied to it, modules loaded, binfmt_misc handlers registered
# (and all of them removed at stop), udev events replayed, the clock set,
# file systems remounted.
MASKED = ["systemd-sysctl.service", "systemd-modules-load.service", "systemd-binfmt.service",
          "proc-sys-fs-binfmt_misc.automount", "proc-sys-fs-binfmt_misc.mount",
          "systemd-udevd.service", "systemd-udev-trigger.service",
          "systemd-udev-settle.service", "systemd-timesyncd.service",
          "systemd-remount-fs.service", "systemd-random-seed.service"]


def proc_status(text, key):
    m = re.search(r"^%s:\s*(\S+)" % key, text, re.M)
    check(m, "no %s in /proc/PID/status: %s" % (key, text))
    return m.group(1)


# Global, not per namespace: systemd raises them at its start
# (bump_file_max_and_nr_open()), as it would on a host it boots
GLOBAL_SYSCTLS = ["/proc/sys/fs/file-max", "/proc/sys/fs/nr_open"]


def keep_sysctls(ctx):
    """GLOBAL_SYSCTLS as they are now, put back at cleanup if changed"""
    def restore(path, was):
        with open(path) as f:
            if f.read() == was:
                return
        with open(path, "w") as f:
            f.write(was)
    for path in GLOBAL_SYSCTLS:
        with open(path) as f:
            ctx.defer(lambda p=path, v=f.read(): restore(p, v))


class SystemdHost:
    """systemd as PID 1 of a privileged podman container (runc, a network
    namespace of its own with lo only) whose root is an overlay of this
    host's root on a tmpfs: what is installed in it goes nowhere else, and
    all of it goes at cleanup. It boots to basic.target only, so the host's
    own enabled services (a Prometheus, a database) do not start in it, and
    the units of sysinit.target that would act on the host's kernel from a
    privileged container are masked there (MASKED)."""

    def __init__(self, ctx):
        if not shutil.which("podman") or not os.access(SYSTEMD, os.X_OK):
            raise Skip("podman or %s not found (Debian's podman and systemd; make deps-test)"
                       % SYSTEMD)
        top = ctx.tmp("systemd-host")
        os.mkdir(top)
        self._mount(ctx, ["-t", "tmpfs", "tmpfs", top])
        for d in ("up", "work", "root"):
            os.mkdir(os.path.join(top, d))
        # its own empty /run and /tmp: opaque directories hide the host's
        # (podman copies /run's files into its tmpfs, podman's own links too)
        for d in ("run", "tmp"):
            os.mkdir(os.path.join(top, "up", d))
            os.setxattr(os.path.join(top, "up", d), "trusted.overlay.opaque", b"y")
        self.root = os.path.join(top, "root")
        self._mount(ctx, ["-t", "overlay", "overlay", "-o", "lowerdir=/,upperdir=%s,workdir=%s"
                          % (os.path.join(top, "up"), os.path.join(top, "work")), self.root])
        for unit in MASKED:
            path = self.root + "/etc/systemd/system/" + unit
            if os.path.lexists(path):
                os.unlink(path)     # the host's own override, in the overlay only
            os.symlink("/dev/null", path)
        self.name = "stc-%s-systemd" % ctx.prefix
        keep_sysctls(ctx)       # undone after the container's end, below
        ctx.defer(self.stop)    # also a container podman made and then failed to start
        # no module loading: systemd loads some at its start (kmod_setup)
        argv = (["podman", "--runtime", "runc", "run", "--rm", "-d", "--name", self.name,
                 "--privileged", "--cap-drop", "SYS_MODULE", "--systemd=always", "--network",
                 "none"] + workload.ULIMITS + ["--rootfs", self.root, SYSTEMD,
                                               "--unit=basic.target"])
        ctx.cfg.log("run:", " ".join(argv))
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        check(p.returncode == 0, "podman run: %s" % p.stdout.decode(errors="replace"))
        # until systemd listens, systemctl cannot ask it (and says nothing)
        end = time.monotonic() + 120
        while True:
            state = self.run(["systemctl", "is-system-running", "--wait"], ok=(0, 1), timeout=120)
            if state in ("running", "degraded") or time.monotonic() > end:
                break
            time.sleep(0.2)
        check(state in ("running", "degraded"), "systemd in the container is %r" % state)

    @staticmethod
    def _mount(ctx, args):
        p = subprocess.run(["mount"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        if p.returncode:
            raise Skip("cannot make the container's root (mount %s): %s" % (
                " ".join(args), p.stdout.decode(errors="replace").strip()))
        ctx.defer(lambda: subprocess.run(["umount", "-l", args[-1]], timeout=30))

    def run(self, argv, ok=(0,), timeout=60):
        """argv's stdout, run in the container."""
        p = subprocess.run(["podman", "exec", self.name] + argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        check(p.returncode in ok, "%s in the container exited %d: %s" % (
            " ".join(argv), p.returncode, p.stderr.decode(errors="replace")[-1500:]))
        return p.stdout.decode(errors="replace").strip()

    def install(self, path, data, mode):
        dest = self.root + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)
        os.chmod(dest, mode)

    def journal(self, argv):
        return self.run(["journalctl", "--no-pager"] + argv)

    def scrape(self, url):
        """The page at url, from inside the container (its own network)"""
        return self.run(["curl", "-sSf", "--max-time", "10", url], timeout=30)

    def stop(self):
        subprocess.run(["podman", "rm", "-f", "-t", "10", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)


# Made in the container: two connects that work and one refused, by a
# process named argv[1]; prints its PID (as the container sees it) and ports.
CLIENT = r"""
import ctypes, socket, sys, os
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
port = srv.getsockname()[1]
for _ in range(2):
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = srv.accept()
    c.close()
    a.close()
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    sys.exit("port %s accepted" % sys.argv[2])
except ConnectionRefusedError:
    pass
print(os.getpid(), port)
"""


def service_ready(host, unit):
    """The metrics URL the service logged, once it traces."""
    end = time.monotonic() + EVENT_TIMEOUT * 2
    while True:
        log = host.journal(["-u", unit, "-o", "cat"]).splitlines()
        url = [SERVING_RE.match(l) for l in log if SERVING_RE.match(l)]
        if (url and any(l.startswith("Tracing ") for l in log)) or time.monotonic() > end:
            break
        time.sleep(0.2)
    state = host.run(["systemctl", "show", "-p", "ActiveState", "--value", unit])
    check(url and state == "active", "%s is %s, its journal: %s" % (unit, state,
                                                                  show_lines(log[-10:])))
    return "http://%s/metrics" % url[0].group("where")


def check_confined(host, pid, caps):
    """The service's process has the unit's capabilities (as far as this
    machine's bounding set has them), no new privileges, a read-only root
    and its cache directory writable."""
    status = host.run(["cat", "/proc/%s/status" % pid])
    with open("/proc/self/status") as f:
        ours = int(proc_status(f.read(), "CapBnd"), 16)
    check(all(c in CAP_BITS for c in caps), "test error: a capability not in CAP_BITS: %r" % caps)
    want = sum(1 << CAP_BITS[c] for c in caps) & ours
    for key in ("CapBnd", "CapEff"):
        got = int(proc_status(status, key), 16)
        check(got == want, "%s of the service is %#x, expected %#x (%s within this machine's "
              "%#x)" % (key, got, want, " ".join(caps), ours))
    nnp = proc_status(status, "NoNewPrivs")
    check(nnp == "1", "NoNewPrivs of the service is %s, expected 1" % nnp)
    mounts = {}
    for l in host.run(["cat", "/proc/%s/mountinfo" % pid]).splitlines():
        f = l.split()
        mounts[f[4]] = f[5].split(",")
    check("ro" in mounts.get("/", []), "the service's / is not read-only: %r" % mounts.get("/"))
    cache = mounts.get("/var/cache/socktrace", [])
    check("rw" in cache, "the service's /var/cache/socktrace: %r" % cache)


def deploy_systemd_service(ctx, mode):
    host = SystemdHost(ctx)
    unit, text = "socktrace@%s.service" % ctx.tool, unit_file()
    with open(os.path.join(ctx.cfg.build_dir, ctx.tool), "rb") as f:
        host.install("/usr/local/sbin/" + ctx.tool, f.read(), 0o755)
    host.install("/etc/systemd/system/socktrace@.service", text.encode(), 0o644)
    with open(os.path.join(DEPLOY, "systemd", "socktrace.default")) as f:
        default = f.read()
    args = "--metrics 127.0.0.1:0 --journal"      # as its comment says, on a free port
    default, n = re.subn(r"^SOCKTRACE_ARGS=.*$", "SOCKTRACE_ARGS=" + args, default, flags=re.M)
    check(n == 1, "test error: socktrace.default has %d SOCKTRACE_ARGS lines" % n)
    host.install("/etc/default/socktrace-" + ctx.tool, default.encode(), 0o644)
    host.run(["systemctl", "daemon-reload"])
    host.run(["systemctl", "start", unit])
    url = service_ready(host, unit)
    pid = host.run(["systemctl", "show", "-p", "MainPID", "--value", unit])
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
    check_confined(host, pid, caps)
    comm = ctx.comm("sd")
    cpid, port = host.run(["python3", "-c", CLIENT, comm, str(metrics.CLOSED_PORT)]).split()
    want = metrics.tcp_want(comm, port, "ok", 2)
    want.update(metrics.tcp_want(comm, metrics.CLOSED_PORT, "ECONNREFUSED", 1))
    metrics.wait_counts(url, {comm}, want, get=host.scrape)
    exp = sorted([(cpid, port, "ok")] * 2 + [(cpid, str(metrics.CLOSED_PORT), "ECONNREFUSED")])
    end = time.monotonic() + EVENT_TIMEOUT
    while True:     # the counts are the kernel's: the entries come after
        got = [json.loads(l) for l in host.journal(["-o", "json", "SOCKTRACE_COMM=" + comm])
               .splitlines()]
        if len(got) >= len(exp) or time.monotonic() > end:
            break
        time.sleep(0.2)
    seen = sorted((e.get("SOCKTRACE_PID"), e.get("SOCKTRACE_DPORT"), e.get("SOCKTRACE_RESULT"))
                  for e in got)
    check(seen == exp, "journal entries (PID, DPORT, RESULT) %r, expected %r" % (seen, exp))
    host.run(["systemctl", "stop", unit], timeout=60)
    state = host.run(["systemctl", "show", "-p", "ActiveState,Result,ExecMainStatus", unit])
    check(sorted(state.split()) == ["ActiveState=inactive", "ExecMainStatus=0", "Result=success"],
          "after systemctl stop: %r; journal: %s" % (state, show_lines(
              host.journal(["-u", unit, "-o", "cat"]).splitlines()[-10:])))


def promtool_check(conf):
    p = subprocess.run(["promtool", "check", "config", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    check(p.returncode == 0, "promtool check config %s: %s"
          % (conf, p.stdout.decode(errors="replace")))


def deploy_prometheus_config(ctx, mode):
    """promtool checks both scrape configurations. Debian's Prometheus is
    built without Kubernetes discovery, which the DaemonSet's uses: that
    one is checked with its kubernetes_sd_configs swapped for a static
    target (the rest, its relabelling included, as written)."""
    if not shutil.which("promtool"):
        raise Skip("promtool not found (Debian's prometheus package)")
    promtool_check(os.path.join(DEPLOY, "prometheus", "prometheus.yml"))
    with open(os.path.join(DEPLOY, "prometheus", "prometheus-kubernetes.yml")) as f:
        text = f.read()
    sd = re.compile(r"^( +)kubernetes_sd_configs:\n(?:\1 .*\n)+", re.M)
    check(len(sd.findall(text)) == 1, "prometheus-kubernetes.yml should have one "
          "kubernetes_sd_configs block")
    static = sd.sub(lambda m: "%sstatic_configs:\n%s  - targets: ['node1:9433']\n"
                    % (m.group(1), m.group(1)), text)
    conf = ctx.tmp("prometheus-kubernetes-static.yml")
    with open(conf, "w") as f:
        f.write(static)
    promtool_check(conf)


CASES = [("deploy_container", deploy_container), ("deploy_systemd_unit", deploy_systemd_unit),
         ("deploy_systemd_service", deploy_systemd_service),
         ("deploy_prometheus_config", deploy_prometheus_config)]


def add_cases(suite):
    if suite.tool == ONCE_TOOL:
        for name, func in CASES:
            suite.case(name)(func)

