/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by progs/timer_map.c and prog_tests/timer_map.c */
#ifndef __TIMER_MAP_COMMON_H
#define __TIMER_MAP_COMMON_H

#define MAX_IDS 64
#define HIST 8

/* The two maps of progs/timer_map.c, with explicit resolutions: 10 ms is
 * one jiffy or more at any HZ (timer wheel), 100 us less than one
 * (hrtimers).
 */
#define WHEEL_RES	10000000ULL
#define HRES_RES	100000ULL

enum timer_action {
	ACT_NONE,
	ACT_DELETE_SELF,	/* bpf_map_delete_elem() on its own id */
	ACT_DELETE_OTHER,	/* ... on target */
	ACT_REARM_SELF,		/* update own expiry to now + arg, once */
	ACT_DISARM_SELF,	/* update own expiry to 0 */
	ACT_REARM_PAST,		/* update own expiry to ctx->expires: "again now" */
	ACT_REARM_OTHER_PAST,	/* update target's expiry to 1 (boot: long past) */
	ACT_RANDOM,		/* one of the above at random, on random ids */
	ACT_REARM_OTHER,	/* update target's expiry to now + arg */
};

enum timer_map_op {
	TOP_LOOKUP = 1,
	TOP_UPDATE,
	TOP_DELETE,
	TOP_HAMMER,		/* update op_id to op_value(+1), op_loops times */
	TOP_RACE,		/* spin until op_value, then update op_id to now */
	TOP_RANDOM,		/* op_loops random lookups, updates, deletes */
};

/* Set by user space, per timer id */
struct timer_cfg {
	__u32 action;		/* enum timer_action */
	__u32 target;		/* id for the _OTHER actions */
	__u64 arg;		/* delay for ACT_REARM_SELF */
	__u64 max_runs;		/* return 0 once count reaches it */
	__u64 spin_ns;		/* spin that long in bpf_loop first */
	__u32 period;		/* return value */
	__u32 hold;		/* spin until user space sets release (spin_ns: cap) */
};

struct run_info {
	__u64 count;
	__u64 expires[HIST];	/* ctx->expires of the first HIST runs */
	__u64 ends[HIST];	/* bpf_ktime_get_ns() at the end of each of them */
	__u64 fired_at;		/* bpf_ktime_get_ns() at the start of the last run */
	__u64 ended_at;		/* ... at its end */
	__u64 last_expires;
	__u32 id;
	__u32 cpu;
	__s64 op_err;		/* what the action's helper returned */
	__u64 cpu_mask;		/* CPUs it ran on */
	__u32 running;		/* its callback is in progress */
	__u32 pending_id;	/* the id whose expiry others changed during */
	__u64 pending_val;	/* ... its last run, to that value */
};

/* The stress tests' outcome counts of the programs' own map operations,
 * by operation and result: an errno the contract does not allow fails the
 * test.
 */
enum { TM_OP_LOOKUP, TM_OP_UPDATE, TM_OP_DELETE, TM_NR_OPS };
enum { TM_RES_OK, TM_RES_ENOENT, TM_RES_OTHER, TM_NR_RES };
enum { TM_BY_TC, TM_BY_CALLBACK, TM_NR_BY };

/* Values the stress tests write are 1 modulo the map's resolution (1 or
 * a time rounded so), and a re-arm by return value keeps that: a value
 * read that is neither 0 nor that was written by no one.
 */
static inline __u64 stamp(__u64 t, __u64 res)
{
	return t / res * res + 1;
}

static inline bool stamped(__u64 v, __u64 res)
{
	return v == 0 || v % res == 1;
}

#endif
