// SPDX-License-Identifier: GPL-2.0
/* Programs the verifier must reject or accept around BPF_MAP_TYPE_TIMER. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} timers SEC(".maps");

SEC("tc")
__failure __msg("timer map values are read-only")
int write_value(struct __sk_buff *skb)
{
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	if (v)
		*v = 1;
	return 0;
}

SEC("tc")
__failure __msg("timer map values are read-only")
int atomic_value(struct __sk_buff *skb)
{
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("tc")
__success
int read_value(struct __sk_buff *skb)
{
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	return v ? (*v != 0) : 0;
}

/* What each program type below does with the map */
static __always_inline int use_map(void)
{
	__u32 id = 0;

	bpf_map_delete_elem(&timers, &id);
	return 0;
}

/* No helper writes into a timer map value either. */
SEC("tc")
__failure __msg("timer map values are read-only")
int probe_read_into_value(struct __sk_buff *skb)
{
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	if (v)
		bpf_probe_read_kernel(v, sizeof(*v), skb);
	return 0;
}

SEC("tc")
__failure __msg("timer map values are read-only")
int dynptr_on_value(struct __sk_buff *skb)
{
	struct bpf_dynptr d;
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id), x = 1;

	if (!v)
		return 0;
	bpf_dynptr_from_mem(v, sizeof(*v), 0, &d);
	bpf_dynptr_write(&d, 0, &x, sizeof(x), 0);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u64);
} queue SEC(".maps");

SEC("tc")
__failure __msg("timer map values are read-only")
int pop_into_value(struct __sk_buff *skb)
{
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	if (v)
		bpf_map_pop_elem(&queue, v);
	return 0;
}

SEC("tc")
__failure __msg("timer map values are read-only")
int strtol_into_value(struct __sk_buff *skb)
{
	char buf[4] = "42";
	__u32 id = 0;
	__u64 *v = bpf_map_lookup_elem(&timers, &id);

	if (v)
		bpf_strtol(buf, sizeof(buf), 0, (long *)v);
	return 0;
}

/* Iterators run in process context: they may use timer maps. */
SEC("iter/bpf_map")
__success
int iter_uses_map(struct bpf_iter__bpf_map *ctx)
{
	return use_map();
}

SEC("syscall")
__failure __msg("syscall progs cannot use timer maps")
int syscall_uses_map(void *ctx)
{
	return use_map();
}

/* Program types that may run with timer base locks held, or in NMI. */
SEC("tp/sched/sched_switch")
__failure __msg("tracing progs cannot use timer maps")
int tracepoint_uses_map(void *ctx)
{
	return use_map();
}

SEC("raw_tp/sched_switch")
__failure __msg("tracing progs cannot use timer maps")
int raw_tp_uses_map(void *ctx)
{
	return use_map();
}

SEC("tp_btf/sched_switch")
__failure __msg("tracing progs cannot use timer maps")
int BPF_PROG(tp_btf_uses_map, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return use_map();
}

SEC("perf_event")
__failure __msg("tracing progs cannot use timer maps")
int perf_event_uses_map(void *ctx)
{
	return use_map();
}

SEC("fexit/bpf_fentry_test1")
__failure __msg("tracing progs cannot use timer maps")
int BPF_PROG(fexit_uses_map, int a, int ret)
{
	return use_map();
}

SEC("fmod_ret/bpf_modify_return_test")
__failure __msg("tracing progs cannot use timer maps")
int BPF_PROG(fmod_ret_uses_map, int a, int *b, int ret)
{
	return use_map();
}

SEC("kprobe/do_nanosleep")
__failure __msg("tracing progs cannot use timer maps")
int kprobe_uses_map(void *ctx)
{
	return use_map();
}

SEC("fentry/bpf_fentry_test1")
__failure __msg("tracing progs cannot use timer maps")
int BPF_PROG(fentry_uses_map, int a)
{
	return use_map();
}

SEC("timer")
__failure __msg("should have been in [0, 2147483647]")
int negative_ret(struct bpf_timer_md *ctx)
{
	return -1;
}

SEC("timer")
__failure __msg("should have been in [0, 2147483647]")
int unbounded_ret(struct bpf_timer_md *ctx)
{
	return bpf_get_prandom_u32();
}

SEC("timer")
__failure __msg("invalid bpf_context access")
int write_ctx(struct bpf_timer_md *ctx)
{
	ctx->id = 1;
	return 0;
}

SEC("timer")
__failure __msg("invalid bpf_context access")
int read_past_ctx(struct bpf_timer_md *ctx)
{
	return *(__u32 *)((void *)ctx + sizeof(*ctx));
}

SEC("timer")
__success
int read_ctx(struct bpf_timer_md *ctx)
{
	return (ctx->id + ctx->cpu + ctx->expires) & 1;
}

/* The return value is checked on all 64 bits of r0. */
SEC("timer")
__success
__naked int ret_int_max(void)
{
	asm volatile ("r0 = 0x7fffffff;"
		      "exit;"
		      ::: __clobber_all);
}

SEC("timer")
__failure __msg("should have been in [0, 2147483647]")
__naked int ret_int_max_plus_one(void)
{
	asm volatile ("r0 = 0x80000000 ll;"
		      "exit;"
		      ::: __clobber_all);
}

SEC("timer")
__failure __msg("should have been in [0, 2147483647]")
__naked int ret_high_bits(void)
{
	asm volatile ("r0 = 0x100000001 ll;"
		      "exit;"
		      ::: __clobber_all);
}

/* LSM programs run in process context: they may use timer maps, unless
 * they are sleepable.
 */
SEC("lsm/bpf")
__success
int BPF_PROG(lsm_uses_map, int cmd)
{
	return use_map();
}

SEC("lsm.s/bpf")
__failure __msg("Sleepable programs can only use array, hash, ringbuf and local storage maps")
int BPF_PROG(lsm_sleepable_uses_map, int cmd)
{
	return use_map();
}

static long count_cb(struct bpf_map *map, __u32 *key, __u64 *val, void *ctx)
{
	return 0;
}

/* Timer maps have no map_for_each_callback. */
SEC("tc")
__failure __msg("callback function not allowed for map")
int map_elem_iteration(struct __sk_buff *skb)
{
	bpf_for_each_map_elem(&timers, count_cb, NULL, 0);
	return 0;
}
