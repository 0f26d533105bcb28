// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * common/workload.c's path parser and short form, and common/cgroup.c's
 * mountinfo reading: every layout a host, a container runtime or
 * Kubernetes makes, and paths made to mislead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "cgroup.h"
#include "workload.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "1c5f3a4e-7b2d-4e8f-9a6b-0c1d2e3f4a5b"
#define UID_ "1c5f3a4e_7b2d_4e8f_9a6b_0c1d2e3f4a5b"	/* as systemd escapes it */
#define STATIC_UID "00112233445566778899aabbccddeeff"
#define KS "/kubepods.slice/kubepods-"		/* systemd driver */
#define N NULL

struct row {
	const char *path, *unit, *runtime, *id, *uid, *qos;
};

static const struct row layouts[] = {
	/* systemd units */
	{ "/system.slice/nginx.service", "nginx.service", N, N, N, N },
	{ "/init.scope", "init.scope", N, N, N, N },
	{ "/user.slice/user-1000.slice/session-3.scope", "session-3.scope", N, N, N, N },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", "x.service", N, N, N, N },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice", "user@1000.service", N, N, N, N },
	{ "/system.slice/a.service/b.scope/sub", "b.scope", N, N, N, N },
	{ "/system.slice", N, N, N, N, N },
	{ "/", N, N, N, N, N },
	{ "", N, N, N, N, N },
	/* docker */
	{ "/system.slice/docker-" ID1 ".scope", "docker-" ID1 ".scope", "docker", ID1, N, N },
	{ "/docker/" ID1, NULL, "docker", ID1, N, N },
	{ "/system.slice/docker-" ID1 ".scope/docker/" ID2, "docker-" ID1 ".scope", "docker", ID2, N, N },
	/* podman: cgroupfs (this machine), systemd, the monitor */
	{ "/libpod_parent/libpod-" ID1, NULL, "podman", ID1, N, N },
	{ "/machine.slice/libpod-" ID1 ".scope", "libpod-" ID1 ".scope", "podman", ID1, N, N },
	{ "/machine.slice/libpod-" ID1 ".scope/container", "libpod-" ID1 ".scope", "podman", ID1, N, N },
	{ "/machine.slice/libpod-conmon-" ID1 ".scope", "libpod-conmon-" ID1 ".scope", N, N, N, N },
	{ "/libpod_parent/libpod-conmon-" ID1, N, N, N, N, N },
	/* Kubernetes, systemd driver: three QoS classes, containerd and CRI-O */
	{ KS "burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
	  "cri-containerd-" ID1 ".scope", "containerd", ID1, UID, "burstable" },
	{ KS "besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-" ID1 ".scope",
	  "crio-" ID1 ".scope", "cri-o", ID1, UID, "besteffort" },
	{ KS "pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
	  "cri-containerd-" ID1 ".scope", "containerd", ID1, UID, "guaranteed" },
	{ KS "besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-conmon-" ID1 ".scope",
	  "crio-conmon-" ID1 ".scope", NULL, NULL, UID, "besteffort" },
	{ KS "burstable.slice/kubepods-burstable-pod" UID_ ".slice", NULL, NULL, NULL, UID,
	  "burstable" },
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
	  "kubelet-kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
	  "cri-containerd-" ID1 ".scope", "containerd", ID1, UID, "burstable" },
	{ KS "burstable.slice/kubepods-burstable-pod" STATIC_UID ".slice/cri-containerd-" ID1
	  ".scope", "cri-containerd-" ID1 ".scope", "containerd", ID1, STATIC_UID, "burstable" },
	/* Kubernetes, cgroupfs driver: a bare id, whatever the runtime */
	{ "/kubepods/burstable/pod" UID "/" ID1, NULL, NULL, ID1, UID, "burstable" },
	{ "/kubepods/besteffort/pod" UID "/" ID1, NULL, NULL, ID1, UID, "besteffort" },
	{ "/kubepods/pod" UID "/" ID1, NULL, NULL, ID1, UID, "guaranteed" },
	{ "/kubepods/pod" STATIC_UID "/" ID1, NULL, NULL, ID1, STATIC_UID, "guaranteed" },
	{ "/kubepods/burstable/pod" UID, NULL, NULL, NULL, UID, "burstable" },
	{ "/kubepods/burstable/pod" UID "/crio-" ID1, NULL, "cri-o", ID1, UID, "burstable" },
	{ "/kubepods/burstable/pod" UID "/" ID1 "/sub", NULL, NULL, ID1, UID, "burstable" },
};

/* Shapes that are not what they look like, or are cut short */
static const struct row hostile[] = {
	{ "/docker/" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", N, N, N, N, N },
	{ "/docker/" ID1 "0", N, N, N, N, N },
	{ "/docker/" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", N, N, N, N, N },
	{ "/docker/" "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef", N, N, N, N, N },
	{ "/" ID1, N, N, N, N, N },			/* a bare id under nothing that says container */
	{ "/system.slice/docker-" ID1, N, N, N, N, N },	/* docker's systemd form has .scope */
	{ "/system.slice/docker-" ID1 ".scopex", N, N, N, N, N },
	{ "/system.slice/docker-" ID1 "0.scope", "docker-" ID1 "0.scope", N, N, N, N },
	{ "/system.slice/.service", N, N, N, N, N },
	{ "/system.slice/.scope/x", N, N, N, N, N },
	{ "/system.slice/\x1b[31mevil\x7f.service", "\x1b[31mevil\x7f.service", N, N, N, N },
	{ "////", N, N, N, N, N },
	/* dashes: not systemd's escape */
	{ KS "burstable.slice/kubepods-burstable-pod" UID ".slice", N, N, N, N, N },
	{ KS "burstable.slice/xkubepods-burstable-pod" UID_ ".slice", N, N, N, N, N },
	{ KS "burstable.slice/kubepods-burstable-pod" UID_ "0.slice", N, N, N, N, N },
	{ KS "burstable.slice/kubepods-burstable-pod1c5f3a4e_7b2d_4e8f_9a6b_0c1d2e3f4a5g.slice",
	  N, N, N, N, N },
	{ KS "burstable.slice/kubepods-burstable-pod.slice", N, N, N, N, N },
	{ KS "burstable.slice/kubepods-guaranteed-pod" UID_ ".slice", N, N, N, N, N },
	{ "/foo/burstable/pod" UID "/" ID1, N, N, N, N, N },
	{ "/kubepods/burstable/pod" UID "/sub/" ID1, NULL, NULL, NULL, UID, "burstable" },
	{ "/kubepods/burstable/pod" UID_ "/" ID1, N, N, N, N, N },	/* underscores: not cgroupfs's */
	{ "/kubepods/other/pod" UID "/" ID1, N, N, N, N, N },
};

static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static void check_text(const char *path, const char *what, const char *got, const char *want)
{
	if (!want)
		CHECK(!got, "%s: %s: got '%s', want none", path, what, got);
	else
		CHECK(got && !strcmp(got, want), "%s: %s: got '%s', want '%s'", path, what,
		      got ? got : "(none)", want);
}

static void check_row(const struct row *r)
{
	struct st_cgroup_info i;

	st_cgroup_info_parse(r->path, strlen(r->path), &i);
	check_text(r->path, "unit", or_null(i.unit), r->unit);
	check_text(r->path, "runtime", i.runtime, r->runtime);
	check_text(r->path, "container id", or_null(i.container_id), r->id);
	check_text(r->path, "pod uid", or_null(i.pod_uid), r->uid);
	check_text(r->path, "pod qos", i.pod_qos, r->qos);
}

/* Lengths: a component past NAME_MAX, a path cut by @len or by a NUL */
static void test_lengths(void)
{
	struct st_cgroup_info i;
	char path[600];

	memset(path, 0, sizeof(path));
	strcpy(path, "/system.slice/outer.service/");
	memset(path + strlen(path), 'a', 300);
	strcat(path, ".service");
	st_cgroup_info_parse(path, sizeof(path), &i);
	CHECK_STR(i.unit, "outer.service");	/* the long one cannot be a unit */

	st_cgroup_info_parse("/system.slice/nginx.service", 19, &i);
	CHECK_STR(i.unit, "");
	st_cgroup_info_parse("/docker/" ID1, 8 + 63, &i);
	CHECK_STR(i.container_id, "");
	st_cgroup_info_parse("/docker/" ID1 "\0/docker/" ID2, 8 + 64 + 1 + 8 + 64, &i);
	CHECK_STR(i.container_id, ID1);
	st_cgroup_info_parse(NULL, 10, &i);
	CHECK(!i.unit[0] && !i.runtime && !i.container_id[0], "NULL path");
}

static void test_short(void)
{
	struct st_workload wl = { "/c", "u.service", "docker", ID1, "web", UID, "burstable" };
	char buf[13];

	CHECK_STR(st_workload_short(&wl, buf, sizeof(buf)), "web");
	wl.container_name = NULL;
	CHECK_STR(st_workload_short(&wl, buf, sizeof(buf)), "0123456789ab");
	CHECK(!strcmp(st_workload_short(&wl, buf, 12), "u.service"), "a buffer too small");
	wl.container_id = NULL;
	CHECK_STR(st_workload_short(&wl, buf, sizeof(buf)), "u.service");
	wl.unit = NULL;
	CHECK_STR(st_workload_short(&wl, buf, sizeof(buf)), "/c");
	wl.cgroup = NULL;
	CHECK(!st_workload_short(&wl, buf, sizeof(buf)), "nothing known");
}

static const char *write_tmp(const char *text)
{
	static char path[] = "/tmp/st-mountinfo-XXXXXX";
	int fd;

	strcpy(path, "/tmp/st-mountinfo-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return path;
}

static void check_mount(const char *text, int want_err, const char *want)
{
	const char *path = write_tmp(text);
	char buf[64] = "";
	int err;

	CHECK(path, "temp file");
	if (!path)
		return;
	err = st_cgroup_find_mount(path, buf, sizeof(buf));
	unlink(path);
	CHECK(err == want_err, "got %d, want %d", err, want_err);
	if (!err && want)
		CHECK_STR(buf, want);
}

static void test_mountinfo(void)
{
	/* hybrid: v1 controllers and the unified hierarchy */
	check_mount("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n",
		    0, "/sys/fs/cgroup/unified");
	check_mount("29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
		    0, "/sys/fs/cgroup");
	/* a subtree bind-mounted first, the whole hierarchy after */
	check_mount("50 23 0:26 /kubepods.slice /mnt/k rw - cgroup2 cgroup2 rw\n"
		    "51 23 0:26 / /mnt/cg\\040v2 rw - cgroup2 cgroup2 rw\n", 0, "/mnt/cg v2");
	check_mount("50 23 0:26 /kubepods.slice /mnt/k rw - cgroup2 cgroup2 rw\n", 0, "/mnt/k");
	check_mount("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", -ENOENT, NULL);
	check_mount("", -ENOENT, NULL);
	check_mount("garbage\n - cgroup2\n1 2 3\n", -ENOENT, NULL);
	check_mount("51 23 0:26 / /a/very/long/mount/point/that/does/not/fit/in/the/buffer/given/to/it "
		    "rw - cgroup2 cgroup2 rw\n", -ENAMETOOLONG, NULL);
}

int main(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(layouts); i++)
		check_row(&layouts[i]);
	for (i = 0; i < ARRAY_SIZE(hostile); i++)
		check_row(&hostile[i]);
	test_lengths();
	test_short();
	test_mountinfo();
	return unit_report();
}
