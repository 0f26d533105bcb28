/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tracing session, the same for every tool: filters into the BPF object,
 * backend choice, attach, COMMAND, the ring buffer loop, lost events and a
 * clean stop.
 *
 *   open skeleton -> st_session_prepare() -> load -> st_session_start()
 *   -> header -> st_session_run() -> st_session_close() -> destroy skeleton
 */
#ifndef SOCKTRACE_SESSION_H
#define SOCKTRACE_SESSION_H

#include <sys/types.h>
#include <bpf/libbpf.h>
#include "args.h"
#include "backend.h"
#include "output.h"

struct st_session {
	const struct st_opts *opts;
	const char *what;		/* "TCP connects", for the ready line */
	struct bpf_object *obj;
	struct st_selection sel;
	bool sees_all_tasks;		/* in the initial PID namespace */
	struct bpf_link *links[32];
	size_t nlinks;
	struct ring_buffer *rb;
	int cgroup_fd;
	pid_t child;			/* COMMAND, in command mode */
	int child_status;
	bool child_done;
	__u64 lost[ST_LOST_MAX];	/* reported so far */
	struct timespec lost_checked;
	int write_err;
	int fail_status;		/* exit status after a failure */
};

/*
 * Before load: checks privileges, fills @cfg (the object's st_cfg rodata)
 * from the options and chooses a backend for each hook of @progs.
 */
int st_session_prepare(struct st_session *s, struct bpf_object *obj,
		       struct st_config *cfg, const struct st_opts *opts,
		       const struct st_prog *progs, size_t nprogs, const char *what);

/*
 * After load: fills the filter maps, attaches, prints the ready line on
 * stderr and the header on @out, then starts COMMAND. @handle gets each
 * event with @ctx.
 */
int st_session_start(struct st_session *s, struct st_output *out,
		     ring_buffer_sample_fn handle, void *ctx);

/*
 * Polls until SIGINT/SIGTERM/SIGHUP, COMMAND's end or a failure, then drains
 * the buffer. @out is flushed after each batch. Returns the exit status.
 */
int st_session_run(struct st_session *s, struct st_output *out);

/* What main() returns when a step above failed: 1, or 127 for COMMAND */
int st_session_fail_status(const struct st_session *s);

void st_session_close(struct st_session *s);

#endif
