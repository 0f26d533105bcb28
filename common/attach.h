/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Attaching the loaded programs of a selection, detaching them, and what the kernel says of them. */
#ifndef SOCKTRACE_ATTACH_H
#define SOCKTRACE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "kprobe_events.h"

/* How the kprobe backend's links are made, by what the kernel tells of their misses */
enum st_kprobe_links {
	ST_KPROBES_NONE,	/* no kprobe attached (yet) */
	ST_KPROBES_LINKS,	/* perf links, whose bpf_link_info counts misses (6.7) */
	ST_KPROBES_EVENTS,	/* tracefs kprobe events, counted in kprobe_profile */
	ST_KPROBES_UNTOLD,	/* perf links, and neither could tell: said at start */
};

struct st_links {
	struct bpf_link **link;	/* one per loaded program at most */
	struct st_kprobe_event *kev;	/* link[i]'s, named if made in tracefs */
	size_t n;
	enum st_kprobe_links kprobes;
	bool caught_up;		/* the catch-up programs are attached */
};

/*
 * Attaches every loaded program of @obj, those of @rows first in their
 * order; the catch-up ones only if a thread is inside one of their
 * syscalls now (or, when /proc does not show every thread, @sees_all_tasks
 * false, always). 0, or -errno after one line.
 */
int st_attach_all(struct st_links *l, struct bpf_object *obj, const struct st_prog *rows,
		  size_t nrows, const struct st_selection *sel, bool sees_all_tasks);
void st_detach_all(struct st_links *l);
/*
 * Calls of probed functions the kernel's kprobes and kretprobes missed, over
 * every link (a kretprobe keeps max(10, 2 x CPUs) calls in flight; a call
 * beyond is not seen returning): 0 and @missed, or -EOPNOTSUPP when no link
 * is a kprobe's or nothing tells (ST_KPROBES_UNTOLD), or -errno. Before 6.7
 * the kprobes are made in tracefs, whose kprobe_profile tells.
 */
int st_links_missed(struct st_links *l, __u64 *missed);

#endif
