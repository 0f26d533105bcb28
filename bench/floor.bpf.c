// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Empty programs on the tracepoint backend's hooks: what any program there
 * costs the workload before it does anything (a syscall tracepoint puts
 * every syscall of every task on the slow path). bench/bench's "floor" case
 * attaches a tool's set of them, so that its "filter" ratio can be read
 * against what no filter could beat.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(sec, name) SEC(sec) int name(void *ctx) { return 0; }

EMPTY("tracepoint/syscalls/sys_exit_connect", sys_exit_connect)
EMPTY("tracepoint/syscalls/sys_exit_accept", sys_exit_accept)
EMPTY("tracepoint/syscalls/sys_exit_accept4", sys_exit_accept4)
EMPTY("tracepoint/syscalls/sys_exit_sendto", sys_exit_sendto)
EMPTY("tracepoint/syscalls/sys_exit_sendmsg", sys_exit_sendmsg)
EMPTY("tracepoint/syscalls/sys_exit_sendmmsg", sys_exit_sendmmsg)
EMPTY("raw_tp/inet_sock_set_state", inet_sock_set_state)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
