/* SPDX-License-Identifier: GPL-2.0 */
/* The benchmark's own copy of what it needs of the timer_gc sample: the
 * types of samples/bpf/timer_gc.h (they must match the timer_gc_kern.c the
 * benchmark loads) and the table and timer set-up of timer_gc_user.c.
 *
 * The flow table is sharded: an array of hash maps (BPF_MAP_TYPE_ARRAY_OF_MAPS),
 * each shard a hash map of a few thousand flows at most, with one GC timer
 * of its own. A flow's shard is a hash of its key; a GC run walks one shard,
 * so its cost is bounded by the shard's size, not the table's.
 */
#ifndef __BENCH_TIMER_GC_H
#define __BENCH_TIMER_GC_H

#ifndef __bpf__
#include <linux/types.h>
#endif

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

/* GC statistics, one copy per CPU (BPF_MAP_TYPE_PERCPU_ARRAY gc_stats):
 * the GC timers of a CPU run one at a time, so their updates need no
 * atomics. The loader adds the counters and takes the highest maxima.
 */
struct gc_stats {
	__u64 runs;		/* callback runs */
	__u64 scanned;		/* flows looked at */
	__u64 expired;		/* flows deleted */
	__u64 late;		/* flows deleted later than their shard's previous run could have */
	__u64 live_evictions;	/* flows deleted while not idle: must stay 0 */
	__u64 max_run_ns;	/* longest single callback run */
	__u64 max_scanned;	/* most flows one run looked at */
	__u64 max_gap_ns;	/* longest time between two runs of one shard: the sweep period */
	__u64 max_overdue_ns;	/* longest a flow stayed past its timeout */
	__u32 cpus;		/* in gc_read_stats()'s sum: CPUs the GC ran on */
	__u32 pad;
};

/* Argument of the fill_flows() SEC("syscall") program: synthetic UDP flows
 * first .. first + count - 1 are seen (created if new) at idle_seen_ns for
 * idle_pct percent of them (flow i with i % 100 < idle_pct), at seen_ns for
 * the others; a time of 0 is now.
 */
struct fill_args {
	__u64 first;
	__u64 count;
	__u64 seen_ns;
	__u64 idle_seen_ns;
	__u32 idle_pct;
	__u32 pad;
	__u64 created;		/* out: flows that did not exist */
	__u64 touched;		/* out: flows that did */
	__u64 failed;		/* out: shard full */
};

/* murmur3's finaliser: every input bit affects every output bit. */
static inline __u32 gc_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* The shard of a flow: a hash of its key, mixed after each field (the
 * bytes that vary, the last octet of an address and the low byte of a
 * port in network order, sit in the top bits of a field), mapped onto
 * [0, nshards) without a division.
 */
static inline __u32 flow_shard(const struct flow_key *k, __u32 nshards)
{
	__u32 h;

	h = gc_fmix32(k->saddr ^ 0x9e3779b9U);
	h = gc_fmix32(h ^ k->daddr);
	h = gc_fmix32(h ^ ((__u32)k->sport << 16 | k->dport) ^ k->proto << 8);
	return ((__u64)h * nshards) >> 32;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define gc_be32(x)	__builtin_bswap32(x)
#define gc_be16(x)	__builtin_bswap16(x)
#else
#define gc_be32(x)	(x)
#define gc_be16(x)	(x)
#endif

/* Synthetic flow @i (fill_flows, --flows), in network byte order as the
 * data path stores keys: UDP 10.0.x.y:port -> 10.128.0.1:53.
 */
static inline void synth_flow_key(struct flow_key *k, __u64 i)
{
	k->saddr = gc_be32(0x0a000000U | (__u32)(i >> 16));
	k->daddr = gc_be32(0x0a800001U);
	k->sport = gc_be16((__u16)i);
	k->dport = gc_be16(53);
	k->proto = 17;	/* IPPROTO_UDP */
	k->pad[0] = 0;
	k->pad[1] = 0;
	k->pad[2] = 0;
}

#ifndef __bpf__
/* User space: setting the sharded table and its GC timers up, for the
 * loader and the benchmark. Functions return 0 or a negative errno.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Shards for a table of at least @max_flows flows, @shard_cap a shard:
 * enough for a full table to fill them to three quarters on average, so
 * that an uneven spread of the hash does not fill one early. That holds
 * for @shard_cap >= 512: a quarter of 1024 is 9 standard deviations of a
 * shard's share, a quarter of 512 still 6.5 (none of 42,000 shards over,
 * but for a chance of 1 in 10^6 at 16M flows). A hash map walks a power
 * of two buckets: @shard_cap is best one.
 */
static inline __u32 gc_nshards(__u64 max_flows, __u32 shard_cap)
{
	__u64 share = shard_cap - shard_cap / 4;

	return (max_flows + share - 1) / share;
}

/* Creates the @nshards hash maps of @cap flows each and puts them into the
 * array of maps @outer_fd, which keeps them: their fds are closed.
 */
static inline int gc_create_shards(int outer_fd, __u32 nshards, __u32 cap)
{
	__u32 i;
	int fd, err;

	for (i = 0; i < nshards; i++) {
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, "gc_shard",
				    sizeof(struct flow_key),
				    sizeof(struct flow_info), cap, NULL);
		if (fd < 0)
			return fd;
		err = bpf_map_update_elem(outer_fd, &i, &fd, BPF_ANY);
		close(fd);
		if (err)
			return -errno;
	}
	return 0;
}

/* Runs @fn(@i, @arg) for every shard i, on shard i's CPU: round-robin
 * over the CPUs this process may run on, the process pinned to each in
 * turn (a pinned timer stays on the CPU that arms it). Stops at the first
 * error; the affinity is restored.
 */
static inline int gc_on_shard_cpus(__u32 nshards, int (*fn)(__u32 i, void *arg),
				   void *arg)
{
	cpu_set_t all, one;
	int c, ncpus, err = 0;
	__u32 i, k;

	if (sched_getaffinity(0, sizeof(all), &all))
		return -errno;
	ncpus = CPU_COUNT(&all);
	for (c = 0, k = 0; c < CPU_SETSIZE && !err; c++) {
		if (!CPU_ISSET(c, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			err = -errno;
		for (i = k++; i < nshards && !err; i += ncpus)
			err = fn(i, arg);
	}
	if (sched_setaffinity(0, sizeof(all), &all) && !err)
		err = -errno;
	return err;
}

/* What gc_create_timers() sets up: the maps by fd, and the timers. */
struct gc_timers {
	int timer_fd;		/* gc_timer */
	int prog_fd;		/* expire_flows */
	int shard_of_fd;	/* shard_of_timer */
	int last_run_fd;	/* shard_last_run */
	__u32 nshards;
	__u64 first_ns;		/* first expiry of shard 0 */
	__u64 interval_ns;
	__u32 *ids;		/* out: shard i's timer id */
};

static inline int gc_create_timer(__u32 i, void *arg)
{
	LIBBPF_OPTS(bpf_timer_create_opts, opts, .flags = BPF_F_TIMER_CPU_PIN);
	struct gc_timers *t = arg;
	__u64 exp, prev;
	int id;

	id = bpf_timer_create(t->timer_fd, t->prog_fd, &opts);
	if (id < 0)
		return id;
	t->ids[i] = id;
	/* interval_ns * i / nshards, without overflow */
	exp = t->first_ns + t->interval_ns / t->nshards * i +
	      t->interval_ns % t->nshards * i / t->nshards;
	prev = exp > t->interval_ns ? exp - t->interval_ns : 0;
	if (bpf_map_update_elem(t->shard_of_fd, &t->ids[i], &i, BPF_ANY) ||
	    bpf_map_update_elem(t->last_run_fd, &i, &prev, BPF_ANY) ||
	    bpf_map_update_elem(t->timer_fd, &t->ids[i], &exp, BPF_EXIST))
		return -errno;
	return 0;
}

/* Creates the GC timer of each shard in gc_timer, created disarmed and
 * pinned (BPF_F_TIMER_CPU_PIN) round-robin to the CPUs. Shard i first
 * fires at first_ns + interval_ns * i / nshards (absolute
 * CLOCK_MONOTONIC): the runs are spread over the interval. Before the
 * timer is armed, its id goes into shard_of_timer, and shard_last_run gets
 * one interval before its first expiry, so that its first run is judged
 * like the others.
 */
static inline int gc_create_timers(struct gc_timers *t)
{
	return gc_on_shard_cpus(t->nshards, gc_create_timer, t);
}

static inline int gc_fire_timer(__u32 i, void *arg)
{
	const struct gc_timers *t = arg;
	__u64 past = 1;		/* already past: fire as soon as possible */

	if (bpf_map_update_elem(t->timer_fd, &t->ids[i], &past, BPF_EXIST))
		return -errno;
	return 0;
}

/* Re-arms every shard's timer to fire at once, each from its own CPU. */
static inline int gc_fire_all(struct gc_timers *t)
{
	return gc_on_shard_cpus(t->nshards, gc_fire_timer, t);
}

static inline __u64 gc_max(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

/* The GC statistics of all CPUs: counters added, maxima the highest. */
static inline int gc_read_stats(int stats_fd, struct gc_stats *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	struct gc_stats *v;
	__u32 zero = 0;
	int c, err = 0;

	if (ncpus < 0)
		return ncpus;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(stats_fd, &zero, v)) {
		err = -errno;
		goto out;
	}
	for (c = 0; c < ncpus; c++) {
		sum->runs += v[c].runs;
		sum->cpus += v[c].runs > 0;
		sum->scanned += v[c].scanned;
		sum->expired += v[c].expired;
		sum->late += v[c].late;
		sum->live_evictions += v[c].live_evictions;
		sum->max_run_ns = gc_max(sum->max_run_ns, v[c].max_run_ns);
		sum->max_scanned = gc_max(sum->max_scanned, v[c].max_scanned);
		sum->max_gap_ns = gc_max(sum->max_gap_ns, v[c].max_gap_ns);
		sum->max_overdue_ns = gc_max(sum->max_overdue_ns,
					     v[c].max_overdue_ns);
	}
out:
	free(v);
	return err;
}

/* Runs fill_flows() (@prog_fd) over flows @first .. @first + @count - 1,
 * at most a million a run (bpf_loop() allows 8 million); adds what it did
 * to @out's created, touched and failed.
 */
static inline int gc_fill(int prog_fd, __u64 first, __u64 count, __u64 seen_ns,
			  __u64 idle_seen_ns, __u32 idle_pct, struct fill_args *out)
{
	struct fill_args a;
	/* A syscall program's context is copied back to ctx_in. */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a,
		    .ctx_size_in = sizeof(a));
	__u64 done;
	int err;

	for (done = 0; done < count; done += a.count) {
		memset(&a, 0, sizeof(a));
		a.first = first + done;
		a.count = count - done < 1000000 ? count - done : 1000000;
		a.seen_ns = seen_ns;
		a.idle_seen_ns = idle_seen_ns;
		a.idle_pct = idle_pct;
		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err)
			return err;
		if (opts.retval)
			return -EINVAL;
		/* Every flow of the range seen once, or the run stopped. */
		if (a.created + a.touched + a.failed != a.count)
			return -EIO;
		out->created += a.created;
		out->touched += a.touched;
		out->failed += a.failed;
	}
	return 0;
}
#endif /* __bpf__ */

#endif /* __BENCH_TIMER_GC_H */
