// SPDX-License-Identifier: GPL-2.0
/* Connection tracking style flow table, garbage collected from a timer map.
 *
 * track_flows(), a tc program, records the IPv4 TCP and UDP flows it sees in
 * a hash map keyed by their 5-tuple as seen on the wire (so one entry per
 * direction), with first and last packet times, packet and byte counts and,
 * for TCP, a coarse state: opening (SYN seen), established, or closing
 * (FIN or RST seen).
 *
 * expire_flows() is the callback of a BPF_MAP_TYPE_TIMER timer that
 * timer_gc_user.c creates. Each run walks the table and deletes the flows
 * idle for longer than the timeout of their protocol and state, then returns
 * the GC interval so that the timer fires again one interval later. No user
 * space process polls the table.
 *
 * The timeouts follow nf_conntrack's defaults and are set by the loader
 * before the object is loaded.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK	0
#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define IP_OFFSET	0x1fff
#define S32_MAX		0x7fffffff
#define U64_MAX		(~0ULL)
#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

#define READ_ONCE(x)		(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))

enum flow_state {
	FLOW_NEW,		/* TCP: SYN seen, handshake not completed */
	FLOW_ESTABLISHED,	/* TCP: handshake completed; all UDP flows */
	FLOW_CLOSING,		/* TCP: FIN or RST seen */
};

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_info {
	__u64 first_seen;	/* bpf_ktime_get_ns() of the first packet */
	__u64 last_seen;	/* and of the last one */
	__u64 packets;
	__u64 bytes;
	__u32 state;		/* enum flow_state */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);	/* set by the loader, --max-flows */
	__type(key, struct flow_key);
	__type(value, struct flow_info);
} flows SEC(".maps");

/* The GC timer. A resolution of 1 ms, one jiffy or more with HZ <= 1000,
 * puts it on the timer wheel: GC does not need high resolution timers.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, NSEC_PER_MSEC);
} gc_timer SEC(".maps");

/* Configuration, set by the loader before load. */
const volatile __u64 udp_timeout_ns = 30 * NSEC_PER_SEC;
const volatile __u64 tcp_timeout_ns = 5 * 24 * 3600 * NSEC_PER_SEC;
const volatile __u64 tcp_short_timeout_ns = 120 * NSEC_PER_SEC;
const volatile __u32 gc_period = 1000;	/* in units of gc_timer's resolution */

/* Statistics, read by the loader. The counters are updated atomically; the
 * gc_* fields have a single writer, the one GC timer, whose runs never
 * overlap.
 */
__u64 flows_created;
__u64 flows_expired;
__u64 flows_active;		/* in the table: created - expired */
__u64 insert_failed;		/* new flows not recorded: table full */
__u64 live_evictions;		/* flows deleted while not idle: must stay 0 */
__u64 late_expirations;		/* flows that outlived a run past their timeout */
__u64 gc_runs;
__u64 gc_scanned;		/* flows looked at by the last run */
__u64 gc_max_overdue_ns;	/* longest a flow stayed past its timeout */
__u64 gc_max_gap_ns;		/* longest time between the starts of two runs */
__u64 gc_last_start_ns;		/* set by the loader when it arms the timer */

char _license[] SEC("license") = "GPL";

static __always_inline __u64 flow_timeout(const struct flow_key *key,
					  const struct flow_info *flow)
{
	if (key->proto == IPPROTO_UDP)
		return udp_timeout_ns;
	if (READ_ONCE(flow->state) == FLOW_ESTABLISHED)
		return tcp_timeout_ns;
	return tcp_short_timeout_ns;
}

/* A flow last seen at @last is idle at @now if more than @timeout passed.
 * @last may be ahead of @now: the data path runs concurrently on other CPUs.
 */
static __always_inline bool flow_idle(__u64 last, __u64 now, __u64 timeout)
{
	return now > last && now - last > timeout;
}

/* A small subset of nf_conntrack's TCP state machine, one direction only. */
static __always_inline __u32 tcp_next_state(__u32 state,
					    const struct tcphdr *th)
{
	if (th->rst || th->fin)
		return FLOW_CLOSING;
	if (th->syn)
		return FLOW_NEW;
	if (state == FLOW_NEW && th->ack)
		return FLOW_ESTABLISHED;
	return state;
}

SEC("tc")
int track_flows(struct __sk_buff *skb)
{
	struct flow_key key = {};
	struct flow_info *flow;
	struct tcphdr th = {};
	struct ethhdr eth;
	struct iphdr iph;
	struct udphdr uh;
	__u32 state = FLOW_ESTABLISHED;
	__u32 l4_off;
	__u64 now;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) ||
	    eth.h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &iph, sizeof(iph)) ||
	    iph.version != 4 || iph.ihl < 5)
		return TC_ACT_OK;
	/* Only the first fragment carries the ports. */
	if (iph.frag_off & bpf_htons(IP_OFFSET))
		return TC_ACT_OK;

	key.saddr = iph.saddr;
	key.daddr = iph.daddr;
	key.proto = iph.protocol;
	l4_off = ETH_HLEN + iph.ihl * 4;
	switch (iph.protocol) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, l4_off, &th, sizeof(th)))
			return TC_ACT_OK;
		key.sport = th.source;
		key.dport = th.dest;
		/* A flow picked up mid-stream counts as established. */
		state = tcp_next_state(FLOW_ESTABLISHED, &th);
		break;
	case IPPROTO_UDP:
		if (bpf_skb_load_bytes(skb, l4_off, &uh, sizeof(uh)))
			return TC_ACT_OK;
		key.sport = uh.source;
		key.dport = uh.dest;
		break;
	default:
		return TC_ACT_OK;
	}

	now = bpf_ktime_get_ns();
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow) {
		struct flow_info new = {
			.first_seen = now,
			.last_seen = now,
			.packets = 1,
			.bytes = skb->len,
			.state = state,
		};

		if (!bpf_map_update_elem(&flows, &key, &new, BPF_NOEXIST)) {
			__sync_fetch_and_add(&flows_created, 1);
			__sync_fetch_and_add(&flows_active, 1);
			return TC_ACT_OK;
		}
		/* Another CPU created it first, or the table is full. */
		flow = bpf_map_lookup_elem(&flows, &key);
		if (!flow) {
			__sync_fetch_and_add(&insert_failed, 1);
			return TC_ACT_OK;
		}
	}

	WRITE_ONCE(flow->last_seen, now);
	__sync_fetch_and_add(&flow->packets, 1);
	__sync_fetch_and_add(&flow->bytes, skb->len);
	/* Racing updates of the state from two CPUs are harmless. */
	if (key.proto == IPPROTO_TCP)
		WRITE_ONCE(flow->state, tcp_next_state(flow->state, &th));
	return TC_ACT_OK;
}

/* What expire_flow() needs to know about the run, read only. It updates the
 * global counters directly: counters on the stack would be constants to the
 * verifier, which would then check expire_flow() once per possible value,
 * and give up.
 */
struct gc_ctx {
	__u64 now;		/* start of the run */
	__u64 gap;		/* time since the start of the previous run */
};

static long expire_flow(struct bpf_map *map, const struct flow_key *key,
			struct flow_info *flow, struct gc_ctx *ctx)
{
	__u64 first = flow->first_seen;
	__u64 last = READ_ONCE(flow->last_seen);
	__u64 timeout = flow_timeout(key, flow);
	__u64 overdue;

	if (!flow_idle(last, ctx->now, timeout))
		return 0;
	if (bpf_map_delete_elem(map, key))
		return 0;
	__sync_fetch_and_add(&flows_expired, 1);
	__sync_fetch_and_sub(&flows_active, 1);

	overdue = ctx->now - last - timeout;
	if (overdue > gc_max_overdue_ns)
		gc_max_overdue_ns = overdue;
	/* Idle past its timeout already when the previous run started. */
	if (overdue > ctx->gap)
		__sync_fetch_and_add(&late_expirations, 1);
	/* A packet may have refreshed the flow between the check and the
	 * delete. The element stays readable until the end of the walk; if
	 * a new flow took it over meanwhile, its first_seen differs.
	 */
	if (READ_ONCE(flow->first_seen) == first &&
	    !flow_idle(READ_ONCE(flow->last_seen), bpf_ktime_get_ns(),
		       flow_timeout(key, flow)))
		__sync_fetch_and_add(&live_evictions, 1);
	return 0;
}

SEC("timer")
int expire_flows(struct bpf_timer_md *md)
{
	__u64 prev = gc_last_start_ns;
	struct gc_ctx ctx;
	long scanned;

	ctx.now = bpf_ktime_get_ns();
	ctx.gap = prev && prev < ctx.now ? ctx.now - prev : U64_MAX;
	if (prev && ctx.gap > gc_max_gap_ns)
		gc_max_gap_ns = ctx.gap;
	gc_last_start_ns = ctx.now;

	scanned = bpf_for_each_map_elem(&flows, expire_flow, &ctx, 0);
	gc_scanned = scanned > 0 ? scanned : 0;
	__sync_fetch_and_add(&gc_runs, 1);

	/* Run again gc_period resolutions after this run was due. */
	return gc_period < S32_MAX ? gc_period : S32_MAX;
}
