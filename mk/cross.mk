# mk/cross.mk: cross builds, included by the main Makefile.
#
#   make ARCH=arm64          on x86_64: every tool for arm64, into build-arm64/
#   make CROSS_COMPILE=aarch64-linux-gnu-     the same (the prefix implies ARCH)
#   make ARCH=arm64 build-arm64/tests/uring_accept    the e2e io_uring helper
#
# The binaries link Debian's arm64 shared libraries, as a native build links
# the machine's: an arm64 Debian machine (and the kernel matrix's arm64 root,
# tests/vm/vmrun) needs libbpf1, libelf1, zlib1g, libjansson4,
# libmicrohttpd12 and libsystemd0 to run them, and they have --metrics and
# --journal. STATIC=1 builds self-contained binaries instead (libbpf, libelf,
# zlib, jansson and libc inside, into build-ARCH-static/) for an arm64
# machine without those libraries; they have neither --metrics nor --journal
# (both say so in one line): Debian has no static libsystemd, and
# libmicrohttpd's static library needs GnuTLS's, which needs p11-kit's,
# which Debian has as a shared library only. The build needs, on a Debian 12
# machine:
#   - the cross compiler, CROSS_DEB_PACKAGES (make deps installs it);
#   - a sysroot of Debian's arm64 -dev packages (SYSROOT_PACKAGES and what
#     they depend on), made on first use by mk/debroot: apt with a private
#     state, the host's dpkg left alone (no multiarch). About 95 MB, plus
#     about 100 MB of apt lists and .debs kept beside it in SYSROOT.apt so a
#     rebuild downloads only what changed;
#   - vmlinux.h from an arm64 kernel's BTF, never this machine's: the newest
#     Debian 6.1 arm64 kernel package is fetched the same way (60 MB, once)
#     and its BTF copied out of the boot image into SYSROOT/btf/vmlinux
#     (mk/btf-from-image). CO-RE carries objects built on it to newer kernels.
# The BPF objects and skeletons come from the host's clang (-target bpf
# -D__TARGET_ARCH_arm64) and bpftool, as natively: they are the same on any
# build machine.
#
#   STATIC=1                 self-contained binaries (see above)
#   OUTPUT=DIR               output directory (default build-$(ARCH), or
#                            build-$(ARCH)-static with STATIC=1: the two
#                            builds' objects differ, so they never share one)
#   SYSROOT=DIR              the sysroot (default
#                            /var/cache/socktrace/sysroot-arm64): made there if
#                            missing or empty, remade if mk/debroot made it
#                            for another package list; removing DIR and
#                            DIR.apt frees the space
#   VMLINUX_BTF=FILE         arm64 BTF to use instead, e.g. a guest's
#                            /sys/kernel/btf/vmlinux
#   CROSS_COMPILE=PREFIX     cross toolchain prefix (default aarch64-linux-gnu-)
#
# Remaking the sysroot remakes everything compiled against it. ARCH equal to
# this machine's (ARCH=arm64 on arm64) is a native build: nothing here
# applies. SAN=1 and the targets that run what they build (unit, e2e, fuzz,
# bench without --vm, ...) are native only; arm64 runs belong in an arm64
# machine or guest.
#
# Needs from the main Makefile, before the include: HOST_ARCH, ARCH, OUTPUT,
# TOOLS, COMMON, SAN; Q and msg in recipes.

# Debian packages a cross build needs on the build machine.
CROSS_DEB_PACKAGES := gcc-aarch64-linux-gnu

ifneq ($(CROSS_COMPILE),)
ifneq ($(origin ARCH),command line)
ifeq ($(filter aarch64-%,$(CROSS_COMPILE)),)
$(error CROSS_COMPILE=$(CROSS_COMPILE): cross builds are for aarch64-* toolchains (ARCH=arm64) only)
endif
ARCH := arm64
endif
endif

# Included before the main Makefile's first rule: keep `all` the default goal.
cross_saved_goal := $(.DEFAULT_GOAL)

ifneq ($(ARCH),$(HOST_ARCH))
ifneq ($(ARCH),arm64)
$(error ARCH=$(ARCH): cross builds are for ARCH=arm64 only (this machine is $(HOST_ARCH)))
endif
ifeq ($(SAN),1)
$(error SAN=1 builds natively only; drop ARCH=$(ARCH))
endif

# What runs the binaries cannot run here (and under qemu-user, BPF would hit
# this machine's kernel and prove nothing about an arm64 one); bench --vm
# runs them in a guest.
cross_run_goals := $(filter run test unit e2e hardening check-man fuzz bench-smoke \
	$(if $(filter --vm,$(BENCH_ARGS)),,bench),$(MAKECMDGOALS))
ifneq ($(cross_run_goals),)
$(error make $(cross_run_goals) with ARCH=$(ARCH): $(ARCH) binaries cannot run on this $(HOST_ARCH) machine)
endif

STATIC ?= 0
ifeq ($(STATIC),1)
# No --metrics server and no --journal in a static build (see the top).
HTTP := 0
JOURNAL := 0
else ifneq ($(STATIC),0)
$(error STATIC=$(STATIC): 1 (self-contained binaries) or 0 (Debian's shared libraries, the default))
endif

CROSS_COMPILE ?= aarch64-linux-gnu-
CROSS_DEB_ARCH := arm64
CROSS_TRIPLET := aarch64-linux-gnu
# bookworm's 6.1 line; `sort -V` picks the newest ABI number
CROSS_KERNEL := ^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$$
# a type only an arm64 kernel has (bpf_tracing.h's PT_REGS for arm64 use it)
CROSS_BTF_TYPE := struct user_pt_regs

SYSROOT ?= /var/cache/socktrace/sysroot-$(ARCH)
# The same list for both links: a list that changed would remake the sysroot.
SYSROOT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libc6-dev linux-libc-dev \
	liburing-dev libjansson-dev libmicrohttpd-dev libsystemd-dev
SYSROOT_STAMP := $(SYSROOT)/.debroot
DEBROOT = mk/debroot$(if $(Q), --quiet)
CROSS_BTF := $(SYSROOT)/btf/vmlinux

ifeq ($(origin OUTPUT),file)
OUTPUT := build-$(ARCH)$(if $(filter 1,$(STATIC)),-static)
endif
ifneq ($(origin CC),command line)
CC = $(CROSS_COMPILE)gcc --sysroot=$(SYSROOT)
endif
# The sysroot's .pc files (with the static libraries' dependencies for
# STATIC=1). Its lib and include directories are the compiler's own under
# --sysroot: declared system paths, they stay out of the flags.
ifneq ($(origin PKG_CONFIG),command line)
PKG_CONFIG = PKG_CONFIG_LIBDIR=$(SYSROOT)/usr/lib/$(CROSS_TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) \
	PKG_CONFIG_SYSTEM_LIBRARY_PATH=$(SYSROOT)/usr/lib/$(CROSS_TRIPLET) \
	PKG_CONFIG_SYSTEM_INCLUDE_PATH=$(SYSROOT)/usr/include \
	pkg-config$(if $(filter 1,$(STATIC)), --static)
endif
ifeq ($(STATIC),1)
# Static whatever LDFLAGS says: that is what STATIC=1 is for.
override LDFLAGS += -static
endif
VMLINUX_BTF ?= $(CROSS_BTF)

# debroot decides whether the sysroot is current (arch and package list);
# make only asks it, so an up-to-date tree runs nothing.
ifneq ($(shell mk/debroot --check $(CROSS_DEB_ARCH) $(SYSROOT) $(SYSROOT_PACKAGES) && echo ok),ok)
$(SYSROOT_STAMP): cross-force
endif
.PHONY: cross-force
cross-force:

$(SYSROOT_STAMP):
	@command -v $(CROSS_COMPILE)gcc >/dev/null || { echo "error: $(CROSS_COMPILE)gcc" \
		"not found: apt-get install $(CROSS_DEB_PACKAGES) (or make deps)" >&2; exit 1; }
	$(call msg,SYSROOT,$(SYSROOT))
	$(Q)$(DEBROOT) $(CROSS_DEB_ARCH) $(SYSROOT) $(SYSROOT_PACKAGES)

# The deb's boot image is streamed through tar: the modules (300 MB unpacked)
# are never written out.
$(CROSS_BTF): $(SYSROOT_STAMP) mk/btf-from-image
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)deb=$$($(DEBROOT) --download $(CROSS_DEB_ARCH) $(SYSROOT) '$(CROSS_KERNEL)') && \
	dpkg-deb --fsys-tarfile "$$deb" | tar -xO --wildcards './boot/vmlinuz-*' | \
		mk/btf-from-image - $@

$(OUTPUT)/vmlinux.h: $(filter $(CROSS_BTF),$(VMLINUX_BTF))

# Another architecture's vmlinux.h (say VMLINUX_BTF=/sys/kernel/btf/vmlinux
# by mistake) would fail late and obscurely, in bpf_tracing.h's PT_REGS macros:
# stop at it, and drop it so a corrected VMLINUX_BTF takes effect.
$(OUTPUT)/vmlinux.h.arch-ok: $(OUTPUT)/vmlinux.h
	$(Q)grep -q '^$(CROSS_BTF_TYPE) {' $< || { rm -f $<; echo "error: VMLINUX_BTF=$(VMLINUX_BTF)" \
		"has no $(CROSS_BTF_TYPE): not an $(ARCH) kernel's BTF" >&2; exit 1; }
	$(Q)touch $@
# (knob/: the Makefile's KNOB_DIR, the tests' builds with capacities set low)
$(TOOLS:%=$(OUTPUT)/%.bpf.o) $(TOOLS:%=$(OUTPUT)/knob/%.bpf.o): $(OUTPUT)/vmlinux.h.arch-ok

# Everything the cross compiler builds needs the sysroot, and is stale when
# the sysroot is remade (-MMD leaves its headers out: they are system ones).
$(COMMON:%=$(OUTPUT)/common/%.o) $(TOOLS:%=$(OUTPUT)/tools/%.o) $(TOOLS:%=$(OUTPUT)/knob/%.o) \
$(OUTPUT)/tests/uring_accept $(OUTPUT)/loadgen $(OUTPUT)/floorhold: $(SYSROOT_STAMP)

endif

.DEFAULT_GOAL := $(cross_saved_goal)
