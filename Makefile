# socktrace: eBPF tools for "who opened which connection, to where, and did it work?"
#
#   make             build every tool into $(OUTPUT)
#   make run         install what is missing, build, trace TCP connects (Ctrl-C ends)
#   make test        install what the tests miss, build, run every test
#   make install     install tools and man pages under $(DESTDIR)$(prefix)
#                    (not over files of Debian packages unless FORCE=1)
#   V=1              show the commands

#   SAN=1            build with ASan and UBSan (into build-san/)
#   ARCH=arm64       cross-build for arm64 (into build-arm64/; see mk/cross.mk)

ifeq ($(SAN),1)
OUTPUT ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif
OUTPUT ?= build
prefix ?= /usr/local
sbindir ?= $(prefix)/sbin
mandir ?= $(prefix)/share/man
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
PYTHON ?= python3
INSTALL ?= install

# The one list of tools: tools/*.c (tests and bench read the same)
TOOLS := $(sort $(basename $(notdir $(wildcard tools/*.c))))
RUN_TOOL ?= tcpconnect
RUN_ARGS ?=
COMMON := $(sort $(basename $(notdir $(wildcard common/*.c))))
VERSION := 0.1.0

# Debian packages, installed when missing (apt-get update first) by the
# target that needs them: building and running (make deps, make run); the
# tests add theirs (make deps-test, make test: python3, the commands the
# suites drive, the sanitizer runtime, qemu and the arm64 cross compiler for
# the kernel matrix); the benchmark its peers (make deps-bench, make bench).
DEB_PACKAGES := make gcc clang libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	libjansson-dev libmicrohttpd-dev libsystemd-dev
TEST_DEB_PACKAGES := python3 iproute2 kmod util-linux procps libclang-rt-dev \
	liburing-dev podman runc busybox-static dnsmasq-base bind9-dnsutils curl prometheus systemd \
	python3-yaml gdb
# The kernel's name for the architecture, as bpf_tracing.h's __TARGET_ARCH_*
# wants it; another one than this machine's is a cross build (mk/cross.mk).
HOST_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/')
ARCH := $(HOST_ARCH)
-include mk/cross.mk
-include tests/vm/vm.mk
-include bench/bench.mk
TEST_DEB_PACKAGES += $(VM_DEB_PACKAGES) $(CROSS_DEB_PACKAGES)

VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

WARNINGS := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
LIBBPF_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS = $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
# the container runtimes' records (common/containers.c) are JSON
JANSSON_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
# --metrics' HTTP server; HTTP=0 builds without it (--metrics then says so)
HTTP ?= 1
ifeq ($(HTTP),1)
MHD_CFLAGS = $(shell $(PKG_CONFIG) --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS = $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
else
MHD_CFLAGS = -DST_NO_HTTP
endif
# --journal's client library; JOURNAL=0 builds without it (--journal then says so)
JOURNAL ?= 1
ifeq ($(JOURNAL),1)
SYSTEMD_CFLAGS = $(shell $(PKG_CONFIG) --cflags libsystemd 2>/dev/null)
SYSTEMD_LIBS = $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null || echo -lsystemd)
else
SYSTEMD_CFLAGS = -DST_NO_JOURNAL
endif
ALL_CFLAGS = $(CFLAGS) $(SAN_FLAGS) $(WARNINGS) -std=gnu11 -Icommon -Ibpf -I$(OUTPUT) \
	$(LIBBPF_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(SYSTEMD_CFLAGS) \
	-DST_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS) $(EXTRA_LDFLAGS)
LDLIBS = $(LIBBPF_LIBS) $(JANSSON_LIBS) $(MHD_LIBS) $(SYSTEMD_LIBS) -lelf -lz -lresolv
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARNINGS) \
	-Wno-unused-parameter -Icommon -Ibpf -I$(OUTPUT)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

COMMON_OBJS := $(patsubst %,$(OUTPUT)/common/%.o,$(COMMON))
TOOL_BINS := $(patsubst %,$(OUTPUT)/%,$(TOOLS))
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean deps run test unit e2e hardening check-man install uninstall fuzz

all: $(TOOL_BINS)

$(OUTPUT) $(OUTPUT)/common $(OUTPUT)/tools $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	@test -r $(VMLINUX_BTF) || { echo "error: $(VMLINUX_BTF) not found:" \
		"this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is needed to build);" \
		"set VMLINUX_BTF=path to another kernel's BTF" >&2; exit 1; }
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/common/%.o: common/%.c | $(OUTPUT)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/tools/%.o: tools/%.c $(OUTPUT)/%.skel.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%: $(OUTPUT)/tools/%.o $(COMMON_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(COMMON_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) $< $(COMMON_OBJS) $(LDLIBS) -o $@
# test_dns makes the DNS cache's malloc() fail on purpose (its out-of-memory count)
$(OUTPUT)/tests/test_dns: ALL_LDFLAGS += -Wl,--wrap=malloc

# The e2e suite's io_uring helper, built here because a guest has no compiler.
URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null || echo -luring)
$(OUTPUT)/tests/uring_accept: tests/e2e/helpers/uring_accept.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(URING_LIBS) -o $@

# hardening's observer of the kernel's state changes, held by bench's floorhold
$(OUTPUT)/tests/statecount.bpf.o: tests/e2e/helpers/statecount.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Test builds with a capacity set below what a test could fill otherwise
# (docs/limits.md): tcpconnect with no scratch slot (bpf/emit.bpf.h), so
# that every event --metrics builds finds them full (e2e: scratch_full).
# Its own BPF object and skeleton, found first; the common objects are the
# build's. These rules win over the ones above for knob/ targets by their
# shorter stems (GNU make 3.82 and later); mk/cross.mk and tests/vm/vm.mk
# name knob/ too.
KNOB_DIR := $(OUTPUT)/knob
$(KNOB_DIR)/tcpconnect.bpf.o: KNOB_DEFINES := -DST_SCRATCH_DEPTH=0
$(KNOB_DIR)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(KNOB_DEFINES) -MMD -MP -MF $@.d -c $< -o $@
$(KNOB_DIR)/%.skel.h: $(KNOB_DIR)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@
$(KNOB_DIR)/%.o: tools/%.c $(KNOB_DIR)/%.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) -I$(KNOB_DIR) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(KNOB_DIR)/%: $(KNOB_DIR)/%.o $(COMMON_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/*/*.d)

# libFuzzer targets over the parsers and formatters; corpora hold past findings.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRCS := $(wildcard common/*.c)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Ibpf \
	$(LIBBPF_CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(SYSTEMD_CFLAGS) -DST_VERSION='"$(VERSION)"'

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) | $(OUTPUT)
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $< $(FUZZ_SRCS) $(LDLIBS) -o $@

fuzz: $(patsubst %,$(OUTPUT)/fuzz/%,$(FUZZ_TARGETS))
	$(Q)pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/corpus/$$t $(OUTPUT)/fuzz/new-$$t; \
		if $(OUTPUT)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=tests/fuzz/corpus/$$t/crash- \
			$(OUTPUT)/fuzz/new-$$t tests/fuzz/corpus/$$t \
			2>$(OUTPUT)/fuzz/$$t.log; then \
			pass=$$((pass + 1)); echo "PASS $$t: $$(tail -1 $(OUTPUT)/fuzz/$$t.log)"; \
		else \
			fail=$$((fail + 1)); echo "FAIL $$t:"; tail -30 $(OUTPUT)/fuzz/$$t.log; \
		fi; \
	done; echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# Installs only what is missing; apt-get update first, as a fresh machine needs.
define install_missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

.PHONY: deps-test deps-bench
deps:
	$(call install_missing,$(DEB_PACKAGES))
deps-test:
	$(call install_missing,$(DEB_PACKAGES) $(TEST_DEB_PACKAGES))
deps-bench:
	$(call install_missing,$(DEB_PACKAGES) $(TEST_DEB_PACKAGES) $(BENCH_DEB_PACKAGES))

run: deps
	$(MAKE) all
	$(OUTPUT)/$(RUN_TOOL) $(RUN_ARGS)

# The container image deploy/kubernetes runs: this build's tools and their
# libraries (deploy/container/mkroot), FROM scratch; podman or docker
IMAGE ?= socktrace:$(VERSION)
CONTAINER_ENGINE ?= $(shell command -v podman 2>/dev/null || echo docker)
.PHONY: image
image: all
	$(Q)deploy/container/mkroot $(OUTPUT) $(OUTPUT)/image/root
	$(Q)$(CONTAINER_ENGINE) build -t $(IMAGE) -f deploy/container/Containerfile $(OUTPUT)/image

unit: $(patsubst %,$(OUTPUT)/tests/%,$(UNIT_TESTS))
	$(Q)$(PYTHON) tests/run_unit.py $^

e2e: all $(OUTPUT)/tests/uring_accept $(KNOB_DIR)/tcpconnect
	$(Q)$(PYTHON) tests/e2e/run.py --build-dir $(OUTPUT) --backend auto

hardening: all $(OUTPUT)/loadgen $(OUTPUT)/floorhold $(OUTPUT)/tests/statecount.bpf.o
	$(Q)$(PYTHON) tests/hardening.py --build-dir $(OUTPUT)

check-man: all
	$(Q)$(PYTHON) tests/check_man.py --build-dir $(OUTPUT) $(TOOLS)

test: deps-test
	$(MAKE) all
	$(PYTHON) tests/run_all.py $(MAKE) OUTPUT=$(OUTPUT) SAN=$(SAN)

# Debian's libbpf-tools ships a tcpconnect and a tcptracer in /usr/sbin: a
# file a package owns is not overwritten (dpkg would put it back, or lose
# track of it) unless FORCE=1. A DESTDIR stages a package: no such check.
INSTALLED := $(patsubst %,$(sbindir)/%,$(TOOLS)) $(patsubst %,$(mandir)/man8/%.8,$(TOOLS))
install: all
	$(Q)if [ -z "$(DESTDIR)" ] && [ "$(FORCE)" != 1 ] && command -v dpkg >/dev/null; then \
		owned=$$(for f in $(INSTALLED); do dpkg -S "$$f" 2>/dev/null; done); \
		if [ -n "$$owned" ]; then \
			echo "error: these files belong to Debian packages; not overwriting" \
				"them (install elsewhere with prefix=/usr/local, or FORCE=1):" >&2; \
			echo "$$owned" | sed 's/^/  /' >&2; exit 1; \
		fi; \
	fi
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man8
	$(INSTALL) -m 0755 $(TOOL_BINS) $(DESTDIR)$(sbindir)
	$(INSTALL) -m 0644 $(patsubst %,man/man8/%.8,$(TOOLS)) $(DESTDIR)$(mandir)/man8

uninstall:
	rm -f $(patsubst %,$(DESTDIR)$(sbindir)/%,$(TOOLS)) \
		$(patsubst %,$(DESTDIR)$(mandir)/man8/%.8,$(TOOLS))

clean:
	rm -rf $(OUTPUT)
