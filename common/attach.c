// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "log.h"

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

/* Is any thread on the machine inside one of the syscalls @nrs? */
static bool syscall_in_progress(const long *nrs, size_t n)
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

static int attach_one(struct st_links *l, struct bpf_program *prog)
{
	struct bpf_link *link = st_backend_attach(prog);
	int err;

	if (!link) {
		err = -errno;
		st_err("failed to attach %s: %s", bpf_program__name(prog), st_strerror(-err));
		return err;
	}
	l->link[l->n++] = link;
	return 0;
}

/* Attaches the loaded programs that are (@catch_up) or are not catch-up ones */
static int attach_some(struct st_links *l, struct bpf_object *obj,
		       const struct st_selection *sel, bool catch_up)
{
	struct bpf_program *prog;
	int err = 0;

	bpf_object__for_each_program(prog, obj)
		if (!err && bpf_program__autoload(prog) &&
		    st_selection_catches_up(sel, prog) == catch_up)
			err = attach_one(l, prog);
	return err;
}

/*
 * Function hooks first: a call that begins after them is theirs. Then the
 * catch-up programs, but only if a thread is inside one of their syscalls
 * now. A syscall tracepoint with a program sends every syscall of every
 * task through the kernel's slow path, about 50 ns each: not to be paid for
 * a call that is not there.
 */
int st_attach_all(struct st_links *l, struct bpf_object *obj,
		  const struct st_selection *sel, bool sees_all_tasks)
{
	struct bpf_program *prog;
	long nrs[ST_MAX_CATCH_UP];
	size_t i, n = 0;
	bool all = !sees_all_tasks;	/* threads /proc does not show */
	int err;

	bpf_object__for_each_program(prog, obj)
		n++;
	l->link = calloc(n ? n : 1, sizeof(*l->link));
	if (!l->link) {
		st_err("failed to attach: out of memory");
		return -ENOMEM;
	}
	err = attach_some(l, obj, sel, false);
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
	err = attach_some(l, obj, sel, true);
	l->caught_up = !err;
	return err;
}

/*
 * struct bpf_link_info of a perf event link, as far as a kprobe's miss count
 * (the perf event's type since 6.6, the count since 6.7): Debian 12's
 * <linux/bpf.h> (6.1) has neither. The kernel copies what it has and
 * leaves the rest as given: zero.
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

int st_links_missed(struct st_links *l, __u64 *missed)
{
	struct perf_link_info info;
	bool told = false;
	__u32 len;
	size_t i;

	*missed = 0;
	for (i = 0; i < l->n && !l->untold; i++) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(l->link[i]), &info, &len) ||
		    info.type != BPF_LINK_TYPE_PERF_EVENT ||
		    (info.perf_type != ST_PERF_EVENT_KPROBE &&
		     info.perf_type != ST_PERF_EVENT_KRETPROBE))
			continue;
		*missed += info.missed;
		told = true;
	}
	l->untold = !told;
	return told ? 0 : -EOPNOTSUPP;
}

void st_detach_all(struct st_links *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		bpf_link__destroy(l->link[i]);
	free(l->link);
	l->link = NULL;
	l->n = 0;
}
