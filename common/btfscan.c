// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two passes over a raw BTF file, one chunk in memory at a time: the string
 * section for the offsets of the wanted names, then the type section for the
 * FUNCs whose name_off is one of them. Layout as in linux/btf.h and libbpf's
 * btf_type_size() (libbpf 1.1, kinds up to ENUM64, Linux 6.0+).
 */
#include <byteswap.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/btf.h>
#include "btfscan.h"
#include "log.h"

/* pahole and libbpf dedup strings, so a name occurs once; a few spare */
#define MAX_OFFS 4

struct want {
	const char *name;
	size_t len;
	__u32 off[MAX_OFFS];	/* string-section offsets where it starts */
	unsigned int noff;
};

/* One section of the file, read in chunks: buf[pos..len) is not consumed. */
struct reader {
	const char *path;
	int fd;
	char *buf;
	size_t cap, pos, len;
	__u64 off;		/* file offset of the next read */
	__u64 left;		/* section bytes not read yet */
};

static void rd_start(struct reader *r, __u64 off, __u64 size)
{
	r->pos = r->len = 0;
	r->off = off;
	r->left = size;
}

/* Keeps the unconsumed bytes and appends a read after them. */
static int rd_fill(struct reader *r)
{
	size_t want;
	ssize_t got;

	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	want = r->cap - r->len < r->left ? r->cap - r->len : r->left;
	if (!want) {
		st_dbg("%s: a type runs past the end of the type section", r->path);
		return -EINVAL;
	}
	do {
		got = pread(r->fd, r->buf + r->len, want, r->off);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if (!got) {
		st_dbg("%s: file ends before its header says", r->path);
		return -EINVAL;
	}
	r->len += got;
	r->off += got;
	r->left -= got;
	return 0;
}

/* @n must not exceed the chunk size */
static int rd_get(struct reader *r, void *dst, size_t n)
{
	int err;

	while (r->len - r->pos < n) {
		err = rd_fill(r);
		if (err)
			return err;
	}
	memcpy(dst, r->buf + r->pos, n);
	r->pos += n;
	return 0;
}

static int rd_skip(struct reader *r, size_t n)
{
	int err;

	while (r->len - r->pos < n) {
		n -= r->len - r->pos;
		r->pos = r->len;
		err = rd_fill(r);
		if (err)
			return err;
	}
	r->pos += n;
	return 0;
}

static int read_header(struct reader *r, struct btf_header *h)
{
	__u64 end = 0;
	struct stat st;
	ssize_t got;

	got = pread(r->fd, h, sizeof(*h), 0);
	if (got < 0)
		return -errno;
	if (got == sizeof(*h) && h->magic == bswap_16(BTF_MAGIC)) {
		st_dbg("%s: BTF of the other byte order is not supported", r->path);
		return -EINVAL;
	}
	if (got != sizeof(*h) || h->magic != BTF_MAGIC ||
	    h->version != BTF_VERSION || h->hdr_len < sizeof(*h)) {
		st_dbg("%s: not a BTF file (bad magic, version or header)", r->path);
		return -EINVAL;
	}
	/* the checks of libbpf's btf_parse_hdr(), which parses the same file */
	if (h->type_off % 4 || !h->str_len ||
	    (__u64)h->type_off + h->type_len > h->str_off) {
		st_dbg("%s: bad section offsets in the BTF header", r->path);
		return -EINVAL;
	}
	end = (__u64)h->hdr_len + h->str_off + h->str_len;
	/* sysfs gives the real size; a size of 0 leaves it to the reads */
	if (!fstat(r->fd, &st) && st.st_size && (__u64)st.st_size < end) {
		st_dbg("%s: %lld bytes, its header says %llu", r->path,
		       (long long)st.st_size, (unsigned long long)end);
		return -EINVAL;
	}
	return 0;
}

static void match_string(struct want *w, size_t n, const char *s, size_t len,
			 __u32 off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].len == len && !memcmp(w[i].name, s, len) &&
		    w[i].noff < MAX_OFFS)
			w[i].off[w[i].noff++] = off;
}

/*
 * Strings are NUL-terminated back to back; @cur (@maxlen + 1 bytes) holds
 * the start of the current one, which may span chunks.
 */
static int scan_strings(struct reader *r, struct want *w, size_t n, char *cur,
			size_t maxlen)
{
	size_t curlen = 0, seg;
	__u32 start = 0;
	const char *p, *nul;
	int err;

	while (r->left) {
		err = rd_fill(r);
		if (err)
			return err;
		while (r->pos < r->len) {
			p = r->buf + r->pos;
			nul = memchr(p, '\0', r->len - r->pos);
			seg = nul ? (size_t)(nul - p) : r->len - r->pos;
			if (curlen + seg <= maxlen)
				memcpy(cur + curlen, p, seg);
			curlen += seg;
			r->pos += seg;
			if (!nul)
				break;
			r->pos++;
			if (curlen <= maxlen)
				match_string(w, n, cur, curlen, start);
			start += curlen + 1;
			curlen = 0;
		}
	}
	if (curlen) {
		st_dbg("%s: the string section does not end with a NUL", r->path);
		return -EINVAL;
	}
	return 0;
}

/* Bytes that follow a btf_type of @kind, or -1 for a kind not known here */
static long trailing_size(__u32 kind, __u32 vlen)
{
	switch (kind) {
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_INT:
		return sizeof(__u32);
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	default:
		return -1;
	}
}

/* Sets the ids still missing whose name starts at @name_off; how many */
static size_t match_func(const struct want *w, size_t n, int *ids,
			 __u32 name_off, int id)
{
	size_t i, found = 0;
	unsigned int j;

	for (i = 0; i < n; i++) {
		for (j = 0; ids[i] < 0 && j < w[i].noff; j++) {
			if (w[i].off[j] == name_off) {
				ids[i] = id;
				found++;
			}
		}
	}
	return found;
}

/* Ids count from 1 (0 is void); stops when every name with a string has one */
static int scan_types(struct reader *r, const struct want *w, size_t n, int *ids)
{
	struct btf_type t;
	size_t i, todo = 0;
	long extra;
	int id, err;

	for (i = 0; i < n; i++)
		todo += w[i].noff > 0;
	for (id = 1; todo && (r->pos < r->len || r->left); id++) {
		err = rd_get(r, &t, sizeof(t));
		if (err)
			return err;
		extra = trailing_size(BTF_INFO_KIND(t.info), BTF_INFO_VLEN(t.info));
		if (extra < 0) {
			st_dbg("%s: type %d is of kind %u, unknown to this reader",
			       r->path, id, BTF_INFO_KIND(t.info));
			return -EINVAL;
		}
		if (BTF_INFO_KIND(t.info) == BTF_KIND_FUNC)
			todo -= match_func(w, n, ids, t.name_off, id);
		err = rd_skip(r, extra);
		if (err)
			return err;
	}
	return 0;
}

int st_btf_find_funcs(const char *path, const char *const *names, size_t n,
		      size_t chunk, int *ids)
{
	struct reader r = { .path = path ? path : ST_BTF_VMLINUX, .fd = -1 };
	struct want *w = NULL;
	struct btf_header h;
	size_t i, maxlen = 0;
	int err;

	r.cap = chunk ? chunk : ST_BTFSCAN_CHUNK;
	if (r.cap < sizeof(struct btf_type))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ids[i] = -ENOENT;
		if (strlen(names[i]) > maxlen)
			maxlen = strlen(names[i]);
	}
	w = calloc(n ? n : 1, sizeof(*w));
	r.buf = malloc(r.cap + maxlen + 1);
	if (!w || !r.buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		w[i].name = names[i];
		w[i].len = strlen(names[i]);
	}
	r.fd = open(r.path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = read_header(&r, &h);
	if (err)
		goto cleanup;
	rd_start(&r, (__u64)h.hdr_len + h.str_off, h.str_len);
	err = scan_strings(&r, w, n, r.buf + r.cap, maxlen);
	if (err)
		goto cleanup;
	rd_start(&r, (__u64)h.hdr_len + h.type_off, h.type_len);
	err = scan_types(&r, w, n, ids);
cleanup:
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	free(w);
	return err;
}
