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
struct timer_cfg cfg[MAX_IDS];
__u64 early;			/* runs before their expiry */
__u64 total_runs;

static __always_inline int run(void *map, struct bpf_timer_md *ctx)
{
	__u64 now = bpf_ktime_get_ns(), v;
	__u32 id = ctx->id, other;
	struct timer_cfg *c;
	struct run_info *r;

	if (id >= MAX_IDS)
		return 0;
	r = &runs[id];
	c = &cfg[id];
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

	switch (c->action) {
	case ACT_DELETE_SELF:
		r->op_err = bpf_map_delete_elem(map, &id);
		break;
	case ACT_DELETE_OTHER:
		other = c->target;
		r->op_err = bpf_map_delete_elem(map, &other);
		break;
	case ACT_REARM_SELF:
		v = now + c->arg;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		c->action = ACT_NONE;
		break;
	case ACT_DISARM_SELF:
		v = 0;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		break;
	}
	if (c->max_runs && r->count >= c->max_runs)
		return 0;
	/* the verifier wants a return value known to be in [0, INT_MAX] */
	return c->period <= 1000000 ? c->period : 0;
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
