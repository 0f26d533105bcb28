// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include "idset.h"
#include "log.h"
#include "workload_filter.h"

struct watch {
	int wd;
	char *path;		/* relative to the mount */
};

struct st_workload_filter {
	struct st_cgroups *cg;
	char container[ST_CONTAINER_ID_LEN + 1];	/* "" if not asked */
	/* the name --container gave, "" if it gave an id: a container made
	 * later under that name (docker run --rm --name again) is the same one */
	char name[ST_CONTAINER_NAME_MAX];
	struct st_containers *records;
	char unit[ST_UNIT_NAME_MAX];			/* "" if not asked */
	int epfd;		/* what the caller polls: the two below */
	int ifd;		/* inotify, or -1 */
	/* on the kubelet's log links, with --container NAME: a container
	 * restarted gets its link, and so its name, after its cgroup */
	int kube_wd;		/* or -1 */
	int tfd;		/* the re-walk timer, armed once the watch falls short */
	bool rewalking;		/* the timer is armed */
	struct watch *watches;	/* by wd, ascending */
	size_t nwatches, watch_cap;
	struct st_idset seen;	/* ids reported, at most ST_FILTER_SEEN_MAX */
	bool started, rewalk;
	bool said_skipped;	/* that some directories are out of reach */
	/* during update() */
	int (*add)(__u64 id, void *ctx);
	void *add_ctx;
	int added;
};

/* What --container matches: the first two ids by prefix, the first by name */
struct match {
	const char *arg;
	size_t n;
	bool hex;		/* @arg can be an id prefix */
	char by_prefix[2][ST_CONTAINER_ID_LEN + 1];
	char by_name[2][ST_CONTAINER_ID_LEN + 1];
};

/* @id into the first free of @ids unless there already */
static void note(char ids[2][ST_CONTAINER_ID_LEN + 1], const char *id)
{
	if (!ids[0][0])
		strcpy(ids[0], id);
	else if (strcmp(ids[0], id) && !ids[1][0])
		strcpy(ids[1], id);
}

static void consider(struct match *m, const char *id, const char *name)
{
	if (m->hex && !strncmp(id, m->arg, m->n))
		note(m->by_prefix, id);
	if (name && !strcmp(name, m->arg))
		note(m->by_name, id);
}

static int consider_record(const char *id, const char *name, void *ctx)
{
	consider(ctx, id, name);
	return 0;
}

static int consider_cgroup(const char *path, __u64 id, void *ctx)
{
	struct st_cgroup_info info;

	(void)id;
	st_cgroup_info_parse(path, strlen(path), &info);
	if (info.container_id[0])
		consider(ctx, info.container_id, NULL);
	return 0;
}

/* A full id, else a name, else a prefix of one container only; 1 for a name */
static int decide(const struct match *m, char *out)
{
	const char (*ids)[ST_CONTAINER_ID_LEN + 1] =
		m->by_prefix[0][0] && m->n == ST_CONTAINER_ID_LEN ? m->by_prefix :
		m->by_name[0][0] ? m->by_name : m->by_prefix;
	int k;

	if (!ids[0][0]) {
		st_err("--container: no container matches '%s'", m->arg);
		return -ENOENT;
	}
	if (ids[1][0]) {
		/* as many digits as tell the first two apart */
		for (k = 0; ids[0][k] == ids[1][k]; k++)
			;
		k = k < 12 ? 12 : k + 1;
		st_err("--container: '%s' matches more than one container (%.*s, %.*s...)",
		       m->arg, k, ids[0], k, ids[1]);
		return -EINVAL;
	}
	strcpy(out, ids[0]);
	return ids == m->by_name;
}

static int resolve_container(struct st_workloads *w, struct st_cgroups *cg,
			     const char *arg, struct st_workload_filter *f)
{
	struct match m = { .arg = arg, .n = strlen(arg) };
	int err;

	m.hex = m.n && m.n <= ST_CONTAINER_ID_LEN && strspn(arg, "0123456789abcdef") == m.n;
	if (!m.n) {
		st_err("--container: empty argument (expected an ID prefix or a name)");
		return -EINVAL;
	}
	st_containers_each(st_workloads_containers(w), consider_record, &m);
	err = st_cgroup_walk(cg, "/", consider_cgroup, &m);
	if (err) {
		st_err("failed to walk the cgroup tree %s: %s", st_cgroups_root(cg), strerror(-err));
		return err;
	}
	err = decide(&m, f->container);
	if (err == 1)
		snprintf(f->name, sizeof(f->name), "%s", arg);
	return err < 0 ? err : 0;
}

static int has_name(const char *path, __u64 id, void *ctx)
{
	const char *base = strrchr(path, '/');

	(void)id;
	return base && !strcmp(base + 1, ctx);
}

/*
 * A unit file for @unit, or for its template ("x@.service" for
 * "x@y.service"): 1, and @unit renamed to what an alias links to (Debian's
 * sshd.service is ssh.service, whose name its cgroup has); 0 if none;
 * -ENOENT for a masked unit (a link to /dev/null), said.
 */
static int unit_file(const char *const *dirs, char *unit)
{
	const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.'), *base;
	char path[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t i;

	for (i = 0; dirs[i]; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dirs[i], unit) < (int)sizeof(path) &&
		    !lstat(path, &st))
			break;
		if (at && dot > at + 1 &&
		    snprintf(path, sizeof(path), "%s/%.*s%s", dirs[i], (int)(at + 1 - unit), unit,
			     dot) < (int)sizeof(path) && !lstat(path, &st))
			return 1;
	}
	if (!dirs[i])
		return 0;
	if (!S_ISLNK(st.st_mode) || (n = readlink(path, target, sizeof(target) - 1)) <= 0)
		return 1;
	target[n] = '\0';
	if (!strcmp(target, "/dev/null")) {
		st_err("--unit: %s is masked (%s links to /dev/null)", unit, path);
		return -ENOENT;
	}
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (*base && strlen(base) < ST_UNIT_NAME_MAX && strrchr(base, '.') &&
	    !strcmp(strrchr(base, '.'), dot))
		memmove(unit, base, strlen(base) + 1);
	return 1;
}

/* The unit types systemd gives a cgroup of their own */
static bool has_cgroup(const char *unit)
{
	static const char *const types[] = { ".service", ".scope", ".slice", ".socket",
					     ".mount", ".swap" };
	const char *dot = strrchr(unit, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i]))
			return true;
	return false;
}

static int resolve_unit(struct st_workloads *w, struct st_cgroups *cg, const char *arg, char *out)
{
	int found;

	if (!*arg || strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, "..")) {
		st_err("--unit: invalid unit name '%s'", arg);
		return -EINVAL;
	}
	if (snprintf(out, ST_UNIT_NAME_MAX, strchr(arg, '.') ? "%s" : "%s.service", arg) >=
	    ST_UNIT_NAME_MAX) {
		st_err("--unit: unit name too long (at most %d bytes)", ST_UNIT_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (!has_cgroup(out)) {
		st_err("--unit: %s has no cgroup (expected a .service, .scope, .slice, .socket, "
		       ".mount or .swap unit)", out);
		return -EINVAL;
	}
	if (st_cgroup_walk(cg, "/", has_name, out) == 1)
		return 0;
	found = unit_file(st_workloads_unit_dirs(w), out);
	if (found)
		return found < 0 ? found : 0;
	st_err("--unit: no unit matches '%s'", out);
	return -ENOENT;
}

/* @info's container is the one asked for: its id, or a later one of its name */
static bool is_container(const struct st_workload_filter *f, const struct st_cgroup_info *info)
{
	char name[ST_CONTAINER_NAME_MAX];

	if (!strcmp(info->container_id, f->container))
		return true;
	/* the runtime writes its record before it makes the cgroup */
	return f->name[0] && info->container_id[0] &&
	       st_container_name(f->records, info->runtime, info->container_id, name,
				 sizeof(name)) && !strcmp(name, f->name);
}

/* The first @len bytes of @path, or an ancestor, are the container's */
static bool in_container(const struct st_workload_filter *f, const char *path, size_t len)
{
	char last[ST_CONTAINER_ID_LEN + 1] = "";
	struct st_cgroup_info info;
	size_t i;

	for (i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		st_cgroup_info_parse(path, i, &info);
		/* the cgroups below a container are its: asked once */
		if (!info.container_id[0] || !strcmp(info.container_id, last))
			continue;
		if (is_container(f, &info))
			return true;
		strcpy(last, info.container_id);
	}
	return false;
}

/* A component of the first @len bytes of @path is @unit */
static bool in_unit(const char *path, size_t len, const char *unit)
{
	size_t n = strlen(unit);
	const char *p, *end = path + len;

	for (p = path; (p = memmem(p, end - p, unit, n)); p++)
		if (p > path && p[-1] == '/' && (p + n == end || p[n] == '/'))
			return true;
	return false;
}

static bool matches(const struct st_workload_filter *f, const char *path, size_t len)
{
	return (!f->container[0] || in_container(f, path, len)) &&
	       (!f->unit[0] || in_unit(path, len, f->unit));
}

/*
 * Only names root gave count (st_cgroup_trusted_len()): a user must not
 * put their processes in the trace, or fill its map, by naming a cgroup of
 * their own after the container or unit.
 */
static bool wanted(const struct st_workload_filter *f, const char *path)
{
	size_t len = strlen(path), n;

	if (!matches(f, path, len))	/* most cgroups, without a stat */
		return false;
	n = st_cgroup_trusted_len(f->cg, path);
	return n == len || matches(f, path, n);
}

static int report(struct st_workload_filter *f, __u64 id)
{
	int err;

	if (st_idset_has(&f->seen, id))
		return 0;
	err = f->add(id, f->add_ctx);
	if (err == 1)
		return 0;	/* no room now: not remembered, a later walk offers it again */
	if (err) {
		f->rewalk = true;	/* the rest next time */
		return err < 0 ? err : -EINVAL;
	}
	/* past ST_FILTER_SEEN_MAX (or out of memory) it is not remembered:
	 * a re-walk offers it again, and it is put again */
	st_idset_add(&f->seen, id);
	f->added++;
	return 0;
}

/* From now on, the tree is walked again every ST_FILTER_REWALK_MS */
static void fall_back(struct st_workload_filter *f, const char *why)
{
	struct itimerspec t;

	if (f->rewalking)
		return;
	t.it_interval.tv_sec = ST_FILTER_REWALK_MS / 1000;
	t.it_interval.tv_nsec = (ST_FILTER_REWALK_MS % 1000) * 1000000L;
	t.it_value = t.it_interval;
	if (timerfd_settime(f->tfd, 0, &t, NULL))
		st_err("failed to arm the cgroup re-walk timer: %s", strerror(errno));
	else
		st_err("cannot watch every cgroup (%s): looking for new ones every %d ms instead",
		       why, ST_FILTER_REWALK_MS);
	f->rewalking = true;
}

/* Where watch @wd is, or goes, in f->watches */
static size_t watch_at(const struct st_workload_filter *f, int wd)
{
	size_t lo = 0, hi = f->nwatches, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f->watches[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void drop_watch(struct st_workload_filter *f, int wd)
{
	size_t at = watch_at(f, wd);

	if (at == f->nwatches || f->watches[at].wd != wd)
		return;
	free(f->watches[at].path);
	memmove(&f->watches[at], &f->watches[at + 1],
		(f->nwatches - at - 1) * sizeof(*f->watches));
	f->nwatches--;
}

/*
 * Keeps @wd's path; a wd the kernel gave before (the same directory) stays.
 * False when out of memory: the caller drops the watch.
 */
static bool keep_watch(struct st_workload_filter *f, int wd, const char *path)
{
	size_t at = watch_at(f, wd), cap = f->watch_cap ? 2 * f->watch_cap : 256;
	struct watch *w;
	char *copy;

	if (at < f->nwatches && f->watches[at].wd == wd)
		return true;
	if (f->nwatches == f->watch_cap) {
		w = reallocarray(f->watches, cap, sizeof(*w));
		if (!w)
			return false;
		f->watches = w;
		f->watch_cap = cap;
	}
	copy = strdup(path);
	if (!copy)
		return false;
	w = &f->watches[at];
	memmove(w + 1, w, (f->nwatches - at) * sizeof(*w));
	w->wd = wd;
	w->path = copy;
	f->nwatches++;
	return true;
}

static void watch(struct st_workload_filter *f, const char *path)
{
	char abs[2 * ST_CGROUP_PATH_MAX];
	int wd;

	if (f->ifd < 0)
		return;
	if (f->nwatches >= ST_FILTER_WATCH_MAX) {
		fall_back(f, "more directories than the watch limit");
		return;
	}
	snprintf(abs, sizeof(abs), "%s%s", st_cgroups_root(f->cg), path);
	wd = inotify_add_watch(f->ifd, abs, IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (wd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)	/* not gone since: ENOSPC... */
			fall_back(f, strerror(errno));
	} else if (!keep_watch(f, wd, path)) {
		/* a watch whose events cannot be placed is no watch */
		inotify_rm_watch(f->ifd, wd);
		fall_back(f, strerror(ENOMEM));
	}
}

static int visit(const char *path, __u64 id, void *ctx)
{
	struct st_workload_filter *f = ctx;

	watch(f, path);
	return wanted(f, path) ? report(f, id) : 0;
}

/* Said once, with the count of the walk that first skipped some: a
 * re-walk skips the same directories again */
static void say_skipped(struct st_workload_filter *f)
{
	if (f->said_skipped || !st_cgroups_skipped(f->cg))
		return;
	f->said_skipped = true;
	st_err("cgroups deeper than %d levels or with paths over %d bytes are not looked "
	       "at: %s matches no task in them (directories skipped: %lu)", ST_CGROUP_MAX_DEPTH,
	       ST_CGROUP_PATH_MAX, f->unit[0] ? "--unit" : "--container",
	       st_cgroups_skipped(f->cg));
}

/* @path and below; gone since is no error */
static int walk_from(struct st_workload_filter *f, const char *path)
{
	int err = st_cgroup_walk(f->cg, path, visit, f);

	say_skipped(f);
	return err == -ENOENT ? 0 : err;
}

/*
 * @file, just made in the kubelet's directory, names the container asked
 * for: the listing is made again, so that the walk that follows finds it
 */
static bool kubelet_names(struct st_workload_filter *f, const char *file)
{
	char id[ST_CONTAINER_ID_LEN + 1], name[ST_CONTAINER_NAME_MAX];

	if (!st_kubelet_link(file, id, name, sizeof(name)) || strcmp(name, f->name))
		return false;
	st_containers_kubelet_changed(f->records);
	return true;
}

/* One inotify event: a new directory is walked, watched and maybe reported */
static int on_event(struct st_workload_filter *f, const struct inotify_event *e)
{
	char path[ST_CGROUP_PATH_MAX];
	size_t at;

	if (e->mask & IN_Q_OVERFLOW) {
		f->rewalk = true;	/* events were lost: look at everything */
		return 0;
	}
	if (e->wd == f->kube_wd) {
		if (e->mask & IN_IGNORED)
			f->kube_wd = -1;	/* the directory is gone */
		else if (e->len && kubelet_names(f, e->name))
			f->rewalk = true;	/* its cgroup, looked at before: again */
		return 0;
	}
	if (e->mask & IN_IGNORED) {
		drop_watch(f, e->wd);	/* its directory is gone */
		return 0;
	}
	if (!(e->mask & IN_CREATE) || !(e->mask & IN_ISDIR) || !e->len)
		return 0;
	at = watch_at(f, e->wd);
	if (at == f->nwatches || f->watches[at].wd != e->wd)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", strcmp(f->watches[at].path, "/") ?
		     f->watches[at].path : "", e->name) >= (int)sizeof(path))
		return 0;
	return walk_from(f, path);
}

static int read_events(struct st_workload_filter *f)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t n;
	char *p;
	int err = 0;

	while (!err && (n = read(f->ifd, buf, sizeof(buf))) > 0)
		for (p = buf; !err && p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			err = on_event(f, e);
		}
	return err;
}

int st_workload_filter_update(struct st_workload_filter *f,
			      int (*add)(__u64 cgroup_id, void *ctx), void *ctx)
{
	uint64_t ticks;
	int err = 0;

	f->add = add;
	f->add_ctx = ctx;
	f->added = 0;
	if (read(f->tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
		f->rewalk = true;
	if (f->started && f->ifd >= 0)
		err = read_events(f);
	if (!err && (!f->started || f->rewalk)) {
		f->started = true;
		f->rewalk = false;
		err = walk_from(f, "/");
	}
	return err ? err : f->added;
}

static int poll_also(struct st_workload_filter *f, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The caller polls one fd: the inotify one, and the timer of the fallback */
static int open_watch(struct st_workload_filter *f)
{
	int err;

	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	err = f->epfd < 0 || f->tfd < 0 ? -errno : poll_also(f, f->tfd);
	if (err) {
		st_err("failed to set up the cgroup watch: %s", strerror(-err));
		return err;
	}
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	err = f->ifd < 0 ? -errno : poll_also(f, f->ifd);
	if (err) {
		if (f->ifd >= 0)
			close(f->ifd);
		f->ifd = -1;
		fall_back(f, strerror(-err));
		return 0;
	}
	/* watched from the start only: none there is not a Kubernetes node, or
	 * the directory is not mounted (a DaemonSet without it) */
	if (f->name[0]) {
		f->kube_wd = inotify_add_watch(f->ifd, st_containers_kubelet_logs(f->records),
					       IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		if (f->kube_wd < 0 && errno != ENOENT)
			st_dbg("failed to watch %s: %s", st_containers_kubelet_logs(f->records),
			       strerror(errno));
	}
	return 0;
}

int st_workload_filter_open(struct st_workloads *w, const char *container, const char *unit,
			    struct st_workload_filter **out)
{
	struct st_workload_filter *f = calloc(1, sizeof(*f));
	int err = 0;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->epfd = f->ifd = f->tfd = f->kube_wd = -1;
	f->seen.max = ST_FILTER_SEEN_MAX;
	f->cg = st_workloads_cgroups(w);
	f->records = st_workloads_containers(w);
	if (!f->cg) {
		st_err("%s: cgroup v2 is not mounted", container ? "--container" : "--unit");
		err = -ENOENT;
	}
	if (!err && container)
		err = resolve_container(w, f->cg, container, f);
	if (!err && unit)
		err = resolve_unit(w, f->cg, unit, f->unit);
	if (!err && !container && !unit)
		err = -EINVAL;
	if (!err)
		err = open_watch(f);
	if (err) {
		st_workload_filter_close(f);
		return err;
	}
	*out = f;
	return 0;
}

void st_workload_filter_close(struct st_workload_filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nwatches; i++)
		free(f->watches[i].path);
	free(f->watches);
	st_idset_free(&f->seen);
	if (f->ifd >= 0)
		close(f->ifd);
	if (f->tfd >= 0)
		close(f->tfd);
	if (f->epfd >= 0)
		close(f->epfd);
	free(f);
}

const char *st_workload_filter_container(const struct st_workload_filter *f)
{
	return f->container[0] ? f->container : NULL;
}

const char *st_workload_filter_unit(const struct st_workload_filter *f)
{
	return f->unit[0] ? f->unit : NULL;
}

int st_workload_filter_fd(const struct st_workload_filter *f)
{
	return f ? f->epfd : -1;
}
