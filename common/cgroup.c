// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "cgroup.h"
#include "log.h"

/* include/linux/exportfs.h: a kernfs node by its 64-bit id (5.5+) */
#define ST_FILEID_KERNFS	0xfe

struct st_cgroups {
	int fd;			/* the mount's root directory */
	dev_t dev;		/* walks stay on it */
	bool by_handle;		/* ids open by file handle here */
	char root[ST_CGROUP_PATH_MAX];	/* without a trailing "/": "" for "/" */
	size_t root_len;
	unsigned long skipped;	/* directories the last walk did not enter */
};

/* mountinfo's octal escapes ("\040" for a space) undone, in place */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * A mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] -
 * FSTYPE SOURCE SUPEROPTS". True, with its root and mount point, for a
 * cgroup2 mount. Spaces in fields are escaped, so " - " is the separator.
 */
static bool cgroup2_line(char *line, char **root, char **mnt)
{
	char *sep = strstr(line, " - "), *save = NULL, *f[5];
	int i;

	if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
		return false;
	*sep = '\0';
	for (i = 0; i < 5; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return false;
	}
	unescape(f[3]);
	unescape(f[4]);
	*root = f[3];
	*mnt = f[4];
	return true;
}

int st_cgroup_find_mount(const char *mountinfo, char *buf, size_t len)
{
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	char *line = NULL, *root, *mnt;
	bool found = false, whole = false;
	size_t cap = 0;
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (!whole && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!cgroup2_line(line, &root, &mnt) || (found && strcmp(root, "/")))
			continue;
		if (strlen(mnt) >= len) {
			err = found ? 0 : -ENAMETOOLONG;
			continue;
		}
		strcpy(buf, mnt);
		found = true;
		whole = !strcmp(root, "/");
		err = 0;
	}
	free(line);
	fclose(f);
	return err;
}

static int open_root(struct st_cgroups *cg)
{
	struct statfs fs;
	struct stat st;

	cg->fd = open(cg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0 || fstat(cg->fd, &st))
		return -errno;
	cg->dev = st.st_dev;
	cg->by_handle = !fstatfs(cg->fd, &fs) && fs.f_type == CGROUP2_SUPER_MAGIC;
	cg->root_len = strlen(cg->root);
	while (cg->root_len && cg->root[cg->root_len - 1] == '/')
		cg->root[--cg->root_len] = '\0';
	return 0;
}

int st_cgroups_open(const char *root, struct st_cgroups **out)
{
	struct st_cgroups *cg = calloc(1, sizeof(*cg));
	int err;

	*out = NULL;
	if (!cg)
		return -ENOMEM;
	cg->fd = -1;
	if (root)
		err = snprintf(cg->root, sizeof(cg->root), "%s", root) <
		      (int)sizeof(cg->root) ? 0 : -ENAMETOOLONG;
	else
		err = st_cgroup_find_mount(NULL, cg->root, sizeof(cg->root));
	if (err == -ENOENT && !root)
		goto fail;	/* the caller says what it means for it */
	if (err) {
		st_err("failed to find the cgroup v2 mount: %s", strerror(-err));
		goto fail;
	}
	err = open_root(cg);
	if (err) {
		st_err("failed to open the cgroup v2 hierarchy %s: %s", cg->root, strerror(-err));
		goto fail;
	}
	*out = cg;
	return 0;
fail:
	st_cgroups_close(cg);
	return err;
}

void st_cgroups_close(struct st_cgroups *cg)
{
	if (!cg)
		return;
	if (cg->fd >= 0)
		close(cg->fd);
	free(cg);
}

unsigned long st_cgroups_skipped(const struct st_cgroups *cg)
{
	return cg->skipped;
}

const char *st_cgroups_root(const struct st_cgroups *cg)
{
	return cg->root_len ? cg->root : "/";
}

/*
 * @abs (@n bytes, as /proc/self/fd/N reads) relative to the mount. A
 * cgroup removed while it was being looked up reads with " (deleted)"
 * appended: dropped when no such path exists (a directory may have that
 * name for real).
 */
static int relative(const struct st_cgroups *cg, char *abs, size_t n, char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1;
	struct stat st;
	const char *rel;

	if (n > dl && !strcmp(abs + n - dl, deleted) && lstat(abs, &st))
		abs[n -= dl] = '\0';
	if (strncmp(abs, cg->root, cg->root_len) ||
	    (abs[cg->root_len] != '/' && abs[cg->root_len] != '\0'))
		return -EXDEV;
	rel = abs[cg->root_len] ? abs + cg->root_len : "/";
	if (strlen(rel) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	return 0;
}

static int path_by_handle(struct st_cgroups *cg, __u64 id, char *buf, size_t len)
{
	union {
		struct file_handle fh;
		char bytes[sizeof(struct file_handle) + sizeof(__u64)];
	} h;
	char proc[32], abs[ST_CGROUP_PATH_MAX + 16];
	ssize_t n;
	int fd, err;

	h.fh.handle_bytes = sizeof(id);
	h.fh.handle_type = ST_FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(cg->fd, &h.fh, O_RDONLY | O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE ? -ENOENT : -errno;	/* ESTALE: no such id */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, abs, sizeof(abs) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return err;
	if ((size_t)n == sizeof(abs) - 1)
		return -ENAMETOOLONG;
	abs[n] = '\0';
	return relative(cg, abs, n, buf, len);
}

struct find {
	__u64 id;
	char *buf;
	size_t len;
};

static int find_id(const char *path, __u64 id, void *ctx)
{
	struct find *f = ctx;

	if (id != f->id)
		return 0;
	if (strlen(path) >= f->len)
		return -ENAMETOOLONG;
	strcpy(f->buf, path);
	return 1;
}

size_t st_cgroup_trusted_len(const struct st_cgroups *cg, const char *path)
{
	char rel[ST_CGROUP_PATH_MAX];
	size_t i, len = strlen(path), good = 1;
	uid_t me = geteuid();
	struct stat st;

	if (path[0] != '/' || len >= sizeof(rel))
		return 0;
	memcpy(rel, path, len + 1);
	/* a name is whoever could write its parent's: the parent's owner */
	for (i = 2; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		good = i;
		rel[i] = '\0';
		if (fstatat(cg->fd, rel + 1, &st, AT_SYMLINK_NOFOLLOW) ||
		    (st.st_uid != 0 && st.st_uid != me) || (st.st_mode & 0022))
			break;
		rel[i] = path[i];
	}
	return good;
}

int st_cgroup_path(struct st_cgroups *cg, __u64 id, char *buf, size_t len)
{
	struct find f = { id, buf, len };
	int err;

	if (cg->by_handle) {
		err = path_by_handle(cg, id, buf, len);
		/* before 5.5, or without CAP_DAC_READ_SEARCH: walk from now on */
		if (err != -EPERM && err != -EOPNOTSUPP && err != -EINVAL &&
		    err != -ENOSYS && err != -EACCES)
			return err;
		st_dbg("cgroup ids by file handle: %s; walking the tree instead",
		       strerror(-err));
		cg->by_handle = false;
	}
	err = st_cgroup_walk(cg, "/", find_id, &f);
	return err == 1 ? 0 : err < 0 ? err : -ENOENT;
}

struct walk {
	struct st_cgroups *cg;
	st_cgroup_walk_fn fn;
	void *ctx;
	char path[ST_CGROUP_PATH_MAX];
	size_t len;		/* 0 at the root, which is shown as "/" */
};

static int walk_dir(struct walk *w, int fd, int depth);

static int walk_children(struct walk *w, DIR *d, int depth)
{
	size_t len = w->len, n;
	struct dirent *de;
	int fd, r = 0;

	while (!r && (de = readdir(d))) {
		if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = strlen(de->d_name);
		if (len + 1 + n >= sizeof(w->path) || depth + 1 > ST_CGROUP_MAX_DEPTH) {
			w->cg->skipped++;	/* too deep or too long a path */
			continue;
		}
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;	/* gone since, or not a directory */
		w->path[len] = '/';
		memcpy(w->path + len + 1, de->d_name, n + 1);
		w->len = len + 1 + n;
		r = walk_dir(w, fd, depth + 1);
		w->len = len;
		w->path[len] = '\0';
	}
	return r;
}

/* w->path, open as @fd (which this closes), then what is below it */
static int walk_dir(struct walk *w, int fd, int depth)
{
	struct stat st;
	DIR *d;
	int r;

	if (fstat(fd, &st) || st.st_dev != w->cg->dev) {
		close(fd);
		return 0;
	}
	r = w->fn(w->len ? w->path : "/", st.st_ino, w->ctx);
	if (r) {
		close(fd);
		return r;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	r = walk_children(w, d, depth);
	closedir(d);
	return r;
}

int st_cgroup_walk(struct st_cgroups *cg, const char *path, st_cgroup_walk_fn fn, void *ctx)
{
	struct walk w = { .cg = cg, .fn = fn, .ctx = ctx };
	size_t n;
	int fd;

	cg->skipped = 0;
	while (*path == '/')
		path++;
	n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	if (n + 1 >= sizeof(w.path))
		return -ENAMETOOLONG;
	if (n) {
		w.path[0] = '/';
		memcpy(w.path + 1, path, n);
		w.len = n + 1;
	}
	w.path[w.len] = '\0';
	fd = openat(cg->fd, n ? w.path + 1 : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return walk_dir(&w, fd, 0);
}
