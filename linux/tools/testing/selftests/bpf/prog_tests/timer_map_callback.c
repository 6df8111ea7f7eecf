// SPDX-License-Identifier: GPL-2.0
/* SEC("timer") callbacks: when they run (never early, once per expiry,
 * no catch-up), what their return value does, the map operations they
 * may do on their own and other timers, and CPU pinning.
 */
#define _GNU_SOURCE
#include <sys/utsname.h>
#include <test_progs.h>
#include "timer_map_helpers.h"
#include "timer_map.skel.h"

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
 * ended after that: then at the first such period after now. One round:
 * a timer with a step of @per resolutions, n runs; returns how many steps
 * could be checked for exactness (those whose run ended within the first
 * half of its period), or -1 on failure.
 */
static int periodic_round(struct tm_env *t, __u32 per, __u64 n, int *late)
{
	__u64 step = per * t->b->res, *e, *ends;
	int id, i, exact = 0;

	memset(t->bss->runs, 0, sizeof(t->bss->runs));
	for (i = 0; i < MAX_IDS; i++) {
		t->bss->cfg[i].period = per;
		t->bss->cfg[i].max_runs = n;
	}
	id = create_timer(t->map_fd, t->prog_fd, 2 * t->b->res, 0);
	if (!ASSERT_GE(id, 0, "create"))
		return -1;
	if (!ASSERT_TRUE(WAIT_FOR(RUNS(t->skel, id) == n && lookup(t->map_fd, id) == 0,
				  DEADLINE_MS + n * step / MS), "ran n times, then disarmed"))
		return -1;
	ASSERT_EQ(RUNS(t->skel, id), n, "stopped after returning 0");
	e = t->bss->runs[id % MAX_IDS].expires;
	ends = t->bss->runs[id % MAX_IDS].ends;
	for (i = 1; i < n; i++) {
		ASSERT_GT(e[i], e[i - 1], "later expiry");
		ASSERT_EQ((e[i] - e[i - 1]) % step, 0, "on the period grid");
		ASSERT_GT(e[i], ends[i - 1], "after the run that armed it");
		/* A run that ended in the first half of its period leaves
		 * the runner half a period to re-arm: the step is exact,
		 * unless the guest stalled for that half period between
		 * the program's end and the runner's clock read. Counted:
		 * some step must be exact, and most are.
		 */
		if (ends[i - 1] < e[i - 1] + step / 2) {
			if (e[i] - e[i - 1] == step)
				exact++;
			else
				*late += 1;
		}
	}
	ASSERT_OK(bpf_map_delete_elem(t->map_fd, &id), "delete");
	return exact;
}

/* Periods of 30 ms, then 300 ms and 3 s if no step was exact: however
 * slow the machine, some run ends within 1.5 s.
 */
static void test_periodic(const struct backend *b)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), per;
	int stats_fd, exact = 0, late = 0;
	__u64 n = 6, rounds = 0;
	struct tm_env t;

	if (!tm_open(&t, b))
		return;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	ASSERT_GE(stats_fd, 0, "enable_stats");
	for (per = 30 * MS / b->res; per <= 3000 * MS / b->res && !exact; per *= 10) {
		late = 0;
		exact = periodic_round(&t, per, n, &late);
		if (exact < 0)
			goto out;
		rounds++;
		printf("%s/%s: step %llu ms: %d of %llu steps exact, %d that could be not\n",
		       __func__, b->name, per * b->res / MS, exact, n - 1, late);
	}
	ASSERT_GT(exact, 0, "some run ended in time for an exact step");
	ASSERT_LE(late, exact, "most steps that could be exact were");
	ASSERT_EQ(t.bss->early, 0, "never early");
	if (!bpf_prog_get_info_by_fd(t.prog_fd, &info, &len))
		ASSERT_EQ(info.run_cnt, rounds * n, "run_cnt counts callback runs");
out:
	if (stats_fd >= 0)
		close(stats_fd);
	tm_close(&t);
}

/* Late by many periods: the next run is the first period after now, and
 * there is one run, no burst. One round with a period of @per
 * resolutions: 1 if checked, 0 if this thread saw the re-armed expiry
 * too late to bound the runner's clock read (the caller tries a longer
 * period), -1 on failure.
 */
static int no_catch_up_round(struct tm_env *t, __u32 per)
{
	__u64 step = per * t->b->res, start, e1, seen_val, seen;
	struct run_info *r;
	int id;

	memset(t->bss->runs, 0, sizeof(t->bss->runs));
	t->bss->cfg[0].period = per;
	t->bss->cfg[0].max_runs = 2;
	start = now_ns() - 10 * step;
	id = create_timer(t->map_fd, t->prog_fd, start, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create"))
		return -1;
	r = &t->bss->runs[id % MAX_IDS];
	/* the runner's clock read lies between the end of the first run
	 * and the moment user space sees the new expiry
	 */
	WAIT_FOR(lookup(t->map_fd, id) != start, DEADLINE_MS);
	seen_val = lookup(t->map_fd, id);
	if (!ASSERT_NEQ(seen_val, start, "re-armed"))
		return -1;
	seen = now_ns();
	if (!ASSERT_TRUE(WAIT_FOR(RUNS(t->skel, id) == 2 && lookup(t->map_fd, id) == 0,
				  DEADLINE_MS + 2 * step / MS), "ran twice"))
		return -1;
	e1 = r->expires[1];
	ASSERT_EQ(RUNS(t->skel, id), 2, "no burst of catch-up runs");
	ASSERT_EQ(r->expires[0], start, "first run at the set expiry");
	ASSERT_EQ((e1 - start) % step, 0, "next run on the period grid");
	ASSERT_GT(e1, r->ends[0], "next run after the first one ended");
	ASSERT_OK(bpf_map_delete_elem(t->map_fd, &id), "delete");
	if (seen_val != e1)
		return 0;
	ASSERT_LT(e1 - step, seen, "the first period after now, not a later one");
	return 1;
}

/* periods of 200 ms, 2 s, 20 s until this thread saw the re-armed expiry
 * before the second run
 */
static void test_no_catch_up(const struct backend *b)
{
	struct tm_env t;
	__u32 per;
	int done = 0;

	if (!tm_open(&t, b))
		return;
	for (per = 200 * MS / b->res; per <= 20000 * MS / b->res && !done; per *= 10) {
		done = no_catch_up_round(&t, per);
		if (done < 0)
			break;
	}
	ASSERT_EQ(done, 1, "the next expiry seen and checked");
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
	/* expiries 2 s ahead, one resolution apart: none runs early (the
	 * callback counts early runs), whether or not arming all took longer
	 */
	base = now_ns() + 2 * SEC_NS;
	for (i = 0; i < 32; i++)
		ASSERT_OK(arm(t.map_fd, ids[i], base + i * b->res), "arm");
	armed = now_ns();
	if (armed < base)
		ASSERT_EQ(t.bss->total_runs, 0, "none ran before its expiry");
	ASSERT_TRUE(WAIT_FOR(t.bss->total_runs == 32, DEADLINE_MS), "all fired");
	ASSERT_EQ(t.bss->early, 0, "never early");
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
	struct tm_env t;
	__u64 at;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	for (i = 0; both < 3 && i < 500; i++) {
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

/* Whether the timer core may move unpinned timers to other CPUs */
static bool migration_on(void)
{
	char c = 0;
	FILE *f = fopen("/proc/sys/kernel/timer_migration", "r");

	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == '1';
}

/* Whether this kernel is PREEMPT_RT: softirqs run in threads there */
static bool preempt_rt(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.version, "PREEMPT_RT");
}

/* An unpinned timer may run on another CPU than the one that armed it,
 * where a pinned one may not: armed from CPU 1, which then idles while
 * CPU 0 is busy.
 * - wheel: armed by user space on CPU 1; the timer migration hierarchy
 *   has the busy CPU 0 expire an idle CPU's unpinned timers, once CPU 1
 *   has stopped its tick (the expiry grows from 50 ms to 2 s);
 * - hrtimer: hrtimers do not move once queued, but one armed from an
 *   idle CPU goes to a busy one: a pinned timer's callback on CPU 1 arms
 *   it 50 ms ahead, from softirq context on the idle CPU.
 * Checked: the pinned arming timer runs only on CPU 1, the unpinned one
 * runs every round. Whether the unpinned one moves is an observation,
 * not a verdict: it needs CPU 1 idle at the right moment, and a loaded
 * guest defers softirqs to ksoftirqd (then CPU 1 is not idle) or keeps
 * its tick running. Seen here: after one round in a run of these tests
 * alone, never in 20 rounds in the whole suite under CI. Not on
 * PREEMPT_RT at all for hrtimers (softirqs always run in threads).
 */
static void test_unpinned_moves(const struct backend *b)
{
	int loose, arming = -1, round, moved = 0;
	struct spinner busy = {};
	struct tm_env t;
	__u64 lead;

	if (!two_cpus())
		return;
	if (!migration_on())
		printf("%s/%s: kernel.timer_migration is off or missing (NO_HZ_COMMON=n): %s\n",
		       __func__, b->name, "unpinned timers stay where they were armed");
	if (b->hres && preempt_rt()) {
		printf("%s/%s: %s\n", __func__, b->name,
		       "PREEMPT_RT: soft hrtimer callbacks run in a thread, a CPU running one is not idle: nothing to observe");
		return;
	}
	if (!tm_open(&t, b))
		return;
	if (!spinner_start(&busy, 0) || !pin_to_cpu(1))
		goto out;
	loose = create_timer(t.map_fd, t.prog_fd, 0, 0);
	if (b->hres)
		arming = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
	if (!ASSERT_GE(loose, 0, "create") || (b->hres && !ASSERT_GE(arming, 0, "create")))
		goto out;
	if (b->hres)
		t.bss->cfg[arming] = (struct timer_cfg){ .action = ACT_REARM_OTHER,
							 .target = loose, .arg = 50 * MS };
	for (round = 0, lead = 50 * MS; round < 10 && !moved; round++) {
		__u64 ran = RUNS(t.skel, loose);

		t.bss->runs[loose].cpu_mask = 0;
		if (!pin_to_cpu(1) ||
		    !ASSERT_OK(arm(t.map_fd, b->hres ? arming : loose, now_ns() + lead), "arm"))
			break;
		/* wait on CPU 0, next to the spinner: CPU 1 idles */
		if (!pin_to_cpu(0) ||
		    !ASSERT_TRUE(WAIT_FOR(RUNS(t.skel, loose) > ran, DEADLINE_MS), "ran"))
			break;
		moved = !!(t.bss->runs[loose].cpu_mask & ~(1ULL << 1));
		if (lead < 2 * SEC_NS)
			lead *= 2;
	}
	printf("%s/%s: the unpinned timer ran on another CPU than the arming one %s %d rounds%s\n",
	       __func__, b->name, moved ? "after" : "never in", round,
	       moved ? "" : " (CPU 1 was never idle when it mattered: see above)");
	if (b->hres)
		ASSERT_EQ(t.bss->runs[arming].cpu_mask, 1ULL << 1, "the pinned one stayed");
out:
	unpin_cpu();
	spinner_stop(&busy);
	delete_all(t.map_fd);
	tm_close(&t);
}

/* Arms @id, pinned, from CPU 0 at now + @lead, and moves this thread to
 * CPU 1 before the callback runs: false if it ran too early (the caller
 * tries again with a longer lead).
 */
static bool arm_on_cpu0(struct tm_env *t, int id, __u64 lead)
{
	if (!pin_to_cpu(0) || !ASSERT_OK(arm(t->map_fd, id, now_ns() + lead), "arm") ||
	    !pin_to_cpu(1))
		return false;
	return !RUNS(t->skel, id) && !t->bss->runs[id % MAX_IDS].running;
}

/* An update of a timer during its callback's run wins over the run's
 * return value, whether it comes from user space or from another program,
 * and whether it re-arms or disarms. The callback is held until the
 * update has landed, then returns a period of 7.
 */
static void test_update_wins(const struct backend *b)
{
	static const char * const how[] = { "user space", "a program", "a disarm" };
	struct run_info *r;
	__u64 want, lead;
	struct tm_env t;
	int id, i;

	if (!two_cpus() || !tm_open(&t, b))
		return;
	for (i = 0; i < ARRAY_SIZE(how); i++) {
		/* runs on CPU 0, pinned there, updated from CPU 1 */
		if (!pin_to_cpu(0))
			break;
		id = create_timer(t.map_fd, t.prog_fd, 0, BPF_F_TIMER_CPU_PIN);
		if (!ASSERT_GE(id, 0, "create"))
			break;
		r = &t.bss->runs[id % MAX_IDS];
		t.bss->cfg[id % MAX_IDS] = (struct timer_cfg){ .period = 7, .hold = 1,
							       .spin_ns = 5 * SEC_NS };
		t.bss->release = 0;
		for (lead = 100 * MS; lead <= 10 * SEC_NS; lead *= 10) {
			if (arm_on_cpu0(&t, id, lead))
				break;
			/* it ran before this thread left CPU 0: again */
			t.bss->release = 1;
			WAIT_FOR(!r->running, DEADLINE_MS);
			ASSERT_OK(arm(t.map_fd, id, 0), "disarm");
			WAIT_FOR(!r->running, DEADLINE_MS);
			memset(r, 0, sizeof(*r));
			t.bss->release = 0;
		}
		if (!ASSERT_LE(lead, 10 * SEC_NS, "armed ahead of the run") ||
		    !ASSERT_TRUE(WAIT_FOR(r->running, DEADLINE_MS + lead / MS),
				 "callback running"))
			break;
		want = i == 2 ? 0 : now_ns() + 3600 * SEC_NS;
		if (i == 1) {
			t.bss->op = TOP_UPDATE;
			t.bss->op_id = id;
			t.bss->op_value = want;
			ASSERT_OK(test_run(t.ops_fd), "test_run");
			ASSERT_OK(t.bss->op_ret, "update from a program");
		} else {
			ASSERT_OK(arm(t.map_fd, id, want), "update from user space");
		}
		/* still running: the update landed during the run */
		ASSERT_TRUE(r->running, "updated during the run");
		t.bss->release = 1;
		if (!ASSERT_TRUE(WAIT_FOR(!r->running, DEADLINE_MS), "callback over"))
			break;
		if (!ASSERT_EQ(lookup(t.map_fd, id), want, how[i]))
			printf("%s/%s: after an update from %s, the return value won\n",
			       __func__, b->name, how[i]);
		ASSERT_EQ(r->count, 1, "ran once");
		ASSERT_OK(bpf_map_delete_elem(t.map_fd, &id), "delete");
	}
	t.bss->release = 1;
	unpin_cpu();
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

/* An update from CPU 1 right when the timer expires on CPU 0: between the
 * timer core dequeuing it and the runner looking at it. The runner must
 * leave the timer queued by the update alone; modifying its expiry in
 * place would leave CPU 0's queue out of order and hold up every timer
 * behind it (a canary) until that expiry, 100 s or more ahead.
 */
static void test_queue_order(const struct backend *b)
{
	__u64 e, ran, raced = 0, hits = 0, lead = 50 * MS, t0, setup;
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
	for (i = 0; i < 2000 && hits < 5; i++) {
		__u64 ran_c = RUNS(t.skel, canary);

		/* the canary queued behind the timer, both on CPU 0 */
		if (!pin_to_cpu(0))
			break;
		/* the expiry lies beyond the round's setup (arming, moving
		 * to CPU 1, entering the tc program): twice the longest
		 * setup seen, 50 ms at least
		 */
		t0 = now_ns();
		e = t0 + lead;
		ran = RUNS(t.skel, tm_id);
		if (!ASSERT_OK(arm(t.map_fd, canary, e + 2 * b->res + 20 * MS), "arm canary") ||
		    !ASSERT_OK(arm(t.map_fd, tm_id, e), "arm"))
			break;
		/* from CPU 1: spin until e + 0..200 us, then re-arm to now */
		if (!pin_to_cpu(1))
			break;
		t.bss->op_value = e + (i % 40) * 5000;
		setup = now_ns() - t0;
		if (2 * setup > lead)
			lead = 2 * setup;
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
	printf("%s/%s: %d rounds, %llu updates before the run, %llu of them past the expiry",
	       __func__, b->name, i, raced, hits);
	printf(", lead %llu ms\n", lead / MS);
	ASSERT_GT(hits, 0, "updates raced the expiry (window hit)");
	ASSERT_EQ(t.bss->early, 0, "never early");
out:
	unpin_cpu();
	delete_all(t.map_fd);
	tm_close(&t);
}

/* Timing-sensitive and uses both CPUs: serial. */
void serial_test_timer_map_callback(void)
{
	run_per_backend("fire_once", test_fire_once);
	run_per_backend("past_expiry", test_past_expiry);
	run_per_backend("periodic", test_periodic);
	run_per_backend("no_catch_up", test_no_catch_up);
	run_per_backend("many_timers", test_many_timers);
	run_per_backend("callback_ops", test_callback_ops);
	run_per_backend("cross_delete", test_cross_delete);
	run_per_backend("cpu_pin", test_cpu_pin);
	run_per_backend("unpinned_moves", test_unpinned_moves);
	run_per_backend("update_wins", test_update_wins);
	run_per_backend("bpf_side_ops", test_bpf_side_ops);
	run_per_backend("queue_order", test_queue_order);
}
