/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kprobes made in tracefs (kprobe_events), for kernels whose kprobe links
 * do not tell how many calls they missed (bpf_link_info, before 6.7):
 * tracefs's kprobe_profile tells it for its own kprobes on every kernel.
 * The kernel follows as many calls of a kretprobe either way (maxactive
 * left at its default). Each is named socktrace/st_<pid>_<n>, and removed
 * at detach; one left by a tool that was killed is removed by the next
 * tool to make one (st_kprobe_events_sweep()).
 */
#ifndef SOCKTRACE_KPROBE_EVENTS_H
#define SOCKTRACE_KPROBE_EVENTS_H

#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#define ST_KPROBE_GROUP		"socktrace"

struct st_kprobe_event {
	char name[32];		/* "" until made */
};

/*
 * Makes a kprobe event for the function of a kprobe/ or kretprobe/ program
 * @prog (a kretprobe for the latter) and attaches @prog to it: the link,
 * with @ev named; or NULL with errno set, nothing made, after a line with
 * --debug.
 */
struct bpf_link *st_kprobe_event_attach(const struct bpf_program *prog,
					struct st_kprobe_event *ev);
/* Removes @ev, once its link is destroyed; nothing if unnamed */
void st_kprobe_event_remove(struct st_kprobe_event *ev);
/* The calls the named ones of @evs[@n] missed, from kprobe_profile: 0 or -errno */
int st_kprobe_events_missed(const struct st_kprobe_event *evs, size_t n, __u64 *missed);
/* Removes the events of tools that are gone (no such PID here) */
void st_kprobe_events_sweep(void);

#endif
