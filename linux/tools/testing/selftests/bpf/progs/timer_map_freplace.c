// SPDX-License-Identifier: GPL-2.0
/* freplace programs for the timer callback "cb" of progs/timer_map.c:
 * they are checked as timer programs, return value range included.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "bpf_misc.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} ext_timers SEC(".maps");

__u64 ext_runs;

/* re-arms its timer 3 resolutions later, and may use a timer map */
SEC("freplace")
int ext_cb(struct bpf_timer_md *ctx)
{
	__u32 id = 0;

	bpf_map_lookup_elem(&ext_timers, &id);
	__sync_fetch_and_add(&ext_runs, 1);
	return ext_runs < 2 ? 3 : 0;
}

/* [2^31, 2^32 - 1]: beyond INT_MAX */
SEC("freplace")
int ext_ret_too_big(struct bpf_timer_md *ctx)
{
	return ctx->id | 0x80000000;
}
