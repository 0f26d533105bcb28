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
#include "btfscan.h"
#include "log.h"
#include "probe.h"

/* libbpf 1.1 looks here first, then at tracefs (see its use_debugfs()) */
#define DEBUGFS_TRACING	"/sys/kernel/debug/tracing"
#define TRACEFS		"/sys/kernel/tracing"
#define KPROBE_TYPE	"/sys/bus/event_source/devices/kprobe/type"

static const char *const prefixes[] = { "fentry/", "fexit/", "kprobe/", "kretprobe/" };

enum st_backend st_prog_backend(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(sec, prefixes[i], strlen(prefixes[i])))
			return i < 2 ? ST_BACKEND_FENTRY : ST_BACKEND_KPROBE;
	return ST_BACKEND_TRACEPOINT;
}

const char *st_prog_func(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);

	return st_prog_backend(prog) == ST_BACKEND_TRACEPOINT ? NULL : strchr(sec, '/') + 1;
}

const char *st_tracing_dir(void)
{
	return access(DEBUGFS_TRACING, F_OK) == 0 ? DEBUGFS_TRACING : TRACEFS;
}

int st_ensure_tracefs(void)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "%s/events", st_tracing_dir());
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

/* One BTF scan for every fentry function of the tool's table */
static int scan_btf(struct st_selection *sel, const struct st_prog *progs, size_t n)
{
	const char *funcs[ST_MAX_FUNCS];
	int ids[ST_MAX_FUNCS];
	size_t i, j;
	int err;

	for (i = 0; i < n; i++) {
		const char *func = st_prog_func(progs[i].prog);

		if (st_prog_backend(progs[i].prog) != ST_BACKEND_FENTRY)
			continue;
		for (j = 0; j < sel->nbtf && strcmp(sel->btf[j].func, func); j++)
			;
		if (j < sel->nbtf)
			continue;
		if (sel->nbtf == ST_MAX_FUNCS) {
			st_err("more than %d fentry functions in one tool", ST_MAX_FUNCS);
			return -E2BIG;
		}
		sel->btf[sel->nbtf++].func = func;
	}
	for (i = 0; i < sel->nbtf; i++)
		funcs[i] = sel->btf[i].func;
	err = st_btf_find_funcs(NULL, funcs, sel->nbtf, 0, ids);
	for (i = 0; !err && i < sel->nbtf; i++)
		sel->btf[i].id = ids[i];
	return err;
}

int st_probe_btf_id(const struct st_selection *sel, const char *func)
{
	size_t i;

	for (i = 0; i < sel->nbtf; i++)
		if (!strcmp(sel->btf[i].func, func) && sel->btf[i].id > 0)
			return sel->btf[i].id;
	return -ENOENT;
}

static int btf_id(struct st_selection *sel, const struct st_prog *progs, size_t n,
		  const char *func, char *why)
{
	int id;

	if (!sel->btf_done) {
		sel->btf_err = scan_btf(sel, progs, n);
		sel->btf_done = true;
	}
	if (sel->btf_err == -ENOENT) {
		snprintf(why, ST_WHY_LEN, "the kernel has no BTF (no %s)", ST_BTF_VMLINUX);
		return -ENOENT;
	}
	if (sel->btf_err) {
		snprintf(why, ST_WHY_LEN, "cannot read the kernel's BTF %s: %s",
			 ST_BTF_VMLINUX, st_strerror(-sel->btf_err));
		return sel->btf_err;
	}
	id = st_probe_btf_id(sel, func);
	if (id < 0)
		snprintf(why, ST_WHY_LEN, "%s is not in the kernel's BTF", func);
	return id;
}

/* The first fexit probe attaches too; the others say what that showed. */
static int fentry_attach(struct st_probe_cache *c, int fd, const char *func, char *why)
{
	int link;

	if (!c->attach_func) {
		link = bpf_raw_tracepoint_open(NULL, fd);
		c->attach_err = link < 0 ? -errno : 0;
		c->attach_func = func;
		if (link >= 0)
			close(link);
	}
	if (c->attach_err && !strcmp(func, c->attach_func))
		snprintf(why, ST_WHY_LEN, "cannot attach fexit to %s: %s", func,
			 st_strerror(-c->attach_err));
	else if (c->attach_err)
		snprintf(why, ST_WHY_LEN, "fexit loads for %s but cannot attach "
			 "(tried on %s: %s)", func, c->attach_func, st_strerror(-c->attach_err));
	return c->attach_err;
}

/*
 * Loading an empty fexit program is how the kernel checks a target (a FUNC
 * in its BTF, with an address, not on the verifier's deny list); attaching
 * is what shows that trampolines work (arm64 6.1 loads, then refuses with
 * ENOTSUPP). Attach only once per run: each attach builds a trampoline and
 * each detach waits for RCU-tasks.
 */
static int probe_fentry(struct st_probe_cache *c, struct st_selection *sel,
			const struct st_prog *progs, size_t n, const char *func, char *why)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FEXIT);
	int id, fd, err;

	id = btf_id(sel, progs, n, func, why);
	if (id < 0)
		return id;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0) {
		err = -errno;
		snprintf(why, ST_WHY_LEN, "cannot load an fexit program for %s: %s",
			 func, st_strerror(-err));
		return err;
	}
	err = fentry_attach(c, fd, func, why);
	close(fd);
	return err;
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
		snprintf(why, ST_WHY_LEN, "no kprobe support (%s missing: CONFIG_KPROBES off?)",
			 KPROBE_TYPE);
		return -ENOENT;
	}
	attr.type = type;
	attr.config1 = (uintptr_t)func;
	fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, ST_WHY_LEN, "cannot create a kprobe on %s: %s", func,
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
	snprintf(why, ST_WHY_LEN, "the kernel has no bpf_task_pt_regs helper (5.15 or later)");
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
		snprintf(why, ST_WHY_LEN, "tracefs is not available: %s", st_strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/events/%s", st_tracing_dir(), tp + 1);
	if (access(path, F_OK)) {
		err = -errno;
		snprintf(why, ST_WHY_LEN, "tracepoint %s not found: %s", tp + 1,
			 st_strerror(-err));
		return err;
	}
	if (!strncmp(tp + 1, "syscalls/", 9))
		return probe_syscall_regs(why);
	return 0;
}

/* The cache entry for @prog: a function's, or a tracepoint program's */
static size_t cache_slot(struct st_probe_cache *c, const struct bpf_program *prog,
			 bool *found)
{
	enum st_backend b = st_prog_backend(prog);
	const char *func = st_prog_func(prog);
	size_t i;

	for (i = 0; i < c->n; i++) {
		*found = c->e[i].backend == b && (func ? c->e[i].func && !strcmp(c->e[i].func, func) :
						  c->e[i].tp == prog);
		if (*found)
			return i;
	}
	*found = false;
	if (c->n == ST_PROBE_MAX)
		return ST_PROBE_MAX;
	c->e[c->n].backend = b;
	c->e[c->n].func = func;
	c->e[c->n].tp = func ? NULL : prog;
	c->e[c->n].why[0] = '\0';
	return c->n++;
}

int st_probe(struct st_probe_cache *c, struct st_selection *sel,
	     const struct st_prog *progs, size_t n, const struct bpf_program *prog,
	     const char **why)
{
	bool found;
	size_t i = cache_slot(c, prog, &found);

	if (i == ST_PROBE_MAX) {
		*why = "more programs than the probe can keep answers for";
		st_err("more than %d programs to probe in one tool", ST_PROBE_MAX);
		return -E2BIG;
	}
	*why = c->e[i].why;
	if (found)
		return c->e[i].err;
	switch (c->e[i].backend) {
	case ST_BACKEND_FENTRY:
		c->e[i].err = probe_fentry(c, sel, progs, n, c->e[i].func, c->e[i].why);
		break;
	case ST_BACKEND_KPROBE:
		c->e[i].err = probe_kprobe(c->e[i].func, c->e[i].why);
		break;
	default:
		c->e[i].err = probe_tracepoint(prog, c->e[i].why);
	}
	return c->e[i].err;
}
