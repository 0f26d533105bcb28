/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which workload a cgroup is: what its path says (systemd unit, container
 * runtime and id, Kubernetes pod) and its container's name, once per
 * cgroup id, kept in a bounded cache.
 *
 * What a path says (st_cgroup_info_parse(), pure):
 *   unit        the deepest component ending in ".service" or ".scope" (and
 *               shorter than ST_UNIT_NAME_MAX): "/system.slice/nginx.service",
 *               ".../user@1000.service/app.slice/x.service", "session-3.scope"
 *   container   the deepest container component; the id is 64 lowercase hex
 *               digits, nothing else:
 *                 docker      docker-<id>.scope (systemd), /docker/<id> (cgroupfs)
 *                 podman      libpod-<id>.scope (systemd), libpod-<id> (cgroupfs:
 *                             /libpod_parent/libpod-<id>); not libpod-conmon-<id>,
 *                             the monitor
 *                 containerd  cri-containerd-<id>.scope
 *                 cri-o       crio-<id>.scope, crio-<id>; not crio-conmon-<id>
 *                 (none)      a bare <id> right under a pod: the kubepods
 *                             cgroupfs driver's, whatever the runtime
 *   pod         the Kubernetes pod UID (a UUID, printed with dashes, or a
 *               static pod's 32 hex digits) and QoS class:
 *                 systemd   kubepods-burstable-pod<uid with _>.slice,
 *                           kubepods-besteffort-pod<uid>.slice,
 *                           kubepods-pod<uid>.slice (guaranteed); a name
 *                           prefix before "kubepods-" is allowed (kind's
 *                           "kubelet-kubepods-...")
 *                 cgroupfs  kubepods/burstable/pod<uid>, kubepods/besteffort/pod<uid>,
 *                           kubepods/pod<uid> (guaranteed)
 * Paths are the kernel's bytes, made by whoever made the directories: every
 * shape and length is checked, and the bytes are kept as they are
 * (escaping is the output's: st_escape(), st_json_string()).
 */
#ifndef SOCKTRACE_WORKLOAD_H
#define SOCKTRACE_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cgroup.h"
#include "containers.h"

#define ST_WORKLOADS_MAX	16384	/* cgroups cached */
#define ST_UNIT_NAME_MAX	256	/* systemd's UNIT_NAME_MAX, NUL included */
#define ST_POD_UID_LEN		36	/* a UUID with dashes */

/* A cgroup's workload; each member NULL when not known */
struct st_workload {
	const char *cgroup;		/* its path, relative to the cgroup2 mount */
	const char *unit;		/* systemd unit or scope: "nginx.service" */
	const char *runtime;		/* "docker", "podman", "containerd", "cri-o" */
	const char *container_id;	/* 64 hex digits */
	const char *container_name;	/* as the runtime's records have it */
	const char *pod_uid;		/* Kubernetes pod UID, with dashes */
	const char *pod_qos;		/* "guaranteed", "burstable", "besteffort" */
};

/* What a path says; "" or NULL for what it does not */
struct st_cgroup_info {
	char unit[ST_UNIT_NAME_MAX];
	const char *runtime;				/* static */
	char container_id[ST_CONTAINER_ID_LEN + 1];
	char pod_uid[ST_POD_UID_LEN + 1];
	const char *pod_qos;				/* static */
};

/* Parses the first @len bytes of @path (up to a NUL) into @info. */
void st_cgroup_info_parse(const char *path, size_t len, struct st_cgroup_info *info);

/*
 * The short form a column shows: the container's name, else the first 12
 * digits of its id (in @buf, at least 13 bytes), else the unit, else the
 * cgroup path; NULL if none is known.
 */
const char *st_workload_short(const struct st_workload *wl, char *buf, size_t len);

/* Where the workloads are found; a NULL or 0 member means its default */
struct st_workload_config {
	const char *cgroup_root;	/* the hierarchy: the cgroup2 mount */
	struct st_container_paths records;	/* the runtimes' files */
	/* systemd unit directories for --unit, NULL-terminated: ST_UNIT_DIRS */
	const char *const *unit_dirs;
	size_t max_entries;		/* cached cgroups: ST_WORKLOADS_MAX */
	bool quiet;			/* no cgroup2 mount is said with --debug only */
};

#define ST_UNIT_DIRS { "/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", \
		       "/usr/lib/systemd/system", "/etc/systemd/user", "/usr/lib/systemd/user", NULL }

struct st_workloads;

/*
 * The cache, for the real system. No cgroup2 mount is no error: every
 * cgroup is then unknown, which is said in one line (with @quiet, only
 * with --debug). 0, or -errno said in one line.
 */
int st_workloads_open(bool quiet, struct st_workloads **w);
/* The same with @cfg (the tests point it at files of their own; kept alive by the caller) */
int st_workloads_open_with(const struct st_workload_config *cfg, struct st_workloads **w);
void st_workloads_close(struct st_workloads *w);

/*
 * The workload of cgroup @id: resolved the first time it is asked for, from
 * the cache after that. Never NULL. A cgroup removed after it was first
 * asked for keeps what it was; one removed before has every member NULL,
 * as has id 0. Once ST_WORKLOADS_MAX cgroups are cached (said once), a
 * cgroup not among them is resolved on each call (but for a run of calls
 * for the same one), each time counted in st_workloads_uncached(). A
 * container found without a name is asked its name again, at most once a
 * second for its first 30 s (the kubelet names it after it starts). An
 * answer lasts until the next call.
 */
const struct st_workload *st_workload_of(struct st_workloads *w, __u64 id);
/* How many lookups were resolved without the cache, for want of room */
unsigned long long st_workloads_uncached(const struct st_workloads *w);

/* For the filters: the hierarchy (NULL if none is mounted), the records, the unit directories */
struct st_cgroups *st_workloads_cgroups(const struct st_workloads *w);
struct st_containers *st_workloads_containers(const struct st_workloads *w);
const char *const *st_workloads_unit_dirs(const struct st_workloads *w);

#endif
