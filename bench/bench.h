/* SPDX-License-Identifier: GPL-2.0 */
/* Types the benchmark's BPF programs and its driver share. */
#ifndef BENCH_H
#define BENCH_H

#include <linux/types.h>

#define LAT_BUCKETS	512	/* log-linear lateness histogram */

/* Per-CPU statistics of one callback (timer_bench.bpf.c) */
struct stats {
	__u64 fires;
	__u64 early;
	__u64 late_max;
	__u64 late_sum;
	__u64 hist[LAT_BUCKETS];
};

#endif /* BENCH_H */
