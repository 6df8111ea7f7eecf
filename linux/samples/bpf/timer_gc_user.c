// SPDX-License-Identifier: GPL-2.0
/* Loader of timer_gc_kern.c: attaches the flow tracker to a device's tc
 * ingress hook, creates the garbage collection timer in a BPF_MAP_TYPE_TIMER
 * map and reports what the collector does.
 *
 * On exit the tracker is detached and the timer deleted before the final
 * counters are read, so that they are a consistent snapshot (packets still
 * in flight through the detached program aside):
 * created == expired + flows left in the table.
 */
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

#include "timer_gc.skel.h"

#define NSEC_PER_USEC	1000ULL
#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL
#define MSEC_PER_DAY	(24 * 3600 * 1000ULL)

struct config {
	const char *dev;
	__u64 max_flows;
	__u64 udp_timeout_ms;
	__u64 tcp_timeout_ms;
	__u64 tcp_short_timeout_ms;
	__u64 interval_ms;
	__u64 duration_s;
	bool quiet;
};

/* Run time of the GC callback, from the BPF statistics of its program. */
struct run_stats {
	__u64 run_ns;
	__u64 run_cnt;
	double last_ns;		/* mean of the runs since the previous sample */
	double max_ns;		/* highest such mean */
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
		"\n"
		"Track the IPv4 TCP and UDP flows received on IFNAME in a BPF hash map\n"
		"and delete idle ones from the callback of a BPF_MAP_TYPE_TIMER timer.\n"
		"A GC run walks every bucket of the table: its cost grows with --max-flows.\n"
		"\n"
		"  -d, --dev IFNAME            attach to the tc ingress hook of IFNAME\n"
		"  -m, --max-flows N           size of the flow table (65536)\n"
		"  -u, --udp-timeout MS        UDP idle timeout (30000)\n"
		"  -t, --tcp-timeout MS        established TCP idle timeout (432000000: 5 days)\n"
		"  -s, --tcp-short-timeout MS  TCP timeout while opening or closing (120000)\n"
		"  -i, --interval MS           garbage collection interval (1000)\n"
		"  -D, --duration S            run time, 0: until SIGINT or SIGTERM (0)\n"
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
		{ "max-flows", required_argument, NULL, 'm' },
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

	while ((opt = getopt_long(argc, argv, "d:m:u:t:s:i:D:qh", opts,
				  &idx)) != -1) {
		switch (opt) {
		case 'd':
			cfg->dev = optarg;
			break;
		case 'm':
			err = parse_u64("max-flows", optarg, 1, UINT32_MAX,
					&cfg->max_flows);
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
	if (!cfg->dev) {
		fprintf(stderr, "timer_gc: --dev IFNAME is required\n");
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

static void update_run_stats(int prog_fd, struct run_stats *rs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return;
	if (info.run_cnt > rs->run_cnt) {
		rs->last_ns = (double)(info.run_time_ns - rs->run_ns) /
			      (info.run_cnt - rs->run_cnt);
		if (rs->last_ns > rs->max_ns)
			rs->max_ns = rs->last_ns;
	}
	rs->run_ns = info.run_time_ns;
	rs->run_cnt = info.run_cnt;
}

static double avg_run_ns(const struct run_stats *rs)
{
	return rs->run_cnt ? (double)rs->run_ns / rs->run_cnt : 0;
}

/* Number of keys actually in @map, walked with bpf_map_get_next_key(). */
static long count_keys(struct bpf_map *map)
{
	size_t key_size = bpf_map__key_size(map);
	int fd = bpf_map__fd(map);
	char *key, *next;
	long n = 0;
	int err;

	key = calloc(2, key_size);
	if (!key)
		return -ENOMEM;
	next = key + key_size;
	err = bpf_map_get_next_key(fd, NULL, next);
	/* Nothing deletes keys now: a longer walk would be a bug. */
	while (!err && n <= bpf_map__max_entries(map)) {
		n++;
		memcpy(key, next, key_size);
		err = bpf_map_get_next_key(fd, key, next);
	}
	free(key);
	if (err && errno != ENOENT) {
		err = -errno;
		fprintf(stderr, "timer_gc: bpf_map_get_next_key: %s\n",
			strerror(-err));
		return err;
	}
	return n;
}

static int tc_detach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	/* bpf_tc_detach() wants the handle and priority only. */
	opts->flags = 0;
	opts->prog_fd = 0;
	opts->prog_id = 0;
	return bpf_tc_detach(hook, opts);
}

static void print_header(void)
{
	printf("%8s %8s %8s %8s %8s %8s %10s %10s\n", "time", "flows",
	       "created", "expired", "gc_runs", "scanned", "gc_avg_us",
	       "gc_last_us");
}

static void print_line(const struct timer_gc *skel, double secs,
		       const struct run_stats *rs)
{
	const struct timer_gc__bss *bss = skel->bss;

	printf("%7.1fs %8llu %8llu %8llu %8llu %8llu %10.1f %10.1f\n", secs,
	       bss->flows_active, bss->flows_created, bss->flows_expired,
	       bss->gc_runs, bss->gc_scanned, avg_run_ns(rs) / NSEC_PER_USEC,
	       rs->last_ns / NSEC_PER_USEC);
}

static void print_summary(const struct timer_gc *skel, const struct config *cfg,
			  double secs, const struct run_stats *rs, long counted)
{
	const struct timer_gc__bss *bss = skel->bss;

	printf("\nSummary after %.1f s on %s:\n", secs, cfg->dev);
	printf("  flows created       %llu\n", bss->flows_created);
	printf("  flows expired       %llu\n", bss->flows_expired);
	printf("  flows in the table  %llu (%ld keys counted)\n",
	       bss->flows_active, counted);
	printf("  table full drops    %llu\n", bss->insert_failed);
	printf("  gc runs             %llu, every %llu ms, %llu flows scanned by the last\n",
	       bss->gc_runs, cfg->interval_ms, bss->gc_scanned);
	printf("  gc run time         %.1f us average, %.1f us highest per-second mean\n",
	       avg_run_ns(rs) / NSEC_PER_USEC, rs->max_ns / NSEC_PER_USEC);
	printf("  gc max gap          %.1f ms between two runs\n",
	       (double)bss->gc_max_gap_ns / NSEC_PER_MSEC);
	printf("  max overdue         %.1f ms past the timeout before expiry\n",
	       (double)bss->gc_max_overdue_ns / NSEC_PER_MSEC);
	printf("  late expirations    %llu\n", bss->late_expirations);
	printf("  live evictions      %llu\n", bss->live_evictions);
	/* Machine readable, the last line is the main one. */
	printf("timer_gc_gc: elapsed_ms=%.0f max_gap_us=%llu max_overdue_us=%llu",
	       secs * 1000, bss->gc_max_gap_ns / NSEC_PER_USEC,
	       bss->gc_max_overdue_ns / NSEC_PER_USEC);
	printf(" late_expirations=%llu insert_failed=%llu",
	       bss->late_expirations, bss->insert_failed);
	printf(" gc_avg_ns=%.0f gc_max_ns=%.0f\n", avg_run_ns(rs), rs->max_ns);
	printf("timer_gc: created=%llu expired=%llu in_table=%llu",
	       bss->flows_created, bss->flows_expired, bss->flows_active);
	printf(" counted=%ld gc_runs=%llu live_evictions=%llu\n",
	       counted, bss->gc_runs, bss->live_evictions);
}

int main(int argc, char **argv)
{
	struct config cfg = {
		.max_flows = 65536,
		.udp_timeout_ms = 30 * 1000,
		.tcp_timeout_ms = 5 * MSEC_PER_DAY,
		.tcp_short_timeout_ms = 120 * 1000,
		.interval_ms = 1000,
	};
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc_opts, .handle = 1, .priority = 1);
	LIBBPF_OPTS(bpf_timer_create_opts, timer_opts);
	struct sigaction sa = { .sa_handler = sig_handler };
	__u64 res, period, start, end, next, now, wake;
	bool hook_created = false, attached = false;
	int err, ifindex, stats_fd = -1, gc_fd;
	int timer_id = -1, timer_fd = -1;
	struct run_stats rs = {};
	struct timer_gc *skel;
	struct timespec ts;
	long counted;

	if (parse_args(argc, argv, &cfg)) {
		fprintf(stderr, "Try 'timer_gc --help'.\n");
		return 2;
	}
	ifindex = if_nametoindex(cfg.dev);
	if (!ifindex) {
		fprintf(stderr, "timer_gc: --dev %s: %s\n", cfg.dev,
			strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	skel = timer_gc__open();
	if (!skel) {
		fprintf(stderr, "timer_gc: timer_gc__open: %s\n",
			strerror(errno));
		return 1;
	}
	res = bpf_map__map_extra(skel->maps.gc_timer) ?: NSEC_PER_MSEC;
	period = cfg.interval_ms * NSEC_PER_MSEC / res;
	if (!period || period > INT32_MAX) {
		fprintf(stderr, "timer_gc: --interval: %llu ms out of range\n",
			cfg.interval_ms);
		err = 2;
		goto out;
	}
	skel->rodata->udp_timeout_ns = cfg.udp_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->tcp_timeout_ns = cfg.tcp_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->tcp_short_timeout_ns =
		cfg.tcp_short_timeout_ms * NSEC_PER_MSEC;
	skel->rodata->gc_period = period;
	err = bpf_map__set_max_entries(skel->maps.flows, cfg.max_flows);
	if (err) {
		fprintf(stderr, "timer_gc: bpf_map__set_max_entries: %s\n",
			strerror(-err));
		goto out_err;
	}
	err = timer_gc__load(skel);
	if (err) {
		fprintf(stderr, "timer_gc: timer_gc__load: %s\n",
			strerror(-err));
		goto out_err;
	}

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "timer_gc: bpf_enable_stats: %s (no run times)\n",
			strerror(-stats_fd));

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	hook.ifindex = ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "timer_gc: bpf_tc_hook_create: %s\n",
			strerror(-err));
		goto out_err;
	}
	hook_created = !err;
	tc_opts.prog_fd = bpf_program__fd(skel->progs.track_flows);
	err = bpf_tc_attach(&hook, &tc_opts);
	if (err) {
		fprintf(stderr, "timer_gc: bpf_tc_attach: %s\n",
			strerror(-err));
		goto out_err;
	}
	attached = true;

	/* The first run one interval from now; it re-arms itself. */
	gc_fd = bpf_program__fd(skel->progs.expire_flows);
	timer_fd = bpf_map__fd(skel->maps.gc_timer);
	timer_opts.expires = cfg.interval_ms * NSEC_PER_MSEC;
	skel->bss->gc_last_start_ns = now_ns();
	timer_id = bpf_timer_create(timer_fd, gc_fd, &timer_opts);
	if (timer_id < 0) {
		err = timer_id;
		fprintf(stderr, "timer_gc: bpf_timer_create: %s\n",
			strerror(-err));
		goto out_err;
	}

	printf("timer_gc: tracking flows on %s, table size %llu, GC timer %d every %llu ms\n",
	       cfg.dev, cfg.max_flows, timer_id, cfg.interval_ms);
	printf("timer_gc: timeouts: udp %llu ms, tcp %llu ms, tcp short %llu ms\n",
	       cfg.udp_timeout_ms, cfg.tcp_timeout_ms,
	       cfg.tcp_short_timeout_ms);
	if (!cfg.quiet)
		print_header();

	start = now_ns();
	end = cfg.duration_s ? start + cfg.duration_s * NSEC_PER_SEC : 0;
	next = start + NSEC_PER_SEC;
	while (!exiting) {
		now = now_ns();
		if (end && now >= end)
			break;
		if (now >= next) {
			update_run_stats(gc_fd, &rs);
			if (!cfg.quiet)
				print_line(skel, (double)(now - start) / NSEC_PER_SEC,
					   &rs);
			next += NSEC_PER_SEC;
			continue;
		}
		wake = end && end < next ? end : next;
		ts.tv_sec = wake / NSEC_PER_SEC;
		ts.tv_nsec = wake % NSEC_PER_SEC;
		/* Interrupted by a signal: exiting tells. */
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	now = now_ns();

	/* No new flows, then no GC run: the counters settle. */
	err = tc_detach(&hook, &tc_opts);
	if (err) {
		fprintf(stderr, "timer_gc: bpf_tc_detach: %s\n",
			strerror(-err));
		goto out_err;
	}
	attached = false;
	/* From user space, the delete waits for a running callback. */
	err = bpf_map_delete_elem(timer_fd, &timer_id);
	if (err) {
		err = -errno;
		fprintf(stderr, "timer_gc: bpf_map_delete_elem(timer %d): %s\n",
			timer_id, strerror(-err));
		goto out_err;
	}
	timer_id = -1;

	update_run_stats(gc_fd, &rs);
	counted = count_keys(skel->maps.flows);
	if (counted < 0) {
		err = counted;
		goto out_err;
	}
	print_summary(skel, &cfg, (double)(now - start) / NSEC_PER_SEC, &rs,
		      counted);
	err = 0;
	goto out;

out_err:
	err = 1;
out:
	if (timer_id >= 0)
		bpf_map_delete_elem(timer_fd, &timer_id);
	if (attached)
		tc_detach(&hook, &tc_opts);
	if (hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	if (stats_fd >= 0)
		close(stats_fd);
	timer_gc__destroy(skel);
	return err;
}
