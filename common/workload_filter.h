/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --container and --unit, the user side: which cgroup ids to trace.
 *
 * At open the argument is resolved, or refused in one line:
 *   --container ID|NAME  a full id, else a container's name, else an id
 *                        prefix of exactly one container; the containers
 *                        are those the runtimes' records hold (running or
 *                        not) and those with a cgroup now. Nothing: -ENOENT;
 *                        an ambiguous prefix or name: -EINVAL.
 *   --unit NAME          NAME, or NAME.service without a dot: a unit with a
 *                        cgroup now (a directory of that name), or a unit
 *                        file in the unit directories (a template's
 *                        "x@.service" for "x@y.service"). Nothing: -ENOENT.
 * Then a cgroup is traced if its path or an ancestor's is the container's
 * (st_cgroup_info_parse()) - or, when a name was given, that of a container
 * the records now give that name (one made again under it later) - and one
 * of its components is the unit; both when both are given. update() reports those ids: on its first call every
 * one in the tree, after that the ones that appeared since (a container or
 * unit started later, or a child cgroup). New directories are seen through
 * inotify (IN_CREATE on every directory of the tree); beyond
 * ST_FILTER_WATCH_MAX directories, or where inotify fails, the tree is walked
 * again every ST_FILTER_REWALK_MS instead (said once). A task that runs in
 * a new cgroup before update() has reported it is not traced until then.
 * The kubelet names a container only after it has started (its log link):
 * given a name, the kubelet's directory is watched too (if it is there at
 * the start), and a link made there under that name has the tree walked
 * again, which finds the container's cgroup, looked at before.
 */
#ifndef SOCKTRACE_WORKLOAD_FILTER_H
#define SOCKTRACE_WORKLOAD_FILTER_H

#include <linux/types.h>
#include "workload.h"

#define ST_FILTER_WATCH_MAX	16384	/* directories watched */
#define ST_FILTER_REWALK_MS	2000
#define ST_FILTER_SEEN_MAX	65536	/* ids remembered as reported; beyond, one may come again */

struct st_workload_filter;

/*
 * Resolves @container and @unit (either may be NULL, not both) against
 * @w's cgroup tree, records and unit directories, and sets up the watch.
 * 0, or -errno said in one line ("--container: no container matches 'x'").
 */
int st_workload_filter_open(struct st_workloads *w, const char *container, const char *unit,
			    struct st_workload_filter **f);
void st_workload_filter_close(struct st_workload_filter *f);

/* What was resolved: the container's full id, the unit's name; NULL if not asked */
const char *st_workload_filter_container(const struct st_workload_filter *f);
const char *st_workload_filter_unit(const struct st_workload_filter *f);

/* Readable (poll, epoll: POLLIN) when update() has something to do; -1 if none */
int st_workload_filter_fd(const struct st_workload_filter *f);

/*
 * Calls @add for each cgroup id to trace that has not been reported yet:
 * the whole set the first time, what appeared since after that. Does not
 * block. @add returns 0 (taken), 1 (no room now: not remembered, offered
 * again by a later walk) or < 0 (failed: the rest is reported on the next
 * call). The number reported, what @add failed with, or -errno.
 */
int st_workload_filter_update(struct st_workload_filter *f,
			      int (*add)(__u64 cgroup_id, void *ctx), void *ctx);

#endif
