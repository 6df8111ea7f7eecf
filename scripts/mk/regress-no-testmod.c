// SPDX-License-Identifier: GPL-2.0
/* Linked into the regression run's test_verifier (scripts/mk/regress.mk) in
 * place of load_bpf_testmod() and unload_bpf_testmod(): the harness builds
 * no bpf_testmod.ko (the kernels are built as a bzImage only), and
 * test_verifier stops when it cannot load it. The tests that need the
 * module fail on both kernels.
 */
#include <stdbool.h>

int regress_load_testmod(bool verbose)
{
	return 0;
}

int regress_unload_testmod(bool verbose)
{
	return 0;
}
