# bench/bench.mk: the benchmark, included by the main Makefile.
#
#   make bench          full run on this machine: every tool in TOOLS, medians of 5
#   make bench-smoke    bench/bench --quick: tiny N, one repetition; proves the harness
#                       and the event accounting (and -d on the DNS workload), ends
#                       with "N passed, N failed"
#   BENCH_ARGS=...      more options for bench/bench, e.g.
#                       BENCH_ARGS="--vm 6.12 --backend fentry" (qemu guest, slow)
#
# Needs from the main Makefile: OUTPUT, TOOLS, PYTHON, CC, CFLAGS, ALL_CFLAGS,
# ALL_LDFLAGS, LDLIBS, CLANG, BPF_CFLAGS, Q, msg, all.

# the peers in guest runs (--reference): libbpf-tools (Debian's tcpconnect and
# tcptracer), bpfcc-tools (bcc's Python tools), bpftrace (its .bt scripts);
# dnsmasq-base and iproute2: the DNS workload's server and its network namespace
BENCH_DEB_PACKAGES := libbpf-tools bpfcc-tools bpftrace dnsmasq-base iproute2
BENCH_ARGS ?=
BENCH_WARNINGS := -Wall -Wextra -Werror

# Included before `all` is defined, this file must not become the default goal.
bench_saved_goal := $(.DEFAULT_GOAL)

.PHONY: bench bench-smoke bench-soak

# make bench-soak: each tool's zero-loss peak, and a soak of SOAK_SECONDS
SOAK_SECONDS ?= 120

$(OUTPUT)/loadgen: bench/loadgen.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(BENCH_WARNINGS) -std=gnu11 -pthread $(EXTRA_CFLAGS) $(LDFLAGS) \
		$(EXTRA_LDFLAGS) $< -o $@

# the "floor" case: empty programs on the tracepoint backend's hooks
$(OUTPUT)/floor.bpf.o: bench/floor.bpf.c $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# --helpers: one program per helper, on fentry (bench/helpers.bpf.c)
$(OUTPUT)/helpers.bpf.o: bench/helpers.bpf.c $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/floorhold: bench/floorhold.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(LDLIBS) -o $@

BENCH_DEPS := all $(OUTPUT)/loadgen $(OUTPUT)/floor.bpf.o $(OUTPUT)/helpers.bpf.o \
	$(OUTPUT)/floorhold

bench: deps-bench $(BENCH_DEPS)
	$(Q)$(PYTHON) bench/bench --build-dir $(OUTPUT) --tools "$(TOOLS)" $(BENCH_ARGS)

bench-smoke: $(BENCH_DEPS)
	$(Q)$(PYTHON) bench/bench --quick --peak --soak 6 --build-dir $(OUTPUT) --tools "$(TOOLS)"

bench-soak: deps-bench $(BENCH_DEPS)
	$(Q)$(PYTHON) bench/bench --peak --soak $(SOAK_SECONDS) --build-dir $(OUTPUT) \
		--tools "$(TOOLS)" $(BENCH_ARGS)

.DEFAULT_GOAL := $(bench_saved_goal)
