// SPDX-License-Identifier: GPL-2.0
/* Loader of timer_gc_kern.c: sets up the sharded flow table, attaches the
 * flow tracker to a device's tc ingress hook (or fills the table with
 * synthetic flows, --flows), creates one garbage collection timer per shard
 * in a BPF_MAP_TYPE_TIMER map and reports what the collector does: the
 * longest single callback run and the sweep period achieved.
 *
 * On exit the tracker is detached and the timers deleted before the final
 * counters are read, so that they are a consistent snapshot (packets still
 * in flight through the detached program aside):
 * created == expired + flows left in the table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* sched_setaffinity() */
#endif
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "timer_gc.h"
#include "timer_gc.skel.h"

#define NSEC_PER_USEC	1000ULL
#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL
#define MSEC_PER_DAY	(24 * 3600 * 1000ULL)

struct config {
	const char *dev;
	__u64 max_flows;
	__u64 shard_flows;
	__u64 flows;		/* synthetic flows, instead of a device */
	__u64 keep;		/* of which kept alive for duration_s */
	__u64 udp_timeout_ms;
	__u64 tcp_timeout_ms;
	__u64 tcp_short_timeout_ms;
	__u64 interval_ms;
	__u64 duration_s;
	bool quiet;
};

#define NO_TIMER	UINT32_MAX	/* timer ids are below 2^31 */

/* The table and its timers, once set up. */
struct gc {
	struct timer_gc *skel;
	__u32 nshards;
	__u32 shard_cap;
	__u32 *ids;		/* GC timer of each shard, NO_TIMER if none */
	__u64 last_touch;	/* --keep: when the kept flows were last seen */
	__u64 max_touch_gap;	/* and the longest time between two of those */
	int timer_fd;
	int stats_fd;
};

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: timer_gc --dev IFNAME [OPTIONS]\n"
		"       timer_gc --flows N [--keep K] [OPTIONS]\n"
		"\n"
		"Track the IPv4 TCP and UDP flows received on IFNAME in a sharded BPF flow\n"
		"table and delete idle ones from the callbacks of BPF_MAP_TYPE_TIMER timers,\n"
		"one per shard, pinned round-robin to the CPUs: a GC run walks one shard.\n"
		"With --flows, no device: the table is filled with N synthetic UDP flows,\n"
		"K of them kept alive for --duration seconds; then it drains, and timer_gc\n"
		"exits once it is empty.\n"
		"\n"
		"  -d, --dev IFNAME            attach to the tc ingress hook of IFNAME\n"
		"  -n, --flows N               fill the table with N synthetic flows\n"
		"  -k, --keep K                keep the first K of them alive (0)\n"
		"  -m, --max-flows N           size of the flow table (65536, or --flows)\n"
		"  -S, --shard-flows N         flows a shard holds, at least 512 (1024)\n"
		"  -u, --udp-timeout MS        UDP idle timeout (30000)\n"
		"  -t, --tcp-timeout MS        established TCP idle timeout (432000000: 5 days)\n"
		"  -s, --tcp-short-timeout MS  TCP timeout while opening or closing (120000)\n"
		"  -i, --interval MS           sweep period: every shard once per interval (1000)\n"
		"  -D, --duration S            run time, 0: until SIGINT or SIGTERM (0);\n"
		"                              with --flows, how long the kept flows live\n"
		"  -q, --quiet                 no line per second, only the summary\n"
		"  -h, --help                  show this help\n");
}

/* Parse @arg, the argument of option @name, as an integer in [@min, @max]. */
static int parse_u64(const char *name, const char *arg, __u64 min, __u64 max,
		     __u64 *val)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr,
			"timer_gc: --%s: '%s' is not an integer in [%llu, %llu]\n",
			name, arg, (unsigned long long)min,
			(unsigned long long)max);
		return -EINVAL;
	}
	*val = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "flows", required_argument, NULL, 'n' },
		{ "keep", required_argument, NULL, 'k' },
		{ "max-flows", required_argument, NULL, 'm' },
		{ "shard-flows", required_argument, NULL, 'S' },
		{ "udp-timeout", required_argument, NULL, 'u' },
		{ "tcp-timeout", required_argument, NULL, 't' },
		{ "tcp-short-timeout", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt, idx, err = 0;

	while ((opt = getopt_long(argc, argv, "d:n:k:m:S:u:t:s:i:D:qh", opts,
				  &idx)) != -1) {
		switch (opt) {
		case 'd':
			cfg->dev = optarg;
			break;
		case 'n':
			err = parse_u64("flows", optarg, 1, 1ULL << 30,
					&cfg->flows);
			break;
		case 'k':
			err = parse_u64("keep", optarg, 0, 1ULL << 30,
					&cfg->keep);
			break;
		case 'm':
			err = parse_u64("max-flows", optarg, 1, 1ULL << 30,
					&cfg->max_flows);
			break;
		case 'S':
			err = parse_u64("shard-flows", optarg, 512, 1 << 20,
					&cfg->shard_flows);
			break;
		case 'u':
			err = parse_u64("udp-timeout", optarg, 1,
					365 * MSEC_PER_DAY,
					&cfg->udp_timeout_ms);
			break;
		case 't':
			err = parse_u64("tcp-timeout", optarg, 1,
					365 * MSEC_PER_DAY,
					&cfg->tcp_timeout_ms);
			break;
		case 's':
			err = parse_u64("tcp-short-timeout", optarg, 1,
					365 * MSEC_PER_DAY,
					&cfg->tcp_short_timeout_ms);
			break;
		case 'i':
			err = parse_u64("interval", optarg, 1, 3600 * 1000,
					&cfg->interval_ms);
			break;
		case 'D':
			err = parse_u64("duration", optarg, 0, 365 * 24 * 3600,
					&cfg->duration_s);
			break;
		case 'q':
			cfg->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			err = -EINVAL;
			break;
		}
		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "timer_gc: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!cfg->dev == !cfg->flows) {
		fprintf(stderr, "timer_gc: one of --dev IFNAME and --flows N is required\n");
		return -EINVAL;
	}
	if (cfg->keep > cfg->flows) {
		fprintf(stderr, "timer_gc: --keep %llu: more than --flows %llu\n",
			cfg->keep, cfg->flows);
		return -EINVAL;
	}
	if (!cfg->max_flows)
		cfg->max_flows = cfg->flows ?: 65536;
	if (cfg->flows > cfg->max_flows) {
		fprintf(stderr, "timer_gc: --flows %llu: more than --max-flows %llu\n",
			cfg->flows, cfg->max_flows);
		return -EINVAL;
	}
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Flows in shard @i, walked with bpf_map_get_next_key(); -errno on error. */
static long count_shard(int outer_fd, __u32 i, __u32 cap)
{
	struct flow_key key, next;
	__u32 inner_id;
	long n = 0;
	int fd, err;

	if (bpf_map_lookup_elem(outer_fd, &i, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return fd;
	err = bpf_map_get_next_key(fd, NULL, &next);
	/* Nothing deletes keys now: a longer walk would be a bug. */
	while (!err && n <= cap) {
		n++;
		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	if (err && errno != ENOENT)
		n = -errno;
	close(fd);
	return n;
}

/* Number of keys actually in the table. */
static long count_keys(const struct gc *gc)
{
	int outer_fd = bpf_map__fd(gc->skel->maps.shards);
	long n, total = 0;
	__u32 i;

	for (i = 0; i < gc->nshards; i++) {
		n = count_shard(outer_fd, i, gc->shard_cap);
		if (n < 0) {
			fprintf(stderr, "timer_gc: counting shard %u: %s\n", i,
				strerror(-n));
			return n;
		}
		total += n;
	}
	return total;
}

static int tc_detach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	/* bpf_tc_detach() wants the handle and priority only. */
	opts->flags = 0;
	opts->prog_fd = 0;
	opts->prog_id = 0;
	return bpf_tc_detach(hook, opts);
}

/* Mean run time of the GC callback from the BPF statistics of its program. */
static double avg_run_ns(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len) || !info.run_cnt)
		return 0;
	return (double)info.run_time_ns / info.run_cnt;
}

static void print_header(void)
{
	printf("%8s %9s %9s %9s %8s %10s %10s %9s\n", "time", "flows",
	       "created", "expired", "gc_runs", "scanned", "gc_avg_us",
	       "gc_max_us");
}

static void print_line(const struct gc *gc, double secs)
{
	const struct timer_gc__bss *bss = gc->skel->bss;
	struct gc_stats st;

	if (gc_read_stats(gc->stats_fd, &st))
		return;
	printf("%7.1fs %9llu %9llu %9llu %8llu %10llu %10.1f %9.1f\n", secs,
	       bss->flows_active, bss->flows_created, bss->flows_expired,
	       st.runs, st.scanned,
	       avg_run_ns(bpf_program__fd(gc->skel->progs.expire_flows)) /
	       NSEC_PER_USEC, (double)st.max_run_ns / NSEC_PER_USEC);
}

static void print_summary(const struct gc *gc, const struct config *cfg,
			  double secs, long counted)
{
	const struct timer_gc__bss *bss = gc->skel->bss;
	double avg = avg_run_ns(bpf_program__fd(gc->skel->progs.expire_flows));
	struct gc_stats st;

	if (gc_read_stats(gc->stats_fd, &st))
		memset(&st, 0, sizeof(st));
	printf("\nSummary after %.1f s on %s:\n", secs,
	       cfg->dev ?: "synthetic flows");
	printf("  flows created       %llu\n", bss->flows_created);
	printf("  flows expired       %llu\n", bss->flows_expired);
	printf("  flows in the table  %llu (%ld keys counted)\n",
	       bss->flows_active, counted);
	printf("  table full drops    %llu\n", bss->insert_failed);
	printf("  shards              %u of %u flows, one GC timer each\n",
	       gc->nshards, gc->shard_cap);
	printf("  gc runs             %llu, %llu flows scanned, at most %llu by one run\n",
	       st.runs, st.scanned, st.max_scanned);
	printf("  gc run time         %.1f us average, %.1f us the longest run\n",
	       avg / NSEC_PER_USEC, (double)st.max_run_ns / NSEC_PER_USEC);
	printf("  sweep period        %.1f ms at most between two runs of a shard",
	       (double)st.max_gap_ns / NSEC_PER_MSEC);
	printf(" (interval %llu ms)\n", cfg->interval_ms);
	printf("  max overdue         %.1f ms past the timeout before expiry\n",
	       (double)st.max_overdue_ns / NSEC_PER_MSEC);
	printf("  late expirations    %llu\n", st.late);
	printf("  CPUs the GC ran on  %u\n", st.cpus);
	if (cfg->keep)
		printf("  kept flows seen     every %.1f ms at most\n",
		       (double)gc->max_touch_gap / NSEC_PER_MSEC);
	printf("  live evictions      %llu\n", st.live_evictions);
	/* Machine readable, the last line is the main one. */
	printf("timer_gc_gc: elapsed_ms=%.0f shards=%u shard_cap=%u max_gap_us=%llu",
	       secs * 1000, gc->nshards, gc->shard_cap,
	       st.max_gap_ns / NSEC_PER_USEC);
	printf(" max_overdue_us=%llu late_expirations=%llu insert_failed=%llu",
	       st.max_overdue_ns / NSEC_PER_USEC, st.late, bss->insert_failed);
	printf(" gc_avg_ns=%.0f max_run_ns=%llu max_scanned=%llu", avg,
	       st.max_run_ns, st.max_scanned);
	printf(" gc_cpus=%u max_keep_gap_ms=%llu\n", st.cpus,
	       gc->max_touch_gap / NSEC_PER_MSEC);
	printf("timer_gc: created=%llu expired=%llu in_table=%llu",
	       bss->flows_created, bss->flows_expired, bss->flows_active);
	printf(" counted=%ld gc_runs=%llu live_evictions=%llu\n",
	       counted, st.runs, st.live_evictions);
}

/* Sets the sizes and the configuration, and loads the object. */
static int gc_load(struct gc *gc, const struct config *cfg)
{
	struct timer_gc *skel = gc->skel;
	__u64 res, period;
	int err;

	res = bpf_map__map_extra(skel->maps.gc_timer) ?: NSEC_PER_MSEC;
	period = cfg->interval_ms * NSEC_PER_MSEC / res;
	if (!period || period > INT32_MAX ||
	    cfg->interval_ms * NSEC_PER_MSEC % res) {
		fprintf(stderr,
			"timer_gc: --interval: %llu ms is not a multiple of the GC timers' resolution, %llu ms\n",
			cfg->interval_ms, res / NSEC_PER_MSEC);
		return -ERANGE;
	}
	gc->shard_cap = cfg->shard_flows;
	gc->nshards = gc_nshards(cfg->max_flows, gc->shard_cap);
	skel->rodata->udp_timeout_ns = cfg->udp_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->tcp_timeout_ns = cfg->tcp_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->tcp_short_timeout_ns =
		cfg->tcp_short_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->gc_period = period;
	skel->rodata->nshards = gc->nshards;
	err = bpf_map__set_max_entries(skel->maps.shards, gc->nshards) ?:
	      bpf_map__set_max_entries(skel->maps.shard_of_timer, gc->nshards) ?:
	      bpf_map__set_max_entries(skel->maps.shard_last_run, gc->nshards) ?:
	      bpf_map__set_max_entries(skel->maps.gc_timer, gc->nshards);
	if (err) {
		fprintf(stderr, "timer_gc: bpf_map__set_max_entries: %s\n",
			strerror(-err));
		return err;
	}
	err = timer_gc__load(skel);
	if (err) {
		fprintf(stderr, "timer_gc: timer_gc__load: %s\n",
			strerror(-err));
		return err;
	}
	gc->timer_fd = bpf_map__fd(skel->maps.gc_timer);
	gc->stats_fd = bpf_map__fd(skel->maps.gc_stats);
	gc->ids = malloc(gc->nshards * sizeof(*gc->ids));
	if (!gc->ids)
		return -ENOMEM;
	memset(gc->ids, 0xff, gc->nshards * sizeof(*gc->ids));	/* NO_TIMER */
	err = gc_create_shards(bpf_map__fd(skel->maps.shards), gc->nshards,
			       gc->shard_cap);
	if (err)
		fprintf(stderr, "timer_gc: creating %u shards of %u flows: %s\n",
			gc->nshards, gc->shard_cap, strerror(-err));
	return err;
}

/* Deletes the GC timers; from user space a delete waits for a running
 * callback.
 */
static int gc_stop(struct gc *gc)
{
	int err = 0;
	__u32 i;

	for (i = 0; gc->ids && i < gc->nshards; i++) {
		if (gc->ids[i] == NO_TIMER)
			continue;
		if (bpf_map_delete_elem(gc->timer_fd, &gc->ids[i]) && !err) {
			err = -errno;
			fprintf(stderr, "timer_gc: bpf_map_delete_elem(timer %u): %s\n",
				gc->ids[i], strerror(-err));
		}
		gc->ids[i] = NO_TIMER;
	}
	return err;
}

/* --keep: the kept flows are seen again, as if a packet came, when @touch
 * is due; the next time is a quarter of the UDP timeout later.
 */
static int touch_kept(struct gc *gc, const struct config *cfg, __u64 *touch)
{
	struct fill_args done = {};
	int err;

	__u64 now = now_ns();

	if (!cfg->keep || now < *touch)
		return 0;
	err = gc_fill(bpf_program__fd(gc->skel->progs.fill_flows), 0, cfg->keep,
		      0, 0, 0, &done);
	if (err)
		fprintf(stderr, "timer_gc: fill_flows: %s\n", strerror(-err));
	if (gc->last_touch && now - gc->last_touch > gc->max_touch_gap)
		gc->max_touch_gap = now - gc->last_touch;
	gc->last_touch = now;
	*touch = now + cfg->udp_timeout_ms * NSEC_PER_MSEC / 4;
	return err;
}

/* --flows: fills the table while the GC runs, in steps small enough for
 * the kept flows to be seen on time meanwhile; prints progress.
 */
static int fill_synthetic(struct gc *gc, const struct config *cfg,
			  __u64 *touch)
{
	int prog_fd = bpf_program__fd(gc->skel->progs.fill_flows);
	const __u64 step = 4096;
	struct fill_args done = {};
	__u64 i, n, t0 = now_ns(), next = t0 + NSEC_PER_SEC;
	int err;

	for (i = 0; i < cfg->flows && !exiting; i += n) {
		n = cfg->flows - i < step ? cfg->flows - i : step;
		err = gc_fill(prog_fd, i, n, 0, 0, 0, &done) ?:
		      touch_kept(gc, cfg, touch);
		if (err) {
			fprintf(stderr, "timer_gc: fill_flows: %s\n",
				strerror(-err));
			return err;
		}
		if (now_ns() >= next || i + n == cfg->flows) {
			printf("timer_gc: %llu of %llu flows filled\n",
			       i + n, cfg->flows);
			next += NSEC_PER_SEC;
		}
	}
	printf("timer_gc: filled with %llu synthetic flows in %.1f s (%llu did not fit)\n",
	       done.created, (double)(now_ns() - t0) / NSEC_PER_SEC,
	       done.failed);
	return 0;
}

static void sleep_until(__u64 t)
{
	struct timespec ts = {
		.tv_sec = t / NSEC_PER_SEC,
		.tv_nsec = t % NSEC_PER_SEC,
	};

	/* Interrupted by a signal: exiting tells. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Prints a line a second until SIGINT/SIGTERM or the end of the run: the
 * duration with a device; with --flows, after the fill the kept flows live
 * until the end of the duration, then the loop ends once the table is
 * empty, or @drain_ns after the duration.
 */
static int run_loop(struct gc *gc, const struct config *cfg, __u64 start,
		    __u64 drain_ns)
{
	__u64 end = cfg->duration_s ? start + cfg->duration_s * NSEC_PER_SEC : 0;
	__u64 next = start + NSEC_PER_SEC, touch = start, now, wake;
	bool keeping = cfg->keep > 0;
	int err;

	if (cfg->flows) {
		err = fill_synthetic(gc, cfg, &touch);
		if (err)
			return err;
		if (!end)
			end = start;
	}
	if (!cfg->quiet)
		print_header();
	while (!exiting) {
		now = now_ns();
		if (keeping && end && now >= end)
			keeping = false;
		if (cfg->flows && !keeping && now >= end &&
		    (!gc->skel->bss->flows_active || now >= end + drain_ns))
			break;
		if (!cfg->flows && end && now >= end)
			break;
		if (keeping && now >= touch) {
			err = touch_kept(gc, cfg, &touch);
			if (err)
				return err;
			continue;
		}
		if (now >= next) {
			if (!cfg->quiet)
				print_line(gc, (double)(now - start) / NSEC_PER_SEC);
			next += NSEC_PER_SEC;
			continue;
		}
		wake = next;
		if (keeping && touch < wake)
			wake = touch;
		if (end && now < end && end < wake)
			wake = end;
		if (cfg->flows && now >= end)
			wake = now + 10 * NSEC_PER_MSEC < wake ?
			       now + 10 * NSEC_PER_MSEC : wake;
		sleep_until(wake);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg = {
		.shard_flows = 1024,
		.udp_timeout_ms = 30 * 1000,
		.tcp_timeout_ms = 5 * MSEC_PER_DAY,
		.tcp_short_timeout_ms = 120 * 1000,
		.interval_ms = 1000,
	};
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc_opts, .handle = 1, .priority = 1);
	struct sigaction sa = { .sa_handler = sig_handler };
	bool hook_created = false, attached = false;
	__u64 start, end, interval_ns, drain_ns, max_to;
	int err, ifindex = 0, stats_fd = -1;
	struct gc_timers timers;
	struct gc gc = {};
	long counted;

	if (parse_args(argc, argv, &cfg)) {
		fprintf(stderr, "Try 'timer_gc --help'.\n");
		return 2;
	}
	if (cfg.dev) {
		ifindex = if_nametoindex(cfg.dev);
		if (!ifindex) {
			fprintf(stderr, "timer_gc: --dev %s: %s\n", cfg.dev,
				strerror(errno));
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	gc.skel = timer_gc__open();
	if (!gc.skel) {
		fprintf(stderr, "timer_gc: timer_gc__open: %s\n",
			strerror(errno));
		return 1;
	}
	err = gc_load(&gc, &cfg);
	if (err) {
		err = err == -ERANGE ? 2 : 1;
		goto out;
	}

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "timer_gc: bpf_enable_stats: %s (no run times)\n",
			strerror(-stats_fd));

	if (!cfg.flows) {
		hook.ifindex = ifindex;
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			fprintf(stderr, "timer_gc: bpf_tc_hook_create: %s\n",
				strerror(-err));
			goto out_err;
		}
		hook_created = !err;
		tc_opts.prog_fd = bpf_program__fd(gc.skel->progs.track_flows);
		err = bpf_tc_attach(&hook, &tc_opts);
		if (err) {
			fprintf(stderr, "timer_gc: bpf_tc_attach: %s\n",
				strerror(-err));
			goto out_err;
		}
		attached = true;
	}

	/* The shards' first runs spread over the first interval; each
	 * re-arms itself.
	 */
	interval_ns = cfg.interval_ms * NSEC_PER_MSEC;
	timers.timer_fd = gc.timer_fd;
	timers.prog_fd = bpf_program__fd(gc.skel->progs.expire_flows);
	timers.shard_of_fd = bpf_map__fd(gc.skel->maps.shard_of_timer);
	timers.last_run_fd = bpf_map__fd(gc.skel->maps.shard_last_run);
	timers.nshards = gc.nshards;
	timers.first_ns = now_ns() + interval_ns / gc.nshards;
	timers.interval_ns = interval_ns;
	timers.ids = gc.ids;
	err = gc_create_timers(&timers);
	if (err) {
		fprintf(stderr, "timer_gc: creating the GC timers: %s\n",
			strerror(-err));
		goto out_err;
	}

	printf("timer_gc: tracking flows on %s, table size %llu",
	       cfg.dev ?: "nothing (synthetic flows)", cfg.max_flows);
	printf(" in %u shards of %u, %u GC timers every %llu ms\n",
	       gc.nshards, gc.shard_cap, gc.nshards, cfg.interval_ms);
	printf("timer_gc: timeouts: udp %llu ms, tcp %llu ms, tcp short %llu ms\n",
	       cfg.udp_timeout_ms, cfg.tcp_timeout_ms,
	       cfg.tcp_short_timeout_ms);

	/* With --flows, the table drains within the UDP timeout and an
	 * interval; allow two minutes more for a slow machine.
	 */
	max_to = cfg.udp_timeout_ms;	/* synthetic flows are UDP */
	drain_ns = (max_to + 2 * cfg.interval_ms) * NSEC_PER_MSEC +
		   120 * NSEC_PER_SEC;
	start = now_ns();
	err = run_loop(&gc, &cfg, start, drain_ns);
	end = now_ns();
	if (err)
		goto out_err;

	/* No new flows, then no GC run: the counters settle. */
	if (attached) {
		err = tc_detach(&hook, &tc_opts);
		if (err) {
			fprintf(stderr, "timer_gc: bpf_tc_detach: %s\n",
				strerror(-err));
			goto out_err;
		}
		attached = false;
	}
	err = gc_stop(&gc);
	if (err)
		goto out_err;

	counted = count_keys(&gc);
	if (counted < 0)
		goto out_err;
	print_summary(&gc, &cfg, (double)(end - start) / NSEC_PER_SEC,
		      counted);
	err = 0;
	goto out;

out_err:
	err = 1;
out:
	gc_stop(&gc);
	if (attached)
		tc_detach(&hook, &tc_opts);
	if (hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	if (stats_fd >= 0)
		close(stats_fd);
	free(gc.ids);
	timer_gc__destroy(gc.skel);
	return err;
}
