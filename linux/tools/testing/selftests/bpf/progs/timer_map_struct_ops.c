// SPDX-License-Identifier: GPL-2.0
/* A TCP congestion control in BPF that arms a timer when a connection
 * starts using it: struct_ops programs may use timer maps.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, 1000000);	/* 1 ms */
} ca_timers SEC(".maps");

__u64 inits, init_err = 1, fired;

SEC("timer")
int ca_cb(struct bpf_timer_md *ctx)
{
	__sync_fetch_and_add(&fired, 1);
	return 0;
}

/* called with the socket locked, in process or softirq context */
SEC("struct_ops")
void BPF_PROG(tm_init, struct sock *sk)
{
	__u64 now = 1;	/* long past: due at once */
	__u32 id = 0;

	init_err = bpf_map_update_elem(&ca_timers, &id, &now, BPF_EXIST);
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops")
__u32 BPF_PROG(tm_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops")
void BPF_PROG(tm_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(tm_undo_cwnd, struct sock *sk)
{
	return 2;
}

SEC(".struct_ops")
struct tcp_congestion_ops tm_ca = {
	.init = (void *)tm_init,
	.ssthresh = (void *)tm_ssthresh,
	.cong_avoid = (void *)tm_cong_avoid,
	.undo_cwnd = (void *)tm_undo_cwnd,
	.name = "bpf_tm_ca",
};
