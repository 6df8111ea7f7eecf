// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark programs: the same callback body behind four kinds of timers.
 *
 *   tm_cb      SEC("timer") callback of a BPF_MAP_TYPE_TIMER map (wheel or
 *              hrtimer backend, by the map's resolution); also the program
 *              user space runs with BPF_PROG_TEST_RUN, for the timerfd
 *              variant and for the floor;
 *   u_cb       callback of upstream's struct bpf_timer in a hash map value,
 *              armed by u_arm and re-armed from the callback itself.
 *
 * Every run records its lateness (now - scheduled expiry) in a per-CPU
 * histogram, whatever the body, so all variants pay for it alike.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "bench.h"

#define CLOCK_MONOTONIC		1
#define NR_FLOWS		65536
#define MAX_LOOPS		(1 << 20)

char _license[] SEC("license") = "GPL";

enum { BODY_TRIVIAL, BODY_REALISTIC };

struct flow {
	__u64 packets;
	__u64 bytes;
	__u64 last_seen;
};

struct uelem {
	struct bpf_timer t;
	__u64 expires;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NR_FLOWS);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

/* Timer map: max_entries and map_extra (resolution) set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tmap SEC(".maps");

/* Upstream bpf_timer, one per element; max_entries set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uelem);
} uh SEC(".maps");

/* Set by user space through the skeleton. */
__u32 body = BODY_TRIVIAL;
__u32 tm_ret = 1;		/* tm_cb's return: period in resolutions */
__u64 u_period = 1000000;	/* u_cb's period, ns */
__u32 arm_start, arm_count;	/* u_arm, u_rearm, tm_rearm: ids/keys */
__u64 arm_first, arm_step;	/* expiry of key k: arm_first + k * arm_step */
__u64 arm_done;

/* Index of the most significant bit of @v, which is not 0. */
static __always_inline __u32 msb64(__u64 v)
{
	__u32 msb = 0, shift;

	for (shift = 32; shift; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			msb += shift;
		}
	}
	return msb;
}

static __always_inline void record(__u64 now, __u64 expires)
{
	struct stats *s;
	__u32 zero = 0, b, msb;
	__u64 late;

	s = bpf_map_lookup_elem(&stats, &zero);
	if (!s)
		return;
	s->fires++;
	if (now < expires) {
		s->early++;
		return;
	}
	late = now - expires;
	s->late_sum += late;
	if (late > s->late_max)
		s->late_max = late;
	/* 8 sub-buckets per power of two: 16 + (msb - 4) * 8 + sub. */
	if (late < 16) {
		b = late;
	} else {
		msb = msb64(late);
		b = 16 + (msb - 4) * 8 + ((late >> (msb - 3)) & 7);
	}
	if (b < LAT_BUCKETS)
		s->hist[b]++;
}

static __always_inline void run_body(__u32 id, __u64 expires)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0;

	record(now, expires);
	if (body == BODY_REALISTIC) {
		/* A per-flow counter, as a flow table's timer would touch. */
		__u32 key = id & (NR_FLOWS - 1);
		struct flow *f = bpf_map_lookup_elem(&flows, &key);

		if (f) {
			f->packets++;
			f->bytes += 64;
			f->last_seen = now;
		} else {
			struct flow nf = { .packets = 1, .bytes = 64, .last_seen = now };

			bpf_map_update_elem(&flows, &key, &nf, BPF_ANY);
		}
	} else {
		__u64 *c = bpf_map_lookup_elem(&counter, &zero);

		if (c)
			(*c)++;
	}
}

SEC("timer")
int tm_cb(struct bpf_timer_md *ctx)
{
	run_body(ctx->id, ctx->expires);
	return tm_ret & 0x7fffffff;
}

static int u_cb(void *map, __u32 *key, struct uelem *e)
{
	__u64 exp = e->expires, next, now;

	run_body(*key, exp);
	/* Re-arm drift-free, skipping missed periods like the timer map. */
	next = exp + u_period;
	now = bpf_ktime_get_ns();
	if (next <= now && u_period)
		next = exp + ((now - exp) / u_period + 1) * u_period;
	e->expires = next;
	bpf_timer_start(&e->t, next, BPF_F_TIMER_ABS);
	return 0;
}

/* Upstream sequence: insert the element, init, set the callback, start. */
/* (Re-)arm the bpf_timer of element @key for its slot in the spread. */
static __always_inline long u_start(struct uelem *e, __u32 key)
{
	e->expires = arm_first + key * arm_step;
	if (bpf_timer_start(&e->t, e->expires, BPF_F_TIMER_ABS))
		return 1;
	arm_done++;
	return 0;
}

static long u_arm_one(__u32 i, void *ctx)
{
	struct uelem zero = {}, *e;
	__u32 key = arm_start + i;

	if (bpf_map_update_elem(&uh, &key, &zero, BPF_NOEXIST))
		return 1;
	e = bpf_map_lookup_elem(&uh, &key);
	if (!e)
		return 1;
	if (bpf_timer_init(&e->t, &uh, CLOCK_MONOTONIC))
		return 1;
	if (bpf_timer_set_callback(&e->t, u_cb))
		return 1;
	return u_start(e, key);
}

SEC("tc")
int u_arm(struct __sk_buff *skb)
{
	bpf_loop(arm_count, u_arm_one, NULL, 0);
	return TC_ACT_OK;
}

static long u_rearm_one(__u32 i, void *ctx)
{
	__u32 key = arm_start + i;
	struct uelem *e = bpf_map_lookup_elem(&uh, &key);

	return e ? u_start(e, key) : 1;
}

SEC("tc")
int u_rearm(struct __sk_buff *skb)
{
	bpf_loop(arm_count, u_rearm_one, NULL, 0);
	return TC_ACT_OK;
}

static long tm_rearm_one(__u32 i, void *ctx)
{
	__u32 id = arm_start + i;
	__u64 exp = arm_first + id * arm_step;

	if (bpf_map_update_elem(&tmap, &id, &exp, BPF_ANY))
		return 1;
	arm_done++;
	return 0;
}

SEC("tc")
int tm_rearm(struct __sk_buff *skb)
{
	bpf_loop(arm_count, tm_rearm_one, NULL, 0);
	return TC_ACT_OK;
}
