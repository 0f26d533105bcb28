/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread stashes: what an entry probe keeps, by thread id, for the
 * return probe of the same call (the kprobe backend's kretprobes see only
 * the return value). Each tool has one, an LRU hash of ST_THREADS_DEFAULT
 * entries that struct st_tool's .stash names and common/tool.c sizes
 * (--max-threads).
 *
 * An LRU, because an entry whose return is never seen (a kretprobe
 * instance missed, a task killed in between) must not stay forever. When
 * more threads are inside the calls at once than it holds, or earlier on
 * kernels whose LRU evicts before it is full, the least recently stashed is
 * forgotten. Its return then finds nothing for a task the filters keep,
 * which is counted (ST_LOST_STASH): an eviction is never silent.
 *
 * Include after emit.bpf.h.
 */
#ifndef SOCKTRACE_STASH_BPF_H
#define SOCKTRACE_STASH_BPF_H

/*
 * A return probe found no stash for its call: if @kept (the task passes the
 * test its entry probe stashed under), that entry was stashed and evicted.
 */
static __always_inline void stash_missed(bool kept)
{
	if (kept)
		count_lost(ST_LOST_STASH);
}

#endif
