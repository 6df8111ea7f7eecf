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

SEC("kprobe/do_nanosleep")
__failure __msg("tracing progs cannot use timer maps")
int kprobe_uses_map(void *ctx)
{
	__u32 id = 0;

	bpf_map_delete_elem(&timers, &id);
	return 0;
}

SEC("fentry/bpf_fentry_test1")
__failure __msg("tracing progs cannot use timer maps")
int BPF_PROG(fentry_uses_map, int a)
{
	__u32 id = 0;

	bpf_map_delete_elem(&timers, &id);
	return 0;
}

SEC("timer")
__failure __msg("should have been in [0, 2147483647]")
int negative_ret(struct bpf_timer_md *ctx)
{
	return -1;
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
