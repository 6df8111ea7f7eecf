// SPDX-License-Identifier: GPL-2.0
/* Callbacks and helpers for prog_tests/timer_map.c */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#include "timer_map_common.h"

/* 10 ms resolution: the timer wheel at any HZ. */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, MAX_IDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, WHEEL_RES);
} timers SEC(".maps");

/* 100 us resolution: hrtimers. */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, MAX_IDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, HRES_RES);
} hr_timers SEC(".maps");

struct run_info runs[MAX_IDS];
struct timer_cfg cfg[MAX_IDS];
__u64 early;			/* runs before their expiry */
__u64 total_runs;

/* Evidence that the races the tests aim at happened. */
__u64 overlaps;			/* ran while another callback was in progress */
__u64 del_running;		/* deleted a timer whose callback was running */
__u64 ext_during_run;		/* own expiry changed by others during the run */
__u64 self_deletes;		/* deletes of the running timer: deferred frees */
__u64 random_ops;		/* map operations of ACT_RANDOM */

static int spin_fn(__u32 i, void *end)
{
	return bpf_ktime_get_ns() >= *(__u64 *)end;
}

/* Burn @ns of CPU, whatever the speed of the machine. */
static void spin(__u64 ns)
{
	__u64 end = bpf_ktime_get_ns() + ns;

	if (ns)
		bpf_loop(1 << 23, spin_fn, &end, 0);
}

/* ACT_RANDOM: what a careless program might do to its own and other
 * timers of its map. Returns whether its own timer was touched.
 */
static __always_inline bool random_op(void *map, __u32 id, __u64 now)
{
	__u32 r = bpf_get_prandom_u32(), slot = (r >> 8) % MAX_IDS;
	__u32 other = runs[slot].id;	/* a timer that ran */
	__u64 v;

	__sync_fetch_and_add(&random_ops, 1);
	switch (r % 8) {
	case 0:
		bpf_map_delete_elem(map, &id);
		__sync_fetch_and_add(&self_deletes, 1);
		return true;
	case 1:
		if (runs[slot].running)
			__sync_fetch_and_add(&del_running, 1);
		bpf_map_delete_elem(map, &other);
		return other == id;
	case 2:
		v = now + (r >> 16) * 100;	/* up to 6.5 ms ahead */
		bpf_map_update_elem(map, &id, &v, BPF_ANY);
		return true;
	case 3:
		v = 1;
		bpf_map_update_elem(map, &other, &v, BPF_ANY);
		return other == id;
	case 4:
		v = 0;
		bpf_map_update_elem(map, &other, &v, BPF_ANY);
		return other == id;
	}
	return false;
}

struct scan {
	__u32 self;
	bool other;
};

static int other_running(__u32 i, void *data)
{
	struct scan *s = data;

	if (i < MAX_IDS && i != s->self && runs[i].running) {
		s->other = true;
		return 1;
	}
	return 0;
}

static __always_inline int run(void *map, struct bpf_timer_md *ctx)
{
	__u64 now = bpf_ktime_get_ns(), v, *cur;
	__u32 id = ctx->id, slot = id % MAX_IDS, other;
	struct scan scan = {};
	bool own = false;
	struct timer_cfg *c;
	struct run_info *r;
	int ret;

	/* ids grow cyclically: per-timer state and config by id % MAX_IDS */
	r = &runs[slot];
	c = &cfg[slot];
	r->running = 1;
	/* bpf_loop rather than a loop the verifier walks 64 times: it made
	 * loading this object take seconds under emulation
	 */
	scan.self = slot;
	bpf_loop(MAX_IDS, other_running, &scan, 0);
	if (scan.other)
		__sync_fetch_and_add(&overlaps, 1);
	if (r->count < HIST)
		r->expires[r->count & (HIST - 1)] = ctx->expires;
	r->count++;
	r->last_expires = ctx->expires;
	r->fired_at = now;
	r->id = id;
	r->cpu = ctx->cpu;
	if (ctx->cpu < 64)
		__sync_fetch_and_or(&r->cpu_mask, 1ULL << ctx->cpu);
	__sync_fetch_and_add(&total_runs, 1);
	if (now < ctx->expires)
		__sync_fetch_and_add(&early, 1);
	spin(c->spin_ns);

	switch (c->action) {
	case ACT_DELETE_SELF:
		r->op_err = bpf_map_delete_elem(map, &id);
		__sync_fetch_and_add(&self_deletes, 1);
		own = true;
		break;
	case ACT_DELETE_OTHER:
		other = c->target;
		if (runs[other % MAX_IDS].running)
			__sync_fetch_and_add(&del_running, 1);
		r->op_err = bpf_map_delete_elem(map, &other);
		break;
	case ACT_REARM_SELF:
		v = now + c->arg;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		c->action = ACT_NONE;
		own = true;
		break;
	case ACT_DISARM_SELF:
		v = 0;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		own = true;
		break;
	case ACT_REARM_PAST:
		v = ctx->expires;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		own = true;
		break;
	case ACT_REARM_OTHER_PAST:
		other = c->target;
		v = 1;
		r->op_err = bpf_map_update_elem(map, &other, &v, BPF_ANY);
		break;
	case ACT_RANDOM:
		own = random_op(map, id, now);
		break;
	}
	if (!own) {
		cur = bpf_map_lookup_elem(map, &id);
		if (!cur || *cur != ctx->expires)
			__sync_fetch_and_add(&ext_during_run, 1);
	}
	ret = c->period <= 1000000 ? c->period : 0;
	if (c->action == ACT_RANDOM)
		ret = bpf_get_prandom_u32() % 4;
	if (c->max_runs && r->count >= c->max_runs)
		ret = 0;
	r->ended_at = bpf_ktime_get_ns();
	if (r->count <= HIST)
		r->ends[(r->count - 1) & (HIST - 1)] = r->ended_at;
	r->running = 0;
	/* the verifier wants a return value known to be in [0, INT_MAX] */
	return ret;
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
__u32 op, op_id, op_loops, use_hr;
__u64 op_value, op_flags, op_lookup, op_at, op_ok, op_fail;
__s64 op_ret;

static __always_inline long upd(__u32 id, __u64 v)
{
	if (use_hr)
		return bpf_map_update_elem(&hr_timers, &id, &v, op_flags);
	return bpf_map_update_elem(&timers, &id, &v, op_flags);
}

static __always_inline long del(__u32 id)
{
	if (use_hr)
		return bpf_map_delete_elem(&hr_timers, &id);
	return bpf_map_delete_elem(&timers, &id);
}

static __always_inline __u64 *look(__u32 id)
{
	if (use_hr)
		return bpf_map_lookup_elem(&hr_timers, &id);
	return bpf_map_lookup_elem(&timers, &id);
}

static void count(long err)
{
	if (err)
		__sync_fetch_and_add(&op_fail, 1);
	else
		__sync_fetch_and_add(&op_ok, 1);
}

/* Re-arm op_id to op_value and op_value + 1 in turn, both long past: a
 * callback running meanwhile sees its value change.
 */
static int hammer_fn(__u32 i, void *data)
{
	count(upd(op_id, op_value + (i & 1)));
	return 0;
}

static int race_fn(__u32 i, void *data)
{
	__u64 now = bpf_ktime_get_ns();

	if (now < op_value)
		return 0;
	op_at = now;
	op_ret = upd(op_id, now);
	return 1;
}

static int find_running(__u32 i, void *slot)
{
	if (i < MAX_IDS && runs[i].running) {
		*(__u32 *)slot = i;
		return 1;
	}
	return 0;
}

static int random_fn(__u32 i, void *data)
{
	__u32 r = bpf_get_prandom_u32(), slot = (r >> 8) % MAX_IDS, id;
	__u64 now = bpf_ktime_get_ns();

	/* half the time, a timer whose callback is running */
	if (r & (1 << 30))
		bpf_loop(MAX_IDS, find_running, &slot, 0);
	if (slot >= MAX_IDS)
		return 0;
	id = runs[slot].id;
	/* mostly re-arms into the past, so that timers keep running */
	switch (r % 8) {
	case 0:
	case 1:
	case 2:
		count(look(id) ? 0 : -1);
		break;
	case 3:
	case 4:
		count(upd(id, 1));
		break;
	case 5:
		count(upd(id, now + (r >> 16) * 50));
		break;
	case 6:
		count(upd(id, 0));
		break;
	case 7:
		if (runs[slot].running)
			__sync_fetch_and_add(&del_running, 1);
		count(del(id));
		break;
	}
	return 0;
}

SEC("tc")
int map_ops(struct __sk_buff *skb)
{
	__u32 id = op_id;
	__u64 *v;

	switch (op) {
	case TOP_LOOKUP:
		v = look(id);
		op_ret = v ? 0 : -2;
		op_lookup = v ? *v : 0;
		break;
	case TOP_UPDATE:
		op_ret = upd(id, op_value);
		break;
	case TOP_DELETE:
		op_ret = del(id);
		break;
	case TOP_HAMMER:
		bpf_loop(op_loops, hammer_fn, NULL, 0);
		break;
	case TOP_RACE:
		bpf_loop(1 << 23, race_fn, NULL, 0);
		break;
	case TOP_RANDOM:
		bpf_loop(op_loops, random_fn, NULL, 0);
		break;
	}
	return 0;
}
