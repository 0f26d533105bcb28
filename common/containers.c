// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include "clock.h"
#include "containers.h"
#include "log.h"

/* A container of a containers/storage store, or of the kubelet's links */
struct stored {
	char id[ST_CONTAINER_ID_LEN + 1];
	char *name;		/* NULL if unknown */
};

struct records {
	struct stored *v;
	size_t n, cap;
	unsigned long long fingerprint;	/* of the files last read */
	bool loaded;
};

struct st_containers {
	const char *const *storage;
	const char *docker_root;
	const char *kubelet_logs;
	struct records stored;
	/* listed again when the directory changes, and at a miss a second
	 * after the last listing: its mtime may be too coarse to show a link
	 * made in the same tick as the listing */
	struct records kube;
	struct timespec kube_listed;
};

static const char *const default_storage[] = ST_STORAGE_DEFAULT;

int st_containers_open(const struct st_container_paths *paths, struct st_containers **out)
{
	struct st_containers *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->storage = paths && paths->storage ? paths->storage : default_storage;
	c->docker_root = paths && paths->docker_root ? paths->docker_root : "/var/lib/docker";
	c->kubelet_logs = paths && paths->kubelet_logs ? paths->kubelet_logs : "/var/log/containers";
	*out = c;
	return 0;
}

static void clear_records(struct records *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].name);
	r->n = 0;
}

void st_containers_close(struct st_containers *c)
{
	if (!c)
		return;
	clear_records(&c->stored);
	free(c->stored.v);
	clear_records(&c->kube);
	free(c->kube.v);
	free(c);
}

bool st_container_id_valid(const char *s, size_t n)
{
	size_t i;

	if (n != ST_CONTAINER_ID_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Up to ST_RECORDS_FILE_MAX + 1 bytes of @fd: a file that grew past it is refused */
static char *read_bounded(int fd, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap), *more;
	ssize_t r;

	while (buf && n <= ST_RECORDS_FILE_MAX) {
		if (n == cap) {
			more = realloc(buf, cap *= 2);
			if (!more)
				break;
			buf = more;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0)
			break;
		if (r == 0) {
			*len = n;
			return buf;
		}
		n += r;
	}
	free(buf);
	return NULL;
}

/*
 * A record file, bounded in size; NULL (said with --debug) if unreadable.
 * Opened without following a link or waiting on a FIFO: only a regular
 * file is read.
 */
static json_t *load_json(const char *path)
{
	json_error_t e;
	struct stat st;
	json_t *j = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		if (errno != ENOENT)
			st_dbg("failed to open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > ST_RECORDS_FILE_MAX ||
	    !(text = read_bounded(fd, &len)))
		st_dbg("failed to read %s: not a regular file of at most %d bytes", path,
		       ST_RECORDS_FILE_MAX);
	else if (!(j = json_loadb(text, len, JSON_ALLOW_NUL, &e)))
		st_dbg("failed to parse %s: line %d", path, e.line);	/* e.text quotes the file */
	free(text);
	close(fd);
	return j;
}

/*
 * A name from JSON string @s into @buf: false if it is not a string, is
 * empty, holds a NUL or does not fit. @slash: Docker's leading "/" dropped.
 */
static bool take_name(const json_t *s, bool slash, char *buf, size_t len)
{
	const char *v = json_string_value(s);
	size_t n = json_string_length(s);

	if (!v)
		return false;
	if (slash && n && v[0] == '/') {
		v++;
		n--;
	}
	if (!n || memchr(v, '\0', n) || n >= len || n >= ST_CONTAINER_NAME_MAX)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

static int add_record(struct records *r, const char *id, const char *name)
{
	struct stored *s;

	if (r->n == r->cap) {
		s = reallocarray(r->v, r->cap ? 2 * r->cap : 64, sizeof(*s));
		if (!s)
			return -ENOMEM;
		r->v = s;
		r->cap = r->cap ? 2 * r->cap : 64;
	}
	s = &r->v[r->n];
	memcpy(s->id, id, sizeof(s->id));
	s->name = name ? strdup(name) : NULL;
	r->n++;
	return 0;
}

/* One containers.json: [{"id": "<64 hex>", "names": ["name", ...]}, ...] */
static void load_store(struct st_containers *c, const char *path)
{
	char name[ST_CONTAINER_NAME_MAX];
	json_t *all = load_json(path), *ctr;
	const char *id;
	size_t i;

	json_array_foreach(all, i, ctr) {
		id = json_string_value(json_object_get(ctr, "id"));
		if (!id || !st_container_id_valid(id, strlen(id)))
			continue;
		if (add_record(&c->stored, id, take_name(json_array_get(json_object_get(ctr, "names"), 0),
						false, name, sizeof(name)) ? name : NULL))
			break;
	}
	json_decref(all);
}

static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* The store files now (@g), and one number that changes with any of them */
static unsigned long long find_store_files(const struct st_containers *c, glob_t *g)
{
	static const char *const files[] = { "containers.json", "volatile-containers.json" };
	unsigned long long h = 0xcbf29ce484222325ULL;
	char pattern[PATH_MAX];
	struct stat st;
	size_t i, k;

	for (i = 0; c->storage[i]; i++)
		for (k = 0; k < 2; k++)
			if (snprintf(pattern, sizeof(pattern), "%s/*-containers/%s", c->storage[i],
				     files[k]) < (int)sizeof(pattern))
				glob(pattern, g->gl_pathc ? GLOB_APPEND : 0, NULL, g);
	for (i = 0; i < g->gl_pathc; i++) {
		h = fnv(h, g->gl_pathv[i], strlen(g->gl_pathv[i]) + 1);
		if (stat(g->gl_pathv[i], &st))
			continue;
		h = fnv(h, &st.st_ino, sizeof(st.st_ino));
		h = fnv(h, &st.st_size, sizeof(st.st_size));
		h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
	}
	return h;
}

/* The stores as they are now: read again only if a file changed */
static void refresh_stored(struct st_containers *c)
{
	glob_t g = {};
	unsigned long long fp = find_store_files(c, &g);
	size_t i;

	if (!c->stored.loaded || fp != c->stored.fingerprint) {
		clear_records(&c->stored);
		for (i = 0; i < g.gl_pathc; i++)
			load_store(c, g.gl_pathv[i]);
		c->stored.fingerprint = fp;
		c->stored.loaded = true;
	}
	globfree(&g);
}

/* @id's name in @r into @buf, or NULL */
static const char *record_name(const struct records *r, const char *id, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].id, id) && r->v[i].name && strlen(r->v[i].name) < len)
			return strcpy(buf, r->v[i].name);
	return NULL;
}

static const char *stored_name(struct st_containers *c, const char *id, char *buf, size_t len)
{
	refresh_stored(c);
	return record_name(&c->stored, id, buf, len);
}

static const char *docker_name(const struct st_containers *c, const char *id,
			       char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *name = NULL;
	json_t *j;

	if (snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", c->docker_root,
		     id) >= (int)sizeof(path))
		return NULL;
	j = load_json(path);
	if (j && take_name(json_object_get(j, "Name"), true, buf, len))
		name = buf;
	json_decref(j);
	return name;
}

/*
 * Pod, namespace and container names hold no "_" (DNS labels and
 * subdomains): any other shape, an empty part or a name that does not fit
 * is not a kubelet link.
 */
bool st_kubelet_link(const char *file, char *id, char *name, size_t len)
{
	size_t n = strlen(file), rest;
	const char *cid, *u1, *u2;

	if (n < 3 + 1 + ST_CONTAINER_ID_LEN + 4 || strcmp(file + n - 4, ".log"))
		return false;
	cid = file + n - 4 - ST_CONTAINER_ID_LEN;
	if (cid[-1] != '-' || !st_container_id_valid(cid, ST_CONTAINER_ID_LEN))
		return false;
	rest = (size_t)(cid - 1 - file);
	u1 = memchr(file, '_', rest);
	u2 = u1 ? memchr(u1 + 1, '_', rest - (size_t)(u1 + 1 - file)) : NULL;
	if (!u2 || u1 == file || u2 == u1 + 1 || u2 + 1 == cid - 1 ||
	    memchr(u2 + 1, '_', (size_t)(cid - 1 - (u2 + 1))) || rest >= len ||
	    rest >= ST_CONTAINER_NAME_MAX)
		return false;
	/* "<pod>_<ns>_<ctr>" and "<ns>/<pod>/<ctr>" have the same length */
	snprintf(name, len, "%.*s/%.*s/%.*s", (int)(u2 - u1 - 1), u1 + 1, (int)(u1 - file), file,
		 (int)(cid - 1 - u2 - 1), u2 + 1);
	memcpy(id, cid, ST_CONTAINER_ID_LEN);
	id[ST_CONTAINER_ID_LEN] = '\0';
	return true;
}

/* The directory now: 0 if there is none (or it cannot be read) */
static unsigned long long kubelet_fingerprint(const struct st_containers *c)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	struct stat st;

	if (stat(c->kubelet_logs, &st)) {
		if (errno != ENOENT)
			st_dbg("failed to look at %s: %s", c->kubelet_logs, strerror(errno));
		return 0;
	}
	h = fnv(h, &st.st_dev, sizeof(st.st_dev));
	h = fnv(h, &st.st_ino, sizeof(st.st_ino));
	return fnv(h, &st.st_mtim, sizeof(st.st_mtim));
}

/* The kubelet's links listed again; @force: even if the directory looks the same */
static void refresh_kubelet(struct st_containers *c, bool force)
{
	char id[ST_CONTAINER_ID_LEN + 1], name[ST_CONTAINER_NAME_MAX];
	unsigned long long fp = kubelet_fingerprint(c);
	struct dirent *de;
	DIR *d;

	if (c->kube.loaded && fp == c->kube.fingerprint && !force)
		return;
	clear_records(&c->kube);
	c->kube.fingerprint = fp;
	c->kube.loaded = true;
	clock_gettime(CLOCK_MONOTONIC, &c->kube_listed);
	d = fp ? opendir(c->kubelet_logs) : NULL;
	if (!d) {
		if (fp)
			st_dbg("failed to list %s: %s", c->kubelet_logs, strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		if (st_kubelet_link(de->d_name, id, name, sizeof(name)) &&
		    add_record(&c->kube, id, name)) {
			c->kube.loaded = false;		/* a part: listed again next time */
			break;
		}
	closedir(d);
}

void st_containers_kubelet_changed(struct st_containers *c)
{
	c->kube.loaded = false;
}

static const char *kubelet_name(struct st_containers *c, const char *id, char *buf, size_t len)
{
	const char *name;

	refresh_kubelet(c, false);
	name = record_name(&c->kube, id, buf, len);
	if (!name && c->kube.fingerprint && st_ms_since(&c->kube_listed) >= 1000) {
		refresh_kubelet(c, true);
		name = record_name(&c->kube, id, buf, len);
	}
	return name;
}

const char *st_containers_kubelet_logs(const struct st_containers *c)
{
	return c->kubelet_logs;
}

const char *st_container_name(struct st_containers *c, const char *runtime, const char *id,
			      char *buf, size_t len)
{
	const char *name = NULL;

	if (!id || !st_container_id_valid(id, strlen(id)))
		return NULL;
	if (kubelet_name(c, id, buf, len))
		return buf;
	if (!runtime || !strcmp(runtime, "podman") || !strcmp(runtime, "cri-o"))
		name = stored_name(c, id, buf, len);
	if (!name && (!runtime || !strcmp(runtime, "docker")))
		name = docker_name(c, id, buf, len);
	return name;
}

static int each_docker(const struct st_containers *c,
		       int (*fn)(const char *id, const char *name, void *ctx), void *ctx)
{
	char path[PATH_MAX], name[ST_CONTAINER_NAME_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (snprintf(path, sizeof(path), "%s/containers", c->docker_root) >= (int)sizeof(path))
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while (!r && (de = readdir(d)))
		if (st_container_id_valid(de->d_name, strlen(de->d_name)))
			r = fn(de->d_name, docker_name(c, de->d_name, name, sizeof(name)), ctx);
	closedir(d);
	return r;
}

int st_containers_each(struct st_containers *c,
		       int (*fn)(const char *id, const char *name, void *ctx), void *ctx)
{
	size_t i;
	int r = 0;

	refresh_stored(c);
	for (i = 0; i < c->stored.n && !r; i++)
		r = fn(c->stored.v[i].id, c->stored.v[i].name, ctx);
	if (!r)
		r = each_docker(c, fn, ctx);
	refresh_kubelet(c, false);
	for (i = 0; i < c->kube.n && !r; i++)
		r = fn(c->kube.v[i].id, c->kube.v[i].name, ctx);
	return r;
}
