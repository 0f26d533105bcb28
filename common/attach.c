// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "log.h"
#include "probe.h"

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

/* Is a thread of process @pid inside one of the syscalls @nrs? */
static bool task_in(long pid, const long *nrs, size_t n)
{
	char path[64];
	struct dirent *t;
	DIR *tasks;
	long tid, nr;
	size_t i;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return false;	/* gone since */
	while (!found && (t = readdir(tasks))) {
		tid = id_of(t);
		nr = tid < 0 ? -1 : task_syscall(pid, tid);
		for (i = 0; i < n && nr >= 0 && !found; i++)
			found = nr == nrs[i];
		if (found)
			st_dbg("thread %ld is in syscall %ld", tid, nr);
	}
	closedir(tasks);
	return found;
}

/* Is any thread on the machine inside one of the syscalls @nrs? Not
 * inlined: the e2e case accept_seen_full holds the start here (gdb), where
 * the function hooks are attached and the catch-up programs not yet. */
static __attribute__((noinline)) bool syscall_in_progress(const long *nrs, size_t n)
{
	DIR *procs = opendir("/proc");
	struct dirent *p;
	bool found = false;
	long pid;

	if (!procs)
		return true;	/* cannot tell: as if there were */
	while (!found && (p = readdir(procs))) {
		pid = id_of(p);
		found = pid >= 0 && task_in(pid, nrs, n);
	}
	closedir(procs);
	return found;
}

/*
 * struct bpf_link_info of a perf event link, as far as a kprobe's miss count
 * (the perf event's type since 6.6, the count since 6.7): Debian 12's
 * <linux/bpf.h> (6.1) has neither. The kernel copies what it has, leaves
 * the rest as given (zero) and says how much it had in the length.
 */
struct perf_link_info {
	__u32 type, id, prog_id, pad;
	__u32 perf_type, pad2;
	__u64 func_name;
	__u32 name_len, offset;
	__u64 addr, missed, cookie;
};

#define ST_PERF_EVENT_KPROBE	3	/* enum bpf_perf_event_type */
#define ST_PERF_EVENT_KRETPROBE	4

/* @link's miss count, if it is a kprobe's and the kernel counts it there: 0 or -errno */
static int link_missed(struct bpf_link *link, __u64 *missed)
{
	struct perf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return -errno;
	if (info.type != BPF_LINK_TYPE_PERF_EVENT ||
	    (info.perf_type != ST_PERF_EVENT_KPROBE && info.perf_type != ST_PERF_EVENT_KRETPROBE))
		return -ENOENT;
	if (len < offsetof(struct perf_link_info, missed) + sizeof(info.missed))
		return -EOPNOTSUPP;	/* 6.6: the type, not the count */
	*missed = info.missed;
	return 0;
}

/*
 * The first kprobe program decides how they are all made: a perf link if
 * the kernel counts its misses there, else a tracefs kprobe event, whose
 * misses kprobe_profile counts; else (no tracefs kprobes) a perf link, and
 * a line says misses will not be told.
 */
static struct bpf_link *attach_kprobe(struct st_links *l, struct bpf_program *prog)
{
	struct bpf_link *link;
	__u64 missed;
	int err;

	if (l->kprobes == ST_KPROBES_EVENTS)
		return st_kprobe_event_attach(prog, &l->kev[l->n]);
	link = st_backend_attach(prog);
	if (!link || l->kprobes != ST_KPROBES_NONE)
		return link;
	err = link_missed(link, &missed);
	if (!err) {
		l->kprobes = ST_KPROBES_LINKS;
		return link;
	}
	bpf_link__destroy(link);
	st_kprobe_events_sweep();
	link = st_kprobe_event_attach(prog, &l->kev[l->n]);
	if (link) {
		st_dbg("kprobes made in tracefs: the kernel's kprobe links do not count "
		       "their misses (before 6.7)");
		l->kprobes = ST_KPROBES_EVENTS;
		return link;
	}
	err = -errno;
	st_err("kprobes: this kernel does not count their missed calls on links (before 6.7), "
	       "and no tracefs kprobe could be made (%s): misses will not be said",
	       st_strerror(-err));
	l->kprobes = ST_KPROBES_UNTOLD;
	return st_backend_attach(prog);
}

static int attach_one(struct st_links *l, struct bpf_program *prog)
{
	struct bpf_link *link = st_prog_backend(prog) == ST_BACKEND_KPROBE ?
				attach_kprobe(l, prog) : st_backend_attach(prog);
	int err;

	if (!link) {
		err = -errno;
		st_err("failed to attach %s: %s", bpf_program__name(prog), st_strerror(-err));
		return err;
	}
	l->link[l->n++] = link;
	return 0;
}

static bool in_rows(const struct st_prog *rows, size_t nrows, const struct bpf_program *prog)
{
	size_t i;

	for (i = 0; i < nrows; i++)
		if (rows[i].prog == prog)
			return true;
	return false;
}

/* Loaded, and not run by the tool itself (autoattach off); a catch-up one
 * (@catch_up) or not */
static bool to_attach(const struct bpf_program *prog, const struct st_selection *sel,
		      bool catch_up)
{
	return bpf_program__autoload(prog) && bpf_program__autoattach(prog) &&
	       st_selection_catches_up(sel, prog) == catch_up;
}

/* The rows' programs in their order, then the object's others (followers) */
static int attach_some(struct st_links *l, struct bpf_object *obj, const struct st_prog *rows,
		       size_t nrows, const struct st_selection *sel, bool catch_up)
{
	struct bpf_program *prog;
	size_t i;
	int err = 0;

	for (i = 0; i < nrows && !err; i++)
		if (to_attach(rows[i].prog, sel, catch_up))
			err = attach_one(l, rows[i].prog);
	bpf_object__for_each_program(prog, obj)
		if (!err && !in_rows(rows, nrows, prog) && to_attach(prog, sel, catch_up))
			err = attach_one(l, prog);
	return err;
}

/*
 * In the rows' order, not the object's (libbpf sorts that by section
 * name): tcptracer lists the hooks that end what others begin first.
 * Function hooks first: a call that begins after them is theirs. Then the
 * catch-up programs, but only if a thread is inside one of their syscalls
 * now. A syscall tracepoint with a program sends every
 * syscall of every task through the kernel's slow path, about 50 ns each:
 * not to be paid for a call that is not there.
 */
int st_attach_all(struct st_links *l, struct bpf_object *obj, const struct st_prog *rows,
		  size_t nrows, const struct st_selection *sel, bool sees_all_tasks)
{
	struct bpf_program *prog;
	long nrs[ST_MAX_CATCH_UP];
	size_t i, n = 0;
	bool all = !sees_all_tasks;	/* threads /proc does not show */
	int err;

	bpf_object__for_each_program(prog, obj)
		n++;
	l->link = calloc(n ? n : 1, sizeof(*l->link));
	l->kev = calloc(n ? n : 1, sizeof(*l->kev));
	if (!l->link || !l->kev) {
		st_err("failed to attach: out of memory");
		return -ENOMEM;
	}
	err = attach_some(l, obj, rows, nrows, sel, false);
	for (i = 0, n = 0; !err && i < sel->ncatch_up; i++) {
		nrs[n] = exit_syscall_nr(sel->catch_up[i]);
		if (nrs[n] >= 0)
			n++;
		else
			all = true;
	}
	if (err || (!n && !all))
		return err;
	if (!all && !syscall_in_progress(nrs, n)) {
		st_dbg("no thread inside the catch-up programs' syscalls: not attached");
		return 0;
	}
	err = attach_some(l, obj, rows, nrows, sel, true);
	l->caught_up = !err;
	return err;
}

int st_links_missed(struct st_links *l, __u64 *missed)
{
	__u64 one;
	size_t i;

	*missed = 0;
	switch (l->kprobes) {
	case ST_KPROBES_LINKS:
		for (i = 0; i < l->n; i++)
			if (!link_missed(l->link[i], &one))
				*missed += one;
		return 0;
	case ST_KPROBES_EVENTS:
		return st_kprobe_events_missed(l->kev, l->n, missed);
	default:
		return -EOPNOTSUPP;
	}
}

void st_detach_all(struct st_links *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		bpf_link__destroy(l->link[i]);
		st_kprobe_event_remove(&l->kev[i]);	/* unused once its link is gone */
	}
	free(l->link);
	free(l->kev);
	l->link = NULL;
	l->kev = NULL;
	l->n = 0;
}
