// SPDX-License-Identifier: GPL-2.0
/* BPF_MAP_TYPE_TIMER, BPF_TIMER_CREATE and SEC("timer") callbacks. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/wait.h>
#include <test_progs.h>
#include <network_helpers.h>
#include "cap_helpers.h"
#include "timer_map_common.h"
#include "timer_map.skel.h"
#include "timer_map_fail.skel.h"

#define MS	1000000ULL
#define SEC_NS	1000000000ULL
#define PIN_PATH "/sys/fs/bpf/timer_map_test"

/* The kernel-internal ENOTSUPP, from bpf_map_meta_alloc() */
#define ERR_NOTSUPP 524

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

/* Poll for @cond for up to @ms milliseconds; true if it became true.
 * Generous limits: the tests run under emulation with KASAN.
 */
#define WAIT_FOR(cond, ms) ({						\
	__u64 __end = now_ns() + (ms) * MS;				\
	bool __ok;							\
	while (!(__ok = (cond)) && now_ns() < __end)			\
		usleep(1000);						\
	__ok;								\
})

#define RUNS(skel, id) READ_ONCE((skel)->bss->runs[id].count)

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

static __u32 prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
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

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void unpin_cpu(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < libbpf_num_possible_cpus(); i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* create, lookup, update, delete and get_next_key from user space */
static void test_crud(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, id, ids[8], i, err;
	__u32 key, next;
	__u64 v, t0;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);

	/* relative expiry round-trips as an absolute one */
	t0 = now_ns();
	id = create_timer(map_fd, prog_fd, 3600 * SEC_NS, 0);
	if (!ASSERT_GE(id, 0, "create relative"))
		goto out;
	v = lookup(map_fd, id);
	ASSERT_GE(v, t0 + 3600 * SEC_NS, "relative expiry lower bound");
	ASSERT_LE(v, now_ns() + 3600 * SEC_NS, "relative expiry upper bound");
	ids[0] = id;

	/* absolute expiry round-trips exactly; 0 creates disarmed */
	ids[1] = create_timer(map_fd, prog_fd, t0 + 7200 * SEC_NS, BPF_F_TIMER_ABS);
	ASSERT_EQ(lookup(map_fd, ids[1]), t0 + 7200 * SEC_NS, "absolute expiry");
	ids[2] = create_timer(map_fd, prog_fd, 0, 0);
	ASSERT_EQ(lookup(map_fd, ids[2]), 0, "created disarmed");
	for (i = 3; i < 8; i++)
		ids[i] = create_timer(map_fd, prog_fd, 0, 0);

	/* ids unique, all present, listed in ascending order */
	for (i = 0; i < 8; i++) {
		ASSERT_GE(ids[i], 0, "create");
		for (int j = 0; j < i; j++)
			ASSERT_NEQ(ids[i], ids[j], "unique id");
	}
	ASSERT_EQ(count_keys(map_fd), 8, "8 keys");
	err = bpf_map_get_next_key(map_fd, NULL, &key);
	ASSERT_OK(err, "first key");
	while (!bpf_map_get_next_key(map_fd, &key, &next)) {
		ASSERT_GT(next, key, "ascending");
		key = next;
	}

	/* update re-arms and round-trips; 0 disarms */
	v = t0 + 9000 * SEC_NS;
	ASSERT_OK(bpf_map_update_elem(map_fd, &ids[2], &v, BPF_ANY), "update");
	ASSERT_EQ(lookup(map_fd, ids[2]), v, "updated expiry");
	ASSERT_OK(bpf_map_update_elem(map_fd, &ids[2], &v, BPF_EXIST), "update exist");
	v = 0;
	ASSERT_OK(bpf_map_update_elem(map_fd, &ids[0], &v, BPF_ANY), "disarm");
	ASSERT_EQ(lookup(map_fd, ids[0]), 0, "disarmed");

	/* delete frees the id */
	key = ids[1];
	ASSERT_OK(bpf_map_delete_elem(map_fd, &key), "delete");
	ASSERT_ERR(bpf_map_lookup_elem(map_fd, &key, &v), "lookup deleted");
	ASSERT_EQ(errno, ENOENT, "lookup deleted errno");
	ASSERT_EQ(count_keys(map_fd), 7, "7 keys");
	ASSERT_EQ(RUNS(skel, 0) + skel->bss->total_runs, 0, "nothing fired");
out:
	timer_map__destroy(skel);
}

/* one shot: context right, not early, disarmed after */
static void test_fire_once(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, id;
	__u64 exp;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);

	id = create_timer(map_fd, prog_fd, 20 * MS, 0);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	exp = lookup(map_fd, id);
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id) == 1, 5000), "fired");
	usleep(50000);
	ASSERT_EQ(RUNS(skel, id), 1, "fired once");
	ASSERT_EQ(skel->bss->runs[id].id, id, "ctx->id");
	ASSERT_EQ(skel->bss->runs[id].expires[0], exp, "ctx->expires");
	ASSERT_GE(skel->bss->runs[id].fired_at, exp, "not early");
	ASSERT_LT(skel->bss->runs[id].cpu, libbpf_num_possible_cpus(), "ctx->cpu");
	ASSERT_EQ(lookup(map_fd, id), 0, "disarmed after return 0");
	ASSERT_EQ(skel->bss->early, 0, "early runs");
out:
	timer_map__destroy(skel);
}

/* an expiry in the past fires right away, for both ways of arming */
static void test_past_expiry(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, id1, id2;
	__u64 v;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);

	id1 = create_timer(map_fd, prog_fd, now_ns() - SEC_NS, BPF_F_TIMER_ABS);
	id2 = create_timer(map_fd, prog_fd, 0, 0);
	if (!ASSERT_GE(id1, 0, "create") || !ASSERT_GE(id2, 0, "create"))
		goto out;
	v = 1; /* boot time: long past */
	ASSERT_OK(bpf_map_update_elem(map_fd, &id2, &v, BPF_ANY), "update past");
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id1) == 1 && RUNS(skel, id2) == 1, 2000),
		    "past expiries fired");
	ASSERT_EQ(skel->bss->runs[id2].expires[0], 1, "ctx->expires is the one set");
out:
	timer_map__destroy(skel);
}

/* return N re-arms at expires + N * resolution: no drift, no bursts */
static void check_periodic(bool hres)
{
	struct timer_map *skel;
	int map_fd, prog_fd, id, i, stats_fd;
	__u64 res = hres ? 100000 : MS, *e, n = 6, per = hres ? 20 : 5;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(hres ? skel->maps.hr_timers : skel->maps.timers);
	prog_fd = bpf_program__fd(hres ? skel->progs.hr_cb : skel->progs.cb);
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	ASSERT_GE(stats_fd, 0, "enable_stats");

	/* ids come from a per-map allocator, so set up before creating */
	for (i = 0; i < 64; i++) {
		skel->bss->cfg[i].period = per;
		skel->bss->cfg[i].max_runs = n;
	}
	id = create_timer(map_fd, prog_fd, 10 * MS, 0);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id) == n, 10000), "ran n times");
	usleep(50000);
	ASSERT_EQ(RUNS(skel, id), n, "stopped after returning 0");
	/* On the period grid: a run late by more than a period skips the
	 * missed ones (no burst), so under load steps may be multiples.
	 */
	e = skel->bss->runs[id].expires;
	for (i = 1; i < n; i++) {
		ASSERT_GT(e[i], e[i - 1], "later expiry");
		ASSERT_EQ((e[i] - e[i - 1]) % (per * res), 0, "on the period grid");
	}
	ASSERT_EQ(skel->bss->early, 0, "never early");
	ASSERT_EQ(lookup(map_fd, id), 0, "disarmed at the end");
	if (!bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		ASSERT_EQ(info.run_cnt, n, "run_cnt counts callback runs");
out:
	if (stats_fd >= 0)
		close(stats_fd);
	timer_map__destroy(skel);
}

static void test_periodic_wheel(void)
{
	check_periodic(false);
}

static void test_periodic_hrtimer(void)
{
	check_periodic(true);
}

/* late by many periods: the next run is the first period after now */
static void test_no_catch_up(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, id;
	__u64 start, *e;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);
	for (int i = 0; i < 2; i++) {
		skel->bss->cfg[i].period = 10;
		skel->bss->cfg[i].max_runs = 2;
	}

	start = now_ns() - SEC_NS; /* 100 periods ago */
	id = create_timer(map_fd, prog_fd, start, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create") || !ASSERT_LT(id, 2, "id"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id) == 2, 5000), "ran twice");
	usleep(30000);
	ASSERT_EQ(RUNS(skel, id), 2, "no burst of catch-up runs");
	e = skel->bss->runs[id].expires;
	ASSERT_EQ(e[0], start, "first run at the set expiry");
	ASSERT_EQ((e[1] - start) % (10 * MS), 0, "second run on the period grid");
	ASSERT_GT(e[1], start + SEC_NS, "second run after now");
out:
	timer_map__destroy(skel);
}

/* one program, many timers */
static void test_many_timers(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, i, ids[32];
	__u64 t0 = now_ns();
	bool all;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);
	for (i = 0; i < 32; i++) {
		ids[i] = create_timer(map_fd, prog_fd, t0 + (20 + i) * MS,
				      BPF_F_TIMER_ABS);
		if (!ASSERT_GE(ids[i], 0, "create"))
			goto out;
	}
	ASSERT_TRUE(WAIT_FOR(skel->bss->total_runs == 32, 5000), "all fired");
	all = true;
	for (i = 0; i < 32; i++) {
		all &= RUNS(skel, ids[i]) == 1;
		all &= skel->bss->runs[ids[i]].id == ids[i];
		all &= skel->bss->runs[ids[i]].expires[0] == t0 + (20 + i) * MS;
	}
	ASSERT_TRUE(all, "each timer ran once with its own context");
out:
	timer_map__destroy(skel);
}

/* what a callback does to its own timer wins over its return value */
static void test_callback_ops(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, del, rearm, disarm, victim, killer;
	__u64 v;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);

	/* ids are allocated cyclically from 0 in a new map */
	skel->bss->cfg[0].action = ACT_DELETE_SELF;
	skel->bss->cfg[0].period = 1;
	skel->bss->cfg[1].action = ACT_REARM_SELF;
	skel->bss->cfg[1].arg = 20 * MS;
	skel->bss->cfg[2].action = ACT_DISARM_SELF;
	skel->bss->cfg[2].period = 1;
	skel->bss->cfg[4].action = ACT_DELETE_OTHER;
	skel->bss->cfg[4].target = 3;

	del = create_timer(map_fd, prog_fd, 10 * MS, 0);
	rearm = create_timer(map_fd, prog_fd, 10 * MS, 0);
	disarm = create_timer(map_fd, prog_fd, 10 * MS, 0);
	victim = create_timer(map_fd, prog_fd, 3600 * SEC_NS, 0);
	killer = create_timer(map_fd, prog_fd, 10 * MS, 0);
	if (!ASSERT_EQ(del, 0, "id 0") || !ASSERT_EQ(rearm, 1, "id 1") ||
	    !ASSERT_EQ(disarm, 2, "id 2") || !ASSERT_EQ(victim, 3, "id 3") ||
	    !ASSERT_EQ(killer, 4, "id 4"))
		goto out;

	ASSERT_TRUE(WAIT_FOR(RUNS(skel, del) == 1 && RUNS(skel, rearm) == 2 &&
			     RUNS(skel, disarm) == 1 && RUNS(skel, killer) == 1,
			     5000), "callbacks ran");
	usleep(30000);

	ASSERT_EQ(skel->bss->runs[del].op_err, 0, "delete self");
	ASSERT_EQ(RUNS(skel, del), 1, "deleted: return value ignored");
	ASSERT_ERR(bpf_map_lookup_elem(map_fd, &del, &v), "deleted self gone");

	ASSERT_EQ(skel->bss->runs[rearm].op_err, 0, "rearm self");
	ASSERT_EQ(RUNS(skel, rearm), 2, "re-armed despite return 0");
	ASSERT_GE(skel->bss->runs[rearm].expires[1] - skel->bss->runs[rearm].expires[0],
		  20 * MS, "re-armed expiry");

	ASSERT_EQ(skel->bss->runs[disarm].op_err, 0, "disarm self");
	ASSERT_EQ(RUNS(skel, disarm), 1, "disarmed despite return 1");
	ASSERT_EQ(lookup(map_fd, disarm), 0, "disarmed value");

	ASSERT_EQ(skel->bss->runs[killer].op_err, 0, "delete other");
	ASSERT_ERR(bpf_map_lookup_elem(map_fd, &victim, &v), "other gone");
	ASSERT_EQ(RUNS(skel, victim), 0, "other never ran");
	ASSERT_EQ(count_keys(map_fd), 3, "rearm, disarm, killer left");
out:
	timer_map__destroy(skel);
}

/* two callbacks on two CPUs delete each other's timer at the same moment */
static void test_cross_delete(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, a, b, i, left;
	__u64 at;

	if (libbpf_num_possible_cpus() < 2) {
		test__skip();
		return;
	}
	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.hr_timers);
	prog_fd = bpf_program__fd(skel->progs.hr_cb);

	for (i = 0; i < 20; i++) {
		/* created disarmed, configured, then armed from two CPUs */
		a = create_timer(map_fd, prog_fd, 0, BPF_F_TIMER_CPU_PIN);
		b = create_timer(map_fd, prog_fd, 0, BPF_F_TIMER_CPU_PIN);
		if (!ASSERT_GE(a, 0, "create a") || !ASSERT_GE(b, 0, "create b") ||
		    !ASSERT_LT(a, 64, "a") || !ASSERT_LT(b, 64, "b"))
			break;
		skel->bss->cfg[a].action = ACT_DELETE_OTHER;
		skel->bss->cfg[b].action = ACT_DELETE_OTHER;
		skel->bss->cfg[a].target = b;
		skel->bss->cfg[b].target = a;
		at = now_ns() + 200 * MS;
		pin_to_cpu(0);
		ASSERT_OK(bpf_map_update_elem(map_fd, &a, &at, BPF_ANY), "arm a");
		pin_to_cpu(1);
		ASSERT_OK(bpf_map_update_elem(map_fd, &b, &at, BPF_ANY), "arm b");
		unpin_cpu();
		/* at least one of them runs and deletes the other */
		ASSERT_TRUE(WAIT_FOR(count_keys(map_fd) <= 1, 5000), "deleted");
		left = count_keys(map_fd);
		ASSERT_LE(left, 1, "at most one left");
		bpf_map_delete_elem(map_fd, &a);
		bpf_map_delete_elem(map_fd, &b);
		skel->bss->cfg[a].action = ACT_NONE;
		skel->bss->cfg[b].action = ACT_NONE;
	}
	ASSERT_EQ(count_keys(map_fd), 0, "empty");
	timer_map__destroy(skel);
}

/* CPU_PIN runs the callback on the CPU that armed the timer */
static void test_cpu_pin(void)
{
	struct timer_map *skel;
	int prog_fd, id, hid, cpu = libbpf_num_possible_cpus() - 1;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	pin_to_cpu(cpu);
	id = create_timer(bpf_map__fd(skel->maps.timers), prog_fd, 10 * MS,
			  BPF_F_TIMER_CPU_PIN);
	hid = create_timer(bpf_map__fd(skel->maps.hr_timers),
			   bpf_program__fd(skel->progs.hr_cb), 10 * MS,
			   BPF_F_TIMER_CPU_PIN);
	unpin_cpu();
	if (!ASSERT_GE(id, 0, "create") || !ASSERT_GE(hid, 0, "create hr"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(skel->bss->total_runs == 2, 5000), "fired");
	/* both maps' ids start at 0 and share the runs[] slots */
	ASSERT_EQ(skel->bss->runs[id].cpu, cpu, "ran on the arming CPU");
out:
	timer_map__destroy(skel);
}

/* lookup, update and delete from a BPF program */
static void test_bpf_side_ops(void)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = &pkt_v4,
		    .data_size_in = sizeof(pkt_v4), .repeat = 1);
	struct timer_map *skel;
	int map_fd, prog_fd, ops_fd, id;
	__u64 at;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);
	ops_fd = bpf_program__fd(skel->progs.map_ops);

	at = now_ns() + 3600 * SEC_NS;
	id = create_timer(map_fd, prog_fd, at, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;

	skel->bss->op = TOP_LOOKUP;
	skel->bss->op_id = id;
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run lookup");
	ASSERT_EQ(skel->bss->op_ret, 0, "lookup");
	ASSERT_EQ(skel->bss->op_lookup, at, "lookup value");

	skel->bss->op = TOP_UPDATE;
	skel->bss->op_value = now_ns() + 10 * MS;
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run update");
	ASSERT_EQ(skel->bss->op_ret, 0, "update");
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id) == 1, 5000), "re-armed by program");

	skel->bss->op = TOP_DELETE;
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run delete");
	ASSERT_EQ(skel->bss->op_ret, 0, "delete");
	ASSERT_EQ(count_keys(map_fd), 0, "deleted by program");
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run delete again");
	ASSERT_EQ(skel->bss->op_ret, -ENOENT, "delete missing");
	skel->bss->op = TOP_UPDATE;
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run update missing");
	ASSERT_EQ(skel->bss->op_ret, -ENOENT, "update missing");
	skel->bss->op = TOP_LOOKUP;
	ASSERT_OK(bpf_prog_test_run_opts(ops_fd, &topts), "run lookup missing");
	ASSERT_EQ(skel->bss->op_ret, -2, "lookup missing");
out:
	timer_map__destroy(skel);
}

/* the program stays loaded while a timer uses it */
static void test_prog_ref(void)
{
	struct timer_map *skel;
	int map_fd, id;
	__u32 pid;

	map_fd = make_map(4, 0);
	if (!ASSERT_GE(map_fd, 0, "map"))
		return;
	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		goto out;
	pid = prog_id(bpf_program__fd(skel->progs.cb));
	id = create_timer(map_fd, bpf_program__fd(skel->progs.cb), 3600 * SEC_NS, 0);
	timer_map__destroy(skel);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	ASSERT_TRUE(prog_alive(pid), "prog held by the timer");
	ASSERT_OK(bpf_map_delete_elem(map_fd, &id), "delete");
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), 2000), "prog released by delete");
out:
	close(map_fd);
}

/* closing the last fd stops the timers and releases the program */
static void test_close_stops(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, i, id;
	__u64 before;
	__u32 pid;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	pid = prog_id(prog_fd);
	map_fd = make_map(8, 0);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	for (i = 0; i < 8; i++)
		skel->bss->cfg[i].period = 2;
	for (i = 0; i < 4; i++) {
		id = create_timer(map_fd, prog_fd, MS, 0);
		ASSERT_GE(id, 0, "create");
	}
	ASSERT_TRUE(WAIT_FOR(skel->bss->total_runs >= 12, 5000), "running");
	close(map_fd);
	before = skel->bss->total_runs;
	usleep(100000);
	ASSERT_EQ(skel->bss->total_runs, before, "stopped by close");
	timer_map__destroy(skel);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), 2000), "prog released");
	return;
out:
	timer_map__destroy(skel);
}

/* a pinned map keeps firing after its creator exits, stops on unpin */
static void test_pinned(void)
{
	struct timer_map *skel;
	int pfd[2], prog_fd, id = -1, status;
	__u64 c1;
	pid_t pid;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	for (int i = 0; i < 4; i++)
		skel->bss->cfg[i].period = 5;
	unlink(PIN_PATH);
	if (!ASSERT_OK(pipe(pfd), "pipe"))
		goto out;
	pid = fork();
	if (pid == 0) {
		int map_fd = make_map(4, 0);

		if (map_fd < 0 || bpf_obj_pin(map_fd, PIN_PATH))
			_exit(1);
		id = create_timer(map_fd, prog_fd, MS, 0);
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
	c1 = RUNS(skel, id);
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, id) > c1 + 3, 5000), "fires after creator exit");
	ASSERT_OK(unlink(PIN_PATH), "unpin");
	c1 = RUNS(skel, id);
	usleep(100000);
	ASSERT_EQ(RUNS(skel, id), c1, "stopped by unpin");
out:
	unlink(PIN_PATH);
	timer_map__destroy(skel);
}

/* a map only its own callback refers to is freed: no cycle */
static void test_no_cycle(void)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), pid;
	struct timer_map *skel;
	int map_fd, id;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	/* cb refers to 'timers' for its delete/update actions */
	map_fd = bpf_map__fd(skel->maps.timers);
	ASSERT_OK(bpf_map_get_info_by_fd(map_fd, &info, &len), "map info");
	pid = prog_id(bpf_program__fd(skel->progs.cb));
	skel->bss->cfg[0].period = 3;
	id = create_timer(map_fd, bpf_program__fd(skel->progs.cb), MS, 0);
	ASSERT_EQ(id, 0, "create");
	ASSERT_TRUE(WAIT_FOR(RUNS(skel, 0) > 2, 5000), "running");
	timer_map__destroy(skel);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), 3000), "prog freed");
	ASSERT_TRUE(WAIT_FOR(!map_alive(info.id), 3000), "map freed");
}

/* closing a map with many armed timers: no lockup, everything freed */
static void test_teardown_many(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, i, n = 20000, id = 0;
	__u64 t;
	__u32 pid;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	pid = prog_id(prog_fd);
	map_fd = make_map(n, 0);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	for (i = 0; i < n && id >= 0; i++)
		id = create_timer(map_fd, prog_fd, (3600 + i) * SEC_NS, 0);
	ASSERT_GE(id, 0, "created all");
	ASSERT_EQ(create_timer(map_fd, prog_fd, 0, 0), -E2BIG, "then full");
	t = now_ns();
	close(map_fd);
	printf("%s: closed a map with %d armed timers in %llu ms\n", __func__, n,
	       (now_ns() - t) / MS);
	timer_map__destroy(skel);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid), 3000), "prog released");
	return;
out:
	timer_map__destroy(skel);
}

/* map_mem_usage follows the number of timers */
static void test_mem_usage(void)
{
	struct timer_map *skel;
	int map_fd, prog_fd, i, ids[100];
	__u64 empty, full;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	prog_fd = bpf_program__fd(skel->progs.cb);
	map_fd = make_map(100, 0);
	if (!ASSERT_GE(map_fd, 0, "map"))
		goto out;
	empty = map_memlock(map_fd);
	ASSERT_GT(empty, 0, "memlock");
	for (i = 0; i < 100; i++)
		ids[i] = create_timer(map_fd, prog_fd, 3600 * SEC_NS, 0);
	full = map_memlock(map_fd);
	ASSERT_GE(full, empty + 100 * 64, "grows with timers");
	ASSERT_LE(full, empty + 100 * 1024, "by a bounded amount");
	for (i = 0; i < 50; i++)
		bpf_map_delete_elem(map_fd, &ids[i]);
	ASSERT_EQ(map_memlock(map_fd), empty + (full - empty) / 2, "shrinks by half");
	for (i = 50; i < 100; i++)
		bpf_map_delete_elem(map_fd, &ids[i]);
	ASSERT_EQ(map_memlock(map_fd), empty, "back to empty");
	close(map_fd);
out:
	timer_map__destroy(skel);
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
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key;
	int map_fd, prog_fd, tc_fd, arr_fd, ro_fd, fd, id, err, closed_fd;
	struct timer_map *skel;
	union bpf_attr attr;
	__u64 caps = 0, v;

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
		  -ERR_NOTSUPP, "not an inner map");
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

	ASSERT_OK(bpf_map_get_info_by_fd(map_fd, &info, &len), "map info");
	ro_fd = bpf_map_get_fd_by_id_opts(info.id, &ropts);
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
out:
	close(map_fd);
	close(arr_fd);
	timer_map__destroy(skel);
}

/* libbpf knows the types by name and can probe them */
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
	struct timer_map *skel;
	int map_fd, prog_fd, i;

	skel = timer_map__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	map_fd = bpf_map__fd(skel->maps.timers);
	prog_fd = bpf_program__fd(skel->progs.cb);
	for (i = 0; i < 3; i++) {
		ids[i] = create_timer(map_fd, prog_fd, 0, 0);
		if (!ASSERT_LT(ids[i], INT_MAX, "create"))
			goto out;
	}
	ASSERT_OK(bpf_map_get_next_key(map_fd, NULL, &next), "first");
	ASSERT_EQ(next, ids[0], "first id");
	ASSERT_OK(bpf_map_delete_elem(map_fd, &ids[1]), "delete middle");
	ASSERT_OK(bpf_map_get_next_key(map_fd, &ids[1], &next), "after deleted key");
	ASSERT_EQ(next, ids[2], "next above the deleted key");
	ASSERT_OK(bpf_map_delete_elem(map_fd, &ids[0]), "delete first");
	ASSERT_OK(bpf_map_get_next_key(map_fd, &ids[0], &next), "after deleted first");
	ASSERT_EQ(next, ids[2], "next above the deleted first");
	ASSERT_EQ(bpf_map_get_next_key(map_fd, &ids[2], &next), -ENOENT, "last");
	ASSERT_EQ(bpf_map_get_next_key(map_fd, &gone, &next), -ENOENT, "above the last");
out:
	timer_map__destroy(skel);
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

void test_timer_map(void)
{
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
	if (test__start_subtest("crud"))
		test_crud();
	if (test__start_subtest("fire_once"))
		test_fire_once();
	if (test__start_subtest("past_expiry"))
		test_past_expiry();
	if (test__start_subtest("periodic_wheel"))
		test_periodic_wheel();
	if (test__start_subtest("periodic_hrtimer"))
		test_periodic_hrtimer();
	if (test__start_subtest("no_catch_up"))
		test_no_catch_up();
	if (test__start_subtest("many_timers"))
		test_many_timers();
	if (test__start_subtest("callback_ops"))
		test_callback_ops();
	if (test__start_subtest("cross_delete"))
		test_cross_delete();
	if (test__start_subtest("cpu_pin"))
		test_cpu_pin();
	if (test__start_subtest("bpf_side_ops"))
		test_bpf_side_ops();
	if (test__start_subtest("prog_ref"))
		test_prog_ref();
	if (test__start_subtest("close_stops"))
		test_close_stops();
	if (test__start_subtest("pinned"))
		test_pinned();
	if (test__start_subtest("no_cycle"))
		test_no_cycle();
	if (test__start_subtest("teardown_many"))
		test_teardown_many();
	if (test__start_subtest("mem_usage"))
		test_mem_usage();
	if (test__start_subtest("errors"))
		test_errors();
	RUN_TESTS(timer_map_fail);
}
