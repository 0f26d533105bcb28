/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the library needs of a tool's BPF object, taken from its generated
 * skeleton: every socktrace object has these maps and programs
 * (bpf/filter.bpf.h, bpf/emit.bpf.h, bpf/follow.bpf.h), so a missing one
 * fails the build instead of a lookup by name at run time.
 *
 *   #include "tcpconnect.skel.h"
 *   ST_SKELETON(tcpconnect);      // static skel, and tcpconnect_skeleton
 */
#ifndef SOCKTRACE_SKELETON_H
#define SOCKTRACE_SKELETON_H

#include <errno.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "event.h"

struct st_bpf {
	struct bpf_object *obj;
	struct st_config *cfg;		/* rodata: filters, set before load */
	struct bpf_map *events;		/* the ring buffer */
	struct bpf_map *lost;		/* per-CPU loss counters */
	struct bpf_map *metrics;	/* --metrics: counts by label set */
	struct bpf_map *pids, *ports, *cgroups;	/* filters */
	struct bpf_map *workload_cgroups;	/* --container, --unit */
	struct bpf_program *follow_fork, *follow_exit;	/* COMMAND's descendants */
};

/* A generated skeleton's functions */
struct st_skeleton {
	const char *name;
	const void *(*elf_bytes)(size_t *size);
	/* 0 and @b filled, or -errno */
	int (*open)(const struct bpf_object_open_opts *opts, struct st_bpf *b);
	int (*load)(void);
	void (*destroy)(void);
};

#define ST_SKELETON(name)							\
static struct name##_bpf *skel;							\
static int name##_open(const struct bpf_object_open_opts *opts, struct st_bpf *b)\
{										\
	skel = name##_bpf__open_opts(opts);					\
	if (!skel)								\
		return -errno;							\
	*b = (struct st_bpf){							\
		.obj = skel->obj, .cfg = &skel->rodata->st_cfg,			\
		.events = skel->maps.events, .lost = skel->maps.lost,		\
		.metrics = skel->maps.metrics,					\
		.pids = skel->maps.pids, .ports = skel->maps.ports,		\
		.cgroups = skel->maps.cgroups,					\
		.workload_cgroups = skel->maps.workload_cgroups,		\
		.follow_fork = skel->progs.follow_fork,				\
		.follow_exit = skel->progs.follow_exit,				\
	};									\
	return 0;								\
}										\
static int name##_load(void)							\
{										\
	return name##_bpf__load(skel);						\
}										\
static void name##_destroy(void)						\
{										\
	name##_bpf__destroy(skel);						\
	skel = NULL;								\
}										\
static const struct st_skeleton name##_skeleton = {				\
	#name, name##_bpf__elf_bytes, name##_open, name##_load, name##_destroy,	\
}

#endif
