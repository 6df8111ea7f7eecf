// SPDX-License-Identifier: GPL-2.0
/* Callbacks and helpers for prog_tests/timer_map.c */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#include "timer_map_common.h"

/* Default resolution (1 ms): timer wheel. */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, MAX_IDS);
	__type(key, __u32);
	__type(value, __u64);
} timers SEC(".maps");

/* 100 us resolution: hrtimers. */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, MAX_IDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, 100000);
} hr_timers SEC(".maps");

struct run_info runs[MAX_IDS];
__u32 action[MAX_IDS];
__u32 target[MAX_IDS];
__u64 arg[MAX_IDS];
__u32 period[MAX_IDS];		/* return value */
__u64 max_runs[MAX_IDS];	/* return 0 once count reaches it */
__u64 early;			/* runs before their expiry */
__u64 total_runs;

static __always_inline int run(void *map, struct bpf_timer_md *ctx)
{
	__u64 now = bpf_ktime_get_ns(), v;
	__u32 id = ctx->id, other;
	struct run_info *r;

	if (id >= MAX_IDS)
		return 0;
	r = &runs[id];
	if (r->count < HIST)
		r->expires[r->count & (HIST - 1)] = ctx->expires;
	r->count++;
	r->last_expires = ctx->expires;
	r->fired_at = now;
	r->id = id;
	r->cpu = ctx->cpu;
	__sync_fetch_and_add(&total_runs, 1);
	if (now < ctx->expires)
		__sync_fetch_and_add(&early, 1);

	switch (action[id]) {
	case ACT_DELETE_SELF:
		r->op_err = bpf_map_delete_elem(map, &id);
		break;
	case ACT_DELETE_OTHER:
		other = target[id];
		r->op_err = bpf_map_delete_elem(map, &other);
		break;
	case ACT_REARM_SELF:
		v = now + arg[id];
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		action[id] = ACT_NONE;
		break;
	case ACT_DISARM_SELF:
		v = 0;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		break;
	}
	if (max_runs[id] && r->count >= max_runs[id])
		return 0;
	return period[id];
}

SEC("timer")
int cb(struct bpf_timer_md *ctx)
{
	return run(&timers, ctx);
}

SEC("timer")
int hr_cb(struct bpf_timer_md *ctx)
{
	return run(&hr_timers, ctx);
}

/* Map operations from a non-timer program, driven through test_run. */
__u32 op, op_id;
__u64 op_value, op_lookup;
__s64 op_ret;

SEC("tc")
int map_ops(struct __sk_buff *skb)
{
	__u32 id = op_id;
	__u64 *v, val = op_value;

	switch (op) {
	case TOP_LOOKUP:
		v = bpf_map_lookup_elem(&timers, &id);
		op_ret = v ? 0 : -2;
		op_lookup = v ? *v : 0;
		break;
	case TOP_UPDATE:
		op_ret = bpf_map_update_elem(&timers, &id, &val, BPF_ANY);
		break;
	case TOP_DELETE:
		op_ret = bpf_map_delete_elem(&timers, &id);
		break;
	}
	return 0;
}
