// SPDX-License-Identifier: GPL-2.0
/* Callbacks of the create_race subtest of prog_tests/timer_map.c */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#define RACE_RES	100000ULL	/* 100 us: hrtimers */
#define RACE_MAX	4096

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, RACE_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, RACE_RES);
} race_timers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, RACE_RES);
} canaries SEC(".maps");

__u32 creator_cpu;		/* set by user space */
__u32 created;			/* 1 + the last id whose create returned */
__u64 runs, canary_runs;
__u64 overlapped;		/* runs that began before their create returned */
__u64 gave_up;			/* ... and waited for it in vain */

struct wait {
	__u32 id;
	bool seen;
	__u64 end;
};

/* The reads of created are volatile: READ_ONCE() of a global that user
 * space writes meanwhile.
 */
static int wait_created(__u32 i, void *data)
{
	struct wait *w = data;

	if (*(volatile __u32 *)&created > w->id) {
		w->seen = true;
		return 1;
	}
	return bpf_ktime_get_ns() >= w->end;
}

/* Fired by an update before the create of its id returned: the creator
 * may be about to arm the timer, still running here. Wait for the create
 * to return, then re-arm far ahead (INT_MAX * 100 us: 59 hours), so that
 * a re-arm in place of a timer the create queued meanwhile would leave
 * the timer at the head of this CPU's soft hrtimer queue for 59 hours.
 */
SEC("timer")
int race_cb(struct bpf_timer_md *ctx)
{
	struct wait w = { .id = ctx->id };

	__sync_fetch_and_add(&runs, 1);
	if (ctx->cpu != creator_cpu && *(volatile __u32 *)&created <= ctx->id) {
		__sync_fetch_and_add(&overlapped, 1);
		w.end = bpf_ktime_get_ns() + 1000000000ULL;
		bpf_loop(1 << 23, wait_created, &w, 0);
		if (!w.seen)
			__sync_fetch_and_add(&gave_up, 1);
	}
	return 0x7fffffff;
}

/* Runs every 10 ms on its CPU for as long as that CPU's queue is sound */
SEC("timer")
int canary_cb(struct bpf_timer_md *ctx)
{
	__sync_fetch_and_add(&canary_runs, 1);
	return 100;
}
