# BPF objects and skeletons: one set of flags and recipes for
# scripts/mk/selftests.mk, scripts/mk/sample.mk and bench/Makefile.
# Inputs: BPFTOOL, BPF_INC (include flags), optionally BPF_EXTRA.
#
#   $(OUT)/x.bpf.o: x.c ...	; $(bpf_obj)
#   $(OUT)/x.skel.h: $(OUT)/x.bpf.o $(BPFTOOL) ; $(call bpf_skel,x)
CLANG	?= clang-19

BPF_SYS_INC := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	   sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -Wall -Werror -D__TARGET_ARCH_x86 -mlittle-endian \
	   $(BPF_INC) $(BPF_EXTRA) $(BPF_SYS_INC) --target=bpf -mcpu=v3

define bpf_obj
	@echo "  CLNG-BPF $(notdir $@)"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@
endef

# Linked first, as libbpf wants; written through a temporary file so that
# a failed run leaves no truncated header behind.
define bpf_skel
	@echo "  GEN-SKEL $(1)"
	@$(BPFTOOL) gen object $@.linked.o $<
	@$(BPFTOOL) gen skeleton $@.linked.o name $(1) > $@.tmp
	@rm -f $@.linked.o
	@mv $@.tmp $@
endef
