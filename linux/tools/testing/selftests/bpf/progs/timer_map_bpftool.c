// SPDX-License-Identifier: GPL-2.0
/* A timer callback for test_bpftool_timer.sh */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

__u64 runs;

SEC("timer")
int tick(struct bpf_timer_md *ctx)
{
	__sync_fetch_and_add(&runs, 1);
	return 0;
}
