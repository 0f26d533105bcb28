/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cgroup v2 hierarchy: where it is mounted, the path of a cgroup id
 * (bpf_get_current_cgroup_id(), the inode number of the cgroup's
 * directory), and a walk over its directories. Paths are relative to the
 * mount and start with "/" ("/system.slice/nginx.service"; the root is "/"),
 * as /proc/PID/cgroup's "0::" line shows them. They are the kernel's bytes,
 * whatever they hold: escaping is the output's business.
 */
#ifndef SOCKTRACE_CGROUP_H
#define SOCKTRACE_CGROUP_H

#include <stddef.h>
#include <linux/types.h>

#define ST_CGROUP_PATH_MAX	4096	/* PATH_MAX: a deeper cgroup is skipped */
#define ST_CGROUP_MAX_DEPTH	64	/* walks go no deeper (an fd per level) */

struct st_cgroups;

/*
 * The cgroup2 mount point in @mountinfo (a /proc/PID/mountinfo file; NULL:
 * /proc/self/mountinfo) into @buf: one that shows the whole hierarchy (root
 * "/") if there is one, else the first. 0, -ENOENT if there is none,
 * -ENAMETOOLONG, or -errno from reading the file. Says nothing.
 */
int st_cgroup_find_mount(const char *mountinfo, char *buf, size_t len);

/*
 * Opens the hierarchy mounted at @root (NULL: the cgroup2 mount found as
 * above). Ids are looked up by file handle where the kernel allows it
 * (cgroup2 on 5.5+, CAP_DAC_READ_SEARCH), else by walking the tree; @root
 * may be any directory tree (the tests use one), which is always walked.
 * 0, or -errno (-ENOENT: no cgroup2 mount), said in one line.
 */
int st_cgroups_open(const char *root, struct st_cgroups **cg);
void st_cgroups_close(struct st_cgroups *cg);
/* The mount point (absolute), as opened */
const char *st_cgroups_root(const struct st_cgroups *cg);
/* Directories the last st_cgroup_walk() did not enter: deeper than
 * ST_CGROUP_MAX_DEPTH below where it began, or with a path over ST_CGROUP_PATH_MAX */
unsigned long st_cgroups_skipped(const struct st_cgroups *cg);

/*
 * The path of cgroup @id into @buf: 0, -ENOENT if no such cgroup exists now
 * (removed, or never was), -ENAMETOOLONG, -EXDEV if it is outside the mount
 * (another cgroup namespace's root), or -errno.
 */
int st_cgroup_path(struct st_cgroups *cg, __u64 id, char *buf, size_t len);

/*
 * How much of @path (relative, as st_cgroup_path() gives it) has names only
 * root or the tool's own user could give: the longest prefix, ending at a
 * component, whose every component's parent directory is theirs and not
 * group- or world-writable (1 for "/", 0 if @path is not a path). Below a
 * directory another user owns (a delegated subtree: user@UID.service, a
 * rootless container's) that user names the cgroups as they like, so a
 * name there says nothing a filter or root's container records may trust.
 */
size_t st_cgroup_trusted_len(const struct st_cgroups *cg, const char *path);

/*
 * Called for each directory: its path and id. 0 goes on; any other value
 * stops the walk, which returns it.
 */
typedef int (*st_cgroup_walk_fn)(const char *path, __u64 id, void *ctx);

/*
 * Walks @path (relative, "/" for the whole tree) and the directories below
 * it, each before its children, without crossing into other mounts.
 * Directories that go away during the walk, or lie deeper than
 * ST_CGROUP_MAX_DEPTH or ST_CGROUP_PATH_MAX, are skipped. 0, what @fn
 * stopped with, or -errno if @path itself cannot be opened (-ENOENT: gone).
 */
int st_cgroup_walk(struct st_cgroups *cg, const char *path, st_cgroup_walk_fn fn, void *ctx);

#endif
