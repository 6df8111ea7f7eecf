// SPDX-License-Identifier: GPL-2.0
/*
 * Precise idle time per CPU, in ns: the NO_HZ idle accounting of
 * kernel/time/tick-sched.c (idle and iowait sleep time, plus the current
 * idle period), which /proc/stat only shows in 10 ms units. Run with
 * BPF_PROG_TEST_RUN; results in idle_ns[].
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_CPUS		64
#define TS_FLAG_IDLE_ACTIVE	(1UL << 2)

char _license[] SEC("license") = "GPL";

typedef long long ktime_t;

struct tick_sched {
	unsigned long flags;
	ktime_t idle_entrytime;
	ktime_t idle_sleeptime;
	ktime_t iowait_sleeptime;
} __attribute__((preserve_access_index));

extern const struct tick_sched tick_cpu_sched __ksym;

__u32 nr_cpus;
__u64 now;
__u64 idle_ns[MAX_CPUS];

SEC("syscall")
int idle_read(void *ctx)
{
	__u32 cpu;

	now = bpf_ktime_get_ns();
	for (cpu = 0; cpu < MAX_CPUS && cpu < nr_cpus; cpu++) {
		const struct tick_sched *ts = bpf_per_cpu_ptr(&tick_cpu_sched, cpu);
		__u64 v;

		if (!ts)
			break;
		v = ts->idle_sleeptime + ts->iowait_sleeptime;
		if ((ts->flags & TS_FLAG_IDLE_ACTIVE) && now > ts->idle_entrytime)
			v += now - ts->idle_entrytime;
		idle_ns[cpu] = v;
	}
	return 0;
}
