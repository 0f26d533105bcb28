/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Asks the running kernel whether a program can be attached the way its
 * backend would: an fexit attached on its function, a kprobe created on it,
 * its tracepoint present. Answers are cached per (backend, function) for
 * one selection, since programs of one hook share functions.
 */
#ifndef SOCKTRACE_PROBE_H
#define SOCKTRACE_PROBE_H

#include "backend.h"

#define ST_WHY_LEN	256
#define ST_PROBE_MAX	32

struct st_probe_cache {
	struct {
		enum st_backend backend;
		const char *func;	/* fentry, kprobe: shared by programs */
		const struct bpf_program *tp;	/* tracepoint: its program */
		int err;
		char why[ST_WHY_LEN];
	} e[ST_PROBE_MAX];
	size_t n;
	const char *attach_func;	/* the one function fexit was attached to */
	int attach_err;
};

/* The kind of hook @prog's section names */
enum st_backend st_prog_backend(const struct bpf_program *prog);
/* The kernel function of a fentry or kprobe program, or NULL */
const char *st_prog_func(const struct bpf_program *prog);

/*
 * Can @prog attach as its section says (a catch-up tracepoint beside fentry
 * or kprobes is asked as the tracepoint it is)? 0, or -errno with *@why
 * saying why. The fentry probe reads the BTF ids of every function of @progs
 * into @sel, once.
 */
int st_probe(struct st_probe_cache *c, struct st_selection *sel,
	     const struct st_prog *progs, size_t n, const struct bpf_program *prog,
	     const char **why);

/* @func's id from @sel's scan, or -ENOENT */
int st_probe_btf_id(const struct st_selection *sel, const char *func);

#endif
