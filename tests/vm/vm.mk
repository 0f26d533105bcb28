# tests/vm/vm.mk: the qemu kernel matrix, included by the main Makefile.
#   make vmtest                    every kernel of tests/vm/kernels x every backend
#   make vmtest VMTEST_ARGS='--kernel 6.12 --backend kprobe --tool tcpconnect'
#   make vmtest-selftest           check the guests themselves (no tools needed)
# See tests/vm/README.md.

# Debian packages the harness needs (on top of python3, iproute2, bpftool,
# clang, util-linux, which the main list has).
VM_DEB_PACKAGES := qemu-system-x86 busybox-static cpio kmod xz-utils

VMTEST_ARGS ?=

# Included before the main Makefile's first rule: keep `all` the default goal.
vm_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: vmtest vmtest-selftest
vmtest: all
	tests/vm/vmtest --build-dir $(OUTPUT) $(VMTEST_ARGS)

vmtest-selftest:
	tests/vm/vmtest --build-dir $(OUTPUT) --selftest $(VMTEST_ARGS)

.DEFAULT_GOAL := $(vm_saved_default_goal)
