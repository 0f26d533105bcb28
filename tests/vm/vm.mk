# tests/vm/vm.mk: the qemu kernel matrix, included by the main Makefile.
#   make vmtest                    every kernel of tests/vm/kernels x every backend,
#                                  every matrix case, and `make e2e` in one guest
#                                  of each architecture
#   make vmtest VMTEST_ARGS=--quick   the same cells with a third of the matrix
#                                  cases in each backend cell (what make test runs)
#   make vmtest VMTEST_ARGS='--kernel 6.12-arm64 --backend fentry --tool tcpconnect'
#   make vmtest-selftest           check the guests themselves (no tools needed)
# See tests/vm/README.md.

# Debian packages the harness needs (on top of python3, iproute2, bpftool,
# util-linux, which the test list has, and the arm64 cross compiler of
# mk/cross.mk): qemu for both architectures, the initramfs's busybox and cpio,
# xz for Debian's compressed modules.
VM_DEB_PACKAGES := qemu-system-x86 qemu-system-arm busybox-static cpio kmod xz-utils

VMTEST_ARGS ?=
# The arm64 guests run a cross build of the same tree (never sanitized).
VM_ARM64_OUTPUT ?= $(OUTPUT)-arm64

# Included before the main Makefile's first rule: keep `all` the default goal.
vm_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: vmtest vmtest-selftest vmtest-arm64-build
# what the guests' `make e2e` cells need, built here (knob/: the Makefile's
# KNOB_DIR); the guests have no compiler
vmtest: all $(OUTPUT)/tests/uring_accept $(OUTPUT)/knob/tcpconnect vmtest-arm64-build
	tests/vm/vmtest --build-dir $(OUTPUT) --arm64-build-dir $(VM_ARM64_OUTPUT) $(VMTEST_ARGS)

# Native on an arm64 machine, a cross build on any other.
vmtest-arm64-build:
	$(MAKE) --no-print-directory ARCH=arm64 OUTPUT=$(VM_ARM64_OUTPUT) SAN= \
		all $(VM_ARM64_OUTPUT)/tests/uring_accept $(VM_ARM64_OUTPUT)/knob/tcpconnect

vmtest-selftest:
	tests/vm/vmtest --build-dir $(OUTPUT) --selftest $(VMTEST_ARGS)

.DEFAULT_GOAL := $(vm_saved_default_goal)
