/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event loop: the ring buffer, polled until SIGINT/SIGTERM/SIGHUP or
 * until a tick says stop, the trace stream flushed after each batch, and
 * what the kernel queued before the stop drained.
 */
#ifndef SOCKTRACE_LOOP_H
#define SOCKTRACE_LOOP_H

#include <stdbool.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "args.h"
#include "output.h"
#include "skeleton.h"

struct st_loop {
	struct ring_buffer *rb;
	int epfd;		/* the ring's and watched fds, or -1: the ring's only */
	int write_err;		/* the first failed write, said once */
};

/* Before load: -r/--ring-buffer's size and the wake-up threshold in st_config. */
int st_loop_size(const struct st_bpf *b, const struct st_opts *opts);
/* After load: @fn gets each record with @ctx. 0 or -errno. */
int st_loop_open(struct st_loop *l, struct bpf_map *events, ring_buffer_sample_fn fn, void *ctx);
/*
 * After st_loop_open(): @fd readable also ends a wait, so the tick after it
 * comes at once instead of within the poll interval. 0 or -errno, said.
 */
int st_loop_watch(struct st_loop *l, int fd);
/* Stop signals end the loop from now on; a closed pipe is an EPIPE. */
void st_loop_signals(void);
/* From now on the stop signals sent to the tool go to @pid (COMMAND) instead. */
void st_loop_forward(pid_t pid);
/* Writes @out's buffer: 0 or -errno, said once (-EPIPE not: the reader left). */
int st_loop_flush(struct st_loop *l, struct st_output *out);
/*
 * Polls until a stop signal, @tick returning false (called after each batch)
 * or a failure; then drains what is queued. 0, or -errno after one line.
 * A reader that left (EPIPE) is a clean end.
 */
int st_loop_run(struct st_loop *l, struct st_output *out, bool (*tick)(void *ctx), void *ctx);
void st_loop_close(struct st_loop *l);

#endif
