/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container runtimes' own records, for what a cgroup path does not say:
 * a container's name.
 *
 *   containers/storage (podman, CRI-O, buildah): every container of a store
 *     is in STORAGE/<driver>-containers/containers.json, or
 *     volatile-containers.json beside it ({"id": ..., "names": [...]});
 *     rootful podman's store is /var/lib/containers/storage (driver
 *     "overlay" on Debian 12), a transient one /run/containers/storage. Read
 *     again when a file changes (inode, size, mtime), checked only when a
 *     name is asked for, never per event.
 *   Docker: DOCKER/containers/<id>/config.v2.json, "Name": "/name", read
 *     once per container asked for.
 *   containerd keeps its records in a database, out of reach.
 *   Kubernetes, whatever the runtime: the kubelet links each container's
 *     log as KUBELET_LOGS/<pod>_<namespace>_<container>-<id>.log
 *     (/var/log/containers); the name given is "<namespace>/<pod>/<container>",
 *     before any runtime's (CRI-O's own is "k8s_<container>_<pod>_..."). The
 *     listing is kept and made again when the directory changes (or when a
 *     name is not found a second or more after the last listing: a
 *     directory's mtime may be too coarse to show a link made in the same
 *     tick), so at most once a second for names asked per event. The
 *     kubelet makes a link once the container has started, after its
 *     cgroup: a name asked for too early is unknown (asked again later by
 *     the workload cache, and by the filter when the link appears).
 *
 * The files are root's, but their strings come from whoever named the
 * container: lengths are checked, a name holding a NUL or longer than
 * ST_CONTAINER_NAME_MAX - 1 bytes is taken as unknown, and the bytes are
 * kept as they are (escaping is the output's).
 */
#ifndef SOCKTRACE_CONTAINERS_H
#define SOCKTRACE_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>

#define ST_CONTAINER_ID_LEN	64	/* hex digits of a full container id */
#define ST_CONTAINER_NAME_MAX	256	/* a name's bytes, NUL included */
#define ST_RECORDS_FILE_MAX	(64 << 20)	/* a bigger file is not read */

struct st_containers;

/* Where the records are; a NULL member means its default */
struct st_container_paths {
	/* containers/storage roots, NULL-terminated */
	const char *const *storage;	/* default: ST_STORAGE_DEFAULT */
	const char *docker_root;	/* default: "/var/lib/docker" */
	const char *kubelet_logs;	/* default: "/var/log/containers" */
};

#define ST_STORAGE_DEFAULT { "/var/lib/containers/storage", "/run/containers/storage", NULL }

/* @paths may be NULL (the defaults); the caller keeps it alive. 0 or -ENOMEM. */
int st_containers_open(const struct st_container_paths *paths, struct st_containers **c);
void st_containers_close(struct st_containers *c);

/*
 * The name of container @id (64 hex digits) as @runtime's records have it
 * ("docker"; "podman" or "cri-o": containers/storage; NULL, a layout that
 * does not say: both), or the kubelet's if it has one, into @buf
 * (ST_CONTAINER_NAME_MAX). @buf, or NULL if unknown.
 */
const char *st_container_name(struct st_containers *c, const char *runtime, const char *id,
			      char *buf, size_t len);

/*
 * Calls @fn for every container the records hold: its id (64 hex digits)
 * and name (NULL if unknown); an id the kubelet links comes again with its
 * name there. 0, or what @fn stopped with (non-zero).
 */
int st_containers_each(struct st_containers *c,
		       int (*fn)(const char *id, const char *name, void *ctx), void *ctx);

/* The kubelet's directory of log links, for a watch on it */
const char *st_containers_kubelet_logs(const struct st_containers *c);

/* A watch saw a link made there: listed again at the next question */
void st_containers_kubelet_changed(struct st_containers *c);

/*
 * @file is a kubelet log link's name, "<pod>_<namespace>_<container>-<id>.log":
 * its id into @id (ST_CONTAINER_ID_LEN + 1 bytes) and
 * "<namespace>/<pod>/<container>" into @name (@len bytes). False if not.
 */
bool st_kubelet_link(const char *file, char *id, char *name, size_t len);

/* @s (@n bytes) is a full container id: 64 lowercase hex digits */
bool st_container_id_valid(const char *s, size_t n);

#endif
