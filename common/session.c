// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "escape.h"
#include "log.h"
#include "session.h"

#define POLL_MS		100
#define LOST_CHECK_MS	250
#define WAKEUP_MAX	(64 * 1024)
#define ST_CAP_BPF	39	/* not in every libc's headers yet */
#define ST_CAP_PERFMON	38

static volatile sig_atomic_t stop_signal;
static volatile pid_t forward_to;

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &hdr, d))
		return 0;	/* let the kernel say no later */
	if (has_cap(d, CAP_SYS_ADMIN) ||
	    (has_cap(d, ST_CAP_BPF) && has_cap(d, ST_CAP_PERFMON)))
		return 0;
	st_err("needs root (or the CAP_BPF and CAP_PERFMON capabilities)");
	return -EPERM;
}

static int open_cgroup(const char *path)
{
	struct statfs fs;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		st_err("--cgroup: cannot open %s: %s", path, strerror(-err));
		return err;
	}
	if (fstatfs(fd, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		st_err("--cgroup: %s is not a cgroup v2 directory", path);
		return -ENOTDIR;
	}
	return fd;
}

/* execvp()'s search, done early: a typo must not half-start the tool */
static bool command_found(const char *cmd)
{
	char path[4096];
	const char *dirs = getenv("PATH"), *end;
	size_t len;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0;
	for (dirs = dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; dirs; dirs = end ? end + 1 : NULL) {
		end = strchr(dirs, ':');
		len = end ? (size_t)(end - dirs) : strlen(dirs);
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)len, len ? dirs : ".", cmd) <
		    (int)sizeof(path) && access(path, X_OK) == 0)
			return true;
	}
	return false;
}

#define ST_PROC_PID_INIT_INO 0xeffffffcU	/* the initial PID namespace */

/* The tool's PID namespace, so that events carry PIDs as `ps` shows here. */
static void set_pidns(struct st_config *cfg)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != ST_PROC_PID_INIT_INO)
		cfg->pidns_ino = st.st_ino;
}

static int size_ring_buffer(struct bpf_object *obj, struct st_config *cfg,
			    const struct st_opts *opts)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	int err;

	if (opts->ringbuf_kib) {
		err = bpf_map__set_max_entries(events, opts->ringbuf_kib * 1024);
		if (err) {
			st_err("failed to size the ring buffer: %s", strerror(-err));
			return err;
		}
	}
	/* a quarter full, at most 64 KiB: batches, and room left while we wake */
	cfg->wakeup_bytes = bpf_map__max_entries(events) / 4;
	if (cfg->wakeup_bytes > WAKEUP_MAX)
		cfg->wakeup_bytes = WAKEUP_MAX;
	return 0;
}

int st_session_prepare(struct st_session *s, struct bpf_object *obj,
		       struct st_config *cfg, const struct st_opts *opts,
		       const struct st_prog *progs, size_t nprogs, const char *what)
{
	const char *follow[] = { "follow_fork", "follow_exit" };
	struct bpf_program *prog;
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	s->opts = opts;
	s->obj = obj;
	s->what = what;
	s->cgroup_fd = -1;
	s->child = -1;
	if (opts->command && !command_found(opts->command[0])) {
		st_err("failed to run %s: command not found", opts->command[0]);
		s->fail_status = 127;	/* as shells, env and timeout say it */
		return -ENOENT;
	}
	err = check_privileges();
	if (err)
		return err;
	if (opts->cgroup) {
		s->cgroup_fd = open_cgroup(opts->cgroup);
		if (s->cgroup_fd < 0)
			return s->cgroup_fd;
	}
	st_config_init(cfg, opts);
	set_pidns(cfg);
	s->sees_all_tasks = !cfg->pidns_ino;
	err = size_ring_buffer(obj, cfg, opts);
	if (err)
		return err;
	for (i = 0; i < sizeof(follow) / sizeof(follow[0]); i++) {
		prog = bpf_object__find_program_by_name(obj, follow[i]);
		if (prog)
			bpf_program__set_autoload(prog, opts->command != NULL);
	}
	return st_backend_select(obj, progs, nprogs, opts->backend, opts->family,
				 &s->sel);
}

static int flush(struct st_session *s, struct st_output *out);

static int map_fd(struct st_session *s, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(s->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

static int update(struct st_session *s, const char *map, const void *key,
		  const void *value)
{
	int err = bpf_map_update_elem(map_fd(s, map), key, value, BPF_ANY) ? -errno : 0;

	if (err)
		st_err("failed to update map %s: %s", map, strerror(-err));
	return err;
}

static int fill_filters(struct st_session *s)
{
	const struct st_opts *o = s->opts;
	__u32 zero = 0;
	__u8 one = 1;
	size_t i;
	int err = 0;

	/* a short -p list is in st_config; COMMAND's pid is added at its start */
	if (st_pids_in_map(o))
		for (i = 0; i < o->npids && !err; i++)
			err = update(s, "pids", &o->pids[i], &one);
	for (i = 0; i < o->nports && !err; i++)
		err = update(s, "ports", &o->ports[i], &one);
	if (!err && s->cgroup_fd >= 0)
		err = update(s, "cgroups", &zero, &s->cgroup_fd);
	return err;
}

/* The syscall a "tracepoint/syscalls/sys_exit_NAME" program sees, or -1. */
static long exit_syscall_nr(const struct bpf_program *prog)
{
	static const struct { const char *name; long nr; } known[] = {
#ifdef SYS_accept	/* arm64 and riscv have accept4 alone */
		{ "accept", SYS_accept },
#endif
		{ "accept4", SYS_accept4 },
	};
	const char *sec = bpf_program__section_name(prog), *name = strstr(sec, "/sys_exit_");
	size_t i;

	for (i = 0; name && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name + strlen("/sys_exit_"), known[i].name))
			return known[i].nr;
	return -1;
}

/* The syscall a thread is inside, from /proc/PID/task/TID/syscall: its
 * number while blocked there, "running" or -1 otherwise. */
static long task_syscall(long pid, long tid)
{
	char path[64], buf[32];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/syscall", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	buf[len] = '\0';
	return strtol(buf, NULL, 10);
}

/* A /proc entry's PID or TID, or -1 */
static long id_of(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len && len < 11 && strspn(d->d_name, "0123456789") == len ?
	       strtol(d->d_name, NULL, 10) : -1;
}

/* Is any thread on the machine inside one of the syscalls @nrs? */
static bool syscall_in_progress(const long *nrs, size_t n)
{
	DIR *procs = opendir("/proc"), *tasks;
	struct dirent *p, *t;
	char path[64];
	bool found = false;
	long pid, tid, nr;
	size_t i;

	if (!procs)
		return true;	/* cannot tell: as if there were */
	while (!found && (p = readdir(procs))) {
		pid = id_of(p);
		if (pid < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task", pid);
		tasks = opendir(path);
		if (!tasks)
			continue;	/* gone since */
		while (!found && (t = readdir(tasks))) {
			tid = id_of(t);
			nr = tid < 0 ? -1 : task_syscall(pid, tid);
			for (i = 0; i < n && nr >= 0 && !found; i++)
				found = nr == nrs[i];
			if (found)
				st_dbg("thread %ld is in syscall %ld", tid, nr);
		}
		closedir(tasks);
	}
	closedir(procs);
	return found;
}

static int attach_one(struct st_session *s, struct bpf_program *prog)
{
	struct bpf_link *link;
	int err;

	if (s->nlinks == sizeof(s->links) / sizeof(s->links[0]))
		return -E2BIG;
	link = st_backend_attach(prog);
	if (!link) {
		err = -errno;
		st_err("failed to attach %s: %s", bpf_program__name(prog), st_strerror(-err));
		return err;
	}
	s->links[s->nlinks++] = link;
	return 0;
}

/*
 * Function hooks first: a call that begins after them is theirs. Then the
 * catch-up programs, but only if a thread is inside one of their syscalls
 * now. A syscall tracepoint with a program sends every syscall of every
 * task through the kernel's slow path, about 50 ns each: not to be paid for
 * a call that is not there.
 */
static int attach_all(struct st_session *s)
{
	struct bpf_program *prog;
	long nrs[ST_MAX_CATCH_UP], nr;
	size_t n = 0;
	bool all = !s->sees_all_tasks;	/* threads /proc does not show */
	int err;

	bpf_object__for_each_program(prog, s->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (!st_selection_catches_up(&s->sel, prog)) {
			err = attach_one(s, prog);
			if (err)
				return err;
			continue;
		}
		nr = exit_syscall_nr(prog);
		if (nr >= 0 && n < sizeof(nrs) / sizeof(nrs[0]))
			nrs[n++] = nr;
		else
			all = true;
	}
	if (!n && !all)
		return 0;
	if (!all && !syscall_in_progress(nrs, n)) {
		st_dbg("no thread inside the catch-up programs' syscalls: not attached");
		return 0;
	}
	bpf_object__for_each_program(prog, s->obj) {
		if (bpf_program__autoload(prog) && st_selection_catches_up(&s->sel, prog)) {
			err = attach_one(s, prog);
			if (err)
				return err;
		}
	}
	return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (forward_to > 0) {
		/* a terminal's signal reached COMMAND already; pass on the rest */
		if (si->si_code == SI_USER || si->si_code == SI_QUEUE)
			kill(forward_to, sig);
		return;
	}
	stop_signal = sig;
}

static void set_signals(void)
{
	/* SA_RESTART: a write to a full pipe must not fail with EINTR at
	 * Ctrl-C; epoll_wait still returns EINTR, which ends the loop */
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed pipe is an EPIPE to handle */
}

/* COMMAND's side of the fork: wait for "go", then exec. Never returns. */
static void run_child(char **argv, int go_fd, int err_fd)
{
	char c;
	int e;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* not left running, untraced, if the tracer dies */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Forks COMMAND, traces it from its first instruction, then lets it run. */
static int start_command(struct st_session *s)
{
	int go[2] = { -1, -1 }, ex[2] = { -1, -1 }, e = 0, err = 0;
	__u32 pid;
	__u8 one = 1;
	ssize_t n;

	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		err = -errno;
		st_err("failed to create a pipe: %s", strerror(-err));
		goto cleanup;
	}
	s->child = fork();
	if (s->child < 0) {
		err = -errno;
		st_err("failed to fork: %s", strerror(-err));
		goto cleanup;
	}
	if (s->child == 0)
		run_child(s->opts->command, go[0], ex[1]);
	close(ex[1]);
	ex[1] = -1;
	pid = s->child;
	err = update(s, "pids", &pid, &one);
	if (err || write(go[1], "g", 1) != 1) {
		kill(s->child, SIGKILL);
		err = err ? err : -EPIPE;
		goto cleanup;
	}
	forward_to = s->child;
	n = read(ex[0], &e, sizeof(e));	/* 0 bytes: exec succeeded */
	if (n == sizeof(e)) {
		st_err("failed to run %s: %s", s->opts->command[0], strerror(e));
		s->fail_status = 127;
		err = -e;
	}
cleanup:
	for (n = 0; n < 2; n++) {
		if (go[n] >= 0)
			close(go[n]);
		if (ex[n] >= 0)
			close(ex[n]);
	}
	return err;
}

/*
 * The ready line on stderr. In command mode the tool ends with COMMAND, so
 * it names COMMAND (escaped: it is the user's text, maybe a hostile file
 * name) instead of saying Ctrl-C; "(backend: NAME)" stays where scripts
 * look for it.
 */
static void print_ready(const struct st_session *s)
{
	const char *cmd = s->opts->command ? s->opts->command[0] : NULL;
	size_t len = cmd ? strlen(cmd) : 0;
	char backends[64], *shown = NULL;

	st_selection_describe(&s->sel, backends, sizeof(backends));
	if (!cmd) {
		fprintf(stderr, "Tracing %s (backend: %s). Ctrl-C to end.\n", s->what, backends);
		return;
	}
	shown = malloc(ST_ESCAPED_LEN(len));
	if (shown)
		st_escape(cmd, len, 0, shown, ST_ESCAPED_LEN(len));
	fprintf(stderr, "Tracing %s by %s and its descendants (backend: %s).\n", s->what,
		shown ? shown : "COMMAND", backends);
	free(shown);
}

int st_session_start(struct st_session *s, struct st_output *out,
		     ring_buffer_sample_fn handle, void *ctx)
{
	int err;

	err = fill_filters(s);
	if (err)
		return err;
	s->rb = ring_buffer__new(map_fd(s, "events"), handle, ctx, NULL);
	if (!s->rb) {
		err = -errno;
		st_err("failed to create ring buffer: %s", strerror(-err));
		return err;
	}
	err = attach_all(s);
	if (err)
		return err;
	set_signals();
	print_ready(s);
	st_output_header(out);
	err = flush(s, out);
	if (err)
		return err;
	return s->opts->command ? start_command(s) : 0;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Reports what the kernel counted since the last call, on stderr. */
static void check_lost(struct st_session *s, bool force)
{
	int ncpu = libbpf_num_possible_cpus(), fd = map_fd(s, "lost"), cpu;
	__u64 vals[ncpu > 0 ? ncpu : 1], sum;
	__u32 key;

	if (ncpu <= 0 || fd < 0 || (!force && ms_since(&s->lost_checked) < LOST_CHECK_MS))
		return;
	clock_gettime(CLOCK_MONOTONIC, &s->lost_checked);
	for (key = 0; key < ST_LOST_MAX; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (sum = 0, cpu = 0; cpu < ncpu; cpu++)
			sum += vals[cpu];
		if (sum == s->lost[key])
			continue;
		if (key == ST_LOST_EVENTS)
			st_err("lost %llu events", (unsigned long long)(sum - s->lost[key]));
		else
			st_err("process map full: %llu new processes not followed",
			       (unsigned long long)(sum - s->lost[key]));
		s->lost[key] = sum;
	}
}

static void reap_child(struct st_session *s, int flags)
{
	if (s->child <= 0 || s->child_done)
		return;
	if (waitpid(s->child, &s->child_status, flags) == s->child)
		s->child_done = true;
}

static int exit_status(const struct st_session *s, int err)
{
	if (s->opts->command && s->child_done) {
		if (WIFSIGNALED(s->child_status))
			return 128 + WTERMSIG(s->child_status);
		return WEXITSTATUS(s->child_status);
	}
	return err ? 1 : 0;
}

static int flush(struct st_session *s, struct st_output *out)
{
	int err = st_output_flush(out);

	if (err && !s->write_err) {
		s->write_err = err;
		if (err != -EPIPE)	/* a reader that left is no error */
			st_err("failed to write output: %s", strerror(-err));
	}
	return err;
}

int st_session_run(struct st_session *s, struct st_output *out)
{
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &s->lost_checked);
	while (!stop_signal && !s->child_done) {
		err = ring_buffer__poll(s->rb, POLL_MS);
		if (err == 0)	/* no wake-up: the kernel waits for a batch */
			err = ring_buffer__consume(s->rb);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			st_err("failed to poll ring buffer: %s", strerror(-err));
			break;
		}
		err = flush(s, out);
		if (err)
			break;
		check_lost(s, false);
		reap_child(s, WNOHANG);
	}
	if (err >= 0 || err == -EPIPE) {
		/* everything the kernel queued before the stop */
		ring_buffer__consume(s->rb);
		flush(s, out);
	}
	check_lost(s, true);
	if (s->lost[ST_LOST_EVENTS])
		st_err("%llu events lost in total (ring buffer full)",
		       (unsigned long long)s->lost[ST_LOST_EVENTS]);
	/* the trace stops with the reader; COMMAND runs on to its end */
	reap_child(s, 0);
	if (err >= 0)
		err = s->write_err;
	if (err == -EPIPE)
		err = 0;	/* the reader left: a quiet, clean end */
	return exit_status(s, err);
}

int st_session_fail_status(const struct st_session *s)
{
	return s->fail_status ? s->fail_status : 1;
}

void st_session_close(struct st_session *s)
{
	size_t i;

	if (!s->obj)
		return;	/* never prepared */
	forward_to = 0;
	ring_buffer__free(s->rb);
	s->rb = NULL;
	for (i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	s->cgroup_fd = -1;
	reap_child(s, WNOHANG);
}
