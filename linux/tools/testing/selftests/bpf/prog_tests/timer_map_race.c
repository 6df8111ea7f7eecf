// SPDX-License-Identifier: GPL-2.0
/* Concurrency: re-arm storms, the create and freeze races, and the
 * stress tests (user space, a tc program and the callbacks operating on
 * one map from both CPUs, then closing it under them).
 *
 * TIMER_MAP_STRESS_OPS sets the number of user space operations of each
 * stress subtest, TIMER_MAP_RACE_SCALE a factor on the rounds of the race
 * subtests (default: a quick run; scripts/stress runs the full sizes).
 */
#define _GNU_SOURCE
#include <test_progs.h>
#include "timer_map_helpers.h"
#include "timer_map.skel.h"
#include "timer_map_race.skel.h"

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
	int fd, cpu, err;
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
	if (sched_setaffinity(0, sizeof(set), &set)) {
		h->err = -errno;
		return NULL;
	}
	while (!READ_ONCE(h->stop) && !(h->err = test_run(h->fd))) {
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
	sleep_stopped(b);
	ASSERT_EQ(t.bss->total_runs, r1, "no run after the delete");
out:
	spinner_stop(&task);
	unpin_cpu();
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

/* User space operations of the stress tests, and the errnos the contract
 * allows each: anything else fails the test.
 */
enum { U_CREATE, U_UPDATE, U_DELETE, U_LOOKUP, U_NEXT, NR_UOPS };
static const char * const uop_names[NR_UOPS] = {
	"create", "update", "delete", "lookup", "get_next_key" };
#define NR_ERRNO 150

static bool uop_allowed(int op, int err)
{
	switch (op) {
	case U_CREATE:
		return err >= 0 || err == -E2BIG;	/* the map is full */
	default:
		return err == 0 || err == -ENOENT;	/* gone, or the last key */
	}
}

struct stresser {
	pthread_t thread;
	struct tm_env *t;
	int cpu, deleted_fd;
	__u64 budget, ops, bad_values;
	__u64 errs[NR_UOPS][NR_ERRNO];	/* by -errno, [0]: success */
	unsigned int seed;
	bool *stop;
	int *max_id;		/* highest id created so far, shared */
	__u32 *created;		/* the ids this thread created */
	__u64 n_created, max_created;
};

static void tally_uop(struct stresser *s, int op, int err)
{
	s->errs[op][err < 0 && err > -NR_ERRNO ? -err : err < 0 ? NR_ERRNO - 1 : 0]++;
}

static void *stresser_fn(void *arg)
{
	struct stresser *s = arg;
	__u64 v, flags, res = s->t->b->res;
	int map_fd = s->t->map_fd, err;
	__u32 id, next;
	__u8 one = 1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		tally_uop(s, U_CREATE, -errno);
		return NULL;
	}
	while (s->ops < s->budget && !READ_ONCE(*s->stop)) {
		unsigned int r = rand_r(&s->seed);

		/* ids grow: mostly recent ones, which may still exist */
		id = READ_ONCE(*s->max_id) - (int)((r >> 8) % (2 * MAX_IDS));
		if ((int)id < 0)
			id = (r >> 8) % MAX_IDS;
		s->ops++;
		/* what we write: 0, 1, or a stamped time up to 3 resolutions ahead */
		v = (r >> 4) % 4 == 0 ? 0 : (r >> 4) % 4 == 1 ? 1 :
		    stamp(now_ns() + (r >> 12) % (3 * res), res);
		switch (r % 8) {
		case 0:
		case 1:
			flags = BPF_F_TIMER_ABS | ((r >> 6) & 1 ? BPF_F_TIMER_CPU_PIN : 0);
			err = create_timer(map_fd, s->t->prog_fd, v, flags);
			tally_uop(s, U_CREATE, err);
			if (err >= 0 && s->n_created < s->max_created)
				s->created[s->n_created++] = err;
			/* racy, as it may be: any recent id will do */
			if (err > READ_ONCE(*s->max_id))
				WRITE_ONCE(*s->max_id, err);
			break;
		case 2:
		case 3:
			tally_uop(s, U_UPDATE, arm(map_fd, id, v));
			break;
		case 4:
			err = bpf_map_delete_elem(map_fd, &id);
			tally_uop(s, U_DELETE, err);
			/* returned: no run of it may begin from now on */
			if (!err)
				bpf_map_update_elem(s->deleted_fd, &id, &one, BPF_ANY);
			break;
		case 5:
			err = bpf_map_lookup_elem(map_fd, &id, &v);
			tally_uop(s, U_LOOKUP, err);
			if (!err && !stamped(v, res)) {
				s->bad_values++;
				printf("%s: id %u: read %llu, which no one wrote\n",
				       __func__, id, v);
			}
			break;
		default:
			err = bpf_map_get_next_key(map_fd, &id, &next);
			tally_uop(s, U_NEXT, err);
			/* ids come in order */
			if (!err && next <= id)
				tally_uop(s, U_NEXT, -(NR_ERRNO - 1));
			break;
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Prints each operation's results; false if one is not allowed. */
static bool check_uops(const char *who, struct stresser *s, int n)
{
	bool ok = true;
	int op, e, i;

	for (op = 0; op < NR_UOPS; op++) {
		__u64 calls = 0;

		for (e = 0; e < NR_ERRNO; e++)
			for (i = 0; i < n; i++)
				calls += s[i].errs[op][e];
		if (!calls)
			continue;
		printf("%s: %s:", who, uop_names[op]);
		for (e = 0; e < NR_ERRNO; e++) {
			__u64 c = 0;

			for (i = 0; i < n; i++)
				c += s[i].errs[op][e];
			if (!c)
				continue;
			printf(" %s %llu", e == 0 ? "ok" : e == NR_ERRNO - 1 ? "wrong" :
			       strerrorname_np(e) ?: "?", c);
			if (e && !uop_allowed(op, -e)) {
				ok = false;
				printf(" (not allowed)");
			}
		}
		printf("\n");
	}
	return ok;
}

/* The programs' own operations (progs/timer_map.c, by_tc or callbacks) */
static bool check_prog_ops(const char *who, struct timer_map__bss *bss, int by)
{
	static const char * const ops[] = { "lookup", "update", "delete" };
	bool ok = true;
	int op;

	for (op = 0; op < TM_NR_OPS; op++) {
		__u64 *c = bss->prog_errs[by][op];

		printf("%s: %s: ok %llu, ENOENT %llu, other %llu\n", who, ops[op],
		       c[TM_RES_OK], c[TM_RES_ENOENT], c[TM_RES_OTHER]);
		ok &= c[TM_RES_OTHER] == 0;
	}
	return ok;
}

/* No id was handed out twice: ids come from a cyclic 31-bit allocator */
static bool unique_ids(struct stresser *s, int n)
{
	__u64 total = 0, i, k = 0;
	__u32 *all;
	bool ok = true;
	int j;

	for (j = 0; j < n; j++)
		total += s[j].n_created;
	all = malloc(total * sizeof(*all) + 1);
	if (!all)
		return false;
	for (j = 0; j < n; j++) {
		memcpy(all + k, s[j].created, s[j].n_created * sizeof(*all));
		k += s[j].n_created;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	for (i = 1; i < total; i++) {
		if (all[i] == all[i - 1]) {
			printf("%s: id %u created twice\n", __func__, all[i]);
			ok = false;
		}
	}
	free(all);
	return ok;
}

/* User space on both CPUs (create, update, delete, lookup, get_next_key),
 * a tc program on CPU 1 and the callbacks (ACT_RANDOM) all operating on
 * one map. Checked: every result against the contract, every value read
 * against the values written, no id handed out twice, no callback run
 * beginning after a user space delete of its timer returned, and the
 * windows the test aims at counted by outcome; then everything freed.
 * Runs its budget of operations, then more rounds of 1000 until every
 * window was hit, 200 rounds at most.
 */
static void test_stress(const struct backend *b)
{
	struct stresser s[2] = {};
	struct hammer h = { .fd = -1, .cpu = 1 };
	__u64 budget = stress_ops(), base_mem, t0, bpf_ops, rounds = 0;
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
	t.bss->check_values = 1;
	t.bss->op = TOP_RANDOM;
	t.bss->op_loops = 20;
	h.fd = t.ops_fd;
	h.pause_us = 200;
	t0 = now_ns();
	hammering = ASSERT_OK(pthread_create(&h.thread, NULL, hammer_fn, &h), "bpf ops");
	for (i = 0; i < 2; i++) {
		s[i] = (struct stresser){ .t = &t, .cpu = i, .budget = budget / 2,
					  .seed = 1234 + i, .stop = &stop,
					  .max_id = &max_id,
					  .deleted_fd = bpf_map__fd(t.skel->maps.deleted),
					  .max_created = budget / 2 + 200 * 1000 };
		s[i].created = calloc(s[i].max_created, sizeof(__u32));
		if (!ASSERT_OK_PTR(s[i].created, "calloc"))
			goto out;
		ASSERT_OK(pthread_create(&s[i].thread, NULL, stresser_fn, &s[i]), "stresser");
	}
	for (i = 0; i < 2; i++)
		pthread_join(s[i].thread, NULL);
	/* go on until each window was hit, counting rounds, not seconds */
	while (rounds < 200 && !(t.bss->overlaps && t.bss->del_running &&
				 t.bss->won_over_ret && t.bss->self_deletes)) {
		rounds++;
		for (i = 0; i < 2; i++) {
			s[i].budget += 1000;
			if (!ASSERT_OK(pthread_create(&s[i].thread, NULL, stresser_fn, &s[i]),
				       "stresser"))
				break;
		}
		while (i--)
			pthread_join(s[i].thread, NULL);
	}
	WRITE_ONCE(h.stop, true);
	if (hammering)
		pthread_join(h.thread, NULL);
	bpf_ops = t.bss->op_ok + t.bss->op_fail;
	printf("%s/%s: %llu user space ops (%llu + %llu), %llu tc program ops in %llu runs, ",
	       __func__, b->name, s[0].ops + s[1].ops, s[0].ops, s[1].ops, bpf_ops, h.runs);
	printf("%llu callback runs doing %llu ops, in %llu ms, %llu extra rounds\n",
	       t.bss->total_runs, t.bss->random_ops, (now_ns() - t0) / MS, rounds);
	printf("%s/%s: windows hit: %llu callbacks overlapping, %llu deletes of a running timer, ",
	       __func__, b->name, t.bss->overlaps, t.bss->del_running);
	printf("%llu updates won over a return value, %llu deferred self-deletes\n",
	       t.bss->won_over_ret, t.bss->self_deletes);
	ASSERT_TRUE(check_uops("user space", s, 2), "user space results the contract allows");
	ASSERT_TRUE(check_prog_ops("tc program", t.bss, TM_BY_TC), "tc program results");
	ASSERT_TRUE(check_prog_ops("callbacks", t.bss, TM_BY_CALLBACK), "callback results");
	ASSERT_GE(s[0].ops + s[1].ops, budget / 2 * 2, "ops done");
	ASSERT_OK(h.err, "tc program runs");
	ASSERT_GT(h.runs, 0, "tc program ran");
	ASSERT_GT(t.bss->prog_errs[TM_BY_TC][TM_OP_UPDATE][TM_RES_OK], 0, "tc updated timers");
	ASSERT_GT(t.bss->prog_errs[TM_BY_TC][TM_OP_DELETE][TM_RES_OK], 0, "tc deleted timers");
	ASSERT_EQ(s[0].bad_values + s[1].bad_values, 0, "user space read written values");
	ASSERT_EQ(t.bss->bad_values, 0, "programs read written values");
	ASSERT_EQ(t.bss->bad_ctx, 0, "callbacks ran for written expiries");
	ASSERT_EQ(t.bss->ran_after_delete, 0, "no run began after a delete returned");
	ASSERT_TRUE(unique_ids(s, 2), "no id created twice");
	ASSERT_GT(t.bss->overlaps, 0, "callbacks overlapped");
	ASSERT_GT(t.bss->del_running, 0, "deleted running timers");
	ASSERT_GT(t.bss->won_over_ret, 0, "updates won over return values");
	ASSERT_GT(t.bss->self_deletes, 0, "deferred frees");
	ASSERT_EQ(t.bss->early, 0, "never early");
	delete_all(t.map_fd);
	ASSERT_EQ(count_keys(t.map_fd), 0, "every timer gone");
	/* timers that programs deleted are freed by a work item */
	ASSERT_TRUE(WAIT_FOR(map_memlock(t.map_fd) == base_mem, DEADLINE_MS),
		    "memlock back to the baseline");
out:
	for (i = 0; i < 2; i++)
		free(s[i].created);
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
		if (id < 0)
			break;
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
		sleep_stopped(b);
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

/* Reopeners: each opens the map by id, creates, updates and deletes
 * timers through that fd, then closes it: whichever close is the last
 * runs release_uref, while the other thread reopens the map (usercnt goes
 * from 0 to 1 again) and operates on it, or pins and unpins it.
 */
struct reopener {
	pthread_t thread;
	struct tm_env *t;
	__u32 mid, pid;
	int cpu, rounds, done, reopen_fail;
	int vanished;		/* own timers gone: another thread's last close */
	__u64 errs[NR_UOPS][NR_ERRNO];
	unsigned int seed;
};

static void *reopener_fn(void *arg)
{
	struct reopener *o = arg;
	struct stresser s = { .t = o->t };
	char path[64];
	cpu_set_t set;
	int i, j;

	CPU_ZERO(&set);
	CPU_SET(o->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return NULL;
	snprintf(path, sizeof(path), "%s_%d", PIN_PATH, o->cpu);
	for (i = 0; i < o->rounds; i++) {
		int fd = bpf_map_get_fd_by_id(o->mid), pfd, id = -1, err;
		unsigned int r = rand_r(&o->seed);

		/* the program's reference keeps the map: it never goes */
		if (fd < 0) {
			o->reopen_fail++;
			continue;
		}
		pfd = bpf_prog_get_fd_by_id(o->pid);
		for (j = 0; j < 4 && pfd >= 0; j++) {
			id = create_timer(fd, pfd, stamp(now_ns() + (r >> 8) % (2 * o->t->b->res),
							 o->t->b->res), BPF_F_TIMER_ABS);
			tally_uop(&s, U_CREATE, id);
		}
		if (pfd >= 0)
			close(pfd);
		if (id >= 0) {
			err = arm(fd, id, stamp(now_ns() + o->t->b->res, o->t->b->res));
			tally_uop(&s, U_UPDATE, err);
			o->vanished += err == -ENOENT;
			err = bpf_map_delete_elem(fd, &id);
			tally_uop(&s, U_DELETE, err);
		}
		if (r & 1) {
			/* the last reference may be the pin's */
			unlink(path);
			if (!bpf_obj_pin(fd, path)) {
				close(fd);
				unlink(path);
				fd = -1;
			}
		}
		if (fd >= 0)
			close(fd);
		o->done++;
	}
	memcpy(o->errs, s.errs, sizeof(o->errs));	/* this batch's */
	return NULL;
}

static void test_stress_reopen(const struct backend *b)
{
	__u64 rounds = stress_ops() / 100, base_mem, before;
	struct stresser tallies[2] = {};
	struct reopener o[2] = {};
	int i, j, batch, fd = -1;
	__u32 pid, mid;
	struct tm_env t;

	if (rounds < 20)
		rounds = 20;
	if (!two_cpus() || !tm_open(&t, b))
		return;
	pid = prog_id(t.prog_fd);
	mid = map_id(t.map_fd);
	base_mem = map_memlock(t.map_fd);
	/* callbacks that re-arm themselves: only a last close (release_uref)
	 * removes a timer, so a reopener that finds its own gone saw the
	 * other thread's last close
	 */
	for (i = 0; i < MAX_IDS; i++)
		t.bss->cfg[i] = (struct timer_cfg){ .period = 1, .spin_ns = 20000 };
	t.bss->check_values = 1;
	/* from now on only the reopeners hold the map by fd */
	close(t.map_fd);
	/* batches of rounds until a last close hit the other thread, 10
	 * batches at most
	 */
	for (batch = 0; batch < 10 && !(o[0].vanished + o[1].vanished); batch++) {
		for (i = 0; i < 2; i++) {
			o[i].t = &t;
			o[i].mid = mid;
			o[i].pid = pid;
			o[i].cpu = i;
			o[i].rounds = rounds;
			o[i].seed = 99 + i + 2 * batch;
			ASSERT_OK(pthread_create(&o[i].thread, NULL, reopener_fn, &o[i]),
				  "reopener");
		}
		for (i = 0; i < 2; i++)
			pthread_join(o[i].thread, NULL);
		for (i = 0; i < 2; i++)
			for (j = 0; j < NR_UOPS * NR_ERRNO; j++)
				(&tallies[i].errs[0][0])[j] += (&o[i].errs[0][0])[j];
	}
	printf("%s/%s: %d + %d rounds of open, create, update, delete, close; ",
	       __func__, b->name, o[0].done, o[1].done);
	printf("%d own timers removed by the other thread's last close\n",
	       o[0].vanished + o[1].vanished);
	ASSERT_TRUE(check_uops("reopeners", tallies, 2), "results the contract allows");
	ASSERT_EQ(o[0].reopen_fail + o[1].reopen_fail, 0, "the map stayed reachable");
	ASSERT_EQ(o[0].done + o[1].done, 2 * rounds * batch, "all rounds");
	ASSERT_GT(o[0].vanished + o[1].vanished, 0, "a last close raced a reopen (window hit)");
	ASSERT_EQ(t.bss->bad_ctx, 0, "callbacks ran for written expiries");
	/* the last close deleted every timer: none runs any more */
	fd = bpf_map_get_fd_by_id(mid);
	if (!ASSERT_GE(fd, 0, "map alive through its program"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(map_memlock(fd) == base_mem, DEADLINE_MS), "memlock settles");
	before = t.bss->total_runs;
	ASSERT_EQ(count_keys(fd), 0, "every timer gone with the last close");
	sleep_stopped(b);
	ASSERT_EQ(t.bss->total_runs, before, "no run after the last close");
	ASSERT_EQ(map_memlock(fd), base_mem, "memlock back to the baseline");
out:
	/* the skeleton closes its map fd number: give it a live fd */
	if (fd < 0)
		fd = bpf_map_get_fd_by_id(mid);
	if (fd >= 0 && fd != t.map_fd) {
		dup2(fd, t.map_fd);
		close(fd);
	}
	tm_close(&t);
	ASSERT_TRUE(WAIT_FOR(!prog_alive(pid) && !map_alive(mid), DEADLINE_MS),
		    "program and map freed");
}

static void test_storms(void)
{
	static const char * const names[] = { "storm_self", "storm_cross",
					       "storm_spin", "storm_hammer" };
	char name[64];
	int i, j;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		for (j = 0; j < ARRAY_SIZE(backends); j++) {
			snprintf(name, sizeof(name), "%s_%s", names[i], backends[j].name);
			if (test__start_subtest(name))
				test_storm(&backends[j], i);
		}
	}
}

/* Uses both CPUs and their whole time: serial. */
void serial_test_timer_map_race(void)
{
	if (test__start_subtest("freeze_race"))
		test_freeze_race();
	if (test__start_subtest("create_race"))
		test_create_race();
	run_per_backend("stress", test_stress);
	run_per_backend("stress_close", test_stress_close);
	run_per_backend("stress_reopen", test_stress_reopen);
	test_storms();
}
