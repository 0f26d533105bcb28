// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floorhold OBJECT PROG...: loads the named programs of OBJECT (bench's
 * floor.bpf.o; hardening's statecount.bpf.o), attaches them, prints "ready"
 * and holds them until killed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

static int load(struct bpf_object *obj, char **names, int n)
{
	struct bpf_program *prog;
	int i, err;

	bpf_object__for_each_program(prog, obj) {
		bool on = false;

		for (i = 0; i < n; i++)
			on = on || !strcmp(bpf_program__name(prog), names[i]);
		bpf_program__set_autoload(prog, on);
	}
	err = bpf_object__load(obj);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		prog = bpf_object__find_program_by_name(obj, names[i]);
		if (!prog) {
			fprintf(stderr, "floorhold: no program %s\n", names[i]);
			return -ENOENT;
		}
		/* the link is held until the process dies */
		if (!bpf_program__attach(prog))
			return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: floorhold OBJECT PROG...\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "floorhold: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = load(obj, argv + 2, argc - 2);
	if (err) {
		fprintf(stderr, "floorhold: %s\n", strerror(-err));
		bpf_object__close(obj);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pause();
	bpf_object__close(obj);
	return 0;
}
