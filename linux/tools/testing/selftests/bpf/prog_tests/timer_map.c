// SPDX-License-Identifier: GPL-2.0
/* BPF_MAP_TYPE_TIMER, BPF_TIMER_CREATE and SEC("timer") callbacks.
 *
 * Every behaviour is tested on both backends, with explicit resolutions:
 * 10 ms (the timer wheel at any HZ) and 100 us (hrtimers). No verdict
 * depends on how fast the machine runs: tests wait for conditions with
 * generous deadlines, and the stress tests loop until they have seen the
 * race they aim at, then print how often they saw it.
 *
 * TIMER_MAP_STRESS_OPS sets the number of user space operations of each
 * stress subtest (default: a quick run).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <test_progs.h>
#include <network_helpers.h>
#include "cap_helpers.h"
#include "timer_map_common.h"
#include "timer_map.skel.h"
#include "timer_map_fail.skel.h"
#include "timer_map_race.skel.h"

#define MS	1000000ULL
#define SEC_NS	1000000000ULL
#define PIN_PATH "/sys/fs/bpf/timer_map_test"

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

/* How long to wait for something that takes milliseconds on hardware:
 * the tests also run under emulation with KASAN and lockdep, on a busy
 * host.
 */
#define DEADLINE_MS 30000

/* slots of an XArray node (XA_CHUNK_SIZE with CONFIG_BASE_SMALL=n), and
 * sizeof(struct xa_node) on 64-bit
 */
#define XA_CHUNK 64
#define XA_NODE_SIZE 576

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

/* Poll for @cond for up to @ms milliseconds; true if it became true. */
#define WAIT_FOR(cond, ms) ({						\
	__u64 __end = now_ns() + (ms) * MS;				\
	bool __ok;							\
	while (!(__ok = (cond)) && now_ns() < __end)			\
		usleep(1000);						\
	__ok;								\
})

/* the callbacks keep their state by id % MAX_IDS */
#define RUNS(skel, id) READ_ONCE((skel)->bss->runs[(id) % MAX_IDS].count)

struct backend {
	const char *name;
	bool hres;
	__u64 res;
};

static const struct backend backends[] = {
	{ "wheel", false, WHEEL_RES },
	{ "hrtimer", true, HRES_RES },
};

/* A loaded skeleton and the map, callback and tc program of one backend */
struct tm_env {
	struct timer_map *skel;
	struct timer_map__bss *bss;
	const struct backend *b;
	int map_fd, prog_fd, ops_fd;
};

static bool tm_open(struct tm_env *t, const struct backend *b)
{
	memset(t, 0, sizeof(*t));
	t->b = b;
	t->skel = timer_map__open();
	if (!ASSERT_OK_PTR(t->skel, "open"))
		return false;
	/* the other backend's callback only costs verifier time */
	bpf_program__set_autoload(b->hres ? t->skel->progs.cb : t->skel->progs.hr_cb, false);
	if (!ASSERT_OK(timer_map__load(t->skel), "load")) {
		timer_map__destroy(t->skel);
		t->skel = NULL;
		return false;
	}
	t->bss = t->skel->bss;
	t->map_fd = bpf_map__fd(b->hres ? t->skel->maps.hr_timers : t->skel->maps.timers);
	t->prog_fd = bpf_program__fd(b->hres ? t->skel->progs.hr_cb : t->skel->progs.cb);
	t->ops_fd = bpf_program__fd(t->skel->progs.map_ops);
	t->bss->use_hr = b->hres;
	return true;
}

static void tm_close(struct tm_env *t)
{
	timer_map__destroy(t->skel);
	t->skel = NULL;
}

/* A read-only mapping of the skeleton's .bss that outlives the skeleton
 * (tests that free it while callbacks still run), or MAP_FAILED.
 */
struct bss_map {
	struct timer_map__bss *bss;
	size_t size;
};

static bool bss_map(struct tm_env *t, struct bss_map *m)
{
	int fd = bpf_map__fd(t->skel->maps.bss);

	m->size = roundup(sizeof(*t->bss), getpagesize());
	m->bss = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
	return ASSERT_NEQ(m->bss, MAP_FAILED, "mmap bss");
}

static void bss_unmap(struct bss_map *m)
{
	if (m->bss != MAP_FAILED)
		munmap(m->bss, m->size);
}

static int make_map(__u32 max_entries, __u64 resolution)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_extra = resolution);

	return bpf_map_create(BPF_MAP_TYPE_TIMER, "test_timers", sizeof(__u32),
			      sizeof(__u64), max_entries, &opts);
}

static int create_timer(int map_fd, int prog_fd, __u64 expires, __u64 flags)
{
	LIBBPF_OPTS(bpf_timer_create_opts, opts, .expires = expires,
		    .flags = flags);

	return bpf_timer_create(map_fd, prog_fd, &opts);
}

static int arm(int map_fd, __u32 id, __u64 expires)
{
	return bpf_map_update_elem(map_fd, &id, &expires, BPF_ANY);
}

static __u64 lookup(int map_fd, __u32 id)
{
	__u64 v = -1ULL;

	if (bpf_map_lookup_elem(map_fd, &id, &v))
		return -1ULL;
	return v;
}

static int count_keys(int map_fd)
{
	__u32 key, next;
	int n = 0, err;

	err = bpf_map_get_next_key(map_fd, NULL, &next);
	while (!err) {
		n++;
		key = next;
		err = bpf_map_get_next_key(map_fd, &key, &next);
	}
	return n;
}

static void delete_all(int map_fd)
{
	__u32 key;

	while (!bpf_map_get_next_key(map_fd, NULL, &key))
		if (bpf_map_delete_elem(map_fd, &key))
			break;
}

static __u32 prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

static __u32 map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return 0;
	return info.id;
}

/* Whether an fd_by_id lookup found the object; closes what it got. */
static bool got_fd(int fd)
{
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define prog_alive(id) got_fd(bpf_prog_get_fd_by_id(id))
#define map_alive(id) got_fd(bpf_map_get_fd_by_id(id))

static __u64 map_memlock(int map_fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return ASSERT_OK(sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity");
}

static void unpin_cpu(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < libbpf_num_possible_cpus(); i++)
		CPU_SET(i, &set);
	ASSERT_OK(sched_setaffinity(0, sizeof(set), &set), "unpin");
}

static bool two_cpus(void)
{
	if (libbpf_num_possible_cpus() >= 2)
		return true;
	/* the harness boots two vCPUs: say why rather than skip quietly */
	ASSERT_GE(libbpf_num_possible_cpus(), 2, "needs two CPUs");
	return false;
}

static int test_run(int prog_fd)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = &pkt_v4,
		    .data_size_in = sizeof(pkt_v4), .repeat = 1);

	return bpf_prog_test_run_opts(prog_fd, &topts);
}

/* A thread that spins on one CPU, counting, until told to stop */
struct spinner {
	pthread_t thread;
	int cpu;
	bool stop;
	__u64 count;
	bool started;
};

static void *spinner_fn(void *arg)
{
	struct spinner *s = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return NULL;
	while (!READ_ONCE(s->stop))
		WRITE_ONCE(s->count, s->count + 1);
	return NULL;
}

static bool spinner_start(struct spinner *s, int cpu)
{
	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	s->started = !pthread_create(&s->thread, NULL, spinner_fn, s);
	return ASSERT_TRUE(s->started, "spinner") &&
	       ASSERT_TRUE(WAIT_FOR(READ_ONCE(s->count) > 0, DEADLINE_MS), "spinner runs");
}

static void spinner_stop(struct spinner *s)
{
	if (!s->started)
		return;
	WRITE_ONCE(s->stop, true);
	pthread_join(s->thread, NULL);
	s->started = false;
}

/* create, lookup, update, delete and get_next_key from user space */
static void test_crud(const struct backend *b)
{
	int id, ids[8], i, err;
	__u32 key, next;
	__u64 v, t0;
	struct tm_env t;

	if (!tm_open(&t, b))
		return;

	/* relative expiry round-trips as an absolute one */
	t0 = now_ns();
	id = create_timer(t.map_fd, t.prog_fd, 3600 * SEC_NS, 0);
	if (!ASSERT_GE(id, 0, "create relative"))
		goto out;
	v = lookup(t.map_fd, id);
	ASSERT_GE(v, t0 + 3600 * SEC_NS, "relative expiry lower bound");
	ASSERT_LE(v, now_ns() + 3600 * SEC_NS, "relative expiry upper bound");
	ids[0] = id;

	/* absolute expiry round-trips exactly; 0 creates disarmed */
	ids[1] = create_timer(t.map_fd, t.prog_fd, t0 + 7200 * SEC_NS, BPF_F_TIMER_ABS);
	ASSERT_EQ(lookup(t.map_fd, ids[1]), t0 + 7200 * SEC_NS, "absolute expiry");
	ids[2] = create_timer(t.map_fd, t.prog_fd, 0, 0);
	ASSERT_EQ(lookup(t.map_fd, ids[2]), 0, "created disarmed");
	for (i = 3; i < 8; i++)
		ids[i] = create_timer(t.map_fd, t.prog_fd, 0, 0);

	/* ids unique, all present, listed in ascending order */
	for (i = 0; i < 8; i++) {
		ASSERT_GE(ids[i], 0, "create");
		for (int j = 0; j < i; j++)
			ASSERT_NEQ(ids[i], ids[j], "unique id");
	}
	ASSERT_EQ(count_keys(t.map_fd), 8, "8 keys");
	err = bpf_map_get_next_key(t.map_fd, NULL, &key);
	ASSERT_OK(err, "first key");
	while (!bpf_map_get_next_key(t.map_fd, &key, &next)) {
		ASSERT_GT(next, key, "ascending");
		key = next;
	}

	/* update re-arms and round-trips; 0 disarms */
	v = t0 + 9000 * SEC_NS;
	ASSERT_OK(arm(t.map_fd, ids[2], v), "update");
	ASSERT_EQ(lookup(t.map_fd, ids[2]), v, "updated expiry");
	ASSERT_OK(bpf_map_update_elem(t.map_fd, &ids[2], &v, BPF_EXIST), "update exist");
	ASSERT_OK(arm(t.map_fd, ids[0], 0), "disarm");
	ASSERT_EQ(lookup(t.map_fd, ids[0]), 0, "disarmed");

	/* delete frees the id */
	key = ids[1];
	ASSERT_OK(bpf_map_delete_elem(t.map_fd, &key), "delete");
	ASSERT_ERR(bpf_map_lookup_elem(t.map_fd, &key, &v), "lookup deleted");
	ASSERT_EQ(errno, ENOENT, "lookup deleted errno");
	ASSERT_EQ(count_keys(t.map_fd), 7, "7 keys");
	ASSERT_EQ(t.bss->total_runs, 0, "nothing fired");
out:
	tm_close(&t);
}

/* Which backend a map uses shows in its per-timer memory: struct hrtimer
 * is larger than struct timer_list. Find the boundary by bisection: it
 * must be one jiffy, TICK_NSEC for one of the HZ values x86 offers.
 */
static __s64 per_timer_bytes(struct tm_env *t, __u64 res)
{
	int fd = make_map(1, res), id;
	__s64 empty, one;

	if (fd < 0)
		return -1;
	empty = map_memlock(fd);
	id = create_timer(fd, t->prog_fd, 0, 0);
	one = map_memlock(fd);
	close(fd);
	return id < 0 ? -1 : one - empty;
}

static void test_backend(void)
{
	__u64 lo = 1000, hi = WHEEL_RES, mid, tick;
	__s64 wheel, hres, b;
	bool tick_ok = false;
	struct tm_env t;

	if (!tm_open(&t, &backends[0]))
		return;
	wheel = per_timer_bytes(&t, WHEEL_RES);
	hres = per_timer_bytes(&t, HRES_RES);
	/* which is larger depends on the config (lockdep grows timer_list) */
	if (!ASSERT_GT(wheel, 0, "wheel timer size") ||
	    !ASSERT_NEQ(hres, wheel, "backends told apart by their size"))
		goto out;
	ASSERT_EQ(per_timer_bytes(&t, 1000), hres, "1 us: hrtimer");
	ASSERT_EQ(per_timer_bytes(&t, 3600 * SEC_NS), wheel, "1 h: wheel");
	/* lo is an hrtimer resolution, hi a wheel one */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		b = per_timer_bytes(&t, mid);
		if (!ASSERT_TRUE(b == wheel || b == hres, "one of the backends"))
			goto out;
		if (b == hres)
			lo = mid;
		else
			hi = mid;
	}
	tick = hi;
	printf("%s: boundary %llu ns (HZ %llu); %lld B a wheel timer, %lld B an hrtimer\n",
	       __func__, tick, SEC_NS / tick, wheel, hres);
	/* TICK_NSEC = (NSEC_PER_SEC + HZ / 2) / HZ */
	for (__u64 hz = 100; hz <= 1000; hz++)
		tick_ok |= tick == (SEC_NS + hz / 2) / hz &&
			   (hz == 100 || hz == 250 || hz == 300 || hz == 1000);
	ASSERT_TRUE(tick_ok, "boundary is one jiffy");
	ASSERT_EQ(per_timer_bytes(&t, tick - 1), hres, "TICK_NSEC - 1: hrtimer");
	ASSERT_EQ(per_timer_bytes(&t, tick), wheel, "TICK_NSEC: wheel");
	/* the default, 1 ms, is whichever side of the jiffy it falls on */
	ASSERT_EQ(per_timer_bytes(&t, 0), MS < tick ? hres : wheel, "default 1 ms");
out:
	tm_close(&t);
}

/* one shot: context right, not early, disarmed after */
static void test_fire_once(const struct backend *b)
{
	struct run_info *r;
	struct tm_env t;
	__u64 exp;
	int id;

	if (!tm_open(&t, b))
		return;
	exp = now_ns() + 2 * b->res;
	id = create_timer(t.map_fd, t.prog_fd, exp, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(lookup(t.map_fd, id) == 0, DEADLINE_MS), "fired and disarmed");
	/* disarmed: it cannot run again */
	r = &t.bss->runs[id];
	ASSERT_EQ(r->count, 1, "fired once");
	ASSERT_EQ(r->id, id, "ctx->id");
	ASSERT_EQ(r->expires[0], exp, "ctx->expires");
	ASSERT_GE(r->fired_at, exp, "not early");
	ASSERT_LT(r->cpu, libbpf_num_possible_cpus(), "ctx->cpu");
	ASSERT_EQ(t.bss->early, 0, "early runs");
out:
	tm_close(&t);
}

/* an expiry in the past fires right away, for both ways of arming */
static void test_past_expiry(const struct backend *b)
{
	int id1, id2;
	struct tm_env t;

	if (!tm_open(&t, b))
		return;
	id1 = create_timer(t.map_fd, t.prog_fd, now_ns() - SEC_NS, BPF_F_TIMER_ABS);
	id2 = create_timer(t.map_fd, t.prog_fd, 0, 0);
	if (!ASSERT_GE(id1, 0, "create") || !ASSERT_GE(id2, 0, "create"))
		goto out;
	ASSERT_OK(arm(t.map_fd, id2, 1), "update past"); /* boot time: long past */
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id1) == 1 && RUNS(t.skel, id2) == 1,
			     DEADLINE_MS), "past expiries fired");
	ASSERT_EQ(t.bss->runs[id2].expires[0], 1, "ctx->expires is the one set");
out:
	tm_close(&t);
}

/* Return N re-arms at expires + N * resolution exactly, unless the run
 * ended after that: then at the first such period after now.
 */
static void test_periodic(const struct backend *b)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), per;
	__u64 step, *e, *ends, n = 6;
	int id, i, stats_fd, exact = 0;
	struct tm_env t;

	if (!tm_open(&t, b))
		return;
	/* A step of N resolutions, N > 1: 30 ms on both backends, longer
	 * than a jiffy, so that runs end well within their period even where
	 * hrtimers run from the tick (no high resolution mode).
	 */
	per = 30 * MS / b->res;
	step = per * b->res;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	ASSERT_GE(stats_fd, 0, "enable_stats");
	for (i = 0; i < MAX_IDS; i++) {
		t.bss->cfg[i].period = per;
		t.bss->cfg[i].max_runs = n;
	}
	id = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) == n && lookup(t.map_fd, id) == 0,
			     DEADLINE_MS), "ran n times, then disarmed");
	ASSERT_EQ(RUNS(t.skel, id), n, "stopped after returning 0");
	e = t.bss->runs[id].expires;
	ends = t.bss->runs[id].ends;
	for (i = 1; i < n; i++) {
		ASSERT_GT(e[i], e[i - 1], "later expiry");
		ASSERT_EQ((e[i] - e[i - 1]) % step, 0, "on the period grid");
		ASSERT_GT(e[i], ends[i - 1], "after the run that armed it");
		/* A run that ended in the first half of its period leaves
		 * the runner half a period to re-arm: the step is exact.
		 */
		if (ends[i - 1] < e[i - 1] + step / 2) {
			ASSERT_EQ(e[i] - e[i - 1], step, "exactly N resolutions");
			exact++;
		}
	}
	printf("%s/%s: %d of %llu steps checked for exactness\n", __func__, b->name,
	       exact, n - 1);
	ASSERT_GT(exact, 0, "some run ended in time for an exact step");
	ASSERT_EQ(t.bss->early, 0, "never early");
	if (!bpf_prog_get_info_by_fd(t.prog_fd, &info, &len))
		ASSERT_EQ(info.run_cnt, n, "run_cnt counts callback runs");
out:
	if (stats_fd >= 0)
		close(stats_fd);
	tm_close(&t);
}

/* late by many periods: the next run is the first period after now */
static void test_no_catch_up(const struct backend *b)
{
	__u64 start, step, e1, seen;
	__u32 per;
	struct tm_env t;
	int id;

	if (!tm_open(&t, b))
		return;
	/* a period of 200 ms on both backends */
	per = 200 * MS / b->res;
	step = per * b->res;
	t.bss->cfg[0].period = per;
	t.bss->cfg[0].max_runs = 2;

	start = now_ns() - 10 * step;
	id = create_timer(t.map_fd, t.prog_fd, start, BPF_F_TIMER_ABS);
	if (!ASSERT_EQ(id, 0, "create"))
		goto out;
	/* the runner's clock read lies between the end of the run and the
	 * moment user space sees the new expiry
	 */
	ASSERT_TRUE(WAIT_FOR((e1 = lookup(t.map_fd, id)) != start, DEADLINE_MS), "re-armed");
	seen = now_ns();
	ASSERT_EQ(t.bss->runs[id].expires[0], start, "first run at the set expiry");
	ASSERT_EQ((e1 - start) % step, 0, "next run on the period grid");
	ASSERT_GT(e1, t.bss->runs[id].ends[0], "next run after now");
	ASSERT_LT(e1 - step, seen, "the first period after now, not a later one");
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) == 2 && lookup(t.map_fd, id) == 0,
			     DEADLINE_MS), "ran twice");
	ASSERT_EQ(RUNS(t.skel, id), 2, "no burst of catch-up runs");
	ASSERT_EQ(t.bss->runs[id].expires[1], e1, "second run at that expiry");
out:
	tm_close(&t);
}

/* one program, many timers, each with its own context */
static void test_many_timers(const struct backend *b)
{
	__u64 base, armed;
	int i, ids[32];
	struct tm_env t;
	bool all;

	if (!tm_open(&t, b))
		return;
	for (i = 0; i < 32; i++) {
		ids[i] = create_timer(t.map_fd, t.prog_fd, 0, 0);
		if (!ASSERT_GE(ids[i], 0, "create"))
			goto out;
	}
	/* all expiries still ahead when the last one is armed */
	base = now_ns() + 2 * SEC_NS;
	for (i = 0; i < 32; i++)
		ASSERT_OK(arm(t.map_fd, ids[i], base + i * b->res), "arm");
	armed = now_ns();
	if (!ASSERT_LT(armed, base, "armed before the first expiry"))
		goto out;
	ASSERT_EQ(t.bss->total_runs, 0, "none ran before its expiry");
	ASSERT_TRUE(WAIT_FOR(t.bss->total_runs == 32, DEADLINE_MS), "all fired");
	all = true;
	for (i = 0; i < 32; i++) {
		all &= RUNS(t.skel, ids[i]) == 1;
		all &= t.bss->runs[ids[i]].id == ids[i];
		all &= t.bss->runs[ids[i]].expires[0] == base + i * b->res;
		all &= t.bss->runs[ids[i]].fired_at >= base + i * b->res;
	}
	ASSERT_TRUE(all, "each timer ran once, not early, with its own context");
out:
	tm_close(&t);
}

/* what a callback does to its own timer wins over its return value */
static void test_callback_ops(const struct backend *b)
{
	int del, rearm, disarm, victim, killer;
	struct run_info *r;
	struct tm_env t;
	__u64 v;

	if (!tm_open(&t, b))
		return;
	/* ids are allocated cyclically from 0 in a new map */
	t.bss->cfg[0].action = ACT_DELETE_SELF;
	t.bss->cfg[0].period = 1;
	t.bss->cfg[1].action = ACT_REARM_SELF;
	t.bss->cfg[1].arg = 20 * b->res;
	t.bss->cfg[2].action = ACT_DISARM_SELF;
	t.bss->cfg[2].period = 1;
	t.bss->cfg[4].action = ACT_DELETE_OTHER;
	t.bss->cfg[4].target = 3;

	del = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	rearm = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	disarm = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	victim = create_timer(t.map_fd, t.prog_fd, 3600 * SEC_NS, 0);
	killer = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	if (!ASSERT_EQ(del, 0, "id 0") || !ASSERT_EQ(rearm, 1, "id 1") ||
	    !ASSERT_EQ(disarm, 2, "id 2") || !ASSERT_EQ(victim, 3, "id 3") ||
	    !ASSERT_EQ(killer, 4, "id 4"))
		goto out;

	/* each ends disarmed or deleted: nothing runs after that */
	ASSERT_TRUE(WAIT_FOR(count_keys(t.map_fd) == 3 && RUNS(t.skel, rearm) == 2 &&
			     lookup(t.map_fd, rearm) == 0 &&
			     RUNS(t.skel, disarm) == 1 && lookup(t.map_fd, disarm) == 0 &&
			     lookup(t.map_fd, killer) == 0, DEADLINE_MS),
		    "callbacks ran");

	ASSERT_EQ(t.bss->runs[del].op_err, 0, "delete self");
	ASSERT_EQ(RUNS(t.skel, del), 1, "deleted: return value ignored");
	ASSERT_ERR(bpf_map_lookup_elem(t.map_fd, &del, &v), "deleted self gone");

	r = &t.bss->runs[rearm];
	ASSERT_EQ(r->op_err, 0, "rearm self");
	ASSERT_EQ(r->count, 2, "re-armed despite return 0");
	ASSERT_GE(r->expires[1] - r->expires[0], 20 * b->res, "re-armed expiry");

	ASSERT_EQ(t.bss->runs[disarm].op_err, 0, "disarm self");
	ASSERT_EQ(RUNS(t.skel, disarm), 1, "disarmed despite return 1");

	ASSERT_EQ(t.bss->runs[killer].op_err, 0, "delete other");
	ASSERT_ERR(bpf_map_lookup_elem(t.map_fd, &victim, &v), "other gone");
	ASSERT_EQ(RUNS(t.skel, victim), 0, "other never ran");
out:
	tm_close(&t);
}

/* The timer_lockup shape: two callbacks on two CPUs delete each other's
 * timer while both run. Loops until that happened.
 */
static void test_cross_delete(const struct backend *b)
{
	int a, bb, i, rounds = 0, both = 0;
	struct run_info *ra, *rb;
	__u64 at, end;
	struct tm_env t;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	end = now_ns() + 4 * DEADLINE_MS * MS;
	for (i = 0; both < 3 && now_ns() < end && i < 500; i++) {
		/* created disarmed, configured, then armed from two CPUs */
		a = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
		bb = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
		if (!ASSERT_GE(a, 0, "create a") || !ASSERT_GE(bb, 0, "create b"))
			break;
		ra = &t.bss->runs[a % MAX_IDS];
		rb = &t.bss->runs[bb % MAX_IDS];
		memset(ra, 0, sizeof(*ra));
		memset(rb, 0, sizeof(*rb));
		t.bss->cfg[a % MAX_IDS] = (struct timer_cfg){
			.action = ACT_DELETE_OTHER, .target = bb, .spin_ns = 5 * b->res };
		t.bss->cfg[bb % MAX_IDS] = (struct timer_cfg){
			.action = ACT_DELETE_OTHER, .target = a, .spin_ns = 5 * b->res };
		at = now_ns() + 100 * MS;
		if (!pin_to_cpu(0) || !ASSERT_OK(arm(t.map_fd, a, at), "arm a") ||
		    !pin_to_cpu(1) || !ASSERT_OK(arm(t.map_fd, bb, at), "arm b"))
			break;
		unpin_cpu();
		/* one runs and deletes the other, or both run: then both
		 * deletes found their target running or gone
		 */
		if (!ASSERT_TRUE(WAIT_FOR(count_keys(t.map_fd) == 0 ||
					  (count_keys(t.map_fd) == 1 &&
					   (lookup(t.map_fd, a) == 0 || lookup(t.map_fd, bb) == 0)),
					  DEADLINE_MS), "one or both ran"))
			break;
		rounds++;
		if (ra->count && rb->count) {
			both++;
			ASSERT_EQ(count_keys(t.map_fd), 0, "both ran: both deleted");
		}
		if (ra->count)
			ASSERT_TRUE(ra->op_err == 0 || ra->op_err == -ENOENT, "a's delete");
		if (rb->count)
			ASSERT_TRUE(rb->op_err == 0 || rb->op_err == -ENOENT, "b's delete");
		delete_all(t.map_fd);
	}
	unpin_cpu();
	printf("%s/%s: %d rounds, both callbacks ran in %d, %llu deletes of a running timer\n",
	       __func__, b->name, rounds, both, t.bss->del_running);
	ASSERT_GT(t.bss->del_running, 0, "deleted a running timer (window hit)");
	ASSERT_EQ(count_keys(t.map_fd), 0, "empty");
	tm_close(&t);
}

/* CPU_PIN runs the callback on the CPU that armed the timer, while that
 * CPU idles and the other one is busy (where timer migration would send an
 * unpinned one); re-armed from the other CPU, it moves there.
 */
static void test_cpu_pin(const struct backend *b)
{
	struct spinner busy = {};
	int id, loose;
	struct tm_env t;
	__u64 at;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	if (!spinner_start(&busy, 0))
		goto out;
	t.bss->cfg[0] = (struct timer_cfg){ .period = 2, .max_runs = 10 };
	t.bss->cfg[1] = (struct timer_cfg){ .period = 2, .max_runs = 10 };
	if (!pin_to_cpu(1))
		goto out;
	id = create_timer(t.map_fd, t.prog_fd, 2 * b->res, BPF_F_TIMER_CPU_PIN);
	loose = create_timer(t.map_fd, t.prog_fd, 2 * b->res, 0);
	unpin_cpu();
	if (!ASSERT_EQ(id, 0, "create") || !ASSERT_EQ(loose, 1, "create unpinned"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) == 10 && RUNS(t.skel, loose) == 10,
			     DEADLINE_MS), "fired");
	ASSERT_EQ(t.bss->runs[id].cpu_mask, 1 << 1, "all runs on the arming CPU");
	printf("%s/%s: pinned ran on CPUs %#llx, unpinned on %#llx\n", __func__,
	       b->name, t.bss->runs[id].cpu_mask, t.bss->runs[loose].cpu_mask);

	/* re-armed from CPU 0: runs there from then on */
	t.bss->cfg[0].max_runs = 15;
	t.bss->runs[id].cpu_mask = 0;
	at = now_ns() + 2 * b->res;
	if (!pin_to_cpu(0) || !ASSERT_OK(arm(t.map_fd, id, at), "re-arm"))
		goto out;
	unpin_cpu();
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) == 15, DEADLINE_MS), "fired again");
	ASSERT_EQ(t.bss->runs[id].cpu_mask, 1 << 0, "moved to the re-arming CPU");
out:
	unpin_cpu();
	spinner_stop(&busy);
	tm_close(&t);
}

/* lookup, update and delete from a BPF program */
static void test_bpf_side_ops(const struct backend *b)
{
	static const __u64 flags[] = { BPF_ANY, BPF_NOEXIST, BPF_EXIST,
				       BPF_F_LOCK, 8 };
	__u64 at, zero = 0;
	struct tm_env t;
	int id, i, err;
	__u32 key;

	if (!tm_open(&t, b))
		return;
	at = now_ns() + 3600 * SEC_NS;
	id = create_timer(t.map_fd, t.prog_fd, at, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;

	t.bss->op = TOP_LOOKUP;
	t.bss->op_id = id;
	ASSERT_OK(test_run(t.ops_fd), "run lookup");
	ASSERT_EQ(t.bss->op_ret, 0, "lookup");
	ASSERT_EQ(t.bss->op_lookup, at, "lookup value");

	t.bss->op = TOP_UPDATE;
	t.bss->op_value = now_ns() + 2 * b->res;
	ASSERT_OK(test_run(t.ops_fd), "run update");
	ASSERT_EQ(t.bss->op_ret, 0, "update");
	ASSERT_EQ(lookup(t.map_fd, id) == t.bss->op_value || RUNS(t.skel, id) == 1, true,
		  "value is the one set");
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) == 1, DEADLINE_MS), "re-armed by program");

	t.bss->op_value = 0;
	ASSERT_OK(test_run(t.ops_fd), "run disarm");
	ASSERT_EQ(t.bss->op_ret, 0, "disarm");
	ASSERT_EQ(lookup(t.map_fd, id), 0, "disarmed by program");

	/* update flags mean from a program what they mean from user space */
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		for (key = id; key <= id + 1000; key += 1000) {
			t.bss->op_id = key;
			t.bss->op_flags = flags[i];
			ASSERT_OK(test_run(t.ops_fd), "run update with flags");
			err = bpf_map_update_elem(t.map_fd, &key, &zero, flags[i]);
			if (!ASSERT_EQ(t.bss->op_ret, err, "same result as from user space"))
				printf("%s: flags %#llx, %s id\n", __func__, flags[i],
				       key == id ? "existing" : "missing");
		}
	}
	t.bss->op_id = id;
	t.bss->op_flags = BPF_ANY;
	ASSERT_EQ(lookup(t.map_fd, id), 0, "still disarmed");

	t.bss->op = TOP_DELETE;
	ASSERT_OK(test_run(t.ops_fd), "run delete");
	ASSERT_EQ(t.bss->op_ret, 0, "delete");
	ASSERT_EQ(count_keys(t.map_fd), 0, "deleted by program");
	ASSERT_OK(test_run(t.ops_fd), "run delete again");
	ASSERT_EQ(t.bss->op_ret, -ENOENT, "delete missing");
	t.bss->op = TOP_UPDATE;
	ASSERT_OK(test_run(t.ops_fd), "run update missing");
	ASSERT_EQ(t.bss->op_ret, -ENOENT, "update missing");
	t.bss->op = TOP_LOOKUP;
	ASSERT_OK(test_run(t.ops_fd), "run lookup missing");
	ASSERT_EQ(t.bss->op_ret, -2, "lookup missing");
out:
	tm_close(&t);
}

/* the program stays loaded while a timer uses it */
static void test_prog_ref(const struct backend *b)
{
	int map_fd, id;
	struct tm_env t;
	__u32 pid;

	map_fd = make_map(4, b->res);
	if (!ASSERT_GE(map_fd, 0, "map"))
		return;
	if (!tm_open(&t, b))
		goto out;
	pid = prog_id(t.prog_fd);
	id = create_timer(map_fd, t.prog_fd, 3600 * SEC_NS, 0);
	tm_close(&t);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_TRUE(prog_alive(pid), "prog held by the timer");
	ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "delete");
	/* the last reference went in process context: the id is free now */
	ASSERT_FALSE(prog_alive(pid), "prog released by delete");
out:
	close(map_fd);
}

/* closing the last fd stops the timers and releases the program */
static void test_close_stops(const struct backend *b)
{
	int map_fd, i, id;
	__u64 before;
	struct tm_env t;
	__u32 pid;

	if (!tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	map_fd = make_map(8, b->res);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	for (i = 0; i < 8; i++)
		t.bss->cfg[i].period = 2;
	for (i = 0; i < 4; i++) {
		id = create_timer(map_fd, t.prog_fd, b->res, 0);
		ASSERT_GE(id, 0, "create");
	}
	ASSERT_TRUE(WAIT_FOR(t.bss->total_runs >= 12, DEADLINE_MS), "running");
	close(map_fd);
	/* release_uref ran before close() returned */
	before = t.bss->total_runs;
	usleep(20 * b->res / 1000);
	ASSERT_EQ(t.bss->total_runs, before, "stopped by close");
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "prog released");
	return;
out:
	tm_close(&t);
}

/* a pinned map keeps firing after its creator exits, stops on unpin */
static void test_pinned(const struct backend *b)
{
	int pfd[2], id = -1, status;
	struct tm_env t;
	__u64 c1;
	pid_t pid;

	if (!tm_open(&t, b))
		return;
	for (int i = 0; i < 4; i++)
		t.bss->cfg[i].period = 5;
	unlink(PIN_PATH);
	if (!ASSERT_OK(pipe(pfd), "pipe"))
		goto out;
	pid = fork();
	if (pid == 0) {
		int map_fd = make_map(4, b->res);

		if (map_fd < 0 || bpf_obj_pin(map_fd, PIN_PATH))
			_exit(1);
		id = create_timer(map_fd, t.prog_fd, b->res, 0);
		if (write(pfd[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(read(pfd[0], &id, sizeof(id)), sizeof(id), "read id");
	waitpid(pid, &status, 0);
	close(pfd[0]);
	close(pfd[1]);
	if (!ASSERT_EQ(status, 0, "child") || !ASSERT_EQ(id, 0, "id"))
		goto out;
	c1 = RUNS(t.skel, id);
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, id) > c1 + 3, DEADLINE_MS),
		    "fires after creator exit");
	ASSERT_OK(unlink(PIN_PATH), "unpin");
	/* the last user reference went with the unlink */
	c1 = RUNS(t.skel, id);
	usleep(20 * b->res / 1000);
	ASSERT_EQ(RUNS(t.skel, id), c1, "stopped by unpin");
out:
	unlink(PIN_PATH);
	tm_close(&t);
}

/* a map only its own callback refers to is freed: no cycle */
static void test_no_cycle(const struct backend *b)
{
	__u32 pid, mid;
	struct tm_env t;
	int id;

	if (!tm_open(&t, b))
		return;
	/* the callback refers to its map for its delete/update actions */
	mid = map_id(t.map_fd);
	pid = prog_id(t.prog_fd);
	t.bss->cfg[0].period = 3;
	id = create_timer(t.map_fd, t.prog_fd, b->res, 0);
	ASSERT_EQ(id, 0, "create");
	ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, 0) > 2, DEADLINE_MS), "running");
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "prog freed");
	ASSERT_TRUE(WAIT_FOR(!map_alive(mid), DEADLINE_MS), "map freed");
}

/* Closing a map with many armed timers: no lockup, everything freed, and
 * the teardown costs no more than creating the timers did (both measured
 * here, side by side).
 */
static void test_teardown_many(const struct backend *b)
{
	int map_fd, i, n = 10000, id = 0;
	__u64 t0, create_ns, close_ns;
	struct tm_env t;
	__u32 pid;

	if (!tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	map_fd = make_map(n, b->res);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	t0 = now_ns();
	for (i = 0; i < n && id >= 0; i++)
		id = create_timer(map_fd, t.prog_fd, (3600 + i) * SEC_NS, 0);
	create_ns = now_ns() - t0;
	ASSERT_GE(id, 0, "created all");
	ASSERT_EQ(create_timer(map_fd, t.prog_fd, 0, 0), -E2BIG, "then full");
	t0 = now_ns();
	close(map_fd);
	close_ns = now_ns() - t0;
	printf("%s/%s: created %d armed timers in %llu ms, closed the map in %llu ms\n",
	       __func__, b->name, n, create_ns / MS, close_ns / MS);
	ASSERT_LT(close_ns, 2 * create_ns, "teardown no dearer than creation");
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "prog released");
	return;
out:
	tm_close(&t);
}

/* map_mem_usage follows the number of timers */
/* The size of one timer object: the object_size of its slab cache */
static long long timer_obj_size(const struct backend *b)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/slab/bpf_timer_map_%s/object_size",
		 b->hres ? "hrtimer" : "wheel");
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%lld", &v) != 1)
		v = -EINVAL;
	fclose(f);
	return v;
}

/* What a map with @timers timers in @nodes XArray nodes holds */
static bool mem_near(__u64 got, __u64 empty, long long obj, __u64 timers,
		     __u64 nodes, const char *what)
{
	__u64 want = empty + timers * obj + nodes * XA_NODE_SIZE;

	printf("test_mem_usage: %s: memlock %llu, %llu timers of %lld B and %llu nodes: %llu\n",
	       what, got, timers, obj, nodes, want);
	return ASSERT_GE(got * 10, want * 9, what) && ASSERT_LE(got * 10, want * 11, what);
}

/* map_mem_usage (fdinfo's memlock) within 10% of what the map holds: n
 * timers with dense ids, then one in XA_CHUNK (every survivor keeps a node
 * of its own), then none. n is TIMER_MAP_MEM_TIMERS, a multiple of 4096
 * up to 262144 (default 16384; scripts/stress: 65536).
 */
static void test_mem_usage(const struct backend *b)
{
	const char *env = getenv("TIMER_MAP_MEM_TIMERS");
	const int n = env ? atoi(env) : 16384;
	/* ids 0..n-1 fill n / 64 leaves under n / 4096 nodes and a root */
	const __u64 nodes = n / XA_CHUNK + (n > XA_CHUNK * XA_CHUNK ?
					    n / (XA_CHUNK * XA_CHUNK) : 0) + 1;
	long long obj = timer_obj_size(b);
	__u64 empty;
	struct tm_env t;
	int map_fd, i, id;

	if (!ASSERT_GT(obj, 0, "slab object size") ||
	    !ASSERT_TRUE(n >= 4096 && n <= 262144 && n % 4096 == 0, "TIMER_MAP_MEM_TIMERS"))
		return;
	if (!tm_open(&t, b))
		return;
	map_fd = make_map(n, b->res);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	empty = map_memlock(map_fd);
	ASSERT_GT(empty, 0, "memlock");
	for (i = 0; i < n; i++) {
		id = create_timer(map_fd, t.prog_fd, 0, 0);
		if (id != i && !ASSERT_EQ(id, i, "create"))
			goto close;
	}
	mem_near(map_memlock(map_fd), empty, obj, n, nodes, "dense ids");
	for (i = 0; i < n; i++)
		if (i % XA_CHUNK && bpf_map_delete_elem(map_fd, &i) &&
		    !ASSERT_OK(-errno, "delete"))
			goto close;
	mem_near(map_memlock(map_fd), empty, obj, n / XA_CHUNK, nodes, "sparse ids");
	delete_all(map_fd);
	ASSERT_EQ(map_memlock(map_fd), empty, "back to empty");
close:
	close(map_fd);
out:
	tm_close(&t);
}

/* Memory cgroups: timers are charged to the memcg the map was created in
 * (the map's, not the caller's), are uncharged when deleted, and a create
 * beyond memory.max fails with ENOMEM, without the OOM killer, changing
 * nothing.
 */
#define CG_ROOT	"/sys/fs/cgroup"
#define CG_DIR	CG_ROOT "/timer_map_test"
#define MEMCG_N	4096	/* timers: 0.4-0.8 MiB, above the slack */

static bool cg_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), n = -1;

	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	return ASSERT_EQ(n, (int)strlen(val), path);
}

static long long cg_read(const char *file)
{
	char path[128], buf[32] = {};
	int fd, n = -1;

	snprintf(path, sizeof(path), CG_DIR "/%s", file);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	return n > 0 ? atoll(buf) : -1;
}

/* The count of @name in CG_DIR/memory.events, or -1 */
static long long cg_event(const char *name)
{
	char line[64], key[32];
	long long v = -1, n;
	FILE *f;

	f = fopen(CG_DIR "/memory.events", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %lld", key, &n) == 2 && !strcmp(key, name))
			v = n;
	fclose(f);
	return v;
}

static bool cg_join(const char *dir)
{
	char path[128], pid[16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return cg_write(path, pid);
}

/* A map created from inside CG_DIR, the process back in the root after */
static int memcg_map(const struct backend *b, __u32 max_entries)
{
	int fd;

	rmdir(CG_DIR);
	if (!cg_write(CG_ROOT "/cgroup.subtree_control", "+memory") ||
	    !ASSERT_OK(mkdir(CG_DIR, 0755), "mkdir " CG_DIR) ||
	    !cg_join(CG_DIR))
		return -1;
	fd = make_map(max_entries, b->res);
	if (!cg_join(CG_ROOT) && fd >= 0) {
		close(fd);
		fd = -1;
	}
	ASSERT_GE(fd, 0, "map created in the cgroup");
	return fd;
}

static void test_memcg(const struct backend *b)
{
	/* Charges go through a per-CPU stock of up to 64 pages
	 * (MEMCG_CHARGE_BATCH) plus a page of object bytes: run on one CPU
	 * so that one stock is all the slack there is.
	 */
	const long long slack = 65 * getpagesize();
	long long base, rise, max, grow;
	int map_fd = -1, i, err, extra;
	__u64 memlock, before = 0;
	struct tm_env t;
	char val[32];
	__u32 pid;

	if (!pin_to_cpu(0) || !tm_open(&t, b))
		goto out_cpu;
	pid = prog_id(t.prog_fd);
	map_fd = memcg_map(b, 2 * MEMCG_N);
	if (map_fd < 0)
		goto out;

	base = cg_read("memory.current");
	memlock = map_memlock(map_fd);
	for (i = 0; i < MEMCG_N; i++) {
		err = create_timer(map_fd, t.prog_fd, 0, 0);
		if (err < 0) {
			ASSERT_GE(err, 0, "create");
			goto out;
		}
	}
	rise = cg_read("memory.current") - base;
	grow = map_memlock(map_fd) - memlock;
	printf("%s/%s: %d timers: memory.current +%lld B (%lld B per timer), memlock +%lld B\n",
	       __func__, b->name, MEMCG_N, rise, rise / MEMCG_N, grow);
	/* at least what the map reports; more with KASAN's redzones */
	ASSERT_GE(rise, grow - slack, "charged to the map's cgroup");
	ASSERT_LE(rise, 4 * grow + slack, "charged a bounded amount");

	/* A limit just above the usage: creates succeed until it is hit */
	max = cg_read("memory.current") + 16 * getpagesize();
	snprintf(val, sizeof(val), "%lld", max);
	if (!cg_write(CG_DIR "/memory.max", val))
		goto out;
	for (extra = 0; extra < MEMCG_N; extra++) {
		before = map_memlock(map_fd);
		err = create_timer(map_fd, t.prog_fd, 0, 0);
		if (err < 0)
			break;
	}
	printf("%s/%s: %d more timers fit under memory.max\n", __func__, b->name, extra);
	ASSERT_EQ(err, -ENOMEM, "create beyond memory.max: ENOMEM");
	ASSERT_EQ(map_memlock(map_fd), before, "memlock unchanged");
	ASSERT_EQ(count_keys(map_fd), MEMCG_N + extra, "ids unchanged");
	ASSERT_LE(cg_read("memory.current"), max, "usage within memory.max");
	ASSERT_GT(cg_event("max"), 0, "memory.events: max hit");
	ASSERT_EQ(cg_event("oom"), 0, "memory.events: no OOM");
	cg_write(CG_DIR "/memory.max", "max");
	ASSERT_EQ(create_timer(map_fd, t.prog_fd, 0, 0), MEMCG_N + extra,
		  "created once the limit is lifted");

	/* deleted timers are freed after a grace period, then uncharged */
	delete_all(map_fd);
	ASSERT_EQ(map_memlock(map_fd), memlock, "memlock back to empty");
	ASSERT_TRUE(WAIT_FOR(cg_read("memory.current") <= base + slack, DEADLINE_MS),
		    "uncharged when deleted");
out:
	if (map_fd >= 0)
		close(map_fd);
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "program freed");
	ASSERT_TRUE(WAIT_FOR(!rmdir(CG_DIR) || errno == ENOENT, DEADLINE_MS), "rmdir " CG_DIR);
out_cpu:
	unpin_cpu();
}

/* Timers on CPU 0 that programs keep arming for a time already past:
 * - self: the callback re-arms its own timer to the expiry it ran for;
 * - cross: two callbacks re-arm each other's timer to boot time;
 * - spin: as self, the callback spinning longer than a jiffy first;
 * - hammer: a tc program re-arms the timer to boot time in a loop, from
 *   both CPUs: wherever the callback runs, it is re-armed meanwhile (a
 *   re-arm while it does not run moves it to the re-arming CPU).
 * Each timer runs again, but never twice in one softirq pass: a task
 * spinning on CPU 0 goes on counting.
 */
enum storm { STORM_SELF, STORM_CROSS, STORM_SPIN, STORM_HAMMER };

struct hammer {
	pthread_t thread;
	int fd, cpu;
	int pause_us;		/* between two runs of the program */
	bool stop;
	__u64 runs;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return NULL;
	while (!READ_ONCE(h->stop) && !test_run(h->fd)) {
		h->runs++;
		if (h->pause_us)
			usleep(h->pause_us);
	}
	return NULL;
}

static void test_storm(const struct backend *b, enum storm kind)
{
	static const char * const names[] = { "self", "cross", "spin", "hammer" };
	struct hammer h[2] = { { .fd = -1, .cpu = 0 }, { .fd = -1, .cpu = 1 } };
	struct spinner task = {};
	__u64 c1, c2, r1, r2;
	int hammering = 0;
	int a, bb = -1;
	struct tm_env t;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	if (!pin_to_cpu(0))
		goto out;
	a = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	if (kind == STORM_CROSS)
		bb = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	if (!ASSERT_EQ(a, 0, "create") || (kind == STORM_CROSS && !ASSERT_EQ(bb, 1, "create b")))
		goto out;
	switch (kind) {
	case STORM_SELF:
		t.bss->cfg[a].action = ACT_REARM_PAST;
		break;
	case STORM_SPIN:
		t.bss->cfg[a].action = ACT_REARM_PAST;
		t.bss->cfg[a].spin_ns = 25 * MS;	/* 2.5 jiffies at HZ=100 */
		break;
	case STORM_CROSS:
		t.bss->cfg[a] = (struct timer_cfg){ .action = ACT_REARM_OTHER_PAST, .target = bb };
		t.bss->cfg[bb] = (struct timer_cfg){ .action = ACT_REARM_OTHER_PAST, .target = a };
		break;
	case STORM_HAMMER:
		/* a callback that spins, re-armed while it runs */
		t.bss->cfg[a].spin_ns = 200000;
		t.bss->cfg[a].period = 1;
		t.bss->op = TOP_HAMMER;
		t.bss->op_id = a;
		t.bss->op_value = 1;
		t.bss->op_loops = 1000;
		break;
	}
	if (!spinner_start(&task, 0))
		goto out;
	/* armed from CPU 0, pinned: the storm is on the spinner's CPU */
	if (!ASSERT_OK(arm(t.map_fd, a, now_ns()), "arm"))
		goto out;
	if (!pin_to_cpu(1))
		goto out;
	for (; kind == STORM_HAMMER && hammering < 2; hammering++) {
		h[hammering].fd = t.ops_fd;
		if (!ASSERT_OK(pthread_create(&h[hammering].thread, NULL, hammer_fn,
					      &h[hammering]), "hammer"))
			break;
	}
	if (!ASSERT_TRUE(WAIT_FOR(t.bss->total_runs >= 20, DEADLINE_MS), "storm started"))
		goto stop;
	c1 = READ_ONCE(task.count);
	r1 = t.bss->total_runs;
	ASSERT_TRUE(WAIT_FOR(t.bss->total_runs >= r1 + 40, DEADLINE_MS), "storm goes on");
	/* the hammer's window is narrow: go on until it was hit */
	if (kind == STORM_HAMMER)
		WAIT_FOR(t.bss->ext_during_run > 0, 4 * DEADLINE_MS);
	c2 = READ_ONCE(task.count);
	r2 = t.bss->total_runs;
	printf("%s/%s_%s: %llu callback runs, the task on their CPU counted %llu meanwhile",
	       __func__, b->name, names[kind], r2 - r1, c2 - c1);
	if (kind == STORM_HAMMER)
		printf(", %llu updates by the tc program, %llu during a run",
		       t.bss->op_ok, t.bss->ext_during_run);
	printf("\n");
	/* however slow the guest, the task gets the CPU while the storm goes
	 * on (never, if a pass does not end)
	 */
	if (c2 == c1)
		WAIT_FOR(READ_ONCE(task.count) > c1, 4 * DEADLINE_MS);
	r2 = t.bss->total_runs;
	ASSERT_GT(READ_ONCE(task.count), c1, "the task on the timer's CPU ran during the storm");
	ASSERT_TRUE(WAIT_FOR(t.bss->total_runs > r2, DEADLINE_MS), "while the storm went on");
	if (kind == STORM_HAMMER)
		ASSERT_GT(t.bss->ext_during_run, 0, "re-armed while its callback ran");
stop:
	while (hammering--) {
		WRITE_ONCE(h[hammering].stop, true);
		pthread_join(h[hammering].thread, NULL);
	}
	/* a delete from user space waits for a running callback */
	delete_all(t.map_fd);
	r1 = t.bss->total_runs;
	ASSERT_EQ(count_keys(t.map_fd), 0, "deleted");
	usleep(20 * b->res / 1000);
	ASSERT_EQ(t.bss->total_runs, r1, "no run after the delete");
out:
	spinner_stop(&task);
	unpin_cpu();
	tm_close(&t);
}

/* An update from CPU 1 right when the timer expires on CPU 0: between the
 * timer core dequeuing it and the runner looking at it. The runner must
 * leave the timer queued by the update alone; modifying its expiry in
 * place would leave CPU 0's queue out of order and hold up every timer
 * behind it (a canary) until that expiry, 100 s or more ahead.
 */
static void test_queue_order(const struct backend *b)
{
	__u64 end, e, ran, raced = 0, hits = 0;
	int tm_id, canary, i;
	struct tm_env t;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	if (!pin_to_cpu(0))
		goto out;
	tm_id = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	canary = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	if (!ASSERT_EQ(tm_id, 0, "create") || !ASSERT_EQ(canary, 1, "create canary"))
		goto out;
	t.bss->cfg[tm_id].period = 1000000;	/* re-arm far ahead */
	t.bss->op = TOP_RACE;
	t.bss->op_id = tm_id;
	end = now_ns() + 4 * DEADLINE_MS * MS;
	for (i = 0; i < 2000 && hits < 5 && now_ns() < end; i++) {
		__u64 ran_c = RUNS(t.skel, canary);

		/* the canary queued behind the timer, both on CPU 0 */
		if (!pin_to_cpu(0))
			break;
		e = now_ns() + 50 * MS;
		ran = RUNS(t.skel, tm_id);
		if (!ASSERT_OK(arm(t.map_fd, canary, e + 2 * b->res + 20 * MS), "arm canary") ||
		    !ASSERT_OK(arm(t.map_fd, tm_id, e), "arm"))
			break;
		/* from CPU 1: spin until e + 0..200 us, then re-arm to now */
		if (!pin_to_cpu(1))
			break;
		t.bss->op_value = e + (i % 40) * 5000;
		if (!ASSERT_OK(test_run(t.ops_fd), "race"))
			break;
		if (!ASSERT_OK(t.bss->op_ret, "race update"))
			break;
		/* the update's run has happened once it re-armed far ahead */
		if (!ASSERT_TRUE(WAIT_FOR(lookup(t.map_fd, tm_id) > t.bss->op_at + SEC_NS,
					  DEADLINE_MS), "timer ran for the update"))
			break;
		if (RUNS(t.skel, tm_id) == ran + 1 &&
		    t.bss->runs[tm_id].last_expires == t.bss->op_at)
			raced++;
		/* updated after e, yet the only run was the update's */
		if (RUNS(t.skel, tm_id) == ran + 1 && t.bss->op_at >= e)
			hits++;
		if (!ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, canary) > ran_c, DEADLINE_MS),
				 "canary ran: queue in order"))
			break;
	}
	printf("%s/%s: %d rounds, %llu updates before the run, %llu of them past the expiry\n",
	       __func__, b->name, i, raced, hits);
	ASSERT_GT(hits, 0, "updates raced the expiry (window hit)");
	ASSERT_EQ(t.bss->early, 0, "never early");
out:
	unpin_cpu();
	delete_all(t.map_fd);
	tm_close(&t);
}

/* Teardown meeting deletes from programs (race 5 at the top of
 * kernel/bpf/timermap.c). Timer 0's callback spins on CPU 0 for a second;
 * from CPU 1 a program deletes it, which leaves the free work waiting for
 * that callback, then deletes every other timer of the map, which the
 * free work cannot erase meanwhile; then the map's last fd is closed.
 * Teardown meets timers that a program deleted and must leave them to the
 * free work, yet return only once the callback ended and every timer is
 * gone. Whether the close comes within the second depends on the guest's
 * speed; no verdict does.
 */
static void test_close_self_delete(const struct backend *b)
{
	struct bss_map m = { .bss = MAP_FAILED };
	struct timer_map__bss *bss;
	__u64 runs, end, closed;
	struct tm_env t;
	int i, devnull;
	__u32 pid;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	if (!bss_map(&t, &m))
		goto out;
	bss = m.bss;
	pid = prog_id(t.prog_fd);
	if (!pin_to_cpu(0))
		goto unmap;
	for (i = 0; i < MAX_IDS; i++)
		if (!ASSERT_EQ(create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN), i,
			       "create"))
			goto unmap;
	t.bss->cfg[0].spin_ns = 1000 * MS;
	/* due once this thread is on CPU 1: a callback on its own CPU would
	 * hold it off for the whole second
	 */
	if (!ASSERT_OK(arm(t.map_fd, 0, now_ns() + 500 * MS), "arm") || !pin_to_cpu(1) ||
	    !ASSERT_TRUE(WAIT_FOR(READ_ONCE(bss->runs[0].count), DEADLINE_MS), "ran"))
		goto unmap;
	/* deletes from a program: timer 0 while its callback runs, then
	 * the others, never armed
	 */
	t.bss->op = TOP_DELETE;
	for (i = 0; i < MAX_IDS; i++) {
		t.bss->op_id = i;
		if (!ASSERT_OK(test_run(t.ops_fd), "test_run") ||
		    !ASSERT_OK(t.bss->op_ret, "delete from a program"))
			goto unmap;
	}
	/* Close the map's only fd at once, keeping the skeleton's fd number
	 * taken: release_uref has run when dup2() returns.
	 */
	devnull = open("/dev/null", O_RDONLY);
	if (!ASSERT_GE(devnull, 0, "open") ||
	    !ASSERT_EQ(dup2(devnull, t.map_fd), t.map_fd, "close the map's fd")) {
		close(devnull);
		goto unmap;
	}
	close(devnull);
	closed = now_ns();
	runs = READ_ONCE(bss->total_runs);
	ASSERT_EQ(runs, 1, "only timer 0 ran");
	ASSERT_FALSE(READ_ONCE(bss->runs[0].running), "callback over when the close returned");
	ASSERT_LE(READ_ONCE(bss->runs[0].ended_at), closed, "ended before the close returned");
	/* nothing runs after the close: wait 10 resolutions, 100 ms at least */
	end = now_ns() + (10 * b->res > 100 * MS ? 10 * b->res : 100 * MS);
	while (now_ns() < end)
		usleep(1000);
	ASSERT_EQ(READ_ONCE(bss->total_runs), runs, "no run after the close");
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "prog freed");
	printf("%s/%s: the callback ran %llu ms of its 1000, closed %llu ms after it began\n",
	       __func__, b->name, (READ_ONCE(bss->runs[0].ended_at) - bss->runs[0].fired_at) / MS,
	       (closed - bss->runs[0].fired_at) / MS);
unmap:
	bss_unmap(&m);
out:
	unpin_cpu();
	if (t.skel)
		tm_close(&t);
}

/* BPF_TIMER_CREATE with CPU_PIN from a thread on @cpu, so that the
 * caller, on another CPU, is not held off by the timer's callback.
 */
struct remote_create {
	pthread_t thread;
	int cpu, map_fd, prog_fd, id;
	bool created, go;	/* arms it once told to */
};

static void *remote_create_fn(void *arg)
{
	struct remote_create *rc = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(rc->cpu, &set);
	rc->id = sched_setaffinity(0, sizeof(set), &set) ? -errno :
		 create_timer(rc->map_fd, rc->prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	WRITE_ONCE(rc->created, true);
	while (!READ_ONCE(rc->go))
		usleep(1000);
	if (rc->id >= 0)
		arm(rc->map_fd, rc->id, now_ns());
	return NULL;
}

/* A delete from user space returns once a running callback has finished,
 * and drops the program's reference before it returns.
 */
static void test_delete_waits(const struct backend *b)
{
	struct bss_map m = { .bss = MAP_FAILED };
	__u64 d0, d1, ended, overlapped = 0;
	struct timer_map__bss *bss;
	int id, round, map_fd;
	struct tm_env t;
	__u32 pid;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	/* the last round frees the skeleton: read its globals through a
	 * mapping of our own
	 */
	map_fd = dup(t.map_fd);
	if (!bss_map(&t, &m))
		goto out;
	bss = m.bss;
	pid = prog_id(t.prog_fd);
	/* the timers run on CPU 0, watched and deleted from CPU 1: a softirq
	 * spinning on our own CPU would hold us off until it is over
	 */
	if (!pin_to_cpu(1))
		goto out;
	for (round = 0; round < 4; round++) {
		struct remote_create rc = { .cpu = 0, .map_fd = map_fd,
					    .prog_fd = t.prog_fd, .id = -1 };

		t.bss->cfg[round].spin_ns = 300 * MS;
		if (!ASSERT_OK(pthread_create(&rc.thread, NULL, remote_create_fn, &rc),
			       "creator"))
			break;
		/* ids are allocated cyclically: this round's is known */
		id = round;
		WAIT_FOR(READ_ONCE(rc.created), DEADLINE_MS);
		if (round == 3)
			tm_close(&t);	/* the timer holds the last reference */
		WRITE_ONCE(rc.go, true);
		if (!ASSERT_TRUE(WAIT_FOR(READ_ONCE(bss->runs[id].running), DEADLINE_MS),
				 "callback running")) {
			pthread_join(rc.thread, NULL);
			break;
		}
		d0 = now_ns();
		ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "delete");
		d1 = now_ns();
		ended = READ_ONCE(bss->runs[id].ended_at);
		ASSERT_FALSE(READ_ONCE(bss->runs[id].running), "run over when delete returned");
		ASSERT_TRUE(ended && ended <= d1, "ended before delete returned");
		overlapped += ended > d0;
		pthread_join(rc.thread, NULL);
		ASSERT_EQ(rc.id, id, "create");
		if (round == 3)
			ASSERT_FALSE(prog_alive(pid), "prog reference dropped by delete");
	}
	unpin_cpu();
	printf("%s/%s: the callback ended during %llu of 4 deletes\n", __func__,
	       b->name, overlapped);
	ASSERT_GT(overlapped, 0, "delete overlapped a run (window hit)");
out:
	bss_unmap(&m);
	close(map_fd);
	if (t.skel)
		tm_close(&t);
}

/* BPF_MAP_FREEZE against BPF_TIMER_CREATE: once a freeze succeeded, no
 * create may add a timer. map_freeze() reads the map's writer count, then
 * sets frozen; a create must not become a writer in between and go on to
 * publish a timer. Tasks spinning on both CPUs preempt the freezer and the
 * creator at random points; half the rounds freeze right as the creator
 * starts, so that the freeze finds the map empty.
 */
struct creator {
	pthread_t thread;
	int map_fd, prog_fd;
	bool go, stop;
	__u64 ok;
	int last_err;
};

static void *creator_fn(void *arg)
{
	struct creator *c = arg;
	int id;

	while (!READ_ONCE(c->go))
		;
	while (!READ_ONCE(c->stop)) {
		id = create_timer(c->map_fd, c->prog_fd, 0, 0);
		if (id >= 0) {
			WRITE_ONCE(c->ok, c->ok + 1);
		} else {
			WRITE_ONCE(c->last_err, id);
			if (id == -EPERM)
				break;
		}
	}
	return NULL;
}

/* @dflt rounds times TIMER_MAP_RACE_SCALE (scripts/stress: 5) */
static int race_rounds(int dflt)
{
	const char *s = getenv("TIMER_MAP_RACE_SCALE");

	return s ? dflt * atoi(s) : dflt;
}

static void test_freeze_race(void)
{
	int round, rounds = race_rounds(500), n0, err, map_fd = -1;
	__u64 ebusy = 0, empty = 0;
	struct spinner hog[2] = {};
	cpu_set_t set;
	struct creator c;
	struct tm_env t;

	if (!two_cpus() || !tm_open(&t, &backends[0]))
		return;
	if (!spinner_start(&hog[0], 0) || !spinner_start(&hog[1], 1) || !pin_to_cpu(0))
		goto out;
	/* checks assert only when they fail: thousands of rounds */
	for (round = 0; round < rounds; round++) {
		map_fd = make_map(100000, WHEEL_RES);
		if (map_fd < 0 && !ASSERT_GE(map_fd, 0, "map"))
			break;
		memset(&c, 0, sizeof(c));
		c.map_fd = map_fd;
		c.prog_fd = t.prog_fd;
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		if (pthread_create(&c.thread, NULL, creator_fn, &c) &&
		    !ASSERT_OK(-1, "creator"))
			break;
		pthread_setaffinity_np(c.thread, sizeof(set), &set);
		WRITE_ONCE(c.go, true);
		if (round & 1)
			WAIT_FOR(READ_ONCE(c.ok) >= 2 || READ_ONCE(c.last_err), DEADLINE_MS);
		while ((err = bpf_map_freeze(map_fd)) == -EBUSY)
			ebusy++;
		n0 = count_keys(map_fd);
		/* the creator stops at its first EPERM: wait for it to try
		 * after the freeze, however slowly it gets the CPU
		 */
		if (!WAIT_FOR(READ_ONCE(c.last_err) == -EPERM, DEADLINE_MS))
			ASSERT_FAIL("creates fail once frozen: %d", c.last_err);
		WRITE_ONCE(c.stop, true);
		pthread_join(c.thread, NULL);
		if (err && !ASSERT_OK(err, "freeze"))
			break;
		empty += n0 == 0;
		if ((count_keys(map_fd) != n0 &&
		     !ASSERT_EQ(count_keys(map_fd), n0, "no timer added after the freeze")) ||
		    (c.ok != n0 && !ASSERT_EQ(c.ok, n0, "every successful create is in the map")))
			break;
		close(map_fd);
		map_fd = -1;
	}
	printf("%s: %d rounds, %llu freezes found the map empty, %llu found a create in flight\n",
	       __func__, round, empty, ebusy);
	ASSERT_GT(ebusy, 0, "freeze met a create in flight (window hit)");
	ASSERT_GT(empty, 0, "freezes found the map empty");
	if (map_fd >= 0)
		close(map_fd);
out:
	spinner_stop(&hog[0]);
	spinner_stop(&hog[1]);
	unpin_cpu();
	tm_close(&t);
}

/* BPF_TIMER_CREATE publishes the timer, then arms it (race 10 at the top
 * of kernel/bpf/timermap.c). A task spinning on the creator's CPU preempts
 * it at random points, one of them between the two; meanwhile CPU 1
 * updates the id about to be created to a time long past, as soon as it
 * exists. The timer fires on CPU 1, and its callback waits for the create
 * to return before re-arming 59 hours ahead. Had the create armed the
 * running timer too, the re-arm would change the expiry of a queued
 * hrtimer in place: CPU 1's soft hrtimer queue would be out of order, and
 * the canary, a 10 ms periodic timer queued on CPU 1 behind it, would stop
 * for 59 hours.
 */
struct race_updater {
	pthread_t thread;
	struct timer_map_race *skel;
	int map_fd;
	bool stop, ready;
	__u32 next;		/* the id to update: the next one created */
	__u64 updates, early;	/* updates that landed before the create returned */
	int canary;
};

static void *race_updater_fn(void *arg)
{
	struct race_updater *u = arg;
	cpu_set_t set;
	__u32 id;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	u->canary = sched_setaffinity(0, sizeof(set), &set) ? -errno :
		create_timer(bpf_map__fd(u->skel->maps.canaries),
			     bpf_program__fd(u->skel->progs.canary_cb), 10 * MS,
			     BPF_F_TIMER_CPU_PIN);
	WRITE_ONCE(u->ready, true);
	while (!READ_ONCE(u->stop)) {
		id = READ_ONCE(u->next);
		if (arm(u->map_fd, id, 1))
			continue;
		u->updates++;
		if (READ_ONCE(u->skel->bss->created) <= id)
			u->early++;
		while (READ_ONCE(u->next) == id && !READ_ONCE(u->stop))
			;
	}
	return NULL;
}

static bool canary_runs(struct timer_map_race *skel)
{
	__u64 c = READ_ONCE(skel->bss->canary_runs);

	return ASSERT_TRUE(WAIT_FOR(READ_ONCE(skel->bss->canary_runs) > c, DEADLINE_MS),
			   "canary runs: CPU 1's hrtimer queue in order");
}

static void test_create_race(void)
{
	int round, rounds = race_rounds(5000), id, map_fd, prog_fd;
	struct race_updater u = {};
	struct timer_map_race *skel;
	struct spinner hog = {};

	if (!two_cpus())
		return;
	skel = timer_map_race__open_and_load();
	if (!ASSERT_OK_PTR(skel, "load"))
		return;
	map_fd = bpf_map__fd(skel->maps.race_timers);
	prog_fd = bpf_program__fd(skel->progs.race_cb);
	skel->bss->creator_cpu = 0;
	u.skel = skel;
	u.map_fd = map_fd;
	if (!pin_to_cpu(0) || !spinner_start(&hog, 0))
		goto out;
	if (!ASSERT_OK(pthread_create(&u.thread, NULL, race_updater_fn, &u), "updater"))
		goto out;
	if (!ASSERT_TRUE(WAIT_FOR(READ_ONCE(u.ready), DEADLINE_MS), "updater ready") ||
	    !ASSERT_GE(u.canary, 0, "canary") || !canary_runs(skel))
		goto stop;
	for (round = 0; round < rounds; round++) {
		id = create_timer(map_fd, prog_fd, 1, BPF_F_TIMER_ABS);
		if (id < 0 && !ASSERT_GE(id, 0, "create"))
			break;
		WRITE_ONCE(skel->bss->created, id + 1);
		WRITE_ONCE(u.next, id + 1);
		/* check the canary, then make room: a delete would take a
		 * timer queued out of order off the queue and mend it
		 */
		if ((round + 1) % 1000 == 0) {
			if (!canary_runs(skel))
				break;
			delete_all(map_fd);
		}
	}
	printf("%s: %d rounds, %llu updates, %llu of them before the create returned; "
	       "%llu callbacks began before their create returned (%llu waited in vain)\n",
	       __func__, round, u.updates, u.early, skel->bss->overlapped,
	       skel->bss->gave_up);
	canary_runs(skel);
	ASSERT_GT(skel->bss->overlapped, 0, "callbacks ran during their create (window reached)");
stop:
	WRITE_ONCE(u.stop, true);
	pthread_join(u.thread, NULL);
out:
	spinner_stop(&hog);
	unpin_cpu();
	timer_map_race__destroy(skel);
}

/* Stress: two user space threads create, arm, disarm, delete, look up and
 * walk timers on two CPUs, a tc program does the same from BPF, and
 * callbacks delete and re-arm themselves and each other at random. Every
 * call must return what the contract allows; at the end every timer is
 * gone, memlock is back where it started and the program and map are
 * freed.
 */
static __u64 stress_ops(void)
{
	const char *s = getenv("TIMER_MAP_STRESS_OPS");

	return s ? strtoull(s, NULL, 0) : 4000;
}

struct stresser {
	pthread_t thread;
	struct tm_env *t;
	int cpu;
	__u64 budget, ops, bad;
	unsigned int seed;
	bool *stop;
	int *max_id;		/* highest id created so far, shared */
};

static void *stresser_fn(void *arg)
{
	struct stresser *s = arg;
	int map_fd = s->t->map_fd, err;
	__u64 v, flags;
	__u32 id, next;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		s->bad++;
		return NULL;
	}
	while (s->ops < s->budget && !READ_ONCE(*s->stop)) {
		unsigned int r = rand_r(&s->seed);

		/* ids grow: mostly recent ones, which may still exist */
		id = READ_ONCE(*s->max_id) - (int)((r >> 8) % (2 * MAX_IDS));
		if ((int)id < 0)
			id = (r >> 8) % MAX_IDS;
		s->ops++;
		switch (r % 8) {
		case 0:
		case 1:
			v = (r >> 4) % 4 == 0 ? 0 : (r >> 4) % 4 == 1 ? 1 :
			    now_ns() + (r >> 12) % (3 * s->t->b->res);
			flags = BPF_F_TIMER_ABS | ((r >> 6) & 1 ? BPF_F_TIMER_CPU_PIN : 0);
			err = create_timer(map_fd, s->t->prog_fd, v, flags);
			s->bad += err < 0 && err != -E2BIG;
			/* racy, as it may be: any recent id will do */
			if (err > READ_ONCE(*s->max_id))
				WRITE_ONCE(*s->max_id, err);
			break;
		case 2:
		case 3:
			v = (r >> 4) % 3 == 0 ? 0 : (r >> 4) % 3 == 1 ? 1 :
			    now_ns() + (r >> 12) % (3 * s->t->b->res);
			err = arm(map_fd, id, v);
			s->bad += err && err != -ENOENT;
			break;
		case 4:
			err = bpf_map_delete_elem(map_fd, &id);
			s->bad += err && err != -ENOENT;
			break;
		case 5:
			err = bpf_map_lookup_elem(map_fd, &id, &v);
			s->bad += err && err != -ENOENT;
			break;
		default:
			err = bpf_map_get_next_key(map_fd, &id, &next);
			s->bad += err ? err != -ENOENT : next <= id;
			break;
		}
	}
	return NULL;
}

static void test_stress(const struct backend *b)
{
	struct stresser s[2] = {};
	struct hammer h = { .fd = -1, .cpu = 1 };
	__u64 budget = stress_ops(), base_mem, t0, bpf_ops, end;
	bool hammering = false;
	bool stop = false;
	int max_id = 0;
	__u32 pid, mid;
	struct tm_env t;
	int i;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	mid = map_id(t.map_fd);
	base_mem = map_memlock(t.map_fd);
	/* callbacks that take a while: updates and deletes land during runs */
	for (i = 0; i < MAX_IDS; i++)
		t.bss->cfg[i] = (struct timer_cfg){ .action = ACT_RANDOM, .spin_ns = 200000 };
	t.bss->op = TOP_RANDOM;
	t.bss->op_loops = 20;
	h.fd = t.ops_fd;
	h.pause_us = 200;
	t0 = now_ns();
	hammering = ASSERT_OK(pthread_create(&h.thread, NULL, hammer_fn, &h), "bpf ops");
	for (i = 0; i < 2; i++) {
		s[i] = (struct stresser){ .t = &t, .cpu = i, .budget = budget / 2,
					  .seed = 1234 + i, .stop = &stop,
					  .max_id = &max_id };
		ASSERT_OK(pthread_create(&s[i].thread, NULL, stresser_fn, &s[i]), "stresser");
	}
	for (i = 0; i < 2; i++)
		pthread_join(s[i].thread, NULL);
	/* go on until each race was seen, within a deadline */
	end = now_ns() + 4 * DEADLINE_MS * MS;
	while (now_ns() < end && !(t.bss->overlaps && t.bss->del_running &&
				   t.bss->ext_during_run && t.bss->self_deletes)) {
		for (i = 0; i < 2; i++) {
			s[i].budget += 1000;
			pthread_create(&s[i].thread, NULL, stresser_fn, &s[i]);
		}
		for (i = 0; i < 2; i++)
			pthread_join(s[i].thread, NULL);
	}
	WRITE_ONCE(h.stop, true);
	if (hammering)
		pthread_join(h.thread, NULL);
	bpf_ops = t.bss->op_ok + t.bss->op_fail;
	printf("%s/%s: %llu user space ops (%llu + %llu), %llu tc program ops, ",
	       __func__, b->name, s[0].ops + s[1].ops, s[0].ops, s[1].ops, bpf_ops);
	printf("%llu callback runs doing %llu ops, in %llu ms\n",
	       t.bss->total_runs, t.bss->random_ops, (now_ns() - t0) / MS);
	printf("%s/%s: windows hit: %llu callbacks overlapping, %llu deletes of a running timer, ",
	       __func__, b->name, t.bss->overlaps, t.bss->del_running);
	printf("%llu updates won over a return value, %llu deferred self-deletes\n",
	       t.bss->ext_during_run, t.bss->self_deletes);
	ASSERT_EQ(s[0].bad + s[1].bad, 0, "errnos the contract allows");
	ASSERT_GE(s[0].ops + s[1].ops, budget, "ops done");
	ASSERT_GT(t.bss->overlaps, 0, "callbacks overlapped");
	ASSERT_GT(t.bss->del_running, 0, "deleted running timers");
	ASSERT_GT(t.bss->ext_during_run, 0, "updates won over return values");
	ASSERT_GT(t.bss->self_deletes, 0, "deferred frees");
	ASSERT_EQ(t.bss->early, 0, "never early");
	delete_all(t.map_fd);
	ASSERT_EQ(count_keys(t.map_fd), 0, "every timer gone");
	ASSERT_EQ(map_memlock(t.map_fd), base_mem, "memlock back to the baseline");
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid) && !map_alive(mid), DEADLINE_MS),
		    "program and map freed");
}

/* The last user reference to a map goes (close or unpin) while its
 * callbacks run and delete and re-arm themselves, and the program's fds
 * close mid-flight. Each round revives the map by id: its programs keep
 * it alive.
 */
static void test_stress_close(const struct backend *b)
{
	__u64 rounds = stress_ops() / 1000, r, base_mem, close_running = 0, before;
	int fd, i, id, skel_fd;
	__u32 pid, mid;
	struct tm_env t;

	if (rounds < 20)
		rounds = 20;
	if (!tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	mid = map_id(t.map_fd);
	base_mem = map_memlock(t.map_fd);
	/* our own fd; the skeleton's is swapped back in at the end */
	skel_fd = t.map_fd;
	fd = bpf_map_get_fd_by_id(mid);
	close(skel_fd);
	/* a quarter delete themselves on their first run, a quarter run
	 * again and again for 2 ms each, the rest every resolution
	 */
	for (i = 0; i < MAX_IDS; i++) {
		t.bss->cfg[i] = (struct timer_cfg){ .period = 1, .spin_ns = 50000 };
		if (i % 4 == 0)
			t.bss->cfg[i].action = ACT_DELETE_SELF;
		if (i % 4 == 1)
			t.bss->cfg[i] = (struct timer_cfg){ .action = ACT_REARM_PAST,
							    .spin_ns = 2 * MS };
	}
	for (r = 0; r < rounds && fd >= 0; r++) {
		int pfd = bpf_prog_get_fd_by_id(pid);

		if (!ASSERT_GE(pfd, 0, "prog fd"))
			break;
		ASSERT_EQ(map_memlock(fd), base_mem, "empty map's memlock");
		for (i = 0; i < 16; i++) {
			id = create_timer(fd, pfd, 1 + i * b->res / 16, 0);
			if (!ASSERT_GE(id, 0, "create"))
				break;
		}
		close(pfd);	/* the timers hold the program */
		/* ids go up by 16 a round: slots 1, 5, ... are the spinners */
		ASSERT_TRUE(WAIT_FOR(t.bss->runs[(id - 14) % MAX_IDS].running ||
				     t.bss->runs[(id - 10) % MAX_IDS].running ||
				     t.bss->runs[(id - 6) % MAX_IDS].running ||
				     t.bss->runs[(id - 2) % MAX_IDS].running, DEADLINE_MS),
			    "a callback runs");
		for (i = 0; i < MAX_IDS; i++)
			close_running += READ_ONCE(t.bss->runs[i].running);
		if (r % 2) {
			ASSERT_OK(bpf_obj_pin(fd, PIN_PATH), "pin");
			close(fd);
			ASSERT_OK(unlink(PIN_PATH), "unpin");
		} else {
			close(fd);
		}
		/* release_uref deleted every timer, waiting for callbacks */
		before = t.bss->total_runs;
		fd = bpf_map_get_fd_by_id(mid);
		if (!ASSERT_GE(fd, 0, "map alive through its program"))
			break;
		ASSERT_EQ(count_keys(fd), 0, "every timer gone");
		ASSERT_EQ(t.bss->total_runs, before, "no run after the last close");
	}
	printf("%s/%s: %llu rounds, %llu callbacks running at the last close\n",
	       __func__, b->name, r, close_running);
	ASSERT_EQ(r, rounds, "all rounds");
	ASSERT_GT(close_running, 0, "closed while callbacks ran (window hit)");
	if (fd >= 0 && fd != skel_fd) {
		dup2(fd, skel_fd);
		close(fd);
	}
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid) && !map_alive(mid), DEADLINE_MS),
		    "program and map freed");
}

static int mk(__u32 key_size, __u32 value_size, __u32 max_entries,
	      struct bpf_map_create_opts *opts)
{
	return bpf_map_create(BPF_MAP_TYPE_TIMER, NULL, key_size, value_size,
			      max_entries, opts);
}

/* every bad input gets its errno and changes nothing */
static void test_errors(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts);
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ropts, .open_flags = BPF_F_RDONLY);
	struct bpf_insn insns[] = {
		BPF_MOV64_IMM(BPF_REG_0, 0),
		BPF_EXIT_INSN(),
	};
	int map_fd, prog_fd, tc_fd, arr_fd, ro_fd, fd, id, err, closed_fd;
	struct timer_map *skel;
	union bpf_attr attr;
	__u64 caps = 0, v;
	__u32 key;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	tc_fd = bpf_program__fd(skel->progs.map_ops);
	map_fd = make_map(2, 0);
	arr_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	if (!ASSERT_GE(map_fd, 0, "map") || !ASSERT_GE(arr_fd, 0, "array"))
		goto out;

	/* map creation */
	ASSERT_EQ(mk(8, 8, 1, NULL), -EINVAL, "key_size");
	ASSERT_EQ(mk(4, 4, 1, NULL), -EINVAL, "value_size");
	ASSERT_EQ(mk(4, 8, 0, NULL), -EINVAL, "max_entries");
	mopts.map_extra = 999;
	ASSERT_EQ(mk(4, 8, 1, &mopts), -EINVAL, "resolution too fine");
	mopts.map_extra = 3601 * SEC_NS;
	ASSERT_EQ(mk(4, 8, 1, &mopts), -EINVAL, "resolution too coarse");
	mopts.map_extra = 0;
	mopts.map_flags = BPF_F_NO_PREALLOC;
	ASSERT_EQ(mk(4, 8, 1, &mopts), -EINVAL, "map_flags");
	mopts.map_flags = BPF_F_RDONLY_PROG;
	ASSERT_EQ(mk(4, 8, 1, &mopts), -EINVAL, "map_flags prog");
	mopts.map_flags = 0;
	mopts.inner_map_fd = map_fd;
	ASSERT_EQ(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 1, &mopts),
		  -ENOTSUPP, "not an inner map");
	mopts.inner_map_fd = 0;
	mopts.map_extra = 0;

	/* BPF_TIMER_CREATE */
	closed_fd = dup(map_fd);
	close(closed_fd);
	ASSERT_EQ(create_timer(-1, prog_fd, 0, 0), -EBADF, "bad map fd");
	ASSERT_EQ(create_timer(closed_fd, prog_fd, 0, 0), -EBADF, "closed map fd");
	ASSERT_EQ(create_timer(prog_fd, prog_fd, 0, 0), -EINVAL, "not a map fd");
	ASSERT_EQ(create_timer(arr_fd, prog_fd, 0, 0), -EINVAL, "wrong map type");
	ASSERT_EQ(create_timer(map_fd, -1, 0, 0), -EBADF, "bad prog fd");
	ASSERT_EQ(create_timer(map_fd, closed_fd, 0, 0), -EBADF, "closed prog fd");
	ASSERT_EQ(create_timer(map_fd, tc_fd, 0, 0), -EINVAL, "wrong prog type");
	ASSERT_EQ(create_timer(map_fd, prog_fd, 0, 1 << 2), -EINVAL, "unknown flag");
	ASSERT_EQ(create_timer(map_fd, prog_fd, -1ULL, 0), -EINVAL, "relative overflow");
	ASSERT_EQ(create_timer(map_fd, prog_fd, 1ULL << 63, BPF_F_TIMER_ABS), -EINVAL,
		  "past KTIME_MAX");

	memset(&attr, 0, sizeof(attr));
	attr.timer_create.map_fd = map_fd;
	attr.timer_create.prog_fd = prog_fd;
	((char *)&attr)[offsetofend(union bpf_attr, timer_create)] = 1;
	err = syscall(__NR_bpf, BPF_TIMER_CREATE, &attr, sizeof(attr));
	ASSERT_EQ(err, -1, "non-zero attr tail");
	ASSERT_EQ(errno, EINVAL, "non-zero attr tail errno");

	ro_fd = bpf_map_get_fd_by_id_opts(map_id(map_fd), &ropts);
	if (ASSERT_GE(ro_fd, 0, "read-only fd")) {
		ASSERT_EQ(create_timer(ro_fd, prog_fd, 0, 0), -EPERM, "read-only map fd");
		close(ro_fd);
	}

	if (ASSERT_OK(cap_disable_effective(1ULL << CAP_BPF | 1ULL << CAP_SYS_ADMIN,
					    &caps), "drop caps")) {
		ASSERT_EQ(create_timer(map_fd, prog_fd, 0, 0), -EPERM, "no CAP_BPF");
		fd = bpf_prog_load(BPF_PROG_TYPE_TIMER, NULL, "GPL", insns, 2, NULL);
		ASSERT_EQ(fd, -EPERM, "load timer prog without CAP_BPF");
		fd = make_map(1, 0);
		ASSERT_EQ(fd, -EPERM, "timer map without CAP_BPF");
		cap_enable_effective(caps, NULL);
	}
	ASSERT_EQ(count_keys(map_fd), 0, "bad creates changed nothing");

	id = create_timer(map_fd, prog_fd, 0, 0);
	ASSERT_GE(create_timer(map_fd, prog_fd, 0, 0), 0, "second");
	ASSERT_EQ(create_timer(map_fd, prog_fd, 0, 0), -E2BIG, "map full");
	ASSERT_EQ(count_keys(map_fd), 2, "full map unchanged");

	/* update, lookup, delete */
	key = 12345;
	v = 1;
	ASSERT_EQ(bpf_map_update_elem(map_fd, &key, &v, BPF_ANY), -ENOENT, "update missing");
	ASSERT_EQ(bpf_map_lookup_elem(map_fd, &key, &v), -ENOENT, "lookup missing");
	ASSERT_EQ(bpf_map_delete_elem(map_fd, &key), -ENOENT, "delete missing");
	v = now_ns() + 3600 * SEC_NS;
	ASSERT_EQ(bpf_map_update_elem(map_fd, &id, &v, BPF_NOEXIST), -EEXIST, "NOEXIST");
	ASSERT_EQ(bpf_map_update_elem(map_fd, &id, &v, 8), -EINVAL, "update flags");
	ASSERT_EQ(bpf_map_update_elem(map_fd, &id, &v, BPF_F_LOCK), -EINVAL, "F_LOCK");
	v = 1ULL << 63;
	ASSERT_EQ(bpf_map_update_elem(map_fd, &id, &v, BPF_ANY), -EINVAL, "past KTIME_MAX");
	ASSERT_EQ(lookup(map_fd, id), 0, "bad updates changed nothing");

	/* a frozen map takes no new timers, updates or deletes */
	ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "make room");
	ASSERT_OK(bpf_map_freeze(map_fd), "freeze");
	ASSERT_EQ(create_timer(map_fd, prog_fd, 0, 0), -EPERM, "create in frozen map");
	v = 0;
	ASSERT_EQ(bpf_map_update_elem(map_fd, &key, &v, BPF_ANY), -EPERM, "update frozen");
	key = id;
	ASSERT_EQ(bpf_map_delete_elem(map_fd, &key), -EPERM, "delete frozen");
	ASSERT_EQ(count_keys(map_fd), 1, "frozen map unchanged");
out:
	close(map_fd);
	close(arr_fd);
	timer_map__destroy(skel);
}

/* libbpf knows the types by name and can probe them */
/* A map pinned with resolution @pinned and a skeleton whose map asks for
 * @wanted (0: the default) and LIBBPF_PIN_BY_NAME semantics: libbpf
 * reuses the pinned map only if map_extra matches, as given.
 */
static void test_pin_reuse(__u64 pinned, __u64 wanted, bool reuse)
{
	struct timer_map *skel;
	int fd, err;

	unlink(PIN_PATH);
	skel = timer_map__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	fd = make_map(bpf_map__max_entries(skel->maps.timers), pinned);
	if (!ASSERT_GE(fd, 0, "map") || !ASSERT_OK(bpf_obj_pin(fd, PIN_PATH), "pin"))
		goto out;
	bpf_program__set_autoload(skel->progs.hr_cb, false);
	bpf_map__set_map_extra(skel->maps.timers, wanted);
	bpf_map__set_pin_path(skel->maps.timers, PIN_PATH);
	err = timer_map__load(skel);
	if (reuse) {
		ASSERT_OK(err, "load reusing the pinned map");
		ASSERT_EQ(map_id(bpf_map__fd(skel->maps.timers)), map_id(fd), "reused");
	} else {
		ASSERT_ERR(err, "load with another resolution than the pinned map's");
	}
out:
	unlink(PIN_PATH);
	if (fd >= 0)
		close(fd);
	timer_map__destroy(skel);
}

static void test_libbpf(void)
{
	enum bpf_prog_type ptype;
	enum bpf_attach_type atype;

	ASSERT_STREQ(libbpf_bpf_map_type_str(BPF_MAP_TYPE_TIMER), "timer", "map type name");
	ASSERT_STREQ(libbpf_bpf_prog_type_str(BPF_PROG_TYPE_TIMER), "timer", "prog type name");
	ASSERT_OK(libbpf_prog_type_by_name("timer", &ptype, &atype), "SEC(\"timer\")");
	ASSERT_EQ(ptype, BPF_PROG_TYPE_TIMER, "section's prog type");
	ASSERT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TIMER, NULL), 1, "probe map type");
	ASSERT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TIMER, NULL), 1, "probe prog type");
	ASSERT_EQ(bpf_timer_create(-1, -1, NULL), -EBADF, "NULL opts");
	test_pin_reuse(0, 0, true);
	test_pin_reuse(0, WHEEL_RES, false);
}

/* bpf_program__create_timer(): skeleton objects in, timer id out */
static void test_program_create_timer(void)
{
	LIBBPF_OPTS(bpf_timer_create_opts, opts, .expires = 60 * SEC_NS);
	struct timer_map *skel;
	int id, map_fd;

	skel = timer_map__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	ASSERT_EQ(bpf_program__create_timer(skel->progs.cb, skel->maps.timers, &opts),
		  -EINVAL, "before load");
	if (!ASSERT_OK(timer_map__load(skel), "load"))
		goto out;
	map_fd = bpf_map__fd(skel->maps.timers);

	id = bpf_program__create_timer(skel->progs.cb, skel->maps.timers, &opts);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_GT(lookup(map_fd, id), now_ns() + 50 * SEC_NS, "relative expiry");
	id = bpf_program__create_timer(skel->progs.hr_cb, skel->maps.hr_timers, NULL);
	if (ASSERT_GE(id, 0, "NULL opts"))
		ASSERT_EQ(lookup(bpf_map__fd(skel->maps.hr_timers), id), 0, "disarmed");

	ASSERT_EQ(bpf_program__create_timer(skel->progs.map_ops, skel->maps.timers, &opts),
		  -EINVAL, "tc program");
	ASSERT_EQ(bpf_program__create_timer(skel->progs.cb, skel->maps.bss, &opts),
		  -EINVAL, "array map");
	opts.flags = 1ULL << 63;
	ASSERT_EQ(bpf_program__create_timer(skel->progs.cb, skel->maps.timers, &opts),
		  -EINVAL, "unknown flag");
	ASSERT_EQ(count_keys(map_fd), 1, "errors changed nothing");
out:
	timer_map__destroy(skel);
}

/* get_next_key goes on above a key deleted meanwhile, instead of restarting */
static void test_get_next_key(void)
{
	__u32 ids[3], next, gone = 12345;
	struct tm_env t;
	int i;

	if (!tm_open(&t, &backends[0]))
		return;
	for (i = 0; i < 3; i++) {
		ids[i] = create_timer(t.map_fd, t.prog_fd, 0, 0);
		if (!ASSERT_LT(ids[i], INT_MAX, "create"))
			goto out;
	}
	ASSERT_OK(bpf_map_get_next_key(t.map_fd, NULL, &next), "first");
	ASSERT_EQ(next, ids[0], "first id");
	ASSERT_OK(bpf_map_delete_elem(t.map_fd, &ids[1]), "delete middle");
	ASSERT_OK(bpf_map_get_next_key(t.map_fd, &ids[1], &next), "after deleted key");
	ASSERT_EQ(next, ids[2], "next above the deleted key");
	ASSERT_OK(bpf_map_delete_elem(t.map_fd, &ids[0]), "delete first");
	ASSERT_OK(bpf_map_get_next_key(t.map_fd, &ids[0], &next), "after deleted first");
	ASSERT_EQ(next, ids[2], "next above the deleted first");
	ASSERT_EQ(bpf_map_get_next_key(t.map_fd, &ids[2], &next), -ENOENT, "last");
	ASSERT_EQ(bpf_map_get_next_key(t.map_fd, &gone, &next), -ENOENT, "above the last");
out:
	tm_close(&t);
}

/* BPF_TIMER_GET_INFO: the callback and flags the map value does not show */
static void test_get_info(void)
{
	struct { struct bpf_timer_info info; __u64 tail; } big = {};
	struct bpf_prog_info pinfo = {};
	union bpf_attr attr;
	struct bpf_timer_info info;
	__u32 len, plen = sizeof(pinfo);
	int map_fd, prog_fd, ro_fd = -1, wo_fd = -1, arr_fd = -1;
	struct timer_map *skel;
	__u64 expires;
	int id, pinned;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);
	if (!ASSERT_OK(bpf_prog_get_info_by_fd(prog_fd, &pinfo, &plen), "prog info"))
		goto out;
	expires = now_ns() + 60 * SEC_NS;
	id = create_timer(map_fd, prog_fd, expires, BPF_F_TIMER_ABS);
	pinned = create_timer(map_fd, prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	if (!ASSERT_GE(id, 0, "create") || !ASSERT_GE(pinned, 0, "create pinned"))
		goto out;

	memset(&info, 0xff, sizeof(info));
	len = sizeof(info);
	if (ASSERT_OK(bpf_timer_get_info(map_fd, id, &info, &len), "get_info")) {
		ASSERT_EQ(len, sizeof(info), "info_len");
		ASSERT_EQ(info.id, id, "id");
		ASSERT_EQ(info.prog_id, pinfo.id, "prog_id");
		ASSERT_EQ(info.expires, expires, "expires");
		ASSERT_EQ(info.flags, 0, "flags");
	}
	len = sizeof(info);
	if (ASSERT_OK(bpf_timer_get_info(map_fd, pinned, &info, &len), "get_info pinned")) {
		ASSERT_EQ(info.expires, 0, "disarmed");
		ASSERT_EQ(info.flags, BPF_F_TIMER_CPU_PIN, "pin flag");
	}

	/* A short buffer gets the head; a longer one must end in zeroes. */
	memset(&info, 0, sizeof(info));
	len = offsetof(struct bpf_timer_info, expires);
	ASSERT_OK(bpf_timer_get_info(map_fd, id, &info, &len), "short buffer");
	ASSERT_EQ(len, offsetof(struct bpf_timer_info, expires), "short info_len");
	ASSERT_EQ(info.prog_id, pinfo.id, "short prog_id");
	ASSERT_EQ(info.expires, 0, "nothing past info_len");
	len = sizeof(big);
	ASSERT_OK(bpf_timer_get_info(map_fd, id, &big.info, &len), "zero tail");
	ASSERT_EQ(len, sizeof(info), "zero tail info_len");
	big.tail = 1;
	len = sizeof(big);
	ASSERT_EQ(bpf_timer_get_info(map_fd, id, &big.info, &len), -E2BIG, "non-zero tail");

	len = 0;
	ASSERT_OK(bpf_timer_get_info(map_fd, id, &info, &len), "info_len 0");
	ASSERT_EQ(len, 0, "nothing copied");
	len = 2 * getpagesize();
	ASSERT_EQ(bpf_timer_get_info(map_fd, id, &info, &len), -E2BIG,
		  "info_len over a page");

	/* flags, the u32 before info, must be zero */
	memset(&attr, 0, sizeof(attr));
	attr.timer_info.map_fd = map_fd;
	attr.timer_info.id = id;
	attr.timer_info.info_len = sizeof(info);
	attr.timer_info.info = ptr_to_u64(&info);
	attr.timer_info.flags = 1;
	ASSERT_EQ(syscall(__NR_bpf, BPF_TIMER_GET_INFO, &attr, sizeof(attr)), -1, "flags");
	ASSERT_EQ(errno, EINVAL, "flags errno");

	len = sizeof(info);
	ASSERT_EQ(bpf_timer_get_info(map_fd, 12345, &info, &len), -ENOENT, "missing id");
	ASSERT_EQ(bpf_timer_get_info(-1, id, &info, &len), -EBADF, "bad fd");
	ASSERT_EQ(bpf_timer_get_info(prog_fd, id, &info, &len), -EINVAL, "prog fd");
	arr_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	ASSERT_EQ(bpf_timer_get_info(arr_fd, 0, &info, &len), -EINVAL, "array map");
	ASSERT_EQ(bpf_timer_get_info(map_fd, id, NULL, &len), -EFAULT, "NULL info");

	if (!ASSERT_OK(bpf_obj_pin(map_fd, PIN_PATH), "pin"))
		goto out;
	wo_fd = bpf_obj_get_opts(PIN_PATH, &(struct bpf_obj_get_opts){
		.sz = sizeof(struct bpf_obj_get_opts), .file_flags = BPF_F_WRONLY });
	ro_fd = bpf_obj_get_opts(PIN_PATH, &(struct bpf_obj_get_opts){
		.sz = sizeof(struct bpf_obj_get_opts), .file_flags = BPF_F_RDONLY });
	unlink(PIN_PATH);
	ASSERT_EQ(bpf_timer_get_info(wo_fd, id, &info, &len), -EPERM, "write-only fd");
	ASSERT_OK(bpf_timer_get_info(ro_fd, id, &info, &len), "read-only fd");

	ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "delete");
	ASSERT_EQ(bpf_timer_get_info(map_fd, id, &info, &len), -ENOENT, "deleted id");
out:
	if (ro_fd >= 0)
		close(ro_fd);
	if (wo_fd >= 0)
		close(wo_fd);
	if (arr_fd >= 0)
		close(arr_fd);
	timer_map__destroy(skel);
}

/* BPF_PROG_TEST_RUN runs a callback on a given context */
static void test_prog_test_run(void)
{
	struct bpf_timer_md md = { .id = 5, .expires = 123 };

	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 10);
	struct timer_map *skel;
	int prog_fd;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	skel->bss->cfg[5].period = 7;
	ASSERT_OK(bpf_prog_test_run_opts(prog_fd, &topts), "test_run");
	ASSERT_EQ(topts.retval, 7, "retval");
	ASSERT_EQ(skel->bss->runs[5].count, 10, "repeat");
	ASSERT_EQ(skel->bss->runs[5].last_expires, 123, "ctx->expires");
	ASSERT_EQ(skel->bss->runs[5].id, 5, "ctx->id");

	topts.ctx_size_in = sizeof(md) - 1;
	ASSERT_EQ(bpf_prog_test_run_opts(prog_fd, &topts), -EINVAL, "ctx size");
	timer_map__destroy(skel);
}

/* Fault injection: fail the 1st, 2nd, ... allocation of one call through
 * /proc/thread-self/fail-nth, until the call gets through without an
 * injected failure. Each failed call must return -ENOMEM and leave
 * everything as it was.
 */
static const char * const fi_knobs[][2] = {
	/* GFP_KERNEL allocations and order-0 pages fail too */
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	/* no stack dump per injected failure */
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	/* "from the nth on": every allocation of a task with make-it-fail */
	{ "/sys/kernel/debug/failslab/task-filter", "Y" },
	{ "/sys/kernel/debug/failslab/probability", "100" },
	{ "/sys/kernel/debug/failslab/interval", "1" },
	{ "/sys/kernel/debug/failslab/times", "-1" },
	{ "/sys/kernel/debug/fail_page_alloc/task-filter", "Y" },
	{ "/sys/kernel/debug/fail_page_alloc/probability", "100" },
	{ "/sys/kernel/debug/fail_page_alloc/interval", "1" },
	{ "/sys/kernel/debug/fail_page_alloc/times", "-1" },
};

static char fi_saved[ARRAY_SIZE(fi_knobs)][16];
static int fi_fd = -1, fi_all_fd = -1;

static bool rw_file(const char *path, char *old, size_t old_len, const char *val)
{
	int fd = open(path, O_RDWR), n;

	if (fd < 0)
		return false;
	if (old) {
		n = read(fd, old, old_len - 1);
		old[n > 0 ? n : 0] = 0;
	}
	/* debugfs attribute files are not seekable; they ignore the offset */
	n = write(fd, val, strlen(val));
	close(fd);
	return n == strlen(val);
}

static void fi_restore(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(fi_knobs); i++)
		if (fi_saved[i][0])
			rw_file(fi_knobs[i][0], NULL, 0, fi_saved[i]);
	memset(fi_saved, 0, sizeof(fi_saved));
	if (fi_fd >= 0)
		close(fi_fd);
	if (fi_all_fd >= 0)
		close(fi_all_fd);
	fi_fd = -1;
	fi_all_fd = -1;
}

static bool fi_setup(void)
{
	int i;

	fi_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	fi_all_fd = open("/proc/thread-self/make-it-fail", O_RDWR);
	if (fi_fd < 0 || fi_all_fd < 0) {
		printf("%s: no /proc/thread-self/fail-nth: needs CONFIG_FAULT_INJECTION\n",
		       __func__);
		test__skip();
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(fi_knobs); i++) {
		if (!rw_file(fi_knobs[i][0], fi_saved[i], sizeof(fi_saved[i]),
			     fi_knobs[i][1])) {
			printf("%s: cannot set %s: needs CONFIG_FAILSLAB, ",
			       __func__, fi_knobs[i][0]);
			printf("CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS\n");
			fi_restore();
			test__skip();
			return false;
		}
	}
	return true;
}

/* Arm: the @nth allocation of this thread fails, and with @onward every
 * one after it too. fail-nth alone cannot fail an allocation whose first
 * attempt has a fallback (the XArray's GFP_NOWAIT node allocation retried
 * with GFP_KERNEL): "onward" reaches those.
 */
static bool fi_arm(int nth, bool onward)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", nth);
	/* make-it-fail first: writing fail-nth starts the count */
	if (onward && !ASSERT_EQ(pwrite(fi_all_fd, "1", 1, 0), 1, "make-it-fail"))
		return false;
	return ASSERT_EQ(pwrite(fi_fd, buf, strlen(buf), 0), strlen(buf), "fail-nth");
}

/* Disarm; whether the armed failure was injected. */
static bool fi_injected(void)
{
	char buf[16] = {};
	bool hit;

	pwrite(fi_all_fd, "0", 1, 0);
	hit = pread(fi_fd, buf, sizeof(buf) - 1, 0) > 0 && atoi(buf) == 0;
	pwrite(fi_fd, "0", 1, 0);
	return hit;
}

#define FI_MAX_IDS (2 * XA_CHUNK)

struct fi_state {
	int n;
	__u32 ids[FI_MAX_IDS];
	__u64 vals[FI_MAX_IDS];
	__u64 memlock;
};

static void fi_snapshot(int map_fd, struct fi_state *st)
{
	__u32 key, next;
	int err;

	memset(st, 0, sizeof(*st));
	err = bpf_map_get_next_key(map_fd, NULL, &next);
	while (!err && st->n < FI_MAX_IDS) {
		st->ids[st->n] = next;
		st->vals[st->n++] = lookup(map_fd, next);
		key = next;
		err = bpf_map_get_next_key(map_fd, &key, &next);
	}
	st->memlock = map_memlock(map_fd);
}

/* memlock counts the XArray's nodes, whose number depends on its history
 * as well as on the ids it holds: a failed insert may leave an empty
 * branch (up to a node per level, reused by the next insert and freed with
 * the map), and an insert and delete may collapse a node the ids alone
 * would not. Whole nodes, a tree's height at most, and nothing else.
 */
static bool fi_same_memlock(__u64 before, __u64 after)
{
	__u64 d = after > before ? after - before : before - after;

	if (!d)
		return true;
	printf("fi: memlock %llu -> %llu: %lld XArray nodes\n", before, after,
	       ((long long)after - (long long)before) / XA_NODE_SIZE);
	return ASSERT_EQ(d % XA_NODE_SIZE, 0, "memlock: whole XArray nodes") &&
	       ASSERT_LE(d / XA_NODE_SIZE, 3, "memlock: a tree's height at most");
}

/* A fresh map of @b holding @prefill timers, or -1 */
static int fi_prefilled(const struct backend *b, int prog_fd, int prefill)
{
	int map_fd = make_map(FI_MAX_IDS, b->res), i;
	__u64 v;

	if (!ASSERT_GE(map_fd, 0, "map"))
		return -1;
	for (i = 0; i < prefill; i++) {
		v = i % 3 ? now_ns() + 3600 * SEC_NS + i : 0;
		if (!ASSERT_EQ(create_timer(map_fd, prog_fd, v, BPF_F_TIMER_ABS), i, "prefill")) {
			close(map_fd);
			return -1;
		}
	}
	return map_fd;
}

/* BPF_TIMER_CREATE on a map holding @prefill timers, each try on a fresh
 * one. An injected failure either fails the call with -ENOMEM and changes
 * nothing, or hits an allocation with a fallback (kmemleak's and
 * debugobjects' own, under the debug kernel) and the call succeeds as it
 * would have.
 */
static void fi_timer_create(const struct backend *b, int prefill, bool onward)
{
	int map_fd = -1, id = -1, nth, fallbacks = 0;
	struct fi_state before, after;
	struct tm_env t;
	__u32 pid;

	if (!tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	for (nth = 1; nth < 1000; nth++) {
		map_fd = fi_prefilled(b, t.prog_fd, prefill);
		if (map_fd < 0)
			break;
		fi_snapshot(map_fd, &before);
		if (!fi_arm(nth, onward))
			break;
		id = create_timer(map_fd, t.prog_fd, 3600 * SEC_NS, 0);
		if (!fi_injected())
			break;
		if (id >= 0) {
			fallbacks++;
			if (!ASSERT_EQ(id, prefill, "the id it would have got") ||
			    !ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "delete"))
				break;
		} else if (!ASSERT_EQ(id, -ENOMEM, "injected failure: ENOMEM")) {
			break;
		}
		fi_snapshot(map_fd, &after);
		if (!ASSERT_EQ(after.n, before.n, "injected failure: as many timers") ||
		    !ASSERT_OK(memcmp(before.ids, after.ids, sizeof(before.ids)),
			       "injected failure: the same ids") ||
		    !ASSERT_OK(memcmp(before.vals, after.vals, sizeof(before.vals)),
			       "injected failure: the same values") ||
		    !fi_same_memlock(before.memlock, after.memlock)) {
			printf("%s/%s: after %d timers, nth %d%s: create gave %d\n", __func__,
			       b->name, prefill, nth, onward ? " onward" : "", id);
			break;
		}
		close(map_fd);
		map_fd = -1;
	}
	ASSERT_EQ(id, prefill, "created at last, with the id it would have got");
	printf("%s/%s: BPF_TIMER_CREATE after %d timers, failing the nth allocation%s: ",
	       __func__, b->name, prefill, onward ? " and all after it" : "");
	printf("%d allocation points, %d calls succeeded anyway\n", nth - 1, fallbacks);
	tm_close(&t);
	if (map_fd >= 0)
		close(map_fd);
	/* no failed create kept a reference on the program */
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), DEADLINE_MS), "program freed");
}

/* Map ids grow cyclically: a map created since @since has a larger id.
 * (Maps of earlier subtests may still go away meanwhile.)
 */
static bool new_map_since(__u32 since)
{
	__u32 id = since;

	return !bpf_map_get_next_id(id, &id);
}

static __u32 last_map_id(void)
{
	__u32 id = 0, last = 0;

	while (!bpf_map_get_next_id(id, &id))
		last = id;
	return last;
}

static void fi_map_create(const struct backend *b)
{
	int fd = -1, nth, fallbacks = 0;
	__u32 since = last_map_id();

	for (nth = 1; nth < 1000; nth++) {
		if (!fi_arm(nth, false))
			break;
		fd = make_map(MAX_IDS, b->res);
		if (!fi_injected())
			break;
		/* a failed allocation with a fallback (kmalloc -> vmalloc) */
		if (fd >= 0) {
			fallbacks++;
			close(fd);
			fd = -1;
		} else if (!ASSERT_EQ(fd, -ENOMEM, "injected failure: ENOMEM")) {
			break;
		}
		if (!ASSERT_FALSE(new_map_since(since), "no map left"))
			break;
	}
	ASSERT_GE(fd, 0, "created at last");
	printf("%s/%s: BPF_MAP_CREATE: %d allocation points, %d with a fallback\n",
	       __func__, b->name, nth - 1, fallbacks);
	if (fd >= 0)
		close(fd);
	ASSERT_FALSE(new_map_since(since), "no map left");
}

static void fi_get_info(const struct backend *b)
{
	struct bpf_timer_info info;
	int map_fd, id, nth, err = -1;
	struct tm_env t;
	__u32 len;

	if (!tm_open(&t, b))
		return;
	map_fd = bpf_map__fd(t.skel->maps.timers);
	if (b->hres)
		map_fd = bpf_map__fd(t.skel->maps.hr_timers);
	id = create_timer(map_fd, t.prog_fd, 3600 * SEC_NS, 0);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	for (nth = 1; nth < 1000; nth++) {
		if (!fi_arm(nth, false))
			break;
		len = sizeof(info);
		err = bpf_timer_get_info(map_fd, id, &info, &len);
		if (!fi_injected())
			break;
		if (!ASSERT_EQ(err, -ENOMEM, "injected failure: ENOMEM"))
			break;
	}
	ASSERT_OK(err, "get_info at last");
	printf("%s/%s: BPF_TIMER_GET_INFO: %d allocation points\n",
	       __func__, b->name, nth - 1);
	delete_all(map_fd);
out:
	tm_close(&t);
}

static void test_fault_inject(const struct backend *b)
{
	if (!fi_setup())
		return;
	fi_map_create(b);
	fi_timer_create(b, 0, false);
	fi_timer_create(b, 1, false);
	fi_timer_create(b, XA_CHUNK, false);	/* a new node and level */
	fi_timer_create(b, 0, true);
	fi_timer_create(b, XA_CHUNK, true);
	fi_get_info(b);
	fi_restore();
}

/* Pins, sleeps, uses a fixed bpffs path and both CPUs: serial. */
void serial_test_timer_map(void)
{
	static void (* const per_backend[])(const struct backend *) = {
		test_crud, test_fire_once, test_past_expiry, test_periodic,
		test_no_catch_up, test_many_timers, test_callback_ops,
		test_cross_delete, test_cpu_pin, test_bpf_side_ops,
		test_prog_ref, test_close_stops, test_pinned, test_no_cycle,
		test_teardown_many, test_close_self_delete, test_mem_usage, test_memcg,
		test_delete_waits,
		test_queue_order, test_stress, test_stress_close,
		test_fault_inject,
	};
	static const char * const names[] = {
		"crud", "fire_once", "past_expiry", "periodic", "no_catch_up",
		"many_timers", "callback_ops", "cross_delete", "cpu_pin",
		"bpf_side_ops", "prog_ref", "close_stops", "pinned", "no_cycle",
		"teardown_many", "close_self_delete", "mem_usage", "memcg", "delete_waits",
		"queue_order",
		"stress", "stress_close", "fault_inject",
	};
	static const char * const storms[] = { "storm_self", "storm_cross",
					       "storm_spin", "storm_hammer" };
	char name[64];
	__u64 t0;
	int i, j;

	static_assert(ARRAY_SIZE(per_backend) == ARRAY_SIZE(names), "names");
	if (test__start_subtest("prog_test_run"))
		test_prog_test_run();
	if (test__start_subtest("libbpf"))
		test_libbpf();
	if (test__start_subtest("program_create_timer"))
		test_program_create_timer();
	if (test__start_subtest("get_info"))
		test_get_info();
	if (test__start_subtest("get_next_key"))
		test_get_next_key();
	if (test__start_subtest("errors"))
		test_errors();
	if (test__start_subtest("freeze_race")) {
		t0 = now_ns();
		test_freeze_race();
		printf("freeze_race: %llu ms\n", (now_ns() - t0) / MS);
	}
	if (test__start_subtest("create_race")) {
		t0 = now_ns();
		test_create_race();
		printf("create_race: %llu ms\n", (now_ns() - t0) / MS);
	}
	if (test__start_subtest("backend"))
		test_backend();
	for (i = 0; i < ARRAY_SIZE(per_backend); i++) {
		for (j = 0; j < ARRAY_SIZE(backends); j++) {
			snprintf(name, sizeof(name), "%s_%s", names[i], backends[j].name);
			if (!test__start_subtest(name))
				continue;
			t0 = now_ns();
			per_backend[i](&backends[j]);
			printf("%s: %llu ms\n", name, (now_ns() - t0) / MS);
		}
	}
	for (i = 0; i < ARRAY_SIZE(storms); i++) {
		for (j = 0; j < ARRAY_SIZE(backends); j++) {
			snprintf(name, sizeof(name), "%s_%s", storms[i], backends[j].name);
			if (!test__start_subtest(name))
				continue;
			t0 = now_ns();
			test_storm(&backends[j], i);
			printf("%s: %llu ms\n", name, (now_ns() - t0) / MS);
		}
	}
	RUN_TESTS(timer_map_fail);
}
