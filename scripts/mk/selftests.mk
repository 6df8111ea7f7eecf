# Builds libbpf, bpftool and a test_progs runner limited to TESTS, from the
# prepared kernel tree. Called by scripts/build-user; not meant to be run
# by hand. Inputs: TREE (kernel source), KOUT (kernel build dir), OUT.
TESTS	?= $(shell sed 's/\#.*//' $(dir $(lastword $(MAKEFILE_LIST)))test_progs.list)
CLANG	?= clang-19
LLVM_STRIP ?= llvm-strip-19
CC	:= ccache gcc

STDIR	:= $(TREE)/tools/testing/selftests/bpf
TOOLS	:= $(TREE)/tools
LIBBPF	:= $(OUT)/libbpf/libbpf.a
BPFTOOL	:= $(OUT)/bpftool/bpftool
INC	:= $(OUT)/include
VMLINUX_H := $(INC)/vmlinux.h
# Only the tests the tree has: scripts/check-series builds patches that come
# before some tests (scripts/test checks that every expected test ran).
TESTS	:= $(foreach t,$(TESTS),$(if $(wildcard $(STDIR)/prog_tests/$(t).c),$(t)))

# The BPF programs each test includes as a skeleton.
PROGS	:= $(sort $(foreach t,$(TESTS),$(shell sed -n 's/^\#include "\(.*\)\.skel\.h"/\1/p' $(STDIR)/prog_tests/$(t).c)))
SKELS	:= $(PROGS:%=$(OUT)/%.skel.h)
EXTRA	:= test_progs cgroup_helpers trace_helpers network_helpers \
	   testing_helpers btf_helpers cap_helpers unpriv_helpers \
	   netlink_helpers jit_disasm_helpers test_loader xsk disasm \
	   disasm_helpers json_writer

CFLAGS	:= -g -O2 -rdynamic -Wall -Wno-unused-variable -Wno-unused-but-set-variable \
	   -I$(OUT) -I$(STDIR) -I$(INC) -I$(TOOLS)/include \
	   -I$(TOOLS)/lib -I$(TOOLS)/arch/x86/include -I$(TOOLS)/include/uapi \
	   -I$(KOUT)/include/generated
LDLIBS	:= -lelf -lz -lzstd -lrt -lpthread -lcap

BPF_INC	:= -I$(INC) -I$(STDIR) -I$(TOOLS)/include/uapi
BPF_EXTRA := -Wno-compare-distinct-pointer-types
include $(dir $(lastword $(MAKEFILE_LIST)))bpf.mk

# BPF objects that no skeleton pulls in: test_bpftool_timer.sh loads them.
OBJS	:= timer_map_bpftool

# The series' benchmark (benchs/bench_timer_map.c), in the selftests' bench
# runner, once the tree has it.
BENCH	:= $(if $(wildcard $(STDIR)/benchs/bench_timer_map.c),$(OUT)/bench)

all: $(OUT)/test_progs $(OUT)/test_timer_map_fuzz $(BPFTOOL) $(OBJS:%=$(OUT)/%.bpf.o) $(BENCH)

$(OUT)/.libbpf: $(wildcard $(TOOLS)/lib/bpf/*.[ch] $(TOOLS)/lib/bpf/Makefile) \
		$(TOOLS)/include/uapi/linux/bpf.h
	@echo "  LIBBPF"
	@mkdir -p $(OUT)/libbpf
	@$(MAKE) -s -C $(TOOLS)/lib/bpf OUTPUT=$(OUT)/libbpf/ DESTDIR=$(OUT) \
		prefix= CC="$(CC)" EXTRA_CFLAGS=-g all install_headers >/dev/null
	@touch $@

# No JIT disassembler: linking libLLVM makes each bpftool run take seconds
# in the emulated guest, and the tests do not need it.
NO_DISASM := feature-llvm=0 feature-libbfd=0 feature-libbfd-liberty=0 \
	     feature-libbfd-liberty-z=0

$(BPFTOOL): $(OUT)/.libbpf $(wildcard $(TOOLS)/bpf/bpftool/*.[ch] \
		$(TOOLS)/bpf/bpftool/skeleton/*.c $(TOOLS)/bpf/bpftool/Makefile)
	@echo "  BPFTOOL"
	@mkdir -p $(OUT)/bpftool
	@$(MAKE) -s -C $(TOOLS)/bpf/bpftool OUTPUT=$(OUT)/bpftool/ \
		CLANG=$(CLANG) LLVM_STRIP=$(LLVM_STRIP) HOSTCC=gcc $(NO_DISASM) \
		EXTRA_CFLAGS=-g >/dev/null

$(VMLINUX_H): $(KOUT)/vmlinux $(BPFTOOL)
	@echo "  GEN     vmlinux.h"
	@$(BPFTOOL) btf dump file $(KOUT)/vmlinux format c > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@

$(OUT)/%.bpf.o: $(STDIR)/progs/%.c $(VMLINUX_H) $(OUT)/.libbpf $(wildcard $(STDIR)/progs/*.h $(STDIR)/*.h)
	$(bpf_obj)

$(OUT)/%.skel.h: $(OUT)/%.bpf.o $(BPFTOOL)
	$(call bpf_skel,$*)

$(OUT)/prog_tests/tests.h: $(TESTS:%=$(STDIR)/prog_tests/%.c)
	@mkdir -p $(@D)
	@(echo '/* Generated header, do not edit */'; \
	  sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' $^ | sort) > $@

$(OUT)/%.test.o: $(STDIR)/prog_tests/%.c $(SKELS) $(OUT)/.libbpf
	@echo "  TEST-OBJ $*"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/%.o: $(STDIR)/%.c $(OUT)/prog_tests/tests.h $(OUT)/.libbpf
	@echo "  EXT-OBJ $*"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/test_progs: $(TESTS:%=$(OUT)/%.test.o) $(EXTRA:%=$(OUT)/%.o) $(OUT)/.libbpf
	@echo "  BINARY  test_progs ($(TESTS))"
	@$(CC) $(CFLAGS) $(filter %.o,$^) $(LIBBPF) $(LDLIBS) -o $@
	@cp $(OUT)/*.bpf.o $(OUT)/bpftool/bpftool $(OUT)/ 2>/dev/null || true

$(OUT)/test_timer_map_fuzz: $(STDIR)/test_timer_map_fuzz.c $(OUT)/cap_helpers.o $(OUT)/.libbpf
	@echo "  BINARY  test_timer_map_fuzz"
	@$(CC) $(CFLAGS) $< $(OUT)/cap_helpers.o $(LIBBPF) $(LDLIBS) -o $@

# The runner's other benchmarks need programs and kernel options this
# tree does not build: stubs generated from bench.c stand in for them, so
# that the runner links; they are listed but cannot run.
$(OUT)/bench_stubs.c: $(STDIR)/bench.c $(STDIR)/benchs/bench_timer_map.c
	@echo "  GEN     bench_stubs.c"
	@sed -n 's/^const struct \(bench\|argp\) \([a-z0-9_]*\) = {/\2/p' \
		$(STDIR)/benchs/bench_timer_map.c > $@.ours
	@{ echo '#include "bench.h"'; echo '#include <argp.h>'; \
	   sed -n 's/^extern const struct bench \([a-z0-9_]*\);/\1/p' $< | grep -vxF -f $@.ours | \
		sed 's/.*/const struct bench & = { .name = "&(not built)" };/'; \
	   sed -n 's/^extern struct argp \([a-z0-9_]*\);/\1/p' $< | grep -vxF -f $@.ours | \
		sed 's/.*/struct argp & = {};/'; } > $@.tmp
	@rm -f $@.ours
	@mv $@.tmp $@

$(OUT)/bench_timer_map.o: $(STDIR)/benchs/bench_timer_map.c $(STDIR)/bench.h \
		$(OUT)/timer_map_bench.skel.h $(OUT)/.libbpf
	@echo "  BENCH-OBJ timer_map"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/bench_stubs.o: $(OUT)/bench_stubs.c
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/bench: $(OUT)/bench.o $(OUT)/bench_timer_map.o $(OUT)/bench_stubs.o \
		$(OUT)/testing_helpers.o $(OUT)/.libbpf
	@echo "  BINARY  bench (timer-map-fire, timer-map-create)"
	@$(CC) $(CFLAGS) $(filter %.o,$^) $(LIBBPF) $(LDLIBS) -lm -o $@

.SECONDARY:
.PHONY: all
