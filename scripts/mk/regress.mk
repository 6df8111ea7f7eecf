# The regression run's binaries (scripts/regress): test_progs limited to the
# tests in scripts/mk/regress.list, test_verifier and test_maps, built once
# from the series' tree and run on both kernels. Inputs as selftests.mk.
TESTS	:= $(shell sed 's/\#.*//' $(dir $(lastword $(MAKEFILE_LIST)))regress.list)
include $(dir $(lastword $(MAKEFILE_LIST)))selftests.mk

# BPF objects the tests open by file name rather than through a skeleton.
NAMED	:= $(sort $(foreach f,$(TESTS:%=$(STDIR)/prog_tests/%.c) $(STDIR)/test_maps.c \
	     $(wildcard $(STDIR)/map_tests/*.c),$(shell grep -ho '[a-z_0-9]*\.bpf\.o' $(f))))
MAPT	:= $(notdir $(basename $(wildcard $(STDIR)/map_tests/*.c)))
MAPT_SKELS := $(patsubst %,$(OUT)/%.skel.h,$(sort $(shell sed -n \
	     's/^\#include "\(.*\)\.skel\.h"/\1/p' $(wildcard $(STDIR)/map_tests/*.c))))

regress: all $(OUT)/test_verifier $(OUT)/test_maps $(NAMED:%=$(OUT)/%)

# upstream writes these headers into the source tree; here they name the
# sources by absolute path from the output directory
$(OUT)/verifier/tests.h: $(wildcard $(STDIR)/verifier/*.c)
	@mkdir -p $(@D)
	@(echo '#ifdef FILL_ARRAY'; for f in $(sort $^); do echo "#include \"$$f\""; done; \
	  echo '#endif') > $@

$(OUT)/map_tests/tests.h: $(wildcard $(STDIR)/map_tests/*.c)
	@mkdir -p $(@D)
	@sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' \
		$^ | sort > $@

# a static pattern rule: selftests.mk's $(OUT)/%.o must not take these
$(MAPT:%=$(OUT)/map_tests/%.o): $(OUT)/map_tests/%.o: $(STDIR)/map_tests/%.c \
		$(MAPT_SKELS) $(OUT)/.libbpf
	@echo "  MAP-OBJ $*"
	@$(CC) $(CFLAGS) -c $< -o $@

# The lean kernels have no module support: test_verifier goes on without
# bpf_testmod.ko (see regress-no-testmod.c).
NO_TESTMOD := $(dir $(lastword $(MAKEFILE_LIST)))regress-no-testmod.c

$(OUT)/test_verifier: $(STDIR)/test_verifier.c $(OUT)/verifier/tests.h \
		$(OUT)/testing_helpers.o $(OUT)/cap_helpers.o $(OUT)/unpriv_helpers.o \
		$(OUT)/disasm.o $(NO_TESTMOD)
	@echo "  BINARY  test_verifier"
	@$(CC) $(CFLAGS) -Dload_bpf_testmod=regress_load_testmod \
		-Dunload_bpf_testmod=regress_unload_testmod $< $(NO_TESTMOD) \
		$(filter %.o,$^) $(LIBBPF) $(LDLIBS) -o $@

$(OUT)/test_maps: $(STDIR)/test_maps.c $(OUT)/map_tests/tests.h \
		$(MAPT:%=$(OUT)/map_tests/%.o) $(OUT)/testing_helpers.o $(OUT)/disasm.o
	@echo "  BINARY  test_maps"
	@$(CC) $(CFLAGS) $< $(filter %.o,$^) $(LIBBPF) $(LDLIBS) -o $@

.PHONY: regress
