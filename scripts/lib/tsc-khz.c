// SPDX-License-Identifier: GPL-2.0
/* The host's TSC rate in kHz, for the guest's tsc_early_khz= (scripts/lib/vm-run):
 * under TCG the guest's TSC is the host's, and a guest that calibrates it
 * against the emulated PIT on a loaded host may fail to, mark the TSC unstable
 * and run on jiffies with low-resolution hrtimers.
 */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
	struct timespec nap = { 0, 200000000 };
	double t0, t1, best = 0;
	unsigned long long c0, c1;
	int i;

	/* the pair of reads a preemption split least gives the rate */
	for (i = 0; i < 3; i++) {
		double rate;

		t0 = now();
		c0 = __rdtsc();
		nanosleep(&nap, NULL);
		c1 = __rdtsc();
		t1 = now();
		rate = (c1 - c0) / (t1 - t0) / 1000;
		if (rate > best)
			best = rate;
	}
	printf("%.0f\n", best);
	return 0;
}
