// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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

int st_filter_fill(const struct st_filter *f, const struct st_opts *opts, const struct st_bpf *b)
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
	return err;
}

void st_filter_close(struct st_filter *f)
{
	if (f->cgroup_fd >= 0)
		close(f->cgroup_fd);
	f->cgroup_fd = -1;
}
