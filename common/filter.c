// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include "filter.h"
#include "log.h"

#define ST_PROC_PID_INIT_INO 0xeffffffcU	/* the initial PID namespace */

bool st_pids_in_map(const struct st_opts *opts)
{
	return opts->command || opts->npids > ST_CFG_PIDS;
}

void st_config_init(struct st_config *cfg, const struct st_opts *opts)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	if (st_pids_in_map(opts)) {
		cfg->filter_pid = ST_PIDS_MAP;
	} else if (opts->npids) {
		cfg->filter_pid = ST_PIDS_LIST;
		cfg->npids = opts->npids;
		for (i = 0; i < opts->npids; i++)
			cfg->pid_list[i] = opts->pids[i];
	}
	cfg->follow_forks = !!opts->command;
	cfg->filter_uid = opts->has_uid;
	cfg->uid = opts->uid;
	cfg->filter_cgroup = !!opts->cgroup;
	cfg->filter_workload = opts->container || opts->unit;
	cfg->filter_port = opts->nports > 0;
	cfg->family = opts->family;
	cfg->netns = opts->netns;
}

bool st_config_filters_tasks(const struct st_config *cfg)
{
	return cfg->filter_pid || cfg->filter_uid || cfg->filter_cgroup || cfg->filter_workload;
}

static int open_cgroup(const char *path)
{
	struct statfs fs;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		st_err("--cgroup: cannot open %s: %s", path, st_strerror(-err));
		return err;
	}
	if (fstatfs(fd, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		st_err("--cgroup: %s is not a cgroup v2 directory", path);
		return -ENOTDIR;
	}
	return fd;
}

int st_filter_prepare(struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b)
{
	struct stat st;

	f->cgroup_fd = -1;
	if (opts->cgroup) {
		f->cgroup_fd = open_cgroup(opts->cgroup);
		if (f->cgroup_fd < 0)
			return f->cgroup_fd;
	}
	st_config_init(b->cfg, opts);
	if (!b->cfg->filter_workload)	/* not used: no 4096 entries for nothing */
		bpf_map__set_max_entries(b->workload_cgroups, 1);
	/* PIDs as `ps` shows them where the tool runs (in a container, too) */
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != ST_PROC_PID_INIT_INO)
		b->cfg->pidns_ino = st.st_ino;
	f->sees_all_tasks = !b->cfg->pidns_ino;
	return 0;
}

static int update(struct bpf_map *map, const void *key, const void *value)
{
	int err = bpf_map__update_elem(map, key, bpf_map__key_size(map), value,
				       bpf_map__value_size(map), BPF_ANY);

	if (err)
		st_err("failed to update map %s: %s", bpf_map__name(map), st_strerror(-err));
	return err;
}

int st_filter_workload_open(struct st_filter *f, const struct st_opts *opts,
			    struct st_workloads *w)
{
	if (!opts->container && !opts->unit)
		return 0;
	f->cgroups = st_workloads_cgroups(w);
	f->refused.max = ST_MAX_WORKLOAD_CGROUPS;
	return st_workload_filter_open(w, opts->container, opts->unit, &f->workload);
}

#define PRUNE_PAUSE_S	10	/* after a prune that freed nothing */

/* Whether cgroup @id was removed (a lookup by handle) */
static bool cgroup_gone(struct st_filter *f, __u64 id)
{
	char path[ST_CGROUP_PATH_MAX];

	return st_cgroup_path(f->cgroups, id, path, sizeof(path)) == -ENOENT;
}

/*
 * When the map is full: the ids of cgroups gone since make room. Each check
 * is a lookup by handle, so a prune that found nothing gone waits
 * PRUNE_PAUSE_S before the next. The number freed.
 */
static int prune_removed(struct st_filter *f)
{
	__u64 key, next, gone[64];
	struct timespec now;
	size_t n = 0, i;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < f->prune_after)
		return 0;
	err = bpf_map__get_next_key(f->workload_map, NULL, &next, sizeof(next));
	while (!err && n < sizeof(gone) / sizeof(gone[0])) {
		key = next;
		if (cgroup_gone(f, key))
			gone[n++] = key;
		err = bpf_map__get_next_key(f->workload_map, &key, &next, sizeof(next));
	}
	for (i = 0; i < n; i++)
		bpf_map__delete_elem(f->workload_map, &gone[i], sizeof(gone[i]), 0);
	f->prune_after = n ? 0 : now.tv_sec + PRUNE_PAUSE_S;
	return n;
}

static int put_id(struct bpf_map *map, __u64 id)
{
	__u8 one = 1;

	return bpf_map__update_elem(map, &id, sizeof(id), &one, sizeof(one), BPF_ANY);
}

/* @id into the map; a full one is pruned of removed cgroups first. 0 or -errno. */
static int put_workload_cgroup(struct st_filter *f, __u64 id)
{
	int err = put_id(f->workload_map, id);

	if (err == -E2BIG && f->cgroups && prune_removed(f) > 0)
		err = put_id(f->workload_map, id);
	return err;
}

static int add_workload_cgroup(__u64 id, void *ctx)
{
	struct st_filter *f = ctx;
	int err;

	err = put_workload_cgroup(f, id);
	if (err == -E2BIG) {
		/* once per cgroup: a re-walk offers it again */
		if (st_idset_add(&f->refused, id) != 0)
			f->workload_dropped++;
		return 1;	/* not remembered: a later walk offers it again */
	}
	if (err)
		st_err("failed to update map %s: %s", bpf_map__name(f->workload_map),
		       st_strerror(-err));
	else
		st_idset_del(&f->refused, id);	/* a re-walk found room for it */
	return err;
}

/*
 * The refused cgroups, while the map takes them: inotify reports a cgroup
 * once, so without this one refused while the map was full would stay
 * untraced. A full map is pruned first; after a prune that freed nothing,
 * nothing is tried for PRUNE_PAUSE_S. Refused cgroups removed since are
 * forgotten, so that the retries end with them.
 */
static void retry_refused(struct st_filter *f)
{
	struct timespec now;
	__u64 id;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while (f->refused.n && now.tv_sec >= f->prune_after) {
		id = f->refused.ids[f->refused.n - 1];
		err = 0;
		if (!cgroup_gone(f, id))
			err = put_workload_cgroup(f, id);
		if (err)
			return;		/* still full, or failed: at a later update */
		st_idset_del(&f->refused, id);
	}
}

int st_filter_workload_update(struct st_filter *f)
{
	int n;

	if (!f->workload)
		return 0;
	if (f->refused.n && f->cgroups)
		retry_refused(f);
	n = st_workload_filter_update(f->workload, add_workload_cgroup, f);
	return n < 0 ? n : 0;
}

int st_filter_workload_fd(const struct st_filter *f)
{
	return f->workload ? st_workload_filter_fd(f->workload) : -1;
}

int st_filter_fill(struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b)
{
	__u32 zero = 0;
	__u8 one = 1;
	size_t i;
	int err = 0;

	/* a short -p list is in st_config; COMMAND's pid is added at its start */
	if (st_pids_in_map(opts))
		for (i = 0; i < opts->npids && !err; i++)
			err = update(b->pids, &opts->pids[i], &one);
	for (i = 0; i < opts->nports && !err; i++)
		err = update(b->ports, &opts->ports[i], &one);
	if (!err && f->cgroup_fd >= 0)
		err = update(b->cgroups, &zero, &f->cgroup_fd);
	f->workload_map = b->workload_cgroups;
	if (!err)
		err = st_filter_workload_update(f);
	return err;
}

void st_filter_close(struct st_filter *f)
{
	if (f->cgroup_fd >= 0)
		close(f->cgroup_fd);
	f->cgroup_fd = -1;
	st_workload_filter_close(f->workload);
	f->workload = NULL;
	st_idset_free(&f->refused);
}
