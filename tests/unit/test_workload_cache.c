// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The runtimes' records (common/containers.c), the workload cache
 * (common/workload.c) and --container/--unit (common/workload_filter.c),
 * without root: a directory tree made here stands for the cgroup2 mount
 * (a cgroup's id is its directory's inode number, as on cgroup2, and the
 * tree is walked since file handles are cgroup2's only), and record files
 * written here stand for podman's and Docker's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "workload.h"
#include "workload_filter.h"
#include "unit.h"

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID3 "0123456789abcdef000000000000000000000000000000000000000000000003"
#define ID4 "4444444444444444444444444444444444444444444444444444444444444444"
#define ID5 "5555555555555555555555555555555555555555555555555555555555555555"
#define ID6 "6666666666666666666666666666666666666666666666666666666666666666"
#define ID7 "7777777777777777777777777777777777777777777777777777777777777777"
#define ID8 "8888888888888888888888888888888888888888888888888888888888888888"
#define ID9 "9999999999999999999999999999999999999999999999999999999999999999"
#define IDA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IDB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define UID "1c5f3a4e-7b2d-4e8f-9a6b-0c1d2e3f4a5b"

static char top[] = "/tmp/st-workload-XXXXXX";

static const char *at(const char *fmt, ...)
{
	static char bufs[4][1024];
	static int next;
	char *b = bufs[next++ % 4];
	int n = snprintf(b, sizeof(bufs[0]), "%s/", top);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(bufs[0]) - n, fmt, ap);
	va_end(ap);
	return b;
}

static void mkdirs(const char *path)
{
	char p[1024], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void put_file(const char *path, const char *text)
{
	char tmp[1100];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s", path);
	*strrchr(tmp, '/') = '\0';
	mkdirs(tmp);
	/* as containers/storage writes it: a new file renamed over the old */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", path);
	close(fd);
	CHECK(!rename(tmp, path), "rename %s", path);
}

static __u64 ino(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

static const char *storage[] = { NULL, NULL };
static const char *unit_dirs[] = { NULL, NULL };
static struct st_workload_config cfg;

#define LONG_NAME \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"

/* The records: podman's store (as this machine's, overlay), and Docker's */
static void write_records(const char *web)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[{\"id\":\"" ID1 "\",\"names\":[\"%s\",\"alias\"],\"layer\":\"x\"},"
		 "{\"id\":\"" ID2 "\",\"names\":[]},"
		 "{\"id\":\"short\",\"names\":[\"bad\"]},"
		 "{\"id\":\"" ID3 "\",\"names\":[\"na\\u0000me\"]},"
		 "{\"id\":\"" ID4 "\",\"names\":[\"" LONG_NAME "\"]},"
		 "{\"id\":\"" ID5 "\",\"names\":[42]},"
		 "{\"id\":\"" ID8 "\",\"names\":[\"k8s_app\"]},"
		 "{\"names\":[\"noid\"]}, 7, null]", web);
	put_file(at("storage/overlay-containers/containers.json"), text);
	put_file(at("storage/overlay-containers/volatile-containers.json"),
		 "[{\"id\":\"" ID6 "\",\"names\":[\"vol\"]}]");
	put_file(at("storage/vfs-containers/containers.json"), "[{\"id\": broken");
	put_file(at("docker/containers/" ID7 "/config.v2.json"),
		 "{\"ID\":\"" ID7 "\",\"Name\":\"/db\",\"Config\":{}}");
	put_file(at("docker/containers/" ID5 "/config.v2.json"),
		 "{\"Name\":\"/\\u001b[31mred\"}");
	put_file(at("docker/containers/" ID6 "/config.v2.json"), "{\"Name\":\"/\"}");
	put_file(at("docker/containers/not-an-id/config.v2.json"), "{\"Name\":\"/x\"}");
	/* the kubelet's log links: two, and what is not one */
	put_file(at("kubelet/app-5f7c9_shop_web-" ID8 ".log"), "");
	/* as the kubelet makes them: a link, here to nothing */
	unlink(at("kubelet/db-0_shop_postgres-" ID9 ".log"));
	CHECK(!symlink("/var/log/pods/shop_db-0_x/postgres/0.log",
		       at("kubelet/db-0_shop_postgres-" ID9 ".log")), "symlink");
	put_file(at("kubelet/a_b_c_d-" ID1 ".log"), "");	/* a "_" too many */
	put_file(at("kubelet/a__c-" ID1 ".log"), "");		/* no namespace */
	put_file(at("kubelet/a_b_-" ID1 ".log"), "");		/* no container */
	put_file(at("kubelet/a_b_c-" ID1 ".txt"), "");
	put_file(at("kubelet/a_b_c-" ID1 "0.log"), "");
	put_file(at("kubelet/a_b_c_" ID1 ".log"), "");
	put_file(at("kubelet/" ID1 ".log"), "");
}

static void check_name(struct st_containers *c, const char *runtime, const char *id,
		       const char *want)
{
	char buf[ST_CONTAINER_NAME_MAX];
	const char *got = st_container_name(c, runtime, id, buf, sizeof(buf));

	if (want)
		CHECK(got && !strcmp(got, want), "%s %.8s: got '%s', want '%s'",
		      runtime ? runtime : "(any)", id, got ? got : "(none)", want);
	else
		CHECK(!got, "%s %.8s: got '%s', want none", runtime ? runtime : "(any)", id, got);
}

static int count_record(const char *id, const char *name, void *ctx)
{
	(void)id;
	(void)name;
	++*(int *)ctx;
	return 0;
}

static void test_records(void)
{
	struct st_containers *c;
	int n = 0;

	CHECK(!st_containers_open(&cfg.records, &c), "open");
	check_name(c, "podman", ID1, "web");
	check_name(c, "cri-o", ID1, "web");
	check_name(c, NULL, ID1, "web");
	check_name(c, "containerd", ID1, NULL);	/* containerd's are not files */
	check_name(c, "podman", ID2, NULL);	/* no name */
	check_name(c, "podman", ID3, NULL);	/* a NUL in it */
	check_name(c, "podman", ID4, NULL);	/* longer than a name may be */
	check_name(c, "podman", ID5, NULL);	/* not a string */
	check_name(c, "podman", ID6, "vol");	/* volatile-containers.json */
	check_name(c, "docker", ID7, "db");
	check_name(c, NULL, ID7, "db");
	check_name(c, "podman", ID7, NULL);
	check_name(c, "docker", ID5, "\x1b[31mred");	/* the bytes, unescaped */
	check_name(c, "docker", ID6, NULL);	/* "/" names nothing */
	check_name(c, "docker", "../../../etc", NULL);
	check_name(c, "podman", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		   NULL);
	check_name(c, "containerd", ID9, "shop/db-0/postgres");	/* the kubelet's */
	check_name(c, NULL, ID9, "shop/db-0/postgres");
	check_name(c, "cri-o", ID8, "shop/app-5f7c9/web");	/* before the store's */
	CHECK(!st_containers_each(c, count_record, &n), "each");
	/* store, volatile, docker ids, kubelet links */
	CHECK(n == 6 + 1 + 3 + 2, "each: %d records", n);

	write_records("web2");	/* a rename: seen, as the file changed */
	check_name(c, "podman", ID1, "web2");
	write_records("web");
	check_name(c, "podman", ID1, "web");
	st_containers_close(c);
}

/* The tree standing for the cgroup2 mount */
static void make_tree(void)
{
	static const char *const dirs[] = {
		"cg/system.slice/nginx.service/sub",
		"cg/system.slice/other.service",
		"cg/libpod_parent/libpod-" ID1 "/container",
		"cg/libpod_parent/libpod-" ID3,
		"cg/docker/" ID7,
		"cg/kubepods/burstable/pod" UID "/" ID8,
		"cg/kubepods/burstable/pod" UID "/" IDA,
		"cg/gone-before",
		"cg/gone-after.service",
	};
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		mkdirs(at("%s", dirs[i]));
}

static void check_field(const char *what, const char *got, const char *want)
{
	if (want)
		CHECK(got && !strcmp(got, want), "%s: got '%s', want '%s'", what,
		      got ? got : "(none)", want);
	else
		CHECK(!got, "%s: got '%s', want none", what, got);
}

static void check_wl(const struct st_workload *wl, const char *cgroup, const char *unit,
		     const char *runtime, const char *id, const char *name)
{
	CHECK(wl != NULL, "never NULL");
	if (!wl)
		return;
	check_field("cgroup", wl->cgroup, cgroup);
	check_field("unit", wl->unit, unit);
	check_field("runtime", wl->runtime, runtime);
	check_field("container id", wl->container_id, id);
	check_field("container name", wl->container_name, name);
}

/* The kubelet links a container's log after its first lookup: named a second later */
static void test_named_later(struct st_workloads *w)
{
	__u64 id = ino(at("cg/kubepods/burstable/pod" UID "/" IDA));
	const char *path = "/kubepods/burstable/pod" UID "/" IDA;

	check_wl(st_workload_of(w, id), path, NULL, NULL, IDA, NULL);
	put_file(at("kubelet/late-0_shop_web-" IDA ".log"), "");
	check_wl(st_workload_of(w, id), path, NULL, NULL, IDA, NULL);	/* not yet asked */
	usleep(1100 * 1000);
	check_wl(st_workload_of(w, id), path, NULL, NULL, IDA, "shop/late-0/web");
	check_field("pod uid", st_workload_of(w, id)->pod_uid, UID);
	check_field("pod qos", st_workload_of(w, id)->pod_qos, "burstable");
}

static void test_cache(void)
{
	__u64 before = ino(at("cg/gone-before")), after = ino(at("cg/gone-after.service"));
	const struct st_workload *wl;
	struct st_workloads *w;

	CHECK(!st_workloads_open_with(&cfg, &w), "open");
	wl = st_workload_of(w, ino(at("cg/system.slice/nginx.service")));
	check_wl(wl, "/system.slice/nginx.service", "nginx.service", NULL, NULL, NULL);
	CHECK(wl == st_workload_of(w, ino(at("cg/system.slice/nginx.service"))), "cached");
	check_wl(st_workload_of(w, ino(at("cg/libpod_parent/libpod-" ID1))),
		 "/libpod_parent/libpod-" ID1, NULL, "podman", ID1, "web");
	check_wl(st_workload_of(w, ino(at("cg/libpod_parent/libpod-" ID1 "/container"))),
		 "/libpod_parent/libpod-" ID1 "/container", NULL, "podman", ID1, "web");
	check_wl(st_workload_of(w, ino(at("cg/docker/" ID7))), "/docker/" ID7, NULL, "docker",
		 ID7, "db");
	wl = st_workload_of(w, ino(at("cg/kubepods/burstable/pod" UID "/" ID8)));
	check_wl(wl, "/kubepods/burstable/pod" UID "/" ID8, NULL, NULL, ID8, "shop/app-5f7c9/web");
	check_field("pod uid", wl->pod_uid, UID);
	check_field("pod qos", wl->pod_qos, "burstable");
	test_named_later(w);
	check_wl(st_workload_of(w, ino(at("cg"))), "/", NULL, NULL, NULL, NULL);
	check_wl(st_workload_of(w, 0), NULL, NULL, NULL, NULL, NULL);

	/* removed after it was seen: what it was; before: only its id */
	check_wl(st_workload_of(w, after), "/gone-after.service", "gone-after.service", NULL,
		 NULL, NULL);
	CHECK(!rmdir(at("cg/gone-after.service")) && !rmdir(at("cg/gone-before")), "rmdir");
	check_wl(st_workload_of(w, after), "/gone-after.service", "gone-after.service", NULL,
		 NULL, NULL);
	check_wl(st_workload_of(w, before), NULL, NULL, NULL, NULL, NULL);
	CHECK(st_workloads_uncached(w) == 0, "nothing uncached");
	st_workloads_close(w);
}

/* Two entries: the rest is answered right, without the cache, and counted */
static void test_bound(void)
{
	struct st_workload_config small = cfg;
	__u64 a = ino(at("cg/system.slice/nginx.service")), b = ino(at("cg/docker/" ID7));
	__u64 c = ino(at("cg/system.slice/other.service")), d = ino(at("cg/libpod_parent"));
	struct st_workloads *w;

	small.max_entries = 2;
	CHECK(!st_workloads_open_with(&small, &w), "open");
	st_workload_of(w, a);
	st_workload_of(w, b);
	CHECK(st_workloads_uncached(w) == 0, "two fit");
	check_wl(st_workload_of(w, c), "/system.slice/other.service", "other.service", NULL, NULL,
		 NULL);
	CHECK(st_workloads_uncached(w) == 1, "counted: %llu", st_workloads_uncached(w));
	st_workload_of(w, c);	/* the same again: the last answer serves */
	CHECK(st_workloads_uncached(w) == 1, "run of one: %llu", st_workloads_uncached(w));
	check_wl(st_workload_of(w, d), "/libpod_parent", NULL, NULL, NULL, NULL);
	check_wl(st_workload_of(w, c), "/system.slice/other.service", "other.service", NULL, NULL,
		 NULL);
	CHECK(st_workloads_uncached(w) == 3, "counted: %llu", st_workloads_uncached(w));
	check_wl(st_workload_of(w, b), "/docker/" ID7, NULL, "docker", ID7, "db");
	CHECK(st_workloads_uncached(w) == 3, "cached ones stay: %llu", st_workloads_uncached(w));
	st_workloads_close(w);
}

/* A full cache makes room from the cgroups removed since */
static void test_sweep(void)
{
	struct st_workload_config small = cfg;
	struct st_workloads *w;
	__u64 a, b, c;

	mkdirs(at("cg/sweep/a.service"));
	mkdirs(at("cg/sweep/b.service"));
	mkdirs(at("cg/sweep/c.service"));
	a = ino(at("cg/sweep/a.service"));
	b = ino(at("cg/sweep/b.service"));
	c = ino(at("cg/sweep/c.service"));
	small.max_entries = 2;
	CHECK(!st_workloads_open_with(&small, &w), "open");
	st_workload_of(w, a);
	st_workload_of(w, b);
	CHECK(rmdir(at("cg/sweep/a.service")) == 0, "rmdir");
	check_wl(st_workload_of(w, c), "/sweep/c.service", "c.service", NULL, NULL, NULL);
	CHECK(st_workloads_uncached(w) == 0, "room made: %llu uncached", st_workloads_uncached(w));
	check_wl(st_workload_of(w, b), "/sweep/b.service", "b.service", NULL, NULL, NULL);
	check_wl(st_workload_of(w, c), "/sweep/c.service", "c.service", NULL, NULL, NULL);
	CHECK(st_workloads_uncached(w) == 0, "both cached: %llu", st_workloads_uncached(w));
	st_workloads_close(w);
}

struct ids {
	__u64 id[16];
	int n;
};

static int add_id(__u64 id, void *ctx)
{
	struct ids *s = ctx;

	if (s->n < 16)
		s->id[s->n] = id;
	s->n++;
	return 0;
}

static bool has(const struct ids *s, __u64 id)
{
	int i;

	for (i = 0; i < s->n && i < 16; i++)
		if (s->id[i] == id)
			return true;
	return false;
}

static struct st_workloads *filter_w;

static int open_filter(const char *container, const char *unit, struct st_workload_filter **f)
{
	int err;

	CHECK(!st_workloads_open_with(&cfg, &filter_w), "open");
	err = st_workload_filter_open(filter_w, container, unit, f);
	if (err) {
		st_workloads_close(filter_w);
		filter_w = NULL;
	}
	return err;
}

/* The filter uses its workloads to the end */
static void close_filter(struct st_workload_filter *f)
{
	st_workload_filter_close(f);
	st_workloads_close(filter_w);
	filter_w = NULL;
}

/* What the filter reports now: the whole set first, then what is new */
static struct ids update(struct st_workload_filter *f)
{
	struct ids s = {};
	int n = st_workload_filter_update(f, add_id, &s);

	CHECK(n == s.n, "update: %d, reported %d", n, s.n);
	return s;
}

static void test_container_args(void)
{
	struct st_workload_filter *f = NULL;

	CHECK(open_filter("0123", NULL, &f) == -EINVAL, "ambiguous prefix: ID1, ID3");
	CHECK(open_filter("nosuch", NULL, &f) == -ENOENT, "no match");
	CHECK(open_filter("", NULL, &f) == -EINVAL, "empty");
	CHECK(open_filter("0123456789abcdef0123", NULL, &f) == 0, "a prefix of one");
	CHECK(f && !strcmp(st_workload_filter_container(f), ID1), "resolved to ID1");
	CHECK(f && !st_workload_filter_unit(f), "no unit");
	close_filter(f);
	CHECK(open_filter("vol", NULL, &f) == 0, "a name from the records only");
	CHECK(f && !strcmp(st_workload_filter_container(f), ID6), "resolved to ID6");
	close_filter(f);
	CHECK(open_filter("db", NULL, &f) == 0, "a Docker name");
	CHECK(f && !strcmp(st_workload_filter_container(f), ID7), "resolved to ID7");
	close_filter(f);
}

static void test_container_filter(void)
{
	struct st_workload_filter *f = NULL;
	struct pollfd p;
	struct ids s;

	CHECK(open_filter("web", NULL, &f) == 0, "by name");
	if (!f)
		return;
	CHECK(st_workload_filter_fd(f) >= 0, "an fd to poll");
	s = update(f);
	CHECK(s.n == 2 && has(&s, ino(at("cg/libpod_parent/libpod-" ID1))) &&
	      has(&s, ino(at("cg/libpod_parent/libpod-" ID1 "/container"))),
	      "the container and its child: %d ids", s.n);
	s = update(f);
	CHECK(s.n == 0, "nothing new: %d", s.n);
	/* a child made while it runs, and an unrelated cgroup */
	mkdirs(at("cg/libpod_parent/libpod-" ID1 "/container/late"));
	mkdirs(at("cg/system.slice/new.service"));
	p = (struct pollfd){ .fd = st_workload_filter_fd(f), .events = POLLIN };
	CHECK(poll(&p, 1, 2000) == 1, "the fd says there is something");
	s = update(f);
	CHECK(s.n == 1 && has(&s, ino(at("cg/libpod_parent/libpod-" ID1 "/container/late"))),
	      "the new child: %d ids", s.n);
	close_filter(f);
}

/* A container that starts after the tool did */
static void test_container_later(void)
{
	struct st_workload_filter *f = NULL;
	struct pollfd p;
	struct ids s;

	CHECK(open_filter(ID2, NULL, &f) == 0, "a full id the records know");
	if (!f)
		return;
	s = update(f);
	CHECK(s.n == 0, "not running: %d", s.n);
	mkdirs(at("cg/libpod_parent/libpod-" ID2 "/inner"));
	p = (struct pollfd){ .fd = st_workload_filter_fd(f), .events = POLLIN };
	CHECK(poll(&p, 1, 2000) == 1, "the fd says there is something");
	s = update(f);
	CHECK(s.n == 2 && has(&s, ino(at("cg/libpod_parent/libpod-" ID2))) &&
	      has(&s, ino(at("cg/libpod_parent/libpod-" ID2 "/inner"))),
	      "the new container and its child: %d ids", s.n);
	close_filter(f);
}

/*
 * --container NAMESPACE/POD/CONTAINER: the container made again in its pod
 * (a new id) has its cgroup before the kubelet links its log; traced once
 * the link is made (renamed into place, as put_file() does)
 */
static void test_kubelet_restart(void)
{
	const char *pod = "cg/kubepods/burstable/pod" UID;
	struct st_workload_filter *f = NULL;
	struct pollfd p;
	struct ids s;

	CHECK(open_filter("shop/app-5f7c9/web", NULL, &f) == 0, "the kubelet's name");
	if (!f)
		return;
	s = update(f);
	CHECK(s.n == 1 && has(&s, ino(at("%s/%s", pod, ID8))), "the one named: %d", s.n);
	mkdirs(at("%s/%s", pod, IDB));
	p = (struct pollfd){ .fd = st_workload_filter_fd(f), .events = POLLIN };
	CHECK(poll(&p, 1, 2000) == 1, "the new cgroup");
	s = update(f);
	CHECK(s.n == 0, "not named yet: %d", s.n);
	put_file(at("kubelet/app-5f7c9_shop_web-" IDB ".log"), "");
	CHECK(poll(&p, 1, 2000) == 1, "the new link");
	s = update(f);
	CHECK(s.n == 1 && has(&s, ino(at("%s/%s", pod, IDB))), "named now: %d", s.n);
	close_filter(f);
}

static void test_unit_filter(void)
{
	struct st_workload_filter *f = NULL;
	struct ids s;

	CHECK(open_filter(NULL, "nosuch", &f) == -ENOENT, "no unit");
	CHECK(open_filter(NULL, "../x", &f) == -EINVAL, "a path");
	CHECK(open_filter(NULL, "", &f) == -EINVAL, "empty");
	CHECK(open_filter(NULL, "tmpl@x", &f) == 0, "a template's instance");
	close_filter(f);
	CHECK(open_filter(NULL, "nginx", &f) == 0, "NAME means NAME.service");
	if (!f)
		return;
	CHECK(!strcmp(st_workload_filter_unit(f), "nginx.service"), "resolved");
	s = update(f);
	CHECK(s.n == 2 && has(&s, ino(at("cg/system.slice/nginx.service"))) &&
	      has(&s, ino(at("cg/system.slice/nginx.service/sub"))), "the unit and below: %d", s.n);
	close_filter(f);

	/* a unit file, no cgroup yet; then the unit starts */
	CHECK(open_filter(NULL, "later.service", &f) == 0, "a unit file");
	if (!f)
		return;
	s = update(f);
	CHECK(s.n == 0, "not running: %d", s.n);
	mkdirs(at("cg/system.slice/later.service"));
	usleep(10000);
	s = update(f);
	CHECK(s.n == 1 && has(&s, ino(at("cg/system.slice/later.service"))), "started: %d", s.n);
	close_filter(f);

	/* both: a cgroup must be in the container and in the unit */
	CHECK(open_filter("web", "nginx", &f) == 0, "both");
	s = update(f);
	CHECK(s.n == 0, "none is both: %d", s.n);
	close_filter(f);
}

int main(void)
{
	pid_t pid;

	CHECK(mkdtemp(top) != NULL, "mkdtemp");
	storage[0] = strdup(at("storage"));
	unit_dirs[0] = strdup(at("units"));
	cfg.cgroup_root = strdup(at("cg"));
	cfg.records.storage = storage;
	cfg.records.docker_root = strdup(at("docker"));
	cfg.records.kubelet_logs = strdup(at("kubelet"));
	cfg.unit_dirs = unit_dirs;
	write_records("web");
	put_file(at("units/later.service"), "[Service]\n");
	put_file(at("units/tmpl@.service"), "[Service]\n");
	make_tree();

	test_records();
	test_cache();
	test_bound();
	test_sweep();
	test_container_args();
	test_container_filter();
	test_container_later();
	test_kubelet_restart();
	test_unit_filter();

	pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", top, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid, "rm -rf %s", top);
	return unit_report();
}
