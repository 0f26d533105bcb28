// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "btfscan.h"
#include "event.h"
#include "log.h"
#include "probe.h"

static const char *const names[ST_BACKEND_MAX] = {
	[ST_BACKEND_AUTO] = "auto",
	[ST_BACKEND_FENTRY] = "fentry",
	[ST_BACKEND_KPROBE] = "kprobe",
	[ST_BACKEND_TRACEPOINT] = "tracepoint",
};

int st_backend_parse(const char *s, enum st_backend *out)
{
	int b;

	for (b = 0; b < ST_BACKEND_MAX; b++) {
		if (!strcmp(s, names[b])) {
			*out = b;
			return 0;
		}
	}
	return -EINVAL;
}

static bool serves_family(const struct st_prog *p, int family)
{
	if (!family || !(p->flags & (ST_ROW_V4 | ST_ROW_V6)))
		return true;
	return p->flags & (family == ST_AF_INET ? ST_ROW_V4 : ST_ROW_V6);
}

/* Does row @p serve @hook on backend @b? */
static bool serves(const struct st_prog *p, const char *hook, enum st_backend b, int family)
{
	enum st_backend own = st_prog_backend(p->prog);

	if (strcmp(p->hook, hook) || !serves_family(p, family))
		return false;
	return own == b || (p->flags & ST_ROW_ANY) ||
	       ((p->flags & ST_ROW_CATCH_UP) && b != ST_BACKEND_TRACEPOINT);
}

struct selecting {
	struct st_probe_cache cache;
	struct st_selection *sel;
	const struct st_prog *progs;
	size_t n;
	int family;
};

/* 0 if every program of @hook on @b can attach, else -errno and @why */
static int try_backend(struct selecting *s, const char *hook, enum st_backend b,
		       const char **why)
{
	size_t i;
	int err = -ENOENT;

	*why = "no program for this hook";
	for (i = 0; i < s->n; i++) {
		if (!serves(&s->progs[i], hook, b, s->family))
			continue;
		err = st_probe(&s->cache, s->sel, s->progs, s->n, s->progs[i].prog, why);
		if (err)
			return err;
	}
	return err;
}

/* The backend of @hook's ST_ROW_ANY program, or ST_BACKEND_AUTO if it has none */
static enum st_backend any_backend(const struct selecting *s, const char *hook)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if ((s->progs[i].flags & ST_ROW_ANY) && !strcmp(s->progs[i].hook, hook))
			return st_prog_backend(s->progs[i].prog);
	return ST_BACKEND_AUTO;
}

static int choose(struct selecting *s, enum st_backend forced, size_t h)
{
	const char *why = "", *hook = s->sel->hooks[h];
	enum st_backend b, any = any_backend(s, hook);
	int err = -ENOENT;

	for (b = ST_BACKEND_FENTRY; b < ST_BACKEND_MAX; b++) {
		if (forced != ST_BACKEND_AUTO && b != forced)
			continue;
		err = try_backend(s, hook, b, &why);
		if (!err) {
			/* the ready line says what runs */
			s->sel->chosen[h] = any != ST_BACKEND_AUTO ? any : b;
			return 0;
		}
		st_dbg("hook %s: %s unusable: %s", hook, names[b], why);
	}
	if (forced != ST_BACKEND_AUTO)
		st_err("backend %s is not available on this kernel: %s", names[forced], why);
	else
		st_err("no backend can trace %s on this kernel: %s", hook, why);
	return err;
}

static int add_hook(struct st_selection *sel, const char *hook)
{
	size_t i;

	for (i = 0; i < sel->nhooks; i++)
		if (!strcmp(sel->hooks[i], hook))
			return 0;
	if (sel->nhooks == ST_MAX_HOOKS) {
		st_err("more than %d hooks in one tool", ST_MAX_HOOKS);
		return -E2BIG;
	}
	sel->hooks[sel->nhooks++] = hook;
	return 0;
}

/* A chosen tracepoint beside function hooks: for calls in progress at attach */
static int note_catch_up(struct st_selection *sel, struct bpf_program *prog, enum st_backend b)
{
	size_t i;

	if (b == ST_BACKEND_TRACEPOINT || st_prog_backend(prog) != ST_BACKEND_TRACEPOINT)
		return 0;
	for (i = 0; i < sel->ncatch_up; i++)
		if (sel->catch_up[i] == prog)
			return 0;
	if (sel->ncatch_up == ST_MAX_CATCH_UP) {
		st_err("more than %d catch-up programs in one tool", ST_MAX_CATCH_UP);
		return -E2BIG;
	}
	sel->catch_up[sel->ncatch_up++] = prog;
	return 0;
}

/* Hook @h's chosen programs on, and named in @list for --debug */
static int load_hook(const struct selecting *s, size_t h, char *list, size_t len)
{
	struct st_selection *sel = s->sel;
	size_t i, off = 0;
	int err = 0;

	list[0] = '\0';
	for (i = 0; i < s->n && !err; i++) {
		if (!serves(&s->progs[i], sel->hooks[h], sel->chosen[h], s->family))
			continue;
		bpf_program__set_autoload(s->progs[i].prog, true);
		if (s->progs[i].flags & ST_ROW_CATCH_UP)
			err = note_catch_up(sel, s->progs[i].prog, sel->chosen[h]);
		off += snprintf(list + off, off < len ? len - off : 0, "%s%s", off ? ", " : "",
				bpf_program__name(s->progs[i].prog));
	}
	return err;
}

/* Every program off, then the chosen rows' on: one not chosen stays out */
static int set_autoload(struct bpf_object *obj, const struct selecting *s)
{
	struct st_selection *sel = s->sel;
	struct bpf_program *prog;
	char list[256];
	size_t h;
	int err = 0;

	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, false);
	for (h = 0; h < sel->nhooks && !err; h++) {
		err = load_hook(s, h, list, sizeof(list));
		st_dbg("hook %s: %s (%s)", sel->hooks[h], names[sel->chosen[h]], list);
	}
	return err;
}

int st_backend_select(struct bpf_object *obj, const struct st_prog *progs,
		      size_t n, enum st_backend forced, int family,
		      struct st_selection *sel)
{
	struct selecting s = { .sel = sel, .progs = progs, .n = n, .family = family };
	size_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = add_hook(sel, progs[i].hook);
	for (i = 0; i < sel->nhooks && !err; i++)
		err = choose(&s, forced, i);
	return err ? err : set_autoload(obj, &s);
}

enum st_backend st_selection_backend(const struct st_selection *sel, const char *hook)
{
	size_t i;

	for (i = 0; i < sel->nhooks; i++)
		if (!strcmp(sel->hooks[i], hook))
			return sel->chosen[i];
	return ST_BACKEND_AUTO;
}

bool st_selection_catches_up(const struct st_selection *sel, const struct bpf_program *prog)
{
	size_t i;

	for (i = 0; i < sel->ncatch_up; i++)
		if (sel->catch_up[i] == prog)
			return true;
	return false;
}

void st_selection_describe(const struct st_selection *sel, char *buf, size_t len)
{
	bool seen[ST_BACKEND_MAX] = {};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sel->nhooks; i++) {
		if (seen[sel->chosen[i]])
			continue;
		seen[sel->chosen[i]] = true;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				off ? "+" : "", names[sel->chosen[i]]);
	}
}

/*
 * fentry/fexit without libbpf's copy of the kernel's BTF.
 *
 * For any tracing program libbpf 1.1 reads all of /sys/kernel/btf/vmlinux
 * (5.5 MB on 6.x, held twice while it parses) only to find the attach
 * target's type id, even when CO-RE is given a minimized BTF (btfcache.c);
 * that doubles the tools' peak RSS. The probe already found the ids. So
 * while registered, fentry and fexit sections open as raw tracepoint
 * programs, which need no kernel BTF, and turn back into tracing programs
 * right before their load with the probe's id. libbpf_register_prog_handler()
 * is how libbpf lets a caller take over a section prefix; it must come before
 * bpf_object__open(). If it fails, libbpf's own handler stays: the same
 * programs, more memory.
 */
static int prepare_fentry_load(struct bpf_program *prog,
			       struct bpf_prog_load_opts *opts, long cookie)
{
	const struct st_selection *sel = (const struct st_selection *)cookie;
	const char *func = strchr(bpf_program__section_name(prog), '/');
	int id, err;

	if (!func)
		return -EINVAL;
	func++;
	/* the probe scanned for every fentry function of the tool's table */
	id = st_probe_btf_id(sel, func);
	if (id < 0) {
		err = st_btf_find_funcs(NULL, &func, 1, 0, &id);
		if (err)
			return err;
		if (id < 0)
			return id;
	}
	opts->attach_btf_obj_fd = 0;
	opts->attach_btf_id = id;
	return bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING);
}

void st_backend_register(struct st_selection *sel)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o, .cookie = (long)sel,
		    .prog_prepare_load_fn = prepare_fentry_load);

	sel->handlers[0] = libbpf_register_prog_handler("fentry+", BPF_PROG_TYPE_RAW_TRACEPOINT,
							BPF_TRACE_FENTRY, &o);
	sel->handlers[1] = libbpf_register_prog_handler("fexit+", BPF_PROG_TYPE_RAW_TRACEPOINT,
							BPF_TRACE_FEXIT, &o);
}

void st_backend_unregister(struct st_selection *sel)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (sel->handlers[i] > 0)
			libbpf_unregister_prog_handler(sel->handlers[i]);
	sel->handlers[0] = sel->handlers[1] = 0;
}

/*
 * bpf_program__attach() goes by the section handler, which the type change
 * above may drop (libbpf 1.2 and later reset it), so tracing programs are
 * attached by their type.
 */
struct bpf_link *st_backend_attach(const struct bpf_program *prog)
{
	if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING)
		return bpf_program__attach_trace(prog);
	return bpf_program__attach(prog);
}
