// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "log.h"
#include "loop.h"

#define POLL_MS		100
#define WAKEUP_MAX	(64 * 1024)

static volatile sig_atomic_t stop_signal;
static volatile pid_t forward_to;

int st_loop_size(const struct st_bpf *b, const struct st_opts *opts)
{
	int err;

	if (opts->ringbuf_kib) {
		err = bpf_map__set_max_entries(b->events, opts->ringbuf_kib * 1024);
		if (err) {
			st_err("failed to size the ring buffer: %s", st_strerror(-err));
			return err;
		}
	}
	/* a quarter full, at most 64 KiB: batches, and room left while we wake */
	b->cfg->wakeup_bytes = bpf_map__max_entries(b->events) / 4;
	if (b->cfg->wakeup_bytes > WAKEUP_MAX)
		b->cfg->wakeup_bytes = WAKEUP_MAX;
	return 0;
}

int st_loop_open(struct st_loop *l, struct bpf_map *events, ring_buffer_sample_fn fn, void *ctx)
{
	int err;

	l->epfd = -1;
	l->rb = ring_buffer__new(bpf_map__fd(events), fn, ctx, NULL);
	if (!l->rb) {
		err = -errno;
		st_err("failed to create ring buffer: %s", st_strerror(-err));
		return err;
	}
	return 0;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int st_loop_watch(struct st_loop *l, int fd)
{
	int err = 0;

	if (l->epfd < 0) {
		/* the ring's own epoll fd nests in ours */
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		err = l->epfd < 0 ? -errno : epoll_add(l->epfd, ring_buffer__epoll_fd(l->rb));
	}
	if (!err)
		err = epoll_add(l->epfd, fd);
	if (err)
		st_err("failed to add fd %d to the event loop: %s", fd, st_strerror(-err));
	return err;
}

/* Until the ring or a watched fd has something, or POLL_MS; then the ring's records */
static int wait_batch(struct st_loop *l)
{
	struct epoll_event ev[4];

	if (l->epfd < 0)
		return ring_buffer__poll(l->rb, POLL_MS);
	if (epoll_wait(l->epfd, ev, 4, POLL_MS) < 0)
		return -errno;
	return ring_buffer__consume(l->rb);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (forward_to > 0) {
		/* a terminal's signal reached COMMAND already; pass on the rest */
		if (si->si_code == SI_USER || si->si_code == SI_QUEUE)
			kill(forward_to, sig);
		return;
	}
	stop_signal = sig;
}

void st_loop_signals(void)
{
	/* SA_RESTART: a write to a full pipe must not fail with EINTR at
	 * Ctrl-C; epoll_wait still returns EINTR, which ends the loop */
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed pipe is an EPIPE to handle */
}

void st_loop_forward(pid_t pid)
{
	forward_to = pid;
}

int st_loop_flush(struct st_loop *l, struct st_output *out)
{
	int err = st_output_flush(out);

	if (err && !l->write_err) {
		l->write_err = err;
		if (err != -EPIPE)	/* a reader that left is no error */
			st_err("failed to write output: %s", st_strerror(-err));
	}
	return err;
}

int st_loop_run(struct st_loop *l, struct st_output *out, bool (*tick)(void *ctx), void *ctx)
{
	int err = 0;

	while (!stop_signal) {
		err = wait_batch(l);
		if (err == 0)	/* no wake-up: the kernel waits for a batch */
			err = ring_buffer__consume(l->rb);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			st_err("failed to poll ring buffer: %s", st_strerror(-err));
			break;
		}
		err = st_loop_flush(l, out);
		if (err || !tick(ctx))
			break;
	}
	if (err >= 0 || err == -EPIPE) {
		/* everything the kernel queued before the stop */
		ring_buffer__consume(l->rb);
		st_loop_flush(l, out);
	}
	if (err >= 0)
		err = l->write_err;
	return err == -EPIPE ? 0 : err;	/* the reader left: a quiet, clean end */
}

void st_loop_close(struct st_loop *l)
{
	forward_to = 0;
	if (l->rb && l->epfd >= 0)	/* set by st_loop_open() */
		close(l->epfd);
	l->epfd = -1;
	ring_buffer__free(l->rb);
	l->rb = NULL;
}
