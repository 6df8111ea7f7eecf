// SPDX-License-Identifier: GPL-2.0
/* Connection tracking style flow table, garbage collected from timer map
 * timers, sharded so that no GC run walks more than one shard.
 *
 * track_flows(), a tc program, records the IPv4 TCP and UDP flows it sees
 * in a flow table keyed by their 5-tuple as seen on the wire (so one entry
 * per direction), with first and last packet times, packet and byte counts
 * and, for TCP, a coarse state: opening (SYN seen), established, or closing
 * (FIN or RST seen).
 *
 * The table is an array of hash maps, the shards (see timer_gc.h); a flow
 * lives in the shard its key hashes to. The data path costs one array-of-maps
 * lookup, which the verifier inlines to an array index, on top of the one
 * hash lookup per packet of an unsharded table.
 *
 * expire_flows() is the callback of the GC timers that timer_gc_user.c
 * creates in a BPF_MAP_TYPE_TIMER map, one per shard, pinned round-robin to
 * the CPUs and staggered over the GC interval. A run finds its shard from
 * its timer's id, walks that shard only and deletes the flows idle for
 * longer than the timeout of their protocol and state, then returns the GC
 * interval so that the timer fires again one interval later: every shard is
 * swept once per interval, and one run costs at most a shard's worth of
 * flows however large the table. No user space process polls the table.
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

#include "timer_gc.h"

/* One shard of the flow table; the loader creates them, of the size it
 * computes from --max-flows and --shard-flows.
 */
struct flow_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_info);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* the number of shards, set by the loader */
	__type(key, __u32);
	__array(values, struct flow_table);
} shards SEC(".maps");

/* GC timer id -> its shard, written by the loader before it arms the timer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);		/* the number of shards */
	__type(key, __u32);
	__type(value, __u32);
} shard_of_timer SEC(".maps");

/* Start of the previous GC run of each shard, ns. Only that shard's timer
 * writes it, and the runs of one timer never overlap.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* the number of shards */
	__type(key, __u32);
	__type(value, __u64);
} shard_last_run SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gc_stats);
} gc_stats SEC(".maps");

/* The GC timers, one per shard. A resolution of 10 ms, at least one jiffy
 * for HZ >= 100, puts them on the timer wheel: GC does not need high
 * resolution timers.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TIMER);
	__uint(max_entries, 1);		/* the number of shards */
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_extra, 10 * NSEC_PER_MSEC);
} gc_timer SEC(".maps");

/* Configuration, set by the loader before load. */
const volatile __u64 udp_timeout_ns = 30 * NSEC_PER_SEC;
const volatile __u64 tcp_timeout_ns = 5 * 24 * 3600 * NSEC_PER_SEC;
const volatile __u64 tcp_short_timeout_ns = 120 * NSEC_PER_SEC;
const volatile __u32 gc_period = 1000;	/* in units of gc_timer's resolution */
const volatile __u32 nshards = 1;

/* Statistics of the data path, read by the loader, updated atomically;
 * the GC's are in gc_stats.
 */
__u64 flows_created;
__u64 flows_expired;
__u64 flows_active;		/* in the table: created - expired */
__u64 insert_failed;		/* new flows not recorded: shard full */

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
	void *table;
	__u32 shard;
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

	shard = flow_shard(&key, nshards);
	table = bpf_map_lookup_elem(&shards, &shard);
	if (!table)
		return TC_ACT_OK;	/* the loader has not set the shards up yet */

	now = bpf_ktime_get_ns();
	flow = bpf_map_lookup_elem(table, &key);
	if (!flow) {
		struct flow_info new = {
			.first_seen = now,
			.last_seen = now,
			.packets = 1,
			.bytes = skb->len,
			.state = state,
		};

		if (!bpf_map_update_elem(table, &key, &new, BPF_NOEXIST)) {
			__sync_fetch_and_add(&flows_created, 1);
			__sync_fetch_and_add(&flows_active, 1);
			return TC_ACT_OK;
		}
		/* Another CPU created it first, or the shard is full. */
		flow = bpf_map_lookup_elem(table, &key);
		if (!flow) {
			__sync_fetch_and_add(&insert_failed, 1);
			return TC_ACT_OK;
		}
	}

	/* The GC may delete the flow between the lookup and these writes (a
	 * packet arriving just as the flow expires), and a preallocated
	 * element can be reused at once by a new flow, which then counts this
	 * packet and takes this state: a rare miscount that a sample accepts
	 * (a conntrack holds a reference instead).
	 */
	WRITE_ONCE(flow->last_seen, now);
	__sync_fetch_and_add(&flow->packets, 1);
	__sync_fetch_and_add(&flow->bytes, skb->len);
	/* Racing updates of the state from two CPUs are harmless. */
	if (key.proto == IPPROTO_TCP)
		WRITE_ONCE(flow->state, tcp_next_state(flow->state, &th));
	return TC_ACT_OK;
}

/* Synthetic flows (timer_gc --flows N, the benchmark): fill_flows() runs
 * fill_one() for each flow of a range, from bpf(BPF_PROG_RUN). A flow that
 * exists is seen again, as a packet would see it; a new one is created.
 * The time they are seen at is given for the benchmark, whose results must
 * not depend on how long a fill takes.
 */
struct fill_ctx {
	struct fill_args *args;	/* bpf_loop() wants its context on the stack */
};

static long fill_one(__u64 i, struct fill_ctx *ctx)
{
	struct fill_args *args = ctx->args;
	struct flow_info new = {};
	struct flow_info *flow;
	struct flow_key key;
	__u64 n = args->first + i;
	__u64 seen = args->seen_ns;
	__u32 shard;
	void *table;

	if (n % 100 < args->idle_pct)
		seen = args->idle_seen_ns;
	if (!seen)
		seen = bpf_ktime_get_ns();

	synth_flow_key(&key, n);
	shard = flow_shard(&key, nshards);
	table = bpf_map_lookup_elem(&shards, &shard);
	if (!table)
		return 1;
	flow = bpf_map_lookup_elem(table, &key);
	if (flow) {
		WRITE_ONCE(flow->last_seen, seen);
		__sync_fetch_and_add(&flow->packets, 1);
		args->touched++;
		return 0;
	}
	new.first_seen = seen;
	new.last_seen = seen;
	new.packets = 1;
	new.state = FLOW_ESTABLISHED;
	if (bpf_map_update_elem(table, &key, &new, BPF_NOEXIST)) {
		args->failed++;
		__sync_fetch_and_add(&insert_failed, 1);
		return 0;
	}
	args->created++;
	__sync_fetch_and_add(&flows_created, 1);
	__sync_fetch_and_add(&flows_active, 1);
	return 0;
}

SEC("syscall")
int fill_flows(struct fill_args *args)
{
	struct fill_ctx ctx = { .args = args };

	if (bpf_loop(args->count, fill_one, &ctx, 0) < 0)
		return -1;
	return 0;
}

/* What expire_flow() needs to know about the run. It counts into the
 * per-CPU statistics directly: counters on the stack would be constants to
 * the verifier, which would then check expire_flow() once per possible
 * value, and give up.
 */
struct gc_ctx {
	__u64 now;		/* start of the run */
	__u64 gap;		/* time since the start of the shard's previous run */
	struct gc_stats *st;
};

/* expire_flow() for an idle flow: out of line, so that the walk's callback
 * needs no callee-saved registers. Saving and restoring them would cost
 * every flow, the live ones too, about ten instructions: a tenth of the
 * sweep.
 */
static __noinline long expire_idle(struct bpf_map *map,
				   const struct flow_key *key,
				   struct flow_info *flow, struct gc_ctx *ctx,
				   __u64 last)
{
	__u64 timeout = flow_timeout(key, flow);
	/* Before the delete: a deleted element may be reused at once. */
	__u64 first = READ_ONCE(flow->first_seen);
	struct gc_stats *st = ctx->st;
	__u64 overdue;

	if (bpf_map_delete_elem(map, key))
		return 0;
	__sync_fetch_and_add(&flows_expired, 1);
	__sync_fetch_and_sub(&flows_active, 1);
	st->expired++;

	/* Idle past its timeout already when the shard's previous run
	 * started: that run should have taken it. The first run of a shard
	 * has no previous one (gap U64_MAX) and is never late.
	 */
	overdue = ctx->now - last - timeout;
	if (ctx->gap != U64_MAX && overdue > st->max_overdue_ns)
		st->max_overdue_ns = overdue;
	if (overdue > ctx->gap)
		st->late++;
	/* A packet may have refreshed the flow between the check and the
	 * delete. The element stays readable until the end of the walk; if
	 * a new flow took it over meanwhile, its first_seen differs.
	 */
	if (READ_ONCE(flow->first_seen) == first &&
	    !flow_idle(READ_ONCE(flow->last_seen), bpf_ktime_get_ns(),
		       flow_timeout(key, flow)))
		st->live_evictions++;
	return 0;
}

static long expire_flow(struct bpf_map *map, const struct flow_key *key,
			struct flow_info *flow, struct gc_ctx *ctx)
{
	__u64 last = READ_ONCE(flow->last_seen);

	/* Most flows are live: nothing else is done for them. */
	if (!flow_idle(last, ctx->now, flow_timeout(key, flow)))
		return 0;
	return expire_idle(map, key, flow, ctx, last);
}

SEC("timer")
int expire_flows(struct bpf_timer_md *md)
{
	__u32 period = gc_period < S32_MAX ? gc_period : S32_MAX;
	__u64 *last_run, prev, run_ns;
	struct gc_ctx ctx;
	__u32 *shard, id = md->id, zero = 0;
	long scanned;
	void *table;

	shard = bpf_map_lookup_elem(&shard_of_timer, &id);
	if (!shard)
		return period;		/* not set up yet */
	table = bpf_map_lookup_elem(&shards, shard);
	last_run = bpf_map_lookup_elem(&shard_last_run, shard);
	ctx.st = bpf_map_lookup_elem(&gc_stats, &zero);
	if (!table || !last_run || !ctx.st)
		return period;

	ctx.now = bpf_ktime_get_ns();
	prev = *last_run;
	ctx.gap = prev && prev < ctx.now ? ctx.now - prev : U64_MAX;
	if (prev && ctx.gap > ctx.st->max_gap_ns)
		ctx.st->max_gap_ns = ctx.gap;
	*last_run = ctx.now;

	scanned = bpf_for_each_map_elem(table, expire_flow, &ctx, 0);
	if (scanned > 0) {
		ctx.st->scanned += scanned;
		if (scanned > ctx.st->max_scanned)
			ctx.st->max_scanned = scanned;
	}
	ctx.st->runs++;
	run_ns = bpf_ktime_get_ns() - ctx.now;
	if (run_ns > ctx.st->max_run_ns)
		ctx.st->max_run_ns = run_ns;

	/* Run again gc_period resolutions after this run was due. */
	return period;
}
