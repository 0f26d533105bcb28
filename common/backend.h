/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Backend selection: for each hook of a tool, fentry/fexit if the kernel can
 * attach it, else kprobe/kretprobe, else tracepoints; decided before load by
 * switching programs' autoload on or off.
 */
#ifndef SOCKTRACE_BACKEND_H
#define SOCKTRACE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_program;
struct bpf_link;

enum st_backend {
	ST_BACKEND_AUTO,
	ST_BACKEND_FENTRY,
	ST_BACKEND_KPROBE,
	ST_BACKEND_TRACEPOINT,
	ST_BACKEND_MAX,
};

/* One program of a tool: which hook it serves on which backend. */
struct st_prog {
	const char *hook;	/* e.g. "connect"; programs of a hook go together */
	enum st_backend backend;
	const char *prog;	/* the BPF program's name */
	const char *func;	/* kernel function it attaches to, or NULL */
	int family;		/* 0, or the only family it serves (4 or 6) */
};

#define ST_MAX_HOOKS 8
#define ST_MAX_CATCH_UP 4

struct st_selection {
	const char *hooks[ST_MAX_HOOKS];
	enum st_backend chosen[ST_MAX_HOOKS];
	size_t nhooks;
	/* programs loaded beside function hooks only for calls already in
	 * progress when those were attached: chosen rows that name no function
	 * on the fentry or kprobe backend (sys_exit_accept*) */
	const char *catch_up[ST_MAX_CATCH_UP];
	size_t ncatch_up;
};

int st_backend_parse(const char *s, enum st_backend *out);
const char *st_backend_name(enum st_backend b);

/*
 * Chooses a backend for every hook in @progs (forced, or the best that
 * works), switches autoload on for the chosen programs and off for the rest.
 * @family (0, ST_AF_INET, ST_AF_INET6) drops programs only the other family
 * needs. Returns 0, or -errno after printing one line saying why.
 */
int st_backend_select(struct bpf_object *obj, const struct st_prog *progs,
		      size_t n, enum st_backend forced, int family,
		      struct st_selection *sel);

/* Is @prog one of @sel's catch-up programs? */
bool st_selection_catches_up(const struct st_selection *sel, const struct bpf_program *prog);

/* "fentry" or "fentry+tracepoint", for the ready line */
void st_selection_describe(const struct st_selection *sel, char *buf, size_t len);

/* Attaches a loaded program of any backend; NULL and errno on failure. */
struct bpf_link *st_backend_attach(const struct bpf_program *prog);

/* Mounts tracefs when nothing provides it: libbpf needs it for tracepoints. */
int st_ensure_tracefs(void);

#endif
