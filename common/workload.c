// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "log.h"
#include "workload.h"

/* One component of a path: @n bytes at @s, no "/" */
struct comp {
	const char *s;
	size_t n;
};

static bool is(struct comp c, const char *s)
{
	return c.n == strlen(s) && !memcmp(c.s, s, c.n);
}

/* @c is @prefix, then at least one byte, then @suffix */
static bool shaped(struct comp c, const char *prefix, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	return c.n > p + s && !memcmp(c.s, prefix, p) && !memcmp(c.s + c.n - s, suffix, s);
}

static bool hex(const char *s, size_t n)
{
	while (n--)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return true;
}

static void take_unit(struct comp c, struct st_cgroup_info *info)
{
	if ((shaped(c, "", ".service") || shaped(c, "", ".scope")) && c.n < ST_UNIT_NAME_MAX) {
		memcpy(info->unit, c.s, c.n);
		info->unit[c.n] = '\0';
	}
}

/* The components that name a container: PREFIX<id>SUFFIX */
static const struct {
	const char *prefix, *suffix, *runtime;
} shapes[] = {
	{ "docker-", ".scope", "docker" },
	{ "libpod-", ".scope", "podman" },
	{ "libpod-", "", "podman" },
	{ "cri-containerd-", ".scope", "containerd" },
	{ "crio-", ".scope", "cri-o" },
	{ "crio-", "", "cri-o" },
};

static bool set_container(struct st_cgroup_info *info, const char *id, const char *runtime)
{
	memcpy(info->container_id, id, ST_CONTAINER_ID_LEN);
	info->container_id[ST_CONTAINER_ID_LEN] = '\0';
	info->runtime = runtime;
	return true;
}

/* @c under @parent; @under_pod: @parent is a pod's */
static bool take_container(struct comp c, struct comp parent, bool under_pod,
			   struct st_cgroup_info *info)
{
	size_t i, p, s;

	if (st_container_id_valid(c.s, c.n)) {
		if (is(parent, "docker"))
			return set_container(info, c.s, "docker");
		if (under_pod)
			return set_container(info, c.s, NULL);
		return false;
	}
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		p = strlen(shapes[i].prefix);
		s = strlen(shapes[i].suffix);
		if (c.n == p + ST_CONTAINER_ID_LEN + s && shaped(c, shapes[i].prefix, shapes[i].suffix) &&
		    st_container_id_valid(c.s + p, ST_CONTAINER_ID_LEN))
			return set_container(info, c.s + p, shapes[i].runtime);
	}
	return false;
}

/*
 * A pod UID: a UUID (8-4-4-4-12 hex digits, @sep between the groups: the
 * systemd driver's "_", the cgroupfs driver's "-") or a static pod's 32 hex
 * digits; into @out with dashes.
 */
static bool take_uid(const char *s, size_t n, char sep, char *out)
{
	size_t i;

	if (n == 32 && hex(s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n != ST_POD_UID_LEN)
		return false;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != sep)
				return false;
			out[i] = '-';
		} else if (hex(s + i, 1)) {
			out[i] = s[i];
		} else {
			return false;
		}
	}
	out[n] = '\0';
	return true;
}

/* The QoS a systemd pod slice's name says before "pod<uid>" (@n bytes at @s) */
static const char *slice_qos(const char *s, size_t n)
{
	static const struct {
		const char *prefix, *qos;
	} k[] = {
		{ "kubepods-burstable-", "burstable" },
		{ "kubepods-besteffort-", "besteffort" },
		{ "kubepods-", "guaranteed" },
	};
	size_t i, l;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		l = strlen(k[i].prefix);
		if (n >= l && !memcmp(s + n - l, k[i].prefix, l) && (n == l || s[n - l - 1] == '-'))
			return k[i].qos;
	}
	return NULL;
}

/* systemd driver: [...-]kubepods[-QOS]-pod<uid>.slice */
static bool pod_slice(struct comp c, struct st_cgroup_info *info)
{
	static const size_t uid_lens[] = { ST_POD_UID_LEN, 32 };
	char uid[ST_POD_UID_LEN + 1];
	const char *qos;
	size_t i, n, l;

	if (!shaped(c, "", ".slice"))
		return false;
	n = c.n - strlen(".slice");
	for (i = 0; i < 2; i++) {
		l = uid_lens[i];
		if (n < l + 3 || memcmp(c.s + n - l - 3, "pod", 3) ||
		    !take_uid(c.s + n - l, l, '_', uid))
			continue;
		qos = slice_qos(c.s, n - l - 3);
		if (!qos)
			continue;
		memcpy(info->pod_uid, uid, sizeof(uid));
		info->pod_qos = qos;
		return true;
	}
	return false;
}

/* cgroupfs driver: kubepods/pod<uid>, kubepods/{burstable,besteffort}/pod<uid> */
static bool pod_dir(struct comp c, struct comp parent, struct comp grandparent,
		    struct st_cgroup_info *info)
{
	char uid[ST_POD_UID_LEN + 1];
	const char *qos;

	if (c.n < 4 || memcmp(c.s, "pod", 3) || !take_uid(c.s + 3, c.n - 3, '-', uid))
		return false;
	if (is(parent, "kubepods"))
		qos = "guaranteed";
	else if (is(grandparent, "kubepods") && (is(parent, "burstable") || is(parent, "besteffort")))
		qos = is(parent, "burstable") ? "burstable" : "besteffort";
	else
		return false;
	memcpy(info->pod_uid, uid, sizeof(uid));
	info->pod_qos = qos;
	return true;
}

void st_cgroup_info_parse(const char *path, size_t len, struct st_cgroup_info *info)
{
	struct comp c, parent = { "", 0 }, grandparent = { "", 0 };
	bool under_pod = false;
	size_t i = 0, j;

	memset(info, 0, sizeof(*info));
	if (!path)
		return;
	len = strnlen(path, len);
	while (i < len) {
		if (path[i] == '/') {
			i++;
			continue;
		}
		for (j = i; j < len && path[j] != '/'; j++)
			;
		c = (struct comp){ path + i, j - i };
		take_unit(c, info);
		take_container(c, parent, under_pod, info);
		under_pod = pod_slice(c, info) || pod_dir(c, parent, grandparent, info);
		grandparent = parent;
		parent = c;
		i = j;
	}
}

const char *st_workload_short(const struct st_workload *wl, char *buf, size_t len)
{
	if (wl->container_name)
		return wl->container_name;
	if (wl->container_id && len > 12) {
		snprintf(buf, len, "%.12s", wl->container_id);
		return buf;
	}
	return wl->unit ? wl->unit : wl->cgroup;
}

/*
 * A container without a name yet may get one: the kubelet links its log
 * only once it has started, after its cgroup and often its first connects.
 * Its name is asked again at most every NAME_RETRY_MS for its first
 * NAME_WAIT_MS.
 */
#define NAME_RETRY_MS	1000
#define NAME_WAIT_MS	30000

/* A cached answer: the workload, its strings after it */
struct entry {
	__u64 id;
	struct timespec born;	/* when resolved, for a container without a name */
	long retry_ms;		/* after born, when to ask its name again; 0: never */
	struct st_workload wl;
	char strings[];
};

struct st_workloads {
	struct st_cgroups *cg;		/* NULL: no cgroup2 mount */
	struct st_containers *records;
	const char *const *unit_dirs;
	struct entry **slots;		/* open addressing on the id */
	size_t nslots, count, max;
	unsigned long long uncached;
	unsigned long long sweep_after;	/* uncached lookups before the next sweep */
	struct entry *last;		/* the last answer not cached ... */
	bool last_full;			/* ... for want of room: good to reuse */
};

static const struct st_workload unknown;
static const char *const default_unit_dirs[] = ST_UNIT_DIRS;

/* Room for @s's bytes after the entry, and where it goes */
static size_t room(const char *s)
{
	return s && *s ? strlen(s) + 1 : 0;
}

static const char *put(char **at, const char *s)
{
	const char *start = *at;

	if (!s || !*s)
		return NULL;
	strcpy(*at, s);
	*at += strlen(s) + 1;
	return start;
}

/* A new answer for @id: @path and what it says, or all unknown */
static struct entry *new_entry(__u64 id, const char *path, const struct st_cgroup_info *i,
			       const char *name)
{
	struct entry *e = malloc(sizeof(*e) + room(path) + room(i->unit) +
				 room(i->container_id) + room(name) + room(i->pod_uid));
	char *at;

	if (!e)
		return NULL;
	at = e->strings;
	e->id = id;
	e->born = (struct timespec){ 0 };
	e->retry_ms = 0;
	e->wl.cgroup = put(&at, path);
	e->wl.unit = put(&at, i->unit);
	e->wl.runtime = i->runtime;
	e->wl.container_id = put(&at, i->container_id);
	e->wl.container_name = put(&at, name);
	e->wl.pod_uid = put(&at, i->pod_uid);
	e->wl.pod_qos = i->pod_qos;
	return e;
}

/*
 * A container or pod is only what root (or the tool's user) made: in a
 * subtree another user owns, a directory named libpod-<id of root's
 * container> is that user's claim, not the container. The unit stays: a
 * user's own units are there (user@UID.service/app.slice/x.service), and
 * the path says whose.
 */
static void trusted_only(const struct st_cgroups *cg, const char *path,
			 struct st_cgroup_info *info)
{
	size_t n = st_cgroup_trusted_len(cg, path);
	struct st_cgroup_info t;

	if (!path[n])
		return;
	st_cgroup_info_parse(path, n, &t);
	memcpy(t.unit, info->unit, sizeof(t.unit));
	*info = t;
}

/*
 * @id resolved now. *@keep: the answer may be cached (an error that may
 * pass, say EMFILE, is answered as unknown, and asked again next time).
 */
static struct entry *resolve(struct st_workloads *w, __u64 id, bool *keep)
{
	char path[ST_CGROUP_PATH_MAX], name[ST_CONTAINER_NAME_MAX];
	struct st_cgroup_info info = {};
	const char *cname = NULL;
	struct entry *e;
	int err = w->cg ? st_cgroup_path(w->cg, id, path, sizeof(path)) : -ENOENT;

	*keep = !err || err == -ENOENT || err == -EXDEV || err == -ENAMETOOLONG;
	if (err) {
		if (!*keep)
			st_dbg("failed to find cgroup %llu: %s", (unsigned long long)id,
			       strerror(-err));
		return new_entry(id, NULL, &info, NULL);
	}
	st_cgroup_info_parse(path, sizeof(path), &info);
	trusted_only(w->cg, path, &info);
	if (info.container_id[0])
		cname = st_container_name(w->records, info.runtime, info.container_id, name,
					  sizeof(name));
	e = new_entry(id, path, &info, cname);
	if (e && info.container_id[0] && !cname) {
		clock_gettime(CLOCK_MONOTONIC, &e->born);
		e->retry_ms = NAME_RETRY_MS;
	}
	return e;
}

/* What @wl says, as a path would have said it */
static void info_of(const struct st_workload *wl, struct st_cgroup_info *info)
{
	memset(info, 0, sizeof(*info));
	if (wl->unit)
		snprintf(info->unit, sizeof(info->unit), "%s", wl->unit);
	info->runtime = wl->runtime;
	snprintf(info->container_id, sizeof(info->container_id), "%s", wl->container_id);
	if (wl->pod_uid)
		snprintf(info->pod_uid, sizeof(info->pod_uid), "%s", wl->pod_uid);
	info->pod_qos = wl->pod_qos;
}

/* Slot @i's container, not named yet, asked its name again when due */
static void name_again(struct st_workloads *w, size_t i)
{
	struct entry *e = w->slots[i], *named;
	char name[ST_CONTAINER_NAME_MAX];
	struct st_cgroup_info info;
	long age = st_ms_since(&e->born);

	if (age < e->retry_ms)
		return;
	if (age >= NAME_WAIT_MS) {
		e->retry_ms = 0;	/* no name by now: none will come */
		return;
	}
	e->retry_ms = age + NAME_RETRY_MS;
	if (!st_container_name(w->records, e->wl.runtime, e->wl.container_id, name,
			       sizeof(name)))
		return;
	info_of(&e->wl, &info);
	named = new_entry(e->id, e->wl.cgroup, &info, name);
	if (!named)
		return;		/* the answer without the name stays */
	free(e);
	w->slots[i] = named;
}

static size_t slot_of(const struct st_workloads *w, __u64 id)
{
	size_t i = (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (w->nslots - 1);

	while (w->slots[i] && w->slots[i]->id != id)
		i = (i + 1) & (w->nslots - 1);
	return i;
}

/*
 * The cache is full: the cgroups gone since leave it (their slots rehashed).
 * 0, or -ENOMEM (nothing changed). A sweep that frees little waits for
 * more uncached lookups before the next, so a host with more live cgroups
 * than ST_WORKLOADS_MAX does not walk the cache on every new one.
 */
static int sweep(struct st_workloads *w)
{
	char path[ST_CGROUP_PATH_MAX];
	struct entry **old = w->slots, **fresh = calloc(w->nslots, sizeof(*fresh));
	size_t i, j, freed = 0;

	if (!fresh)
		return -ENOMEM;
	w->slots = fresh;
	for (i = 0; i < w->nslots; i++) {
		if (!old[i])
			continue;
		if (st_cgroup_path(w->cg, old[i]->id, path, sizeof(path)) == -ENOENT) {
			free(old[i]);
			freed++;
			continue;
		}
		j = slot_of(w, old[i]->id);
		fresh[j] = old[i];
	}
	free(old);
	w->count -= freed;
	w->sweep_after = w->uncached + (freed < w->max / 16 ? w->max / 4 : 0);
	st_dbg("workload cache full: %zu cgroups gone since left it", freed);
	return 0;
}

/* An answer that is not cached: kept until the next one */
static const struct st_workload *uncached(struct st_workloads *w, struct entry *e, bool full)
{
	if (full && !w->uncached++)
		st_err("workload cache full (%zu cgroups): further cgroups are looked up on each event",
		       w->max);
	free(w->last);
	w->last = e;
	w->last_full = full;
	return &e->wl;
}

const struct st_workload *st_workload_of(struct st_workloads *w, __u64 id)
{
	struct entry *e;
	size_t i;
	bool keep;

	if (!w || !id)
		return &unknown;
	i = slot_of(w, id);
	if (w->slots[i]) {
		if (w->slots[i]->retry_ms)
			name_again(w, i);
		return &w->slots[i]->wl;
	}
	if (w->last && w->last->id == id && w->last_full)
		return &w->last->wl;
	e = resolve(w, id, &keep);
	if (!e)
		return &unknown;
	if (keep && w->count == w->max && w->cg && w->uncached >= w->sweep_after &&
	    !sweep(w))
		i = slot_of(w, id);
	if (!keep || w->count == w->max)
		return uncached(w, e, keep);
	w->slots[i] = e;
	w->count++;
	return &e->wl;
}

unsigned long long st_workloads_uncached(const struct st_workloads *w)
{
	return w->uncached;
}

static int open_parts(struct st_workloads *w, const struct st_workload_config *cfg)
{
	int err;

	w->max = cfg && cfg->max_entries ? cfg->max_entries : ST_WORKLOADS_MAX;
	for (w->nslots = 16; w->nslots < 2 * w->max; w->nslots *= 2)
		;
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	if (!w->slots)
		return -ENOMEM;
	w->unit_dirs = cfg && cfg->unit_dirs ? cfg->unit_dirs : default_unit_dirs;
	err = st_containers_open(cfg ? &cfg->records : NULL, &w->records);
	if (err)
		return err;
	err = st_cgroups_open(cfg ? cfg->cgroup_root : NULL, &w->cg);
	if (err == -ENOENT && !(cfg && cfg->cgroup_root)) {
		if (cfg && cfg->quiet)
			st_dbg("cgroup v2 is not mounted: every workload is unknown");
		else
			st_err("cgroup v2 is not mounted: containers and services will show as unknown");
		err = 0;
	}
	return err;
}

int st_workloads_open_with(const struct st_workload_config *cfg, struct st_workloads **out)
{
	struct st_workloads *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	err = w ? open_parts(w, cfg) : -ENOMEM;
	if (err == -ENOMEM)
		st_err("failed to set up the workload cache: %s", strerror(ENOMEM));
	if (err) {
		st_workloads_close(w);
		return err;
	}
	*out = w;
	return 0;
}

int st_workloads_open(bool quiet, struct st_workloads **w)
{
	struct st_workload_config cfg = { .quiet = quiet };

	return st_workloads_open_with(&cfg, w);
}

void st_workloads_close(struct st_workloads *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; w->slots && i < w->nslots; i++)
		free(w->slots[i]);
	free(w->slots);
	free(w->last);
	st_cgroups_close(w->cg);
	st_containers_close(w->records);
	free(w);
}

struct st_cgroups *st_workloads_cgroups(const struct st_workloads *w)
{
	return w->cg;
}

struct st_containers *st_workloads_containers(const struct st_workloads *w)
{
	return w->records;
}

const char *const *st_workloads_unit_dirs(const struct st_workloads *w)
{
	return w->unit_dirs;
}
