// SPDX-License-Identifier: GPL-2.0
/* Callbacks and helpers for prog_tests/timer_map.c */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

#include "timer_map_common.h"

#ifndef ENOENT
#define ENOENT 2
#endif

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
__u64 won_over_ret;		/* runs at an earlier expiry set during the run before */

/* Checked by the stress tests (check_values set) */
__u32 check_values;
__u64 bad_values;		/* read a value no one wrote (see stamped()) */
__u64 bad_ctx;			/* ran for an expiry no one set */
__u64 ran_after_delete;		/* began after a user space delete returned */
__u64 prog_errs[TM_NR_BY][TM_NR_OPS][TM_NR_RES];

/* ids user space deleted (the delete returned 0), set after it returned */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} deleted SEC(".maps");
__u32 release;			/* ends the spin of callbacks with cfg.hold */

static int spin_fn(__u32 i, void *end)
{
	return bpf_ktime_get_ns() >= *(__u64 *)end;
}

/* release is written by user space meanwhile: a volatile read */
static int hold_fn(__u32 i, void *end)
{
	return *(volatile __u32 *)&release || bpf_ktime_get_ns() >= *(__u64 *)end;
}

static int hold_outer_fn(__u32 i, void *end)
{
	bpf_loop(1 << 20, hold_fn, end, 0);
	return *(volatile __u32 *)&release || bpf_ktime_get_ns() >= *(__u64 *)end;
}

/* Burn @ns of CPU, whatever the speed of the machine; with @hold, only
 * until user space sets release (@ns is then a cap): a run that lasts
 * exactly as long as a test needs, however fast the machine is.
 */
static void spin(__u64 ns, bool hold)
{
	__u64 end = bpf_ktime_get_ns() + ns;

	if (!ns)
		return;
	if (hold)
		bpf_loop(1 << 20, hold_outer_fn, &end, 0);
	else
		bpf_loop(1 << 23, spin_fn, &end, 0);
}

static __always_inline void tally(int by, int op, long err)
{
	int res = !err ? TM_RES_OK : err == -ENOENT ? TM_RES_ENOENT : TM_RES_OTHER;

	__sync_fetch_and_add(&prog_errs[by][op][res], 1);
}

static __always_inline void check_value(__u64 *v, __u64 res)
{
	if (v && !stamped(*v, res))
		__sync_fetch_and_add(&bad_values, 1);
}

/* A delete of @id, counted as the deletion of a running timer only if
 * it returned 0 while that timer's callback ran throughout.
 */
static __always_inline long del_counted(void *map, __u32 id)
{
	struct run_info *r = &runs[id % MAX_IDS];
	bool was = r->running && r->id == id;
	long err = bpf_map_delete_elem(map, &id);

	if (!err && was && r->running && r->id == id)
		__sync_fetch_and_add(&del_running, 1);
	return err;
}

/* ACT_RANDOM: what a careless program might do to its own and other
 * timers of its map. Returns whether its own timer was touched.
 */
static __always_inline bool random_op(void *map, __u32 id, __u64 now, __u64 res)
{
	__u32 r = bpf_get_prandom_u32(), slot = (r >> 8) % MAX_IDS;
	__u32 other = runs[slot].id;	/* a timer that ran */
	__u64 v, *cur;
	long err;

	__sync_fetch_and_add(&random_ops, 1);
	switch (r % 8) {
	case 0:
		err = bpf_map_delete_elem(map, &id);
		tally(TM_BY_CALLBACK, TM_OP_DELETE, err);
		if (!err)
			__sync_fetch_and_add(&self_deletes, 1);
		return true;
	case 1:
		tally(TM_BY_CALLBACK, TM_OP_DELETE, del_counted(map, other));
		return other == id;
	case 2:
		v = stamp(now + (r >> 16) * 100, res);	/* up to 6.5 ms ahead */
		tally(TM_BY_CALLBACK, TM_OP_UPDATE, bpf_map_update_elem(map, &id, &v, BPF_ANY));
		return true;
	case 3:
		v = 1;
		tally(TM_BY_CALLBACK, TM_OP_UPDATE, bpf_map_update_elem(map, &other, &v, BPF_ANY));
		return other == id;
	case 4:
		v = 0;
		tally(TM_BY_CALLBACK, TM_OP_UPDATE, bpf_map_update_elem(map, &other, &v, BPF_ANY));
		return other == id;
	case 5:
		cur = bpf_map_lookup_elem(map, &other);
		check_value(cur, res);
		tally(TM_BY_CALLBACK, TM_OP_LOOKUP, cur ? 0 : -ENOENT);
		return false;
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

static __always_inline int run(void *map, struct bpf_timer_md *ctx, __u64 res)
{
	__u64 now = bpf_ktime_get_ns(), v, *cur, exp = ctx->expires;
	__u32 id = ctx->id, slot = id % MAX_IDS, other;
	struct scan scan = {};
	bool own = false;
	struct timer_cfg *c;
	struct run_info *r;
	int ret;

	/* ids grow cyclically: per-timer state and config by id % MAX_IDS */
	r = &runs[slot];
	c = &cfg[slot];
	if (check_values) {
		if (!stamped(exp, res))
			__sync_fetch_and_add(&bad_ctx, 1);
		if (bpf_map_lookup_elem(&deleted, &id))
			__sync_fetch_and_add(&ran_after_delete, 1);
	}
	/* the previous run saw its expiry changed to pending_val: that
	 * update, not the previous run's return value, set this run's
	 */
	if (r->pending_id == id && r->pending_val && exp == r->pending_val)
		__sync_fetch_and_add(&won_over_ret, 1);
	r->pending_id = 0;
	r->pending_val = 0;
	r->running = 1;
	/* bpf_loop rather than a loop the verifier walks 64 times: it made
	 * loading this object take seconds under emulation
	 */
	scan.self = slot;
	bpf_loop(MAX_IDS, other_running, &scan, 0);
	if (scan.other)
		__sync_fetch_and_add(&overlaps, 1);
	if (r->count < HIST)
		r->expires[r->count & (HIST - 1)] = exp;
	r->count++;
	r->last_expires = exp;
	r->fired_at = now;
	r->id = id;
	r->cpu = ctx->cpu;
	if (ctx->cpu < 64)
		__sync_fetch_and_or(&r->cpu_mask, 1ULL << ctx->cpu);
	__sync_fetch_and_add(&total_runs, 1);
	if (now < exp)
		__sync_fetch_and_add(&early, 1);
	spin(c->spin_ns, c->hold);

	switch (c->action) {
	case ACT_DELETE_SELF:
		r->op_err = bpf_map_delete_elem(map, &id);
		__sync_fetch_and_add(&self_deletes, 1);
		own = true;
		break;
	case ACT_DELETE_OTHER:
		r->op_err = del_counted(map, c->target);
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
		v = exp;
		r->op_err = bpf_map_update_elem(map, &id, &v, BPF_ANY);
		own = true;
		break;
	case ACT_REARM_OTHER_PAST:
		other = c->target;
		v = 1;
		r->op_err = bpf_map_update_elem(map, &other, &v, BPF_ANY);
		break;
	case ACT_RANDOM:
		own = random_op(map, id, now, res);
		break;
	case ACT_REARM_OTHER:
		other = c->target;
		v = now + c->arg;
		r->op_err = bpf_map_update_elem(map, &other, &v, BPF_ANY);
		break;
	}
	if (!own) {
		cur = bpf_map_lookup_elem(map, &id);
		if (!cur || *cur != exp)
			__sync_fetch_and_add(&ext_during_run, 1);
		/* an earlier expiry than this run's: the return value
		 * re-arms later, so a next run at it is the update's doing
		 */
		if (cur && *cur && *cur < exp) {
			r->pending_id = id;
			r->pending_val = *cur;
		}
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
	return run(&timers, ctx, WHEEL_RES);
}

SEC("timer")
int hr_cb(struct bpf_timer_md *ctx)
{
	return run(&hr_timers, ctx, HRES_RES);
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
	__u64 now = bpf_ktime_get_ns(), res = use_hr ? HRES_RES : WHEEL_RES;
	long err;

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
	case 2: {
		__u64 *v = look(id);

		check_value(v, res);
		err = v ? 0 : -ENOENT;
		tally(TM_BY_TC, TM_OP_LOOKUP, err);
		break;
	}
	case 3:
	case 4:
		err = upd(id, 1);
		tally(TM_BY_TC, TM_OP_UPDATE, err);
		break;
	case 5:
		err = upd(id, stamp(now + (r >> 16) * 50, res));
		tally(TM_BY_TC, TM_OP_UPDATE, err);
		break;
	case 6:
		err = upd(id, 0);
		tally(TM_BY_TC, TM_OP_UPDATE, err);
		break;
	default:
		err = use_hr ? del_counted(&hr_timers, id) : del_counted(&timers, id);
		tally(TM_BY_TC, TM_OP_DELETE, err);
		break;
	}
	count(err);
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
