# Builds the timer map garbage collection sample, samples/bpf/timer_gc, from
# the prepared kernel tree with the libbpf, bpftool and vmlinux.h that
# selftests.mk built into OUT (so after scripts/build-user).
# Inputs: TREE (kernel source), OUT.   -> $(OUT)/timer_gc
CC	:= ccache gcc

SRC	:= $(TREE)/samples/bpf
LIBBPF	:= $(OUT)/libbpf/libbpf.a
BPFTOOL	:= $(OUT)/bpftool/bpftool
INC	:= $(OUT)/include
VMLINUX_H := $(INC)/vmlinux.h

CFLAGS	:= -g -O2 -Wall -Wmissing-prototypes -Wstrict-prototypes \
	   -I$(OUT) -I$(INC) -I$(TREE)/tools/include/uapi
LDLIBS	:= -lelf -lz -lzstd
BPF_INC	:= -I$(INC)
include $(dir $(lastword $(MAKEFILE_LIST)))bpf.mk

all: $(OUT)/timer_gc

$(LIBBPF) $(BPFTOOL) $(VMLINUX_H):
	@echo "error: no $@: run scripts/build-user first" >&2; exit 1

$(OUT)/timer_gc_kern.o: $(SRC)/timer_gc_kern.c $(SRC)/timer_gc.h $(VMLINUX_H) $(LIBBPF)
	$(bpf_obj)

$(OUT)/timer_gc.skel.h: $(OUT)/timer_gc_kern.o $(BPFTOOL)
	$(call bpf_skel,timer_gc)

$(OUT)/timer_gc: $(SRC)/timer_gc_user.c $(SRC)/timer_gc.h $(OUT)/timer_gc.skel.h $(LIBBPF)
	@echo "  BINARY  timer_gc"
	@$(CC) $(CFLAGS) $< $(LIBBPF) $(LDLIBS) -o $@

.PHONY: all
