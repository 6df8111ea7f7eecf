// SPDX-License-Identifier: GPL-2.0
/*
 * GC benchmark: a flow table swept in the kernel by a timer callback
 * (bpf_for_each_map_elem over the table, deleting idle flows), the shape of
 * samples/bpf/timer_gc_kern.c. The user-space alternative, batch lookup and
 * batch delete through bpf(2), is in timer_bench.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bench.h"

char _license[] SEC("license") = "GPL";

/* max_entries set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} gc_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gc_timer SEC(".maps");

__u64 timeout_ns = 3600000000000ULL;
__u64 runs, scanned, expired;

static long expire(void *map, struct flow_key *key,
		   struct flow_val *val, __u64 *now)
{
	scanned++;
	if (*now - val->last_seen > timeout_ns) {
		bpf_map_delete_elem(map, key);
		expired++;
	}
	return 0;
}

SEC("timer")
int gc(struct bpf_timer_md *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_for_each_map_elem(&gc_flows, expire, &now, 0);
	__sync_fetch_and_add(&runs, 1);
	return 0;
}
