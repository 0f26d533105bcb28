/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Command mode: `tool -- COMMAND ARGS...` runs COMMAND, traces it and its
 * descendants from its first instruction, and ends with its status.
 */
#ifndef SOCKTRACE_COMMAND_H
#define SOCKTRACE_COMMAND_H

#include <stdbool.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

struct st_command {
	pid_t child;		/* -1 until started */
	int status;		/* waitpid()'s, once done */
	bool done;
};

/* execvp()'s search, done before anything starts: a typo must not half-start the tool */
bool st_command_found(const char *cmd);

/*
 * Forks COMMAND, puts its PID into @pids (its descendants follow it there
 * from the kernel), lets it exec and forwards it the signals sent to the
 * tool. 0, or -errno said in one line; an exec that failed sets
 * *@fail_status to 127, as shells, env and timeout say it.
 */
int st_command_start(struct st_command *c, char **argv, struct bpf_map *pids,
		     int *fail_status);
/* Notes COMMAND's end if it has ended (@wait: waits for it). */
void st_command_reap(struct st_command *c, bool wait);
/* COMMAND's exit status as a shell gives it (128 + signal) */
int st_command_exit_status(const struct st_command *c);

#endif
