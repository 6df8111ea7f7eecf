/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by progs/timer_map.c and prog_tests/timer_map.c */
#ifndef __TIMER_MAP_COMMON_H
#define __TIMER_MAP_COMMON_H

#define MAX_IDS 64
#define HIST 8

enum timer_action {
	ACT_NONE,
	ACT_DELETE_SELF,	/* bpf_map_delete_elem() on its own id */
	ACT_DELETE_OTHER,	/* ... on target[id] */
	ACT_REARM_SELF,		/* update own expiry to now + arg[id] */
	ACT_DISARM_SELF,	/* update own expiry to 0 */
};

enum timer_map_op {
	TOP_LOOKUP = 1,
	TOP_UPDATE,
	TOP_DELETE,
};

/* Set by user space, per timer id */
struct timer_cfg {
	__u32 action;		/* enum timer_action */
	__u32 target;		/* id for ACT_DELETE_OTHER */
	__u64 arg;		/* delay for ACT_REARM_SELF */
	__u64 max_runs;		/* return 0 once count reaches it */
	__u32 period;		/* return value */
	__u32 pad;
};

struct run_info {
	__u64 count;
	__u64 expires[HIST];	/* ctx->expires of the first HIST runs */
	__u64 fired_at;		/* bpf_ktime_get_ns() of the last run */
	__u64 last_expires;
	__u32 id;
	__u32 cpu;
	__s64 op_err;		/* what the action's helper returned */
};

#endif
