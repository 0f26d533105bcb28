// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include "backend.h"
#include "kprobe_events.h"
#include "log.h"
#include "probe.h"

/* Writes @line to tracefs's kprobe_events: 0 or -errno */
static int write_events(const char *line)
{
	char path[128];
	ssize_t len = strlen(line);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/kprobe_events", st_tracing_dir());
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, len) != len)
		err = -errno;
	close(fd);
	return err;
}

static int remove_event(const char *name)
{
	char line[96];

	if (snprintf(line, sizeof(line), "-:%s/%s\n", ST_KPROBE_GROUP, name) >= (int)sizeof(line))
		return -ENAMETOOLONG;
	return write_events(line);
}

/* The perf event id of the event @name: > 0, or -errno */
static long event_id(const char *name)
{
	char path[160], buf[32];
	FILE *f;
	long id = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/events/%s/%s/id", st_tracing_dir(),
		     ST_KPROBE_GROUP, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		id = strtol(buf, NULL, 10);
	fclose(f);
	return id > 0 ? id : -ENOENT;
}

/* Makes the event @ev names for @prog (it may be left by a killed tool of this PID) */
static int make_event(const struct bpf_program *prog, const struct st_kprobe_event *ev)
{
	bool ret = !strncmp(bpf_program__section_name(prog), "kretprobe/", 10);
	char line[192];

	if (snprintf(line, sizeof(line), "%c:%s/%s %s\n", ret ? 'r' : 'p', ST_KPROBE_GROUP,
		     ev->name, st_prog_func(prog)) >= (int)sizeof(line))
		return -ENAMETOOLONG;
	remove_event(ev->name);
	return write_events(line);
}

/* A perf event of tracepoint type @id, for a BPF program: fd or -errno */
static int open_event(long id)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_TRACEPOINT,
		.config = id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	/* any CPU's hit runs the program: the CPU only places the event */
	int fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

struct bpf_link *st_kprobe_event_attach(const struct bpf_program *prog,
					struct st_kprobe_event *ev)
{
	static unsigned int seq;
	struct bpf_link *link = NULL;
	long id;
	int err, pfd = -1;

	snprintf(ev->name, sizeof(ev->name), "st_%d_%u", (int)getpid(), seq++);
	err = st_ensure_tracefs();
	if (!err)
		err = make_event(prog, ev);
	if (err)
		goto cleanup;
	id = event_id(ev->name);
	pfd = id < 0 ? (int)id : open_event(id);
	if (pfd < 0) {
		err = pfd;
		goto cleanup;
	}
	link = bpf_program__attach_perf_event(prog, pfd);
	if (!link)
		err = -errno;
cleanup:
	if (err) {
		st_dbg("kprobe event for %s: %s", st_prog_func(prog), st_strerror(-err));
		if (pfd >= 0)
			close(pfd);
		st_kprobe_event_remove(ev);
		errno = -err;
	}
	return link;
}

void st_kprobe_event_remove(struct st_kprobe_event *ev)
{
	if (!ev->name[0])
		return;
	remove_event(ev->name);
	ev->name[0] = '\0';
}

static bool named(const struct st_kprobe_event *evs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (evs[i].name[0] && !strcmp(evs[i].name, name))
			return true;
	return false;
}

int st_kprobe_events_missed(const struct st_kprobe_event *evs, size_t n, __u64 *missed)
{
	char path[128], line[256], name[128];
	unsigned long long hits, m;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_profile", st_tracing_dir());
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*missed = 0;
	/* "  NAME  HITS  MISSED", NAME without its group */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %llu %llu", name, &hits, &m) == 3 && named(evs, n, name))
			*missed += m;
	fclose(f);
	return 0;
}

/* Events of this group, at most @max, whose tool's PID is not here */
static size_t gone_events(char (*names)[32], size_t max)
{
	char path[128], line[256], proc[32];
	const char *c;
	size_t n = 0;
	int pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_events", st_tracing_dir());
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* "r10:socktrace/st_PID_N inet_csk_accept" */
	while (n < max && fgets(line, sizeof(line), f)) {
		c = strchr(line, ':');
		if (!c || sscanf(c + 1, ST_KPROBE_GROUP "/%31s", names[n]) != 1 ||
		    sscanf(names[n], "st_%d_", &pid) != 1 || pid == getpid())
			continue;
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK))
			n++;
	}
	fclose(f);
	return n;
}

/*
 * Read first, removed after: kprobe_events is not read on while it changes.
 * More than SWEEP_MAX are left to the next tool that makes one; one still in
 * use (a tool in another PID namespace) stays: the kernel refuses (EBUSY).
 */
#define SWEEP_MAX	32

void st_kprobe_events_sweep(void)
{
	char names[SWEEP_MAX][32];
	size_t i, n = gone_events(names, SWEEP_MAX);

	for (i = 0; i < n; i++)
		if (!remove_event(names[i]))
			st_dbg("removed kprobe event %s of a tool that is gone", names[i]);
}
