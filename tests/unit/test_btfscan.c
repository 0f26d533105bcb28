// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* common/btfscan.c against libbpf's own lookup, on synthetic and real BTF. */
#define _GNU_SOURCE
#include <byteswap.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include "btfscan.h"
#include "unit.h"

#define LONG_NAME "a_function_name_long_enough_to_span_several_small_chunks"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* FUNCs, a struct and a string that are not FUNCs, and names not there */
static const char *const names[] = {
	"tcp_v4_connect", "tcp_set_state", "tcp_close", LONG_NAME,
	"inet_csk_accept", "sock", "tcp_v4", "v4_connect", "no_such_function", "",
};

/* Every kind the reader knows, FUNCs among them; the last type is a PTR. */
static struct btf *make_btf(void)
{
	struct btf *b = btf__new_empty();
	int i, s, p, proto, f, v;

	if (!b)
		return NULL;
	i = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	btf__add_float(b, "double", 8);
	s = btf__add_struct(b, "sock", 8);
	btf__add_field(b, "sk_family", i, 0, 0);
	btf__add_field(b, "sk_state", i, 32, 0);
	btf__add_union(b, "u", 4);
	btf__add_field(b, "a", i, 0, 0);
	btf__add_struct(b, "tcp_close", 0);	/* same name, other kind */
	btf__add_enum(b, "state", 4);
	btf__add_enum_value(b, "TCP_ESTABLISHED", 1);
	btf__add_enum_value(b, "TCP_SYN_SENT", 2);
	btf__add_enum64(b, "big", 8, false);
	btf__add_enum64_value(b, "BIG", 1ULL << 40);
	p = btf__add_ptr(b, s);
	btf__add_array(b, i, i, 4);
	btf__add_fwd(b, "request_sock", BTF_FWD_STRUCT);
	btf__add_typedef(b, "sk_t", s);
	btf__add_volatile(b, i);
	btf__add_const(b, i);
	btf__add_restrict(b, p);
	btf__add_type_tag(b, "user", p);
	proto = btf__add_func_proto(b, i);
	btf__add_func_param(b, "sk", p);
	btf__add_func_param(b, "uaddr", p);
	f = btf__add_func(b, "tcp_v4_connect", BTF_FUNC_GLOBAL, proto);
	btf__add_decl_tag(b, "tag", f, -1);
	btf__add_func(b, "tcp_set_state", BTF_FUNC_GLOBAL, proto);
	btf__add_func(b, "tcp_close", BTF_FUNC_STATIC, proto);
	btf__add_func(b, "tcp_close", BTF_FUNC_GLOBAL, proto);	/* first wins */
	v = btf__add_var(b, "sysctl_x", BTF_VAR_GLOBAL_ALLOCATED, i);
	btf__add_datasec(b, ".data", 4);
	btf__add_datasec_var_info(b, v, 0, 4);
	btf__add_func(b, LONG_NAME, BTF_FUNC_GLOBAL, proto);
	btf__add_func(b, "inet_csk_accept", BTF_FUNC_GLOBAL, proto);
	btf__add_ptr(b, i);
	return b;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = write(fd, data, len);
	close(fd);
	return got == (ssize_t)len ? 0 : -EIO;
}

static void check_ids(const struct btf *btf, const char *path, size_t chunk)
{
	int ids[ARRAY_SIZE(names)], err, want;
	size_t i;

	err = st_btf_find_funcs(path, names, ARRAY_SIZE(names), chunk, ids);
	CHECK(err == 0, "chunk %zu: %s", chunk, strerror(-err));
	for (i = 0; i < ARRAY_SIZE(names) && !err; i++) {
		want = btf__find_by_name_kind(btf, names[i], BTF_KIND_FUNC);
		CHECK(ids[i] == want, "chunk %zu, '%s': got %d, want %d", chunk,
		      names[i], ids[i], want);
	}
}

/* Chunks start at the string section's start: is @name cut by @chunk? */
static bool cut_by(const struct btf *btf, const char *name, size_t chunk)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	__u32 off = btf__type_by_id(btf, id)->name_off;

	return off / chunk != (off + strlen(name)) / chunk;
}

static void test_synthetic(const struct btf *btf, const char *path)
{
	bool cut[5] = {};
	size_t chunk, i;

	for (i = 0; i < 5; i++)
		CHECK(btf__find_by_name_kind(btf, names[i], BTF_KIND_FUNC) > 0,
		      "libbpf finds %s", names[i]);
	check_ids(btf, path, 0);
	check_ids(btf, path, 4096);
	for (chunk = sizeof(struct btf_type); chunk <= 80; chunk++) {
		check_ids(btf, path, chunk);
		for (i = 0; i < 5; i++)
			cut[i] |= cut_by(btf, names[i], chunk);
	}
	for (i = 0; i < 5; i++)
		CHECK(cut[i], "no chunk size tried cuts '%s'", names[i]);
	CHECK(st_btf_find_funcs(path, names, 1, sizeof(struct btf_type) - 1,
				(int[1]){}) == -EINVAL, "chunk below a btf_type");
}

/* Writes @raw with @patch applied, or its first @len bytes; then scans. */
static int scan_variant(const char *path, const void *raw, __u32 size,
			__u32 len, void (*patch)(void *, __u32))
{
	/* "sock" has a string but no FUNC: the whole type section is walked */
	static const char *const walk[] = { "sock" };
	char *buf = malloc(size);
	int id, err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, raw, size);
	if (patch)
		patch(buf, size);
	err = write_file(path, buf, len);
	free(buf);
	if (err)
		return err;
	return st_btf_find_funcs(path, walk, 1, 16, &id);
}

static void bad_magic(void *raw, __u32 size)
{
	(void)size;
	((struct btf_header *)raw)->magic = 0x1234;
}

static void swapped_magic(void *raw, __u32 size)
{
	(void)size;
	((struct btf_header *)raw)->magic = bswap_16(BTF_MAGIC);
}

static void bad_version(void *raw, __u32 size)
{
	(void)size;
	((struct btf_header *)raw)->version = BTF_VERSION + 1;
}

/* The last type, a PTR, becomes kind 20 (none yet; ENUM64 is 19) */
static void unknown_kind(void *raw, __u32 size)
{
	struct btf_type *last = (struct btf_type *)((char *)raw +
		((struct btf_header *)raw)->hdr_len +
		((struct btf_header *)raw)->type_len) - 1;

	(void)size;
	last->info = (BTF_KIND_ENUM64 + 1U) << 24;
}

static void short_types(void *raw, __u32 size)
{
	(void)size;
	((struct btf_header *)raw)->type_len -= 4;
}

static void unterminated_strings(void *raw, __u32 size)
{
	(void)size;
	((struct btf_header *)raw)->str_len -= 1;
}

static void test_malformed(const void *raw, __u32 size, const char *path)
{
	static const struct {
		const char *what;
		void (*patch)(void *, __u32);
	} patches[] = {
		{ "bad magic", bad_magic },
		{ "other byte order", swapped_magic },
		{ "version 2", bad_version },
		{ "unknown kind", unknown_kind },
		{ "type running past its section", short_types },
		{ "string section without a final NUL", unterminated_strings },
	};
	const __u32 cuts[] = { 0, 10, sizeof(struct btf_header), size / 2, size - 1 };
	size_t i;
	int err;

	CHECK(scan_variant(path, raw, size, size, NULL) == 0, "the file unpatched");
	for (i = 0; i < ARRAY_SIZE(patches); i++) {
		err = scan_variant(path, raw, size, size, patches[i].patch);
		CHECK(err == -EINVAL, "%s: got %d", patches[i].what, err);
	}
	for (i = 0; i < ARRAY_SIZE(cuts); i++) {
		err = scan_variant(path, raw, size, cuts[i], NULL);
		CHECK(err == -EINVAL, "cut to %u of %u bytes: got %d", cuts[i], size, err);
	}
	unlink(path);
	err = st_btf_find_funcs(path, names, 1, 0, (int[1]){});
	CHECK(err == -ENOENT, "no file: got %d", err);
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Runs first, so that the peak RSS it measures is the scan's own. */
static void test_vmlinux(void)
{
	static const char *const real[] = {
		"tcp_v4_connect", "tcp_set_state", "inet_csk_accept", "tcp_close",
		"sock",		/* a struct: makes the scan walk every type */
	};
	int ids[ARRAY_SIZE(real)], err;
	struct btf *vmlinux;
	long before, grew;
	size_t i;

	if (access(ST_BTF_VMLINUX, R_OK)) {
		printf("SKIP vmlinux: %s is not readable\n", ST_BTF_VMLINUX);
		return;
	}
	before = vm_hwm_kb();
	err = st_btf_find_funcs(NULL, real, ARRAY_SIZE(real), 0, ids);
	CHECK(err == 0, "scanning %s: %s", ST_BTF_VMLINUX, strerror(-err));
	grew = vm_hwm_kb() - before;
	CHECK(grew < 512, "the scan raised VmHWM by %ld kB", grew);
	vmlinux = btf__load_vmlinux_btf();
	CHECK(vmlinux, "libbpf cannot load %s", ST_BTF_VMLINUX);
	for (i = 0; i < ARRAY_SIZE(real) && vmlinux && !err; i++)
		CHECK(ids[i] == btf__find_by_name_kind(vmlinux, real[i], BTF_KIND_FUNC),
		      "%s: got %d, libbpf %d", real[i], ids[i],
		      btf__find_by_name_kind(vmlinux, real[i], BTF_KIND_FUNC));
	btf__free(vmlinux);
}

int main(void)
{
	char dir[] = "/tmp/test_btfscan.XXXXXX", path[sizeof(dir) + 8];
	struct btf *btf;
	const void *raw = NULL;
	__u32 size = 0;

	test_vmlinux();
	btf = make_btf();
	if (btf)
		raw = btf__raw_data(btf, &size);
	if (!raw || !mkdtemp(dir)) {
		CHECK(0, "set-up: %s", strerror(errno));
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/btf", dir);
	CHECK(write_file(path, raw, size) == 0, "writing %s", path);
	test_synthetic(btf, path);
	test_malformed(raw, size, path);
	rmdir(dir);
cleanup:
	btf__free(btf);
	return unit_report();
}
