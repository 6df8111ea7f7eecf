// SPDX-License-Identifier: GPL-2.0
/* Linked into the regression run's test_verifier (scripts/regress.mk) in
 * place of load_bpf_testmod() and unload_bpf_testmod(): the lean kernels
 * have no module support, and test_verifier stops when it cannot load
 * bpf_testmod.ko. The tests that need the module fail on both kernels.
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
