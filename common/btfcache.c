// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <bpf/btf.h>
#include "btfcache.h"
#include "clock.h"
#include "log.h"

#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
#define MAX_BTF_SIZE	(1024 * 1024)	/* a minimized BTF has a few KiB */
#define CHUNK		(16 * 1024)
#define BPFTOOL_MS	60000		/* a second or two in a TCG guest */
#define WHY_LEN		256
#define FD_PATH_LEN	32

/* Fixed places, no PATH search: the tools run as root. */
static const char *const bpftool_dirs[] = {
	"/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin",
};

/* One look-up in the cache, and what to say about it. */
struct job {
	const char *tool;
	const void *elf;
	size_t elf_size;
	char dir[PATH_MAX];		/* the btf/ dir, for messages */
	char name[NAME_MAX + 1];	/* <tool>-<objkey>-<kernelkey>.btf */
	int dirfd;
	char bpftool[PATH_MAX];
	char why[WHY_LEN];		/* why the cache is not used */
	bool generated;			/* the file is new, not from the cache */
};

__attribute__((format(printf, 3, 4)))
static int say(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	return err;
}

static void fd_path(char *buf, int fd)
{
	snprintf(buf, FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

/*
 * The file decides what the BPF programs read in the kernel: only root's
 * will do, also for a tool that runs with CAP_BPF as another user.
 */
static int check_owner(struct job *j, const struct stat *st, const char *what)
{
	if (st->st_uid != 0)
		return say(j, -EPERM, "%s is owned by uid %u, not by uid 0", what,
			   (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return say(j, -EPERM, "%s is writable by group or others (mode %04o)",
			   what, (unsigned)(st->st_mode & 07777));
	return 0;
}

static int make_dir(struct job *j, const char *path)
{
	int err;

	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	err = -errno;
	return say(j, err, "cannot create %s: %s", path, strerror(-err));
}

/* Opens (creating it if need be) $SOCKTRACE_CACHE_DIR/btf into j->dirfd. */
static int open_dir(struct job *j)
{
	const char *root = secure_getenv(ST_CACHE_DIR_ENV);
	struct stat st;
	int err;

	/* a user given capabilities must not choose what the programs read */
	if (geteuid() != 0 || getauxval(AT_SECURE))
		return say(j, -EPERM, "the cache is for root only (euid %u)",
			   (unsigned)geteuid());
	if (root && !*root)
		return say(j, -ENOENT, "the cache is off (%s is empty)", ST_CACHE_DIR_ENV);
	if (!root)
		root = ST_CACHE_DIR_DEFAULT;
	if (root[0] != '/')
		return say(j, -EINVAL, "%s is not an absolute path", ST_CACHE_DIR_ENV);
	if (snprintf(j->dir, sizeof(j->dir), "%s/btf", root) >= (int)sizeof(j->dir))
		return say(j, -ENAMETOOLONG, "%s is too long", ST_CACHE_DIR_ENV);
	err = make_dir(j, root);
	if (!err)
		err = make_dir(j, j->dir);
	if (err)
		return err;
	j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->dirfd < 0 || fstat(j->dirfd, &st)) {
		err = -errno;
		return say(j, err, "cannot open %s: %s", j->dir, strerror(-err));
	}
	return check_owner(j, &st, j->dir);
}

/*
 * The running kernel's key: crc32 and size of its BTF, read in chunks, as
 * holding all of it is the very peak the cache is there to avoid.
 */
static int kernel_key(struct job *j, char *key, size_t len)
{
	unsigned char buf[CHUNK];
	uLong crc = crc32(0, NULL, 0);
	unsigned long long size = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return say(j, err, "cannot open %s: %s", VMLINUX_BTF, strerror(-err));
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		crc = crc32(crc, buf, n);
		size += n;
	}
	if (n < 0) {
		err = -errno;
		say(j, err, "cannot read %s: %s", VMLINUX_BTF, strerror(-err));
	}
	close(fd);
	snprintf(key, len, "%08lx%08llx", crc, size);
	return err;
}

/* A file we may trust and libbpf can parse: ours, private, small, BTF. */
static int check_file(struct job *j, int fd, const char *what)
{
	char path[FD_PATH_LEN], msg[64];
	struct stat st;
	struct btf *btf;
	int err;

	if (fstat(fd, &st)) {
		err = -errno;
		return say(j, err, "cannot stat %s: %s", what, strerror(-err));
	}
	if (!S_ISREG(st.st_mode))
		return say(j, -EINVAL, "%s is not a regular file", what);
	err = check_owner(j, &st, what);
	if (err)
		return err;
	if (st.st_size == 0 || st.st_size > MAX_BTF_SIZE)
		return say(j, -EFBIG, "%s has %lld bytes (expected 1 to %d)", what,
			   (long long)st.st_size, MAX_BTF_SIZE);
	fd_path(path, fd);
	btf = btf__parse(path, NULL);
	if (!btf) {
		err = -errno;
		libbpf_strerror(err, msg, sizeof(msg));	/* -errno or libbpf's own */
		return say(j, err, "%s is not valid BTF: %s", what, msg);
	}
	btf__free(btf);
	return 0;
}

/* The cached file's fd; -ENOENT when there is none, else -errno and why. */
static int open_cached(struct job *j)
{
	int fd, err;

	/* O_NONBLOCK: a FIFO put there must not hang the tool */
	fd = openat(j->dirfd, j->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err != -ENOENT)
			say(j, err, "cannot open the cached file: %s", strerror(-err));
		return err;
	}
	err = check_file(j, fd, "the cached file");
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int find_bpftool(struct job *j)
{
	struct stat st;
	size_t i, off = 0;

	for (i = 0; i < sizeof(bpftool_dirs) / sizeof(bpftool_dirs[0]); i++) {
		snprintf(j->bpftool, sizeof(j->bpftool), "%s/bpftool", bpftool_dirs[i]);
		if (stat(j->bpftool, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(j->bpftool, X_OK) == 0 && st.st_uid == 0 &&
		    !(st.st_mode & (S_IWGRP | S_IWOTH)))
			return 0;
	}
	off = snprintf(j->why, sizeof(j->why), "no usable bpftool in");
	for (i = 0; i < sizeof(bpftool_dirs) / sizeof(bpftool_dirs[0]) && off < sizeof(j->why); i++)
		off += snprintf(j->why + off, sizeof(j->why) - off, " %s", bpftool_dirs[i]);
	return -ENOENT;
}

/* bpftool reads the object from a file: this one lives in memory only. */
static int object_memfd(struct job *j)
{
	const char *p = j->elf;
	size_t left = j->elf_size;
	ssize_t n;
	int fd, err;

	fd = memfd_create("socktrace-bpf-object", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return say(j, err, "cannot create a memfd: %s", strerror(-err));
	}
	for (; left; p += n, left -= n) {
		n = write(fd, p, left);
		if (n < 0) {
			err = -errno;
			close(fd);
			return say(j, err, "cannot write the BPF object to a memfd: %s",
				   strerror(-err));
		}
	}
	return fd;
}

/* In the child: only @obj and @out cross exec, and no environment. */
__attribute__((noreturn))
static void exec_bpftool(const struct job *j, char *const argv[], int obj, int out,
			 int pipe_w)
{
	char *const envp[] = { NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0 || dup2(pipe_w, 1) < 0 || dup2(pipe_w, 2) < 0 ||
	    fcntl(obj, F_SETFD, 0) || fcntl(out, F_SETFD, 0))
		_exit(126);
	execve(j->bpftool, argv, envp);
	_exit(127);
}

/* Appends @n bytes to the NUL-terminated @tail, keeping its last bytes. */
static void keep_tail(char *tail, size_t size, const char *buf, size_t n)
{
	size_t used = strlen(tail), drop;

	if (n >= size) {
		buf += n - (size - 1);
		n = size - 1;
	}
	if (used + n >= size) {
		drop = used + n - (size - 1);
		memmove(tail, tail + drop, used - drop);
		used -= drop;
	}
	memcpy(tail + used, buf, n);
	tail[used + n] = '\0';
}

/* Reads the child's output until EOF, keeping its end; kills it if slow. */
static int read_output(int fd, pid_t pid, char *tail, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0;
	char buf[512];
	ssize_t n;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		left = BPFTOOL_MS - st_ms_since(&t0);
		if (left <= 0) {
			kill(pid, SIGKILL);
			return -ETIMEDOUT;
		}
		n = poll(&p, 1, left);
		if (n == 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 || (n = read(fd, buf, sizeof(buf))) <= 0)
			return 0;
		keep_tail(tail, size, buf, n);
	}
}

/* The last line bpftool printed, for the message. */
static const char *last_line(char *tail)
{
	size_t len = strlen(tail);
	char *nl;

	while (len && tail[len - 1] == '\n')
		tail[--len] = '\0';
	nl = strrchr(tail, '\n');
	return nl ? nl + 1 : tail;
}

/* bpftool gen min_core_btf VMLINUX OUT OBJECT, with files as /proc/self/fd/N */
static int run_bpftool(struct job *j, int obj, int out)
{
	char in_path[FD_PATH_LEN], out_path[FD_PATH_LEN], tail[160] = "";
	char *argv[] = { "bpftool", "gen", "min_core_btf", VMLINUX_BTF, out_path,
			 in_path, NULL };
	int p[2], status = 0, err;
	pid_t pid, w;

	fd_path(in_path, obj);
	fd_path(out_path, out);
	if (pipe2(p, O_CLOEXEC)) {
		err = -errno;
		return say(j, err, "cannot create a pipe: %s", strerror(-err));
	}
	pid = fork();
	if (pid == 0)
		exec_bpftool(j, argv, obj, out, p[1]);
	err = pid < 0 ? -errno : 0;
	close(p[1]);
	if (!err)
		err = read_output(p[0], pid, tail, sizeof(tail));
	close(p[0]);
	if (pid < 0)
		return say(j, err, "cannot fork: %s", strerror(-err));
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0 && !err)	/* e.g. SIGCHLD ignored: no status to trust */
		return say(j, -ECHILD, "cannot wait for %s: %s", j->bpftool, strerror(errno));
	if (err)
		return say(j, err, "%s took more than %d s", j->bpftool, BPFTOOL_MS / 1000);
	if (WIFSIGNALED(status))
		return say(j, -ECHILD, "%s was killed by signal %d", j->bpftool,
			   WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return say(j, -ECHILD, "%s exited with status %d%s%s", j->bpftool,
			   WEXITSTATUS(status), *tail ? ": " : "", last_line(tail));
	return 0;
}

/*
 * Names the finished file in one step (link to a temporary name, rename
 * over the old one): a tool starting meanwhile sees the old file or the
 * new one, never half of one.
 */
static int store(struct job *j, int fd)
{
	char src[FD_PATH_LEN], tmp[NAME_MAX + 1];
	int err = 0;

	fd_path(src, fd);
	snprintf(tmp, sizeof(tmp), ".%s-%d.tmp", j->tool, (int)getpid());
	unlinkat(j->dirfd, tmp, 0);	/* a dead process's, with our PID */
	if (linkat(AT_FDCWD, src, j->dirfd, tmp, AT_SYMLINK_FOLLOW) ||
	    renameat(j->dirfd, tmp, j->dirfd, j->name)) {
		err = -errno;
		st_dbg("BTF: cannot store %s/%s (it is used all the same): %s", j->dir,
		       j->name, strerror(-err));
		unlinkat(j->dirfd, tmp, 0);
	}
	return err;
}

/* The tool's files for other objects or kernels are of no more use. */
static void remove_stale(struct job *j)
{
	size_t plen = strlen(j->tool), len;
	struct dirent *e;
	DIR *d = NULL;
	int fd;

	fd = fcntl(j->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0)
		d = fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len > plen + 4 && !strncmp(e->d_name, j->tool, plen) &&
		    e->d_name[plen] == '-' && !strcmp(e->d_name + len - 4, ".btf") &&
		    strcmp(e->d_name, j->name) && !unlinkat(j->dirfd, e->d_name, 0))
			st_dbg("BTF: removed %s/%s, made for another object or kernel",
			       j->dir, e->d_name);
	}
	closedir(d);
}

/* A new minimized BTF from bpftool, stored under j->name: its fd or -errno. */
static int generate(struct job *j)
{
	int obj = -1, fd = -1, err;

	err = find_bpftool(j);
	if (err)
		goto cleanup;
	obj = object_memfd(j);
	if (obj < 0) {
		err = obj;
		goto cleanup;
	}
	/* nameless until complete, and gone by itself if we die first */
	fd = openat(j->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		say(j, err, "cannot create a file in %s: %s", j->dir, strerror(-err));
		goto cleanup;
	}
	err = run_bpftool(j, obj, fd);
	if (!err)
		err = check_file(j, fd, "bpftool's output");
	if (!err && !store(j, fd))
		remove_stale(j);
cleanup:
	if (obj >= 0)
		close(obj);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

/* The fd of a minimized BTF for this object and kernel, or -errno and why. */
static int find_btf(struct job *j)
{
	char kernel[32];
	int fd, err;

	err = open_dir(j);
	if (!err)
		err = kernel_key(j, kernel, sizeof(kernel));
	if (err)
		return err;
	snprintf(j->name, sizeof(j->name), "%s-%08lx-%s.btf", j->tool,
		 crc32(0, j->elf, j->elf_size), kernel);
	fd = open_cached(j);
	if (fd >= 0)
		return fd;
	if (fd != -ENOENT)
		st_dbg("BTF: %s/%s: %s; making it again", j->dir, j->name, j->why);
	j->generated = true;
	return generate(j);
}

const struct bpf_object_open_opts *st_btf_open_opts(struct st_btf_cache *c,
						    const char *tool,
						    st_elf_bytes_fn elf_bytes)
{
	struct job j = { .tool = tool, .dirfd = -1, .why = "unknown error" };
	int fd;

	memset(c, 0, sizeof(*c));
	c->opts.sz = sizeof(c->opts);
	j.elf = elf_bytes(&j.elf_size);
	fd = find_btf(&j);
	if (j.dirfd >= 0)
		close(j.dirfd);
	if (fd < 0) {
		st_dbg("BTF: using the full %s: %s", VMLINUX_BTF, j.why);
		return &c->opts;
	}
	c->fd = fd;
	c->have_fd = true;
	fd_path(c->path, fd);
	c->opts.btf_custom_path = c->path;
	if (j.generated)
		st_dbg("BTF: using %s/%s, generated now with %s", j.dir, j.name,
		       j.bpftool);
	else
		st_dbg("BTF: using cached %s/%s", j.dir, j.name);
	return &c->opts;
}

void st_btf_cache_close(struct st_btf_cache *c)
{
	if (c->have_fd)
		close(c->fd);
	c->have_fd = false;
}
