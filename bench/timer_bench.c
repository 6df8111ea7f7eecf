// SPDX-License-Identifier: GPL-2.0
/*
 * Timer benchmark driver: BPF_MAP_TYPE_TIMER (wheel and hrtimer backends)
 * against upstream's struct bpf_timer, a user-space timer (timerfd + epoll
 * running the callback with BPF_PROG_TEST_RUN) and the callback's own cost.
 *
 *   timer_bench floor    [--repeat R] [--reps K]
 *   timer_bench fire     --variant wheel|hres|hres500|upstream|timerfd --n N
 *                        [--rate R] [--reps K] [--min-busy-ms B]
 *                        [--min-ms W] [--max-ms W] [--ops-sample S]
 *                        [--perf-ctl FILE]
 *   timer_bench gc       [--flows N] [--shard-flows S] [--expired-pct P] [--reps K]
 *                        [--how kernel|user]
 *   timer_bench baseline [--ms W]
 *
 * Prints one JSON object per measurement, each on a line starting with '@'.
 * Times come from CLOCK_MONOTONIC in the guest (under QEMU -icount that
 * clock counts guest instructions); CPU time from /proc/stat (all CPUs:
 * everything but idle and iowait) and getrusage().
 */
#define _GNU_SOURCE	/* sched_setaffinity(), in timer_gc_copy.h */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "timer_bench.skel.h"
#include "timer_gc_copy.h"
#include "timer_gc.skel.h"
#include "idle.skel.h"

#define NSEC_PER_SEC	1000000000ULL
#define NSEC_PER_MSEC	1000000ULL
#define CHUNK		16384	/* timers per BPF_PROG_TEST_RUN of a loop */

/* hres: 1 us resolution, 500 ns of slack, each timer its own interrupt;
 * hres500: 500 us, timers due within 250 us of each other share one.
 */
enum variant { V_WHEEL, V_HRES, V_UPSTREAM, V_TIMERFD, V_HRES500 };
static const char *const variant_names[] = { "wheel", "hres", "upstream", "timerfd", "hres500" };

static struct {
	enum variant variant;
	__u64 n, rate, reps, repeat, flows, shard_flows, expired_pct, ops_sample;
	__u64 min_busy_ms, min_ms, max_ms;
	const char *perf_ctl, *gc_how;
} opt = {
	.n = 1000, .rate = 5000, .reps = 3, .repeat = 100000,
	.flows = 1000000, .shard_flows = 1024, .expired_pct = 10, .ops_sample = 20000,
	.min_busy_ms = 500, .min_ms = 1000, .max_ms = 6000,
};

static bool timer_map_variant(void)
{
	return opt.variant == V_WHEEL || opt.variant == V_HRES || opt.variant == V_HRES500;
}

static int ncpus, ncpus_online;

/* With --perf-ctl FILE, write "enable" to FILE when the measurement starts
 * (the windows of the trivial body, a sweep) and "disable" when it ends, so
 * that scripts/guest/bench can start perf record for that part only.
 */
static void perf_ctl(const char *cmd)
{
	FILE *f;

	if (!opt.perf_ctl)
		return;
	f = fopen(opt.perf_ctl, "w");
	if (f) {
		fprintf(f, "%s\n", cmd);
		fclose(f);
	}
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static __u64 rusage_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NSEC_PER_SEC +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "timer_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static struct idle *idle_skel;

/* Idle time of all online CPUs in ns, read by a BPF program from the
 * kernel's NO_HZ idle accounting (idle entry to exit; interrupts and
 * softirqs taken while idle do not count as idle). /proc/stat shows the
 * same in 10 ms units only.
 */
static __u64 idle_ns(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	__u64 sum = 0;
	int err, c;

	if (!idle_skel) {
		idle_skel = idle__open();
		if (!idle_skel)
			die("idle open", errno);
		idle_skel->bss->nr_cpus = ncpus_online;
		err = idle__load(idle_skel);
		if (err)
			die("idle load", err);
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(idle_skel->progs.idle_read), &o);
	if (err)
		die("idle_read", err);
	for (c = 0; c < ncpus_online && c < 64; c++)
		sum += idle_skel->bss->idle_ns[c];
	return sum;
}

/* A point in time for busy_since(). */
struct busy_mark {
	__u64 wall, idle;
};

static void busy_mark(struct busy_mark *m)
{
	m->idle = idle_ns();
	m->wall = now_ns();
}

/* CPU time all CPUs spent not idle since @m. */
static __u64 busy_since(const struct busy_mark *m)
{
	__u64 idle = idle_ns(), wall = now_ns() - m->wall, all = wall * ncpus_online;

	idle -= m->idle;
	return all > idle ? all - idle : 0;
}

/* Slab memory from /proc/slabinfo: sum of num_objs * objsize, in bytes. */
static long long slab_bytes(void)
{
	char line[512], name[64];
	long long total = 0, active, num, size;
	FILE *f = fopen("/proc/slabinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &num, &size) == 4)
			total += num * size;
	if (f)
		fclose(f);
	return total;
}

/* A field of /proc/meminfo, in bytes. */
static long long meminfo(const char *name)
{
	char line[256];
	long long kb = -1;
	size_t len = strlen(name);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kb = atoll(line + len + 1);
			break;
		}
	if (f)
		fclose(f);
	return kb * 1024;
}

/* map_mem_usage, as /proc/self/fdinfo shows it (memlock). */
static long long memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8))
			v = atoll(line + 8);
	if (f)
		fclose(f);
	return v;
}

/* ---- latency histogram (same buckets as the BPF side) ---- */

static __u64 bucket_hi(int b)
{
	int msb, sub;

	if (b < 16)
		return b;
	msb = (b - 16) / 8 + 4;
	sub = (b - 16) % 8;
	return ((__u64)(9 + sub) << (msb - 3)) - 1;
}

static void stats_read(int fd, struct stats *sum)
{
	struct stats *v = calloc(ncpus, sizeof(*v));
	__u32 zero = 0;
	int c, b;

	if (!v || bpf_map_lookup_elem(fd, &zero, v))
		die("stats lookup", errno);
	memset(sum, 0, sizeof(*sum));
	for (c = 0; c < ncpus; c++) {
		sum->fires += v[c].fires;
		sum->early += v[c].early;
		sum->late_sum += v[c].late_sum;
		if (v[c].late_max > sum->late_max)
			sum->late_max = v[c].late_max;
		for (b = 0; b < LAT_BUCKETS; b++)
			sum->hist[b] += v[c].hist[b];
	}
	free(v);
}

static void stats_reset(int fd)
{
	struct stats *v = calloc(ncpus, sizeof(*v));
	__u32 zero = 0;

	if (!v || bpf_map_update_elem(fd, &zero, v, BPF_ANY))
		die("stats reset", errno);
	free(v);
}

static __u64 percentile(const struct stats *s, double p)
{
	__u64 total = 0, acc = 0, want;
	int b;

	for (b = 0; b < LAT_BUCKETS; b++)
		total += s->hist[b];
	if (!total)
		return 0;
	want = (__u64)(p * total + 0.5);
	if (want < 1)
		want = 1;
	for (b = 0; b < LAT_BUCKETS; b++) {
		acc += s->hist[b];
		if (acc >= want)
			return bucket_hi(b);
	}
	return bucket_hi(LAT_BUCKETS - 1);
}

/* ---- user-space timers: a min-heap on one timerfd ---- */

struct ut {
	__u64 expires;
	__u32 id;
};

static struct {
	struct ut *h;
	__u64 n;
	int tfd, epfd, prog_fd;
	__u64 res;
} us;

static void heap_down(__u64 i)
{
	for (;;) {
		__u64 l = 2 * i + 1, r = l + 1, m = i;
		struct ut t;

		if (l < us.n && us.h[l].expires < us.h[m].expires)
			m = l;
		if (r < us.n && us.h[r].expires < us.h[m].expires)
			m = r;
		if (m == i)
			return;
		t = us.h[i]; us.h[i] = us.h[m]; us.h[m] = t;
		i = m;
	}
}

static void us_arm_fd(void)
{
	struct itimerspec its = {};

	if (!us.n)
		return;
	its.it_value.tv_sec = us.h[0].expires / NSEC_PER_SEC;
	its.it_value.tv_nsec = us.h[0].expires % NSEC_PER_SEC;
	if (timerfd_settime(us.tfd, TFD_TIMER_ABSTIME, &its, NULL))
		die("timerfd_settime", errno);
}

/* Run expired user-space timers until @until. */
static void us_run(__u64 until)
{
	struct epoll_event ev;
	__u64 now, ticks;

	while ((now = now_ns()) < until) {
		int ms = (until - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;

		if (epoll_wait(us.epfd, &ev, 1, ms) <= 0)
			continue;
		if (read(us.tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			die("timerfd read", errno);
		now = now_ns();
		while (us.n && us.h[0].expires <= now) {
			struct bpf_timer_md md = {
				.id = us.h[0].id, .expires = us.h[0].expires,
			};
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &md,
				    .ctx_size_in = sizeof(md));
			__u64 exp = md.expires, period, next;
			int err;

			err = bpf_prog_test_run_opts(us.prog_fd, &o);
			if (err)
				die("test_run", err);
			if (!o.retval) {	/* disarmed: drop it */
				us.h[0] = us.h[--us.n];
				heap_down(0);
				continue;
			}
			period = o.retval * us.res;
			next = exp + period;
			if (next <= now)
				next = exp + ((now - exp) / period + 1) * period;
			us.h[0].expires = next;
			heap_down(0);
		}
		us_arm_fd();
	}
}

static void wait_until(__u64 t)
{
	__u64 now;

	if (opt.variant == V_TIMERFD && us.h) {
		us_run(t);
		return;
	}
	while ((now = now_ns()) < t) {
		struct timespec ts = {
			.tv_sec = (t - now) / NSEC_PER_SEC,
			.tv_nsec = (t - now) % NSEC_PER_SEC,
		};
		nanosleep(&ts, NULL);
	}
}

/* ---- fire: periodic timers ---- */

static struct timer_bench *skel;

static void test_run_loop(int prog_fd, __u32 start, __u32 count,
			  __u64 first, __u64 step)
{
	char pkt[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	__u32 done;
	int err;

	for (done = 0; done < count; done += CHUNK) {
		skel->bss->arm_start = start + done;
		skel->bss->arm_count = count - done < CHUNK ? count - done : CHUNK;
		skel->bss->arm_first = first;
		skel->bss->arm_step = step;
		err = bpf_prog_test_run_opts(prog_fd, &o);
		if (err)
			die("test_run (loop)", err);
	}
}

/* Start of part @k of @total split in opt.reps parts. */
static __u64 lo(__u64 k, __u64 total)
{
	return total * k / opt.reps;
}

static void emit_op(const char *op, __u64 count, __u64 wall, __u64 cpu)
{
	if (!count)
		return;
	printf("@{\"kind\":\"op\",\"variant\":\"%s\",\"n\":%llu,\"op\":\"%s\",\"count\":%llu,"
	       "\"wall_ns\":%llu,\"cpu_ns\":%llu,\"per_ns\":%.1f}\n",
	       variant_names[opt.variant], opt.n, op, count, wall, cpu,
	       count ? (double)wall / count : 0);
	fflush(stdout);
}

/* Re-arm timers [from, to) for first + i * step from user space: a map
 * update, or for bpf_timer, which has no user-space API, a program run.
 */
static void rearm_user(int tfd, const __u32 *ids, __u64 from, __u64 to,
		       __u64 first, __u64 step)
{
	int prog = bpf_program__fd(skel->progs.u_rearm);
	__u64 i, exp;
	int err;

	for (i = from; i < to; i++) {
		if (opt.variant == V_UPSTREAM) {
			char pkt[64] = {};
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
				    .data_size_in = sizeof(pkt));

			skel->bss->arm_start = i;
			skel->bss->arm_count = 1;
			skel->bss->arm_first = first;
			skel->bss->arm_step = step;
			err = bpf_prog_test_run_opts(prog, &o);
			if (err)
				die("test_run u_rearm", err);
		} else {
			exp = first + i * step;
			if (bpf_map_update_elem(tfd, &ids[i], &exp, BPF_ANY))
				die("update", errno);
		}
	}
}

/* Wait until the map with @id is gone, return the time it took. */
static __u64 wait_map_gone(__u32 id, __u64 start)
{
	int fd;

	for (;;) {
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			return now_ns() - start;
		close(fd);
		usleep(1000);
	}
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		die("map info", errno);
	return info.id;
}

static int cmd_fire(void)
{
	__u64 n = opt.n, period, step, res = 1000, t0, c0, first, i, k;
	long long mem0, slab0, mem1, slab1, slab_armed, ml0, ml1;
	struct busy_mark bm;
	int tfd, stats_fd, err, rep, b;
	const char *bodies[] = { "trivial", "realistic" };
	__u32 *ids = NULL;

	/* The period keeps the firing rate near opt.rate; 1 ms at least. */
	period = n * NSEC_PER_SEC / opt.rate;
	period = (period + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC * NSEC_PER_MSEC;
	if (period < NSEC_PER_MSEC)
		period = NSEC_PER_MSEC;
	step = period / n;
	if (opt.variant == V_WHEEL)
		res = NSEC_PER_MSEC;
	if (opt.variant == V_HRES500)
		res = NSEC_PER_MSEC / 2;

	mem0 = meminfo("MemFree");
	slab0 = slab_bytes();
	skel = timer_bench__open();
	if (!skel)
		die("open", errno);
	if (timer_map_variant()) {
		bpf_map__set_max_entries(skel->maps.tmap, n);
		bpf_map__set_map_extra(skel->maps.tmap, res);
	}
	if (opt.variant == V_UPSTREAM)
		bpf_map__set_max_entries(skel->maps.uh, n);
	skel->data->tm_ret = period / res;
	skel->data->u_period = period;
	err = timer_bench__load(skel);
	if (err)
		die("load", err);
	stats_fd = bpf_map__fd(skel->maps.stats);
	tfd = opt.variant == V_UPSTREAM ? bpf_map__fd(skel->maps.uh) :
					  bpf_map__fd(skel->maps.tmap);
	ml0 = memlock(tfd);
	slab1 = slab_bytes();

	/* Create, disarmed in effect (an hour away), then re-arm for real. */
	if (timer_map_variant()) {
		LIBBPF_OPTS(bpf_timer_create_opts, co, .flags = BPF_F_TIMER_ABS);
		int prog = bpf_program__fd(skel->progs.tm_cb);

		ids = calloc(n, sizeof(*ids));
		co.expires = now_ns() + 3600 * NSEC_PER_SEC;
		for (k = 0; k < opt.reps; k++) {
			t0 = now_ns(); c0 = rusage_ns();
			for (i = lo(k, n); i < lo(k + 1, n); i++) {
				err = bpf_timer_create(tfd, prog, &co);
				if (err < 0)
					die("bpf_timer_create", err);
				ids[i] = err;
				if (ids[i] != ids[0] + i)
					die("ids not contiguous", EINVAL);
			}
			emit_op("create", lo(k + 1, n) - lo(k, n), now_ns() - t0, rusage_ns() - c0);
		}
	} else if (opt.variant == V_UPSTREAM) {
		int prog = bpf_program__fd(skel->progs.u_arm);
		__u64 far = now_ns() + 3600 * NSEC_PER_SEC;

		for (k = 0; k < opt.reps; k++) {
			t0 = now_ns(); c0 = rusage_ns();
			test_run_loop(prog, lo(k, n), lo(k + 1, n) - lo(k, n), far, 0);
			emit_op("create", lo(k + 1, n) - lo(k, n), now_ns() - t0, rusage_ns() - c0);
		}
		if (skel->bss->arm_done != n)
			die("u_arm armed fewer timers", EINVAL);
	}

	/* Re-arm from user space: a sample, for the schedule below. */
	if (opt.variant != V_TIMERFD) {
		__u64 s = n < opt.ops_sample ? n : opt.ops_sample;

		first = now_ns() + 3600 * NSEC_PER_SEC;
		for (k = 0; k < opt.reps; k++) {
			t0 = now_ns(); c0 = rusage_ns();
			rearm_user(tfd, ids, lo(k, s), lo(k + 1, s), first, step);
			emit_op("rearm_user", lo(k + 1, s) - lo(k, s), now_ns() - t0,
				rusage_ns() - c0);
		}

		/* Re-arm from BPF: all of them, the schedule of the run. */
		first = now_ns() + 200 * NSEC_PER_MSEC;
		for (k = 0; k < opt.reps; k++) {
			t0 = now_ns(); c0 = rusage_ns();
			test_run_loop(bpf_program__fd(opt.variant == V_UPSTREAM ?
						      skel->progs.u_rearm : skel->progs.tm_rearm),
				      (opt.variant == V_UPSTREAM ? 0 : ids[0]) + lo(k, n),
				      lo(k + 1, n) - lo(k, n), first, step);
			emit_op("rearm_bpf", lo(k + 1, n) - lo(k, n), now_ns() - t0, rusage_ns() - c0);
		}
	} else {
		us.h = calloc(n, sizeof(*us.h));
		us.n = n;
		us.res = res;
		us.prog_fd = bpf_program__fd(skel->progs.tm_cb);
		first = now_ns() + 200 * NSEC_PER_MSEC;
		for (i = 0; i < n; i++) {
			us.h[i].id = i;
			us.h[i].expires = first + i * step;	/* sorted: a heap */
		}
		us.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		us.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (us.tfd < 0 || us.epfd < 0)
			die("timerfd/epoll", errno);
		struct epoll_event ev = { .events = EPOLLIN };
		if (epoll_ctl(us.epfd, EPOLL_CTL_ADD, us.tfd, &ev))
			die("epoll_ctl", errno);
		us_arm_fd();
	}

	mem1 = meminfo("MemFree");
	slab_armed = slab_bytes();
	ml1 = memlock(tfd);
	printf("@{\"kind\":\"mem\",\"variant\":\"%s\",\"n\":%llu,\"memlock_before\":%lld,"
	       "\"memlock\":%lld,\"memfree_delta\":%lld,\"slab_load\":%lld,"
	       "\"slab_arm\":%lld}\n",
	       variant_names[opt.variant], n, ml0, ml1, mem0 - mem1, slab1 - slab0,
	       slab_armed - slab1);
	fflush(stdout);

	/* Steady state: from the first expiry on, a little more. */
	wait_until(first + 300 * NSEC_PER_MSEC);
	for (b = 0; b < 2; b++) {
		skel->bss->body = b;
		wait_until(now_ns() + 100 * NSEC_PER_MSEC);
		if (b == 0)
			perf_ctl("enable");
		for (rep = 0; rep < (int)opt.reps; rep++) {
			struct stats s;
			__u64 w, c, ru0, start;

			stats_reset(stats_fd);
			start = now_ns(); busy_mark(&bm); ru0 = rusage_ns();
			do {
				wait_until(now_ns() + 250 * NSEC_PER_MSEC);
				w = now_ns() - start;
				c = busy_since(&bm);
			} while (w < opt.max_ms * NSEC_PER_MSEC &&
				 (w < opt.min_ms * NSEC_PER_MSEC ||
				  c < opt.min_busy_ms * NSEC_PER_MSEC));
			stats_read(stats_fd, &s);
			printf("@{\"kind\":\"fire\",\"variant\":\"%s\",\"n\":%llu,\"body\":\"%s\","
			       "\"rep\":%d,\"period_ns\":%llu,\"wall_ns\":%llu,\"busy_ns\":%llu,"
			       "\"proc_cpu_ns\":%llu,\"fires\":%llu,\"early\":%llu,"
			       "\"late_p50\":%llu,\"late_p99\":%llu,\"late_max\":%llu,"
			       "\"late_mean\":%.0f}\n",
			       variant_names[opt.variant], n, bodies[b], rep, period, w, c,
			       rusage_ns() - ru0, s.fires, s.early,
			       percentile(&s, 0.5), percentile(&s, 0.99), s.late_max,
			       s.fires ? (double)s.late_sum / s.fires : 0);
			fflush(stdout);
		}
		if (b == 0)
			perf_ctl("disable");
	}

	if (opt.variant == V_TIMERFD) {
		free(us.h);
		us.h = NULL;
		timer_bench__destroy(skel);
		return 0;
	}

	/* Delete from user space: a sample. */
	{
		__u64 s = (n + 1) / 2 < opt.ops_sample ? (n + 1) / 2 : opt.ops_sample;
		__u32 key;

		for (k = 0; k < opt.reps; k++) {
			t0 = now_ns(); c0 = rusage_ns();
			for (i = lo(k, s); i < lo(k + 1, s); i++) {
				key = opt.variant == V_UPSTREAM ? i : ids[i];
				if (bpf_map_delete_elem(tfd, &key))
					die("delete", errno);
			}
			emit_op("delete_user", lo(k + 1, s) - lo(k, s), now_ns() - t0,
				rusage_ns() - c0);
		}
	}

	/* Close the map with the rest still armed; then until it is freed. */
	{
		__u32 id = map_id(tfd);
		__u64 left = n - ((n + 1) / 2 < opt.ops_sample ? (n + 1) / 2 : opt.ops_sample);
		__u64 closed, gone;

		t0 = now_ns(); c0 = rusage_ns(); busy_mark(&bm);
		close(tfd);
		closed = now_ns() - t0;
		emit_op("close", left, closed, rusage_ns() - c0);
		timer_bench__destroy(skel);
		gone = wait_map_gone(id, t0);
		emit_op("close_freed", left, gone, busy_since(&bm));
	}
	free(ids);
	return 0;
}

/* ---- the floor: the callback alone ---- */

static int cmd_floor(void)
{
	struct bpf_timer_md md = { .id = 7, .expires = 1 };
	const char *bodies[] = { "trivial", "realistic" };
	int err, b, rep;

	skel = timer_bench__open_and_load();
	if (!skel)
		die("open_and_load", errno);
	for (b = 0; b < 2; b++) {
		skel->bss->body = b;
		for (rep = 0; rep < (int)opt.reps; rep++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &md,
				    .ctx_size_in = sizeof(md), .repeat = opt.repeat);
			__u64 t0 = now_ns();

			err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tm_cb), &o);
			if (err)
				die("test_run", err);
			printf("@{\"kind\":\"floor\",\"body\":\"%s\",\"rep\":%d,\"repeat\":%llu,"
			       "\"per_ns\":%u,\"wall_ns\":%llu}\n", bodies[b], rep,
			       opt.repeat, o.duration, now_ns() - t0);
			fflush(stdout);
		}
	}
	timer_bench__destroy(skel);
	return 0;
}

/* ---- GC: the timer_gc sample's sharded table, swept in the kernel or from user space ---- */

/* No result may depend on how long a fill or a sweep takes: the flows are
 * seen at time 1 (idle, past a timeout of 1 ns whenever the sweep runs) or
 * in the future (never idle; the GC allows for packets on other CPUs being
 * ahead of its clock). Both checks cost what they cost at any other time.
 */
#define GC_TIMEOUT_NS	1
#define GC_IDLE_SEEN	1
#define GC_LIVE_SEEN	(1ULL << 62)

/* Shard @i's hash map, for user space. */
static int gc_shard_fd(int outer_fd, __u32 i)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(outer_fd, &i, &id))
		die("shard lookup", errno);
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		die("shard fd", fd);
	return fd;
}

/* The user-space GC: each shard read whole with bpf_map_lookup_batch(),
 * then its idle flows deleted with bpf_map_delete_batch().
 */
static __u64 gc_user(const int *fds, __u32 nshards, __u32 cap, __u64 *scanned)
{
	struct flow_key *k = calloc(cap, sizeof(*k)), *dead = calloc(cap, sizeof(*dead));
	struct flow_info *v = calloc(cap, sizeof(*v));
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u64 now = now_ns(), expired = 0;
	__u32 i, j, cnt, ndead, token;

	*scanned = 0;
	for (i = 0; i < nshards; i++) {
		cnt = cap;
		if (bpf_map_lookup_batch(fds[i], NULL, &token, k, v, &cnt, &o) &&
		    errno != ENOENT)
			die("lookup_batch", errno);
		*scanned += cnt;
		for (j = 0, ndead = 0; j < cnt; j++)
			if (now > v[j].last_seen && now - v[j].last_seen > GC_TIMEOUT_NS)
				dead[ndead++] = k[j];
		if (ndead && bpf_map_delete_batch(fds[i], dead, &ndead, &o))
			die("delete_batch", errno);
		expired += ndead;
	}
	free(k);
	free(dead);
	free(v);
	return expired;
}

static void gc_stats_reset(int fd)
{
	struct gc_stats *z = calloc(ncpus, sizeof(*z));
	__u32 zero = 0;

	if (bpf_map_update_elem(fd, &zero, z, BPF_ANY))
		die("gc stats reset", errno);
	free(z);
}

/* Fills the table: opt.flows flows, opt.expired_pct percent of them idle,
 * the others live; returns the number of idle ones.
 */
static __u64 gc_fill_table(int prog_fd)
{
	struct fill_args done = {};
	int err;

	err = gc_fill(prog_fd, 0, opt.flows, GC_LIVE_SEEN, GC_IDLE_SEEN,
		      opt.expired_pct, &done);
	if (err)
		die("fill_flows", err);
	if (done.failed)
		die("fill_flows: shard full", -ENOSPC);
	return opt.flows / 100 * opt.expired_pct +
	       (opt.flows % 100 < opt.expired_pct ? opt.flows % 100 : opt.expired_pct);
}

static int cmd_gc(void)
{
	__u64 t0, c0, r0, scanned, exp, want;
	__u32 nshards, cap = opt.shard_flows, *ids, i;
	int outer_fd, tfd, pfd, fill_fd, sfd, stats_fd, rep, err, *fds;
	struct gc_timers timers;
	struct timer_gc *g;
	struct gc_stats st;
	struct busy_mark bm;
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	struct rlimit nofile;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		die("enable_stats", stats_fd);
	if (cap < 512)
		die("--shard-flows: at least 512", EINVAL);
	nshards = gc_nshards(opt.flows, cap);
	/* User space keeps an fd on every shard (16M flows: 20834 shards). */
	if (getrlimit(RLIMIT_NOFILE, &nofile))
		die("RLIMIT_NOFILE", errno);
	if (nofile.rlim_cur < nshards + 1024) {
		nofile.rlim_cur = nshards + 1024;
		if (nofile.rlim_max < nofile.rlim_cur)
			nofile.rlim_max = nofile.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &nofile))
			die("RLIMIT_NOFILE", errno);
	}
	g = timer_gc__open();
	if (!g)
		die("gc open", errno);
	g->rodata->udp_timeout_ns = GC_TIMEOUT_NS;
	g->rodata->nshards = nshards;
	g->rodata->gc_period = 0;	/* one run a fire: the bench fires them */
	if (bpf_map__set_max_entries(g->maps.shards, nshards) ||
	    bpf_map__set_max_entries(g->maps.shard_of_timer, nshards) ||
	    bpf_map__set_max_entries(g->maps.shard_last_run, nshards) ||
	    bpf_map__set_max_entries(g->maps.gc_timer, nshards))
		die("gc set_max_entries", -EINVAL);
	if (timer_gc__load(g))
		die("gc load", errno);
	outer_fd = bpf_map__fd(g->maps.shards);
	tfd = bpf_map__fd(g->maps.gc_timer);
	pfd = bpf_program__fd(g->progs.expire_flows);
	fill_fd = bpf_program__fd(g->progs.fill_flows);
	sfd = bpf_map__fd(g->maps.gc_stats);
	if (gc_create_shards(outer_fd, nshards, cap))
		die("gc shards", errno);
	ids = calloc(nshards, sizeof(*ids));
	fds = calloc(nshards, sizeof(*fds));
	if (!ids || !fds)
		die("gc alloc", ENOMEM);
	/* Armed a day ahead: each sweep fires them all by hand, and they do
	 * not re-arm.
	 */
	timers.timer_fd = tfd;
	timers.prog_fd = pfd;
	timers.shard_of_fd = bpf_map__fd(g->maps.shard_of_timer);
	timers.last_run_fd = bpf_map__fd(g->maps.shard_last_run);
	timers.nshards = nshards;
	timers.first_ns = now_ns() + 24 * 3600 * NSEC_PER_SEC;
	timers.interval_ns = NSEC_PER_SEC;
	timers.ids = ids;
	err = gc_create_timers(&timers);
	if (err)
		die("gc timers", err);
	for (i = 0; i < nshards; i++)
		fds[i] = gc_shard_fd(outer_fd, i);

	for (rep = 0; rep < (int)opt.reps; rep++) {
		/* In the kernel: every shard's timer runs once. */
		if (opt.gc_how && strcmp(opt.gc_how, "kernel"))
			goto user;
		want = gc_fill_table(fill_fd);
		gc_stats_reset(sfd);
		perf_ctl("enable");
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		bpf_prog_get_info_by_fd(pfd, &info, &len);
		r0 = info.run_time_ns;
		t0 = now_ns(); busy_mark(&bm); c0 = rusage_ns();
		if (gc_fire_all(&timers))
			die("gc fire", errno);
		/* Polled every 10 ms: the poll is counted in the sweep's CPU. */
		do {
			usleep(10000);
			if (gc_read_stats(sfd, &st))
				die("gc stats", errno);
			if (now_ns() - t0 > 600 * NSEC_PER_SEC)
				die("gc kernel: shards not run after 600 s", ETIMEDOUT);
		} while (st.runs < nshards);
		perf_ctl("disable");
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		bpf_prog_get_info_by_fd(pfd, &info, &len);
		if (st.expired != want || st.live_evictions)
			die("gc kernel: expired flows", -EPROTO);
		printf("@{\"kind\":\"gc\",\"how\":\"kernel\",\"rep\":%d,\"flows\":%llu,"
		       "\"shards\":%u,\"shard_cap\":%u,\"scanned\":%llu,\"expired\":%llu,"
		       "\"wall_ns\":%llu,\"busy_ns\":%llu,\"proc_cpu_ns\":%llu,"
		       "\"prog_ns\":%llu,\"max_run_ns\":%llu,\"max_scanned\":%llu}\n",
		       rep, opt.flows, nshards, cap, st.scanned, st.expired,
		       now_ns() - t0, busy_since(&bm), rusage_ns() - c0,
		       info.run_time_ns - r0, st.max_run_ns, st.max_scanned);
		fflush(stdout);

user:
		/* From user space: batch lookup, then batch delete, per shard. */
		if (opt.gc_how && strcmp(opt.gc_how, "user"))
			continue;
		want = gc_fill_table(fill_fd);
		perf_ctl("enable");
		t0 = now_ns(); busy_mark(&bm); c0 = rusage_ns();
		exp = gc_user(fds, nshards, cap, &scanned);
		perf_ctl("disable");
		if (exp != want)
			die("gc user: expired flows", -EPROTO);
		printf("@{\"kind\":\"gc\",\"how\":\"user\",\"rep\":%d,\"flows\":%llu,"
		       "\"shards\":%u,\"shard_cap\":%u,\"scanned\":%llu,\"expired\":%llu,"
		       "\"wall_ns\":%llu,\"busy_ns\":%llu,\"proc_cpu_ns\":%llu,\"prog_ns\":0}\n",
		       rep, opt.flows, nshards, cap, scanned, exp, now_ns() - t0,
		       busy_since(&bm), rusage_ns() - c0);
		fflush(stdout);
	}
	for (i = 0; i < nshards; i++) {
		bpf_map_delete_elem(tfd, &ids[i]);
		close(fds[i]);
	}
	free(ids);
	free(fds);
	timer_gc__destroy(g);
	close(stats_fd);
	return 0;
}

static int cmd_baseline(void)
{
	__u64 t0 = now_ns();
	struct busy_mark bm;

	busy_mark(&bm);

	wait_until(t0 + opt.max_ms * NSEC_PER_MSEC);
	printf("@{\"kind\":\"baseline\",\"wall_ns\":%llu,\"busy_ns\":%llu,\"ncpus\":%d}\n",
	       now_ns() - t0, busy_since(&bm), ncpus_online);
	return 0;
}

static __u64 num(const char *s)
{
	char *end;
	__u64 v = strtoull(s, &end, 0);

	if (*end == 'k')
		v *= 1000, end++;
	else if (*end == 'M')
		v *= 1000000, end++;
	if (*end || !v) {
		fprintf(stderr, "timer_bench: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "variant", 1, 0, 'v' }, { "n", 1, 0, 'n' }, { "rate", 1, 0, 'r' },
		{ "reps", 1, 0, 'k' }, { "repeat", 1, 0, 'R' }, { "flows", 1, 0, 'f' },
		{ "expired-pct", 1, 0, 'e' }, { "ops-sample", 1, 0, 's' },
		{ "min-busy-ms", 1, 0, 'b' }, { "min-ms", 1, 0, 'm' },
		{ "max-ms", 1, 0, 'M' }, { "perf-ctl", 1, 0, 'P' },
		{ "how", 1, 0, 'H' }, { "shard-flows", 1, 0, 'S' }, {}
	};
	const char *cmd;
	int c, i;

	if (argc < 2) {
		fprintf(stderr, "usage: timer_bench floor|fire|gc|baseline [options]\n");
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'v':
			for (i = 0; i < (int)(sizeof(variant_names) / sizeof(variant_names[0])); i++)
				if (!strcmp(optarg, variant_names[i]))
					opt.variant = i;
			if (strcmp(optarg, variant_names[opt.variant]))
				return fprintf(stderr, "bad variant %s\n", optarg), 2;
			break;
		case 'n':
			opt.n = num(optarg);
			break;
		case 'r':
			opt.rate = num(optarg);
			break;
		case 'k':
			opt.reps = num(optarg);
			break;
		case 'R':
			opt.repeat = num(optarg);
			break;
		case 'f':
			opt.flows = num(optarg);
			break;
		case 'S':
			opt.shard_flows = num(optarg);
			break;
		case 'e':
			opt.expired_pct = num(optarg);
			break;
		case 's':
			opt.ops_sample = num(optarg);
			break;
		case 'b':
			opt.min_busy_ms = num(optarg);
			break;
		case 'm':
			opt.min_ms = num(optarg);
			break;
		case 'M':
			opt.max_ms = num(optarg);
			break;
		case 'P':
			opt.perf_ctl = optarg;
			break;
		case 'H':
			opt.gc_how = optarg;
			break;
		default: return 2;
		}
	}
	ncpus = libbpf_num_possible_cpus();
	ncpus_online = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus <= 0)
		die("possible cpus", ncpus);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "floor"))
		return cmd_floor();
	if (!strcmp(cmd, "fire"))
		return cmd_fire();
	if (!strcmp(cmd, "gc"))
		return cmd_gc();
	if (!strcmp(cmd, "baseline"))
		return cmd_baseline();
	fprintf(stderr, "timer_bench: unknown command %s\n", cmd);
	return 2;
}
