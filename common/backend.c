// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backend.h"
#include "btfscan.h"
#include "event.h"
#include "log.h"

/* libbpf 1.1 looks here first, then at TRACEFS (see its use_debugfs()) */
#define DEBUGFS_TRACING	"/sys/kernel/debug/tracing"
#define TRACEFS		"/sys/kernel/tracing"
#define KPROBE_TYPE	"/sys/bus/event_source/devices/kprobe/type"
#define WHY_LEN		256

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

const char *st_backend_name(enum st_backend b)
{
	return b < ST_BACKEND_MAX ? names[b] : "?";
}

static const char *tracing_dir(void)
{
	return access(DEBUGFS_TRACING, F_OK) == 0 ? DEBUGFS_TRACING : TRACEFS;
}

int st_ensure_tracefs(void)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "%s/events", tracing_dir());
	if (access(path, F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
		err = -errno;
		st_err("failed to mount tracefs on %s: %s", TRACEFS, st_strerror(-err));
		return err;
	}
	st_dbg("mounted tracefs on %s", TRACEFS);
	return 0;
}

/* Probe results, since programs of one hook share functions. */
struct probe_cache {
	struct {
		enum st_backend backend;
		const char *func;
		int err;
		char why[WHY_LEN];
	} e[32];
	size_t n;
	const struct st_prog *progs;	/* the tool's table, for one BTF scan */
	size_t nprogs;
	const char *attach_func;	/* the one function fexit was attached to */
	int attach_err;
};

/*
 * Kernel function ids, from one scan of the BTF for every fentry function
 * of the tool's table: the probe's, then the attach targets that
 * prepare_fentry_load() gives the kernel.
 */
static struct {
	const char *func[32];	/* st_prog.func: the tool's static table */
	int id[32];
	size_t n;
	int err;
	bool done;
} scan;

static int scan_btf(const struct st_prog *progs, size_t nprogs)
{
	size_t i, j;

	for (i = 0; i < nprogs; i++) {
		const char *func = progs[i].func;

		if (progs[i].backend != ST_BACKEND_FENTRY || !func)
			continue;
		for (j = 0; j < scan.n && strcmp(scan.func[j], func); j++)
			;
		if (j < scan.n)
			continue;
		if (scan.n == sizeof(scan.func) / sizeof(scan.func[0]))
			return -E2BIG;
		scan.func[scan.n++] = func;
	}
	return st_btf_find_funcs(NULL, scan.func, scan.n, 0, scan.id);
}

/* @func's id from the scan, or -ENOENT */
static int scanned_id(const char *func)
{
	size_t i;

	for (i = 0; i < scan.n; i++)
		if (!strcmp(scan.func[i], func) && scan.id[i] > 0)
			return scan.id[i];
	return -ENOENT;
}

static int btf_id(struct probe_cache *c, const char *func, char *why)
{
	int id;

	if (!scan.done) {
		scan.err = scan_btf(c->progs, c->nprogs);
		scan.done = true;
	}
	if (scan.err == -ENOENT) {
		snprintf(why, WHY_LEN, "the kernel has no BTF (no %s)", ST_BTF_VMLINUX);
		return -ENOENT;
	}
	if (scan.err) {
		snprintf(why, WHY_LEN, "cannot read the kernel's BTF %s: %s",
			 ST_BTF_VMLINUX, st_strerror(-scan.err));
		return scan.err;
	}
	id = scanned_id(func);
	if (id < 0)
		snprintf(why, WHY_LEN, "%s is not in the kernel's BTF", func);
	return id;
}

/*
 * Loading an empty fexit program is how the kernel checks a target (a FUNC
 * in its BTF, with an address, not on the verifier's deny list); attaching
 * is what shows that trampolines work. Attach only once per run: each
 * attach builds a trampoline and each detach waits for RCU-tasks.
 */
static int probe_fentry(struct probe_cache *c, const char *func, char *why)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FEXIT);
	int id, fd, link, err;

	id = btf_id(c, func, why);
	if (id < 0)
		return id;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0) {
		err = -errno;
		snprintf(why, WHY_LEN, "cannot load an fexit program for %s: %s",
			 func, st_strerror(-err));
		return err;
	}
	if (!c->attach_func) {
		link = bpf_raw_tracepoint_open(NULL, fd);
		c->attach_err = link < 0 ? -errno : 0;
		c->attach_func = func;
		if (link >= 0)
			close(link);
	}
	close(fd);
	if (c->attach_err && !strcmp(func, c->attach_func))
		snprintf(why, WHY_LEN, "cannot attach fexit to %s: %s", func,
			 st_strerror(-c->attach_err));
	else if (c->attach_err)
		snprintf(why, WHY_LEN, "fexit loads for %s but cannot attach "
			 "(tried on %s: %s)", func, c->attach_func,
			 st_strerror(-c->attach_err));
	return c->attach_err;
}

/* Creates (and drops) a kprobe perf event, as libbpf would attach one. */
static int probe_kprobe(const char *func, char *why)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	FILE *f = fopen(KPROBE_TYPE, "r");
	int type = -1, fd, err;

	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	if (type < 0) {
		snprintf(why, WHY_LEN, "no kprobe support (%s missing: CONFIG_KPROBES off?)",
			 KPROBE_TYPE);
		return -ENOENT;
	}
	attr.type = type;
	attr.config1 = (uintptr_t)func;
	fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, WHY_LEN, "cannot create a kprobe on %s: %s", func,
			 st_strerror(-err));
		return err;
	}
	close(fd);
	return 0;
}

/*
 * The sys_exit programs read the call's arguments from the registers it
 * saved (bpf_task_pt_regs, 5.15): without that helper they cannot load.
 */
static int probe_syscall_regs(char *why)
{
	static int ok = -1;	/* the kernel's answer does not change */

	if (ok < 0)
		ok = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
					     BPF_FUNC_task_pt_regs, NULL) == 1;
	if (ok)
		return 0;
	snprintf(why, WHY_LEN, "the kernel has no bpf_task_pt_regs helper (5.15 or later)");
	return -EOPNOTSUPP;
}

/* "tracepoint/syscalls/sys_exit_connect" must exist in tracefs */
static int probe_tracepoint(const struct bpf_program *prog, char *why)
{
	const char *sec = bpf_program__section_name(prog);
	const char *tp = strchr(sec, '/');
	char path[256];
	int err;

	if (strncmp(sec, "tracepoint/", 11) && strncmp(sec, "tp/", 3))
		return 0;	/* raw_tp and tp_btf need no tracefs */
	err = st_ensure_tracefs();
	if (err) {
		snprintf(why, WHY_LEN, "tracefs is not available: %s", st_strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/events/%s", tracing_dir(), tp + 1);
	if (access(path, F_OK)) {
		err = -errno;
		snprintf(why, WHY_LEN, "tracepoint %s not found: %s", tp + 1,
			 st_strerror(-err));
		return err;
	}
	if (!strncmp(tp + 1, "syscalls/", 9))
		return probe_syscall_regs(why);
	return 0;
}

static int probe(struct probe_cache *c, struct bpf_object *obj,
		 const struct st_prog *p, const char **why)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->e[i].backend == p->backend && c->e[i].func && p->func &&
		    !strcmp(c->e[i].func, p->func)) {
			*why = c->e[i].why;
			return c->e[i].err;
		}
	}
	if (c->n == sizeof(c->e) / sizeof(c->e[0]))
		return -E2BIG;
	i = c->n++;
	c->e[i].backend = p->backend;
	c->e[i].func = p->func;
	c->e[i].why[0] = '\0';
	*why = c->e[i].why;
	/* a row without a kernel function is a tracepoint that a fentry or
	 * kprobe backend uses beside its functions (e.g. sys_exit_accept) */
	if (p->backend == ST_BACKEND_FENTRY && p->func) {
		c->e[i].err = probe_fentry(c, p->func, c->e[i].why);
	} else if (p->backend == ST_BACKEND_KPROBE && p->func) {
		c->e[i].err = probe_kprobe(p->func, c->e[i].why);
	} else {
		c->e[i].func = NULL;	/* never reused: one entry per program */
		c->e[i].err = probe_tracepoint(
			bpf_object__find_program_by_name(obj, p->prog), c->e[i].why);
	}
	return c->e[i].err;
}

static bool serves_family(const struct st_prog *p, int family)
{
	if (!p->family || !family)
		return true;
	return p->family == (family == ST_AF_INET ? 4 : 6);
}

/* 0 if every program of @hook on @b can attach, else -errno and @why */
static int try_backend(struct probe_cache *c, struct bpf_object *obj,
		       const struct st_prog *progs, size_t n, const char *hook,
		       enum st_backend b, int family, const char **why)
{
	size_t i;
	int err;

	*why = "no program for this hook";
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		if (strcmp(progs[i].hook, hook) || progs[i].backend != b ||
		    !serves_family(&progs[i], family))
			continue;
		err = probe(c, obj, &progs[i], why);
		if (err)
			return err;
	}
	return err;
}

static int add_hook(struct st_selection *sel, const char *hook)
{
	size_t i;

	for (i = 0; i < sel->nhooks; i++)
		if (!strcmp(sel->hooks[i], hook))
			return 0;
	if (sel->nhooks == ST_MAX_HOOKS)
		return -E2BIG;
	sel->hooks[sel->nhooks++] = hook;
	return 0;
}

static int choose(struct probe_cache *c, struct bpf_object *obj,
		  const struct st_prog *progs, size_t n, enum st_backend forced,
		  int family, struct st_selection *sel, size_t h)
{
	const char *why = "";
	enum st_backend b;
	int err = -ENOENT;

	for (b = ST_BACKEND_FENTRY; b < ST_BACKEND_MAX; b++) {
		if (forced != ST_BACKEND_AUTO && b != forced)
			continue;
		err = try_backend(c, obj, progs, n, sel->hooks[h], b, family, &why);
		if (!err) {
			sel->chosen[h] = b;
			return 0;
		}
		st_dbg("hook %s: %s unusable: %s", sel->hooks[h], names[b], why);
	}
	if (forced != ST_BACKEND_AUTO)
		st_err("backend %s is not available on this kernel: %s",
		       names[forced], why);
	else
		st_err("no backend can trace %s on this kernel: %s", sel->hooks[h], why);
	return err;
}

static bool row_chosen(const struct st_prog *progs, size_t n, const char *prog,
		       const char *hook, enum st_backend b, int family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(progs[i].prog, prog) && !strcmp(progs[i].hook, hook) &&
		    progs[i].backend == b && serves_family(&progs[i], family))
			return true;
	return false;
}

/* A chosen row beside function hooks, for calls in progress at attach;
 * with no room left it is attached like any other, as it always was. */
static void note_catch_up(struct st_selection *sel, const struct st_prog *p)
{
	if (!p->func && p->backend != ST_BACKEND_TRACEPOINT &&
	    sel->ncatch_up < sizeof(sel->catch_up) / sizeof(sel->catch_up[0]))
		sel->catch_up[sel->ncatch_up++] = p->prog;
}

bool st_selection_catches_up(const struct st_selection *sel, const struct bpf_program *prog)
{
	size_t i;

	for (i = 0; i < sel->ncatch_up; i++)
		if (!strcmp(sel->catch_up[i], bpf_program__name(prog)))
			return true;
	return false;
}

static void set_autoload(struct bpf_object *obj, const struct st_prog *progs,
			 size_t n, struct st_selection *sel, int family)
{
	char list[256];
	size_t i, h;

	for (h = 0; h < sel->nhooks; h++) {
		list[0] = '\0';
		for (i = 0; i < n; i++) {
			struct bpf_program *prog =
				bpf_object__find_program_by_name(obj, progs[i].prog);
			bool on = !strcmp(progs[i].hook, sel->hooks[h]) &&
				  progs[i].backend == sel->chosen[h] &&
				  serves_family(&progs[i], family);

			if (strcmp(progs[i].hook, sel->hooks[h]))
				continue;
			/* a program listed for several backends: any chosen row wins */
			if (!on && row_chosen(progs, n, progs[i].prog, sel->hooks[h],
					      sel->chosen[h], family))
				continue;
			bpf_program__set_autoload(prog, on);
			if (on)
				note_catch_up(sel, &progs[i]);
			if (on && strlen(list) + strlen(progs[i].prog) + 3 < sizeof(list))
				snprintf(list + strlen(list), sizeof(list) - strlen(list),
					 "%s%s", list[0] ? ", " : "", progs[i].prog);
		}
		st_dbg("hook %s: %s (%s)", sel->hooks[h], names[sel->chosen[h]], list);
	}
}

int st_backend_select(struct bpf_object *obj, const struct st_prog *progs,
		      size_t n, enum st_backend forced, int family,
		      struct st_selection *sel)
{
	struct probe_cache cache = { .progs = progs, .nprogs = n };
	size_t i;
	int err = 0;

	memset(sel, 0, sizeof(*sel));
	for (i = 0; i < n; i++) {
		if (!bpf_object__find_program_by_name(obj, progs[i].prog)) {
			st_err("failed to find BPF program %s", progs[i].prog);
			return -ENOENT;
		}
		err = add_hook(sel, progs[i].hook);
		if (err)
			return err;
	}
	for (i = 0; i < sel->nhooks && !err; i++)
		err = choose(&cache, obj, progs, n, forced, family, sel, i);
	if (err)
		return err;
	set_autoload(obj, progs, n, sel, family);
	return 0;
}

/*
 * fentry/fexit without libbpf's copy of the kernel's BTF.
 *
 * For any tracing program libbpf 1.1 reads all of /sys/kernel/btf/vmlinux
 * (5.5 MB on 6.x, held twice while it parses) only to find the attach
 * target's type id, even when CO-RE is given a minimized BTF (btfcache.c);
 * that doubles the tools' peak RSS. The probe above already found the ids.
 * So fentry and fexit sections open as raw tracepoint programs, which need
 * no kernel BTF, and turn back into tracing programs right before their load
 * with the probe's id. libbpf_register_prog_handler() is how libbpf lets a
 * caller take over a section prefix; it must run before bpf_object__open(),
 * hence the constructor. If it fails, libbpf's own handler stays: the same
 * programs, more memory.
 */
static int prepare_fentry_load(struct bpf_program *prog,
			       struct bpf_prog_load_opts *opts, long cookie)
{
	const char *func = strchr(bpf_program__section_name(prog), '/');
	int id, err;

	(void)cookie;
	if (!func)
		return -EINVAL;
	func++;
	/* the probe scanned for every fentry function of the tool's table */
	id = scanned_id(func);
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

__attribute__((constructor)) static void register_fentry_handlers(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o,
		    .prog_prepare_load_fn = prepare_fentry_load);

	libbpf_register_prog_handler("fentry+", BPF_PROG_TYPE_RAW_TRACEPOINT,
				     BPF_TRACE_FENTRY, &o);
	libbpf_register_prog_handler("fexit+", BPF_PROG_TYPE_RAW_TRACEPOINT,
				     BPF_TRACE_FEXIT, &o);
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
