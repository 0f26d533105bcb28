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

/*
 * One program of a tool and the hook it serves. Which backend it belongs to
 * and the kernel function it attaches to come from its section
 * (fentry/, fexit/, kprobe/, kretprobe/: that backend, with a function; any
 * other: tracepoint).
 */
struct st_prog {
	const char *hook;	/* e.g. "connect"; programs of a hook go together */
	struct bpf_program *prog;	/* skel->progs.NAME */
	unsigned int flags;	/* ST_ROW_* */
};

#define ST_ROW_V4	0x1	/* serves IPv4 sockets only (tcp_v4_connect) */
#define ST_ROW_V6	0x2	/* serves IPv6 sockets only */
/* a syscall tracepoint that goes along on the fentry and kprobe backends
 * too: the only hook that sees a call already in progress at attach */
#define ST_ROW_CATCH_UP	0x4
/* a tracepoint that is its hook's program on every backend: no function
 * hook would see more (-d's packets) */
#define ST_ROW_ANY	0x8

#define ST_MAX_HOOKS	8
#define ST_MAX_CATCH_UP	4
#define ST_MAX_FUNCS	16	/* kernel functions of a tool's fentry programs */

struct st_selection {
	const char *hooks[ST_MAX_HOOKS];
	enum st_backend chosen[ST_MAX_HOOKS];
	size_t nhooks;
	/* chosen ST_ROW_CATCH_UP programs beside function hooks */
	struct bpf_program *catch_up[ST_MAX_CATCH_UP];
	size_t ncatch_up;
	/* the fentry functions' BTF ids, from one scan: the probe's, and the
	 * attach targets their programs are loaded with */
	struct {
		const char *func;
		int id;
	} btf[ST_MAX_FUNCS];
	size_t nbtf;
	int btf_err;
	bool btf_done;
	int handlers[2];	/* libbpf section handlers, while registered */
};

int st_backend_parse(const char *s, enum st_backend *out);

/*
 * Before the BPF object is opened: fentry/fexit sections are loaded with the
 * BTF ids @sel's probe finds (no copy of the kernel's BTF in libbpf), until
 * st_backend_unregister(). Without it they load the libbpf way.
 */
void st_backend_register(struct st_selection *sel);
void st_backend_unregister(struct st_selection *sel);

/*
 * Chooses a backend for every hook in @progs (forced, or the best that
 * works), switches autoload on for the chosen programs and off for every
 * other program of @obj. @family (0, ST_AF_INET, ST_AF_INET6) drops programs
 * only the other family needs. Returns 0, or -errno after printing one line
 * saying why.
 */
int st_backend_select(struct bpf_object *obj, const struct st_prog *progs,
		      size_t n, enum st_backend forced, int family,
		      struct st_selection *sel);

/* The backend chosen for @hook, or ST_BACKEND_AUTO if it has none. */
enum st_backend st_selection_backend(const struct st_selection *sel, const char *hook);

/* Is @prog one of @sel's catch-up programs? */
bool st_selection_catches_up(const struct st_selection *sel, const struct bpf_program *prog);

/* "fentry" or "fentry+tracepoint", for the ready line */
void st_selection_describe(const struct st_selection *sel, char *buf, size_t len);

/* Attaches a loaded program of any backend; NULL and errno on failure. */
struct bpf_link *st_backend_attach(const struct bpf_program *prog);

/* Mounts tracefs when nothing provides it: libbpf needs it for tracepoints. */
int st_ensure_tracefs(void);
/* Where tracefs is: debugfs's tracing/ where mounted, as libbpf 1.1 looks */
const char *st_tracing_dir(void);

#endif
