// SPDX-License-Identifier: GPL-2.0
/* Allocation failures injected into every allocation of BPF_MAP_CREATE,
 * BPF_TIMER_CREATE and BPF_TIMER_GET_INFO (CONFIG_FAULT_INJECTION,
 * fail-nth): each failed call returns -ENOMEM and changes nothing.
 */
#define _GNU_SOURCE
#include <test_progs.h>
#include "timer_map_helpers.h"
#include "timer_map.skel.h"

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
	/* The timer object's allocation has no fallback (nor has a new slab
	 * page for it, when the cache needs one: that depends on history).
	 * The XArray retries a failed node allocation (GFP_NOWAIT under the
	 * lock, then the caller's gfp): failing from the nth on reaches it.
	 */
	ASSERT_GE(nth - 1, 1, "reached an allocation");
	ASSERT_GE(nth - 1 - fallbacks, 1, "an injected failure failed the call");
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
	/* the map itself, its id, its BTF and security blobs */
	ASSERT_GE(nth - 1 - fallbacks, 2, "injected failures failed the call");
	if (fd >= 0)
		close(fd);
	ASSERT_FALSE(new_map_since(since), "no map left");
}

/* BPF_TIMER_GET_INFO allocates nothing. An update or a delete from user
 * space allocates only the syscall's copies of the key and the value
 * (kvmemdup_bpfptr()): each injected failure there returns -ENOMEM and
 * leaves the timer as it was. The rest of a delete allocates nothing in
 * the caller's context (the free work runs in an irq_work and a work
 * item, which fail-nth, per task, does not reach).
 */
enum fi_op { FI_GET_INFO, FI_UPDATE, FI_DELETE, FI_NR_OPS };

static int fi_call(enum fi_op op, int map_fd, __u32 id, __u64 v)
{
	struct bpf_timer_info info;
	__u32 len = sizeof(info);

	switch (op) {
	case FI_GET_INFO:
		return bpf_timer_get_info(map_fd, id, &info, &len);
	case FI_UPDATE:
		return bpf_map_update_elem(map_fd, &id, &v, BPF_EXIST);
	default:
		return bpf_map_delete_elem(map_fd, &id);
	}
}

static void fi_other_calls(const struct backend *b)
{
	static const char * const names[] = { "BPF_TIMER_GET_INFO", "update", "delete" };
	static const int points[] = { 0, 2, 1 };	/* the key (and value) copies */
	__u64 v0 = now_ns() + 3600 * SEC_NS, v1 = v0 + SEC_NS;
	int map_fd, id, op, nth, err = -1;
	struct tm_env t;

	if (!tm_open(&t, b))
		return;
	map_fd = t.map_fd;
	id = create_timer(map_fd, t.prog_fd, v0, BPF_F_TIMER_ABS);
	if (!ASSERT_GE(id, 0, "create"))
		goto out;
	for (op = FI_GET_INFO; op < FI_NR_OPS; op++) {
		int enomem = 0, fallbacks = 0;

		if (!ASSERT_OK(arm(map_fd, id, v0), "set"))
			goto out;

		for (nth = 1; nth < 100; nth++) {
			if (!fi_arm(nth, false))
				goto out;
			err = fi_call(op, map_fd, id, v1);
			if (!fi_injected())
				break;
			/* an allocation with a fallback (kmemleak's own):
			 * the call did its work; undo it and go on
			 */
			if (!err) {
				fallbacks++;
				if (op == FI_DELETE)
					id = create_timer(map_fd, t.prog_fd, v0, BPF_F_TIMER_ABS);
				if (!ASSERT_GE(id, 0, "create again") ||
				    !ASSERT_OK(arm(map_fd, id, v0), "reset"))
					goto out;
				continue;
			}
			enomem++;
			if (!ASSERT_EQ(err, -ENOMEM, "injected failure: ENOMEM") ||
			    !ASSERT_EQ(lookup(map_fd, id), v0, "injected failure: timer unchanged"))
				goto out;
		}
		ASSERT_OK(err, names[op]);
		printf("%s/%s: %s: %d allocation points, %d with a fallback\n", __func__,
		       b->name, names[op], nth - 1, fallbacks);
		ASSERT_EQ(enomem, points[op], "allocations whose failure fails the call");
		if (op == FI_UPDATE)
			ASSERT_EQ(lookup(map_fd, id), v1, "updated at last");
	}
	ASSERT_EQ(count_keys(map_fd), 0, "deleted at last");
out:
	delete_all(map_fd);
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
	fi_other_calls(b);
	fi_restore();
}

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

/* kmemleak reports no object left unreferenced by the fault subtests.
 * It reports objects older than 5 s only: wait that out first.
 */
static void test_kmemleak(void)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open(KMEMLEAK, O_RDWR);
	if (fd < 0) {
		printf("%s: no %s: needs CONFIG_DEBUG_KMEMLEAK\n", __func__, KMEMLEAK);
		test__skip();
		return;
	}
	sleep(6);
	ASSERT_EQ(write(fd, "scan", 4), 4, "scan");
	/* the second scan confirms: a pointer in a register or on a stack
	 * that the first one missed
	 */
	ASSERT_EQ(write(fd, "scan", 4), 4, "scan again");
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	if (!ASSERT_EQ(n, 0, "no leak reported"))
		printf("%s\n", buf);
	close(fd);
}

/* Clears what kmemleak saw before, so that test_kmemleak() sees only
 * what leaked during the fault subtests.
 */
static void kmemleak_clear(void)
{
	int fd = open(KMEMLEAK, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, "scan", 4) != 4 || write(fd, "clear", 5) != 5)
		printf("%s: could not clear kmemleak\n", __func__);
	close(fd);
}

/* fail-nth and failslab are global knobs: serial. */
void serial_test_timer_map_fault(void)
{
	kmemleak_clear();
	run_per_backend("fault_inject", test_fault_inject);
	if (test__start_subtest("kmemleak"))
		test_kmemleak();
}
