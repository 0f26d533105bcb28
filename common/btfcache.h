/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A cache of minimized kernel BTF: one small file per tool, BPF object and
 * kernel, made once by `bpftool gen min_core_btf`, so that libbpf's CO-RE
 * relocation need not read and copy all of /sys/kernel/btf/vmlinux (5.5 MB
 * on 6.x, which libbpf 1.1 holds twice: most of a tool's peak RSS).
 *
 *   $SOCKTRACE_CACHE_DIR/btf/<tool>-<objkey>-<kernelkey>.btf
 *
 * SOCKTRACE_CACHE_DIR is the directory that holds btf/ (default
 * /var/cache/socktrace; it must be absolute); set but empty, it turns the
 * cache off. Whatever goes wrong, the tool loads as it would without the
 * cache, with the full vmlinux BTF, and --debug says why.
 *
 * Programs that attach by BTF id (fentry/fexit, tp_btf) still make libbpf
 * load the full vmlinux BTF to find their targets: the cache saves memory
 * on the kprobe and tracepoint backends.
 */
#ifndef SOCKTRACE_BTFCACHE_H
#define SOCKTRACE_BTFCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

#define ST_CACHE_DIR_ENV	"SOCKTRACE_CACHE_DIR"
#define ST_CACHE_DIR_DEFAULT	"/var/cache/socktrace"

struct st_btf_cache {
	struct bpf_object_open_opts opts;
	/* /proc/self/fd/N: libbpf reopens the very file that was checked */
	char path[32];
	int fd;
	bool have_fd;
};

/* A skeleton's X_bpf__elf_bytes() */
typedef const void *(*st_elf_bytes_fn)(size_t *size);

/*
 * Open options for the skeleton of @tool whose BPF object @elf_bytes
 * returns: btf_custom_path names a minimized BTF for the running kernel,
 * from the cache or made now; or is unset, and libbpf uses the full vmlinux
 * BTF. Never fails, prints only with --debug. @c must stay until the object
 * is loaded; st_btf_cache_close() then (also on a zeroed @c).
 */
const struct bpf_object_open_opts *st_btf_open_opts(struct st_btf_cache *c,
						    const char *tool,
						    st_elf_bytes_fn elf_bytes);
void st_btf_cache_close(struct st_btf_cache *c);

#endif
