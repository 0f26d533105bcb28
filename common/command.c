// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "command.h"
#include "log.h"
#include "loop.h"

bool st_command_found(const char *cmd)
{
	char path[4096];
	const char *dirs = getenv("PATH"), *end;
	size_t len;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0;
	for (dirs = dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; dirs; dirs = end ? end + 1 : NULL) {
		end = strchr(dirs, ':');
		len = end ? (size_t)(end - dirs) : strlen(dirs);
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)len, len ? dirs : ".", cmd) <
		    (int)sizeof(path) && access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* COMMAND's side of the fork: wait for "go", then exec. Never returns. */
static void run_child(char **argv, int go_fd, int err_fd)
{
	char c;
	int e;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* not left running, untraced, if the tracer dies */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* The child is in @pids, then told to go; the exec's errno, if any, comes back */
static int let_go(struct st_command *c, char **argv, struct bpf_map *pids, int go_fd,
		  int ex_fd, int *fail_status)
{
	__u32 pid = c->child;
	__u8 one = 1;
	int e = 0, err;

	err = bpf_map__update_elem(pids, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
	if (err)
		st_err("failed to update map %s: %s", bpf_map__name(pids), st_strerror(-err));
	if (err || write(go_fd, "g", 1) != 1) {
		kill(c->child, SIGKILL);
		return err ? err : -EPIPE;
	}
	st_loop_forward(c->child);
	if (read(ex_fd, &e, sizeof(e)) == sizeof(e)) {	/* 0 bytes: exec succeeded */
		st_err("failed to run %s: %s", argv[0], st_strerror(e));
		*fail_status = 127;
		return -e;
	}
	return 0;
}

int st_command_start(struct st_command *c, char **argv, struct bpf_map *pids,
		     int *fail_status)
{
	int go[2] = { -1, -1 }, ex[2] = { -1, -1 }, err = 0, i;

	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		err = -errno;
		st_err("failed to create a pipe: %s", st_strerror(-err));
		goto cleanup;
	}
	c->child = fork();
	if (c->child < 0) {
		err = -errno;
		st_err("failed to fork: %s", st_strerror(-err));
		goto cleanup;
	}
	if (c->child == 0)
		run_child(argv, go[0], ex[1]);
	close(ex[1]);
	ex[1] = -1;
	err = let_go(c, argv, pids, go[1], ex[0], fail_status);
cleanup:
	for (i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	return err;
}

void st_command_reap(struct st_command *c, bool wait)
{
	if (c->child <= 0 || c->done)
		return;
	if (waitpid(c->child, &c->status, wait ? 0 : WNOHANG) == c->child)
		c->done = true;
}

int st_command_exit_status(const struct st_command *c)
{
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return WEXITSTATUS(c->status);
}
