// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF_MAP_TYPE_TIMER: a map of timers created from user space.
 *
 * BPF_TIMER_CREATE allocates a timer, gives it an id from the map's
 * allocating XArray and takes a reference on its callback, a
 * BPF_PROG_TYPE_TIMER program. The id is the key, the value is the absolute
 * CLOCK_MONOTONIC expiry in ns (0: disarmed). Updating the value re-arms the
 * timer, deleting the key deletes it. The callback's return value N re-arms
 * the timer for expires + N * resolution, the resolution being the map's
 * map_extra. A resolution below one jiffy uses hrtimers, one jiffy or more
 * the timer wheel.
 *
 * Lifetime. A timer owns a reference on its program; the map owns its
 * timers. Programs referring to the map hold ordinary map references, but
 * when the last user space reference (fd or pin) goes, map_release_uref
 * deletes every timer. A map that only its own callbacks refer to therefore
 * empties itself and is freed: there is no reference cycle. Timers cannot
 * be created by programs, so a map without user references stays empty.
 *
 * Each timer has a raw spinlock that serialises its state (expires, seq,
 * dead) with arming and disarming. Nothing waits for a callback while
 * holding it, and the timer core never holds its base lock while running a
 * callback, so the order t->lock -> timer base lock is the only one.
 *
 * Races designed against (compare the bpf_timer comments in helpers.c):
 *
 * 1. A callback deletes its own timer, or two callbacks on two CPUs delete
 *    each other's timer. Waiting for the running callback would deadlock
 *    (the hrtimer_cancel() in the callback problem bpf_timer_cancel() has to
 *    catch with -EDEADLK). Deletes from programs never wait: the timer is
 *    marked dead under its lock and handed to a work item that erases its
 *    id, waits for a running callback to finish, drops the program and
 *    frees the timer. (Dropping the last program reference queues work
 *    itself, which a program holding scheduler locks must not do: the free
 *    is deferred even when no callback runs.)
 *
 * 2. A delete or update while the callback runs on another CPU. Every update
 *    and delete bumps t->seq under the lock; the runner re-arms from the
 *    return value only if seq did not move during the run, so what the
 *    callback (or anyone else) did through the map wins. A dead timer is
 *    not armed again (its runner may restart it once, if the delete came
 *    while it ran; the free path cancels that), so the waiting in the free
 *    path terminates.
 *
 * 3. Concurrent deletes of one id (user space, programs, release_uref):
 *    setting t->dead under t->lock picks exactly one owner, which alone
 *    erases the id, frees the timer and drops its program reference. A dead
 *    timer still in the XArray is invisible: lookups, updates, deletes and
 *    get_next_key treat it as absent.
 *
 * 4. Programs looking up a timer get a pointer to its expires field, which
 *    they may read after it was deleted on another CPU: timers are freed
 *    after an RCU grace period.
 *
 * 5. The map is freed while callbacks or deferred frees are in flight:
 *    map_free deletes what is left, waiting for callbacks, and flushes the
 *    free work before the map's memory goes. A callback that does not use
 *    the map holds no reference on it, hence the waiting.
 *
 * 6. Teardown of a map with a million armed timers: done timer by timer
 *    with cond_resched(), from the process context of close() or unpin.
 *
 * 7. The timer wheel counts jiffies, not CLOCK_MONOTONIC ns: a runner that
 *    finds itself early re-arms for the rest instead of running, so a
 *    callback never runs before its expiry.
 *
 * 8. A timer armed for a time already past, by its own callback, another
 *    callback or any program, while the softirq pass that ran it is still
 *    going. __hrtimer_run_queues() compares expiries with the time the pass
 *    started and would run it again and again; the wheel, catching up after
 *    a callback slower than a jiffy, would too. The runner stamps each timer
 *    with the pass it ran in (the CPU's count of that softirq) and defers a
 *    second run in the same pass to the next one, leaving the map value as
 *    it was. No program can keep a CPU in the timer softirq.
 *
 * 9. An update that re-arms the timer between the timer core dequeuing it
 *    and the runner taking t->lock. The timer is queued again by then; the
 *    runner must not touch it (changing the expiry of a queued hrtimer
 *    breaks the order of its queue), and that arming runs it: the stale
 *    run is skipped.
 *
 * 10. An update of a new id between BPF_TIMER_CREATE publishing the timer
 *    and arming it (the creator may be preempted there). The update arms
 *    it, it may fire and its callback run on another CPU; the create's
 *    arming, had it gone ahead, would queue the running timer without
 *    bumping seq, and the runner would then re-arm a queued hrtimer in
 *    place. The create arms only a timer nobody updated or deleted since
 *    its publication (t->touched): the later update's value stands.
 *
 * Locking and PREEMPT_RT. Programs only take raw spinlocks (t->lock and
 * the timer bases'), so that any program the verifier admits may use the
 * map, on PREEMPT_RT too, whatever locks it holds (sched_ext callbacks run
 * under the runqueue lock). The XArray's lock, a spinlock_t, is taken in
 * process context only: creates, deletes from user space, the free work
 * and teardown.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/filter.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/kernel_stat.h>
#include <linux/llist.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#define TIMER_MAP_CREATE_FLAG_MASK \
	(BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)

#define TIMER_MAP_DEFAULT_RES	NSEC_PER_MSEC
#define TIMER_MAP_MIN_RES	NSEC_PER_USEC
#define TIMER_MAP_MAX_RES	(3600ULL * NSEC_PER_SEC)

/* a timer and its XArray slot: see bpf_timer_map_create() */
#define TMAP_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

struct bpf_timer_map {
	struct bpf_map map;
	struct xarray timers;		/* id -> struct tmap_timer */
	u32 next_id;			/* cursor of xa_alloc_cyclic() */
	bool hres;			/* hrtimer backend, else timer wheel */
	atomic_t nr_timers;		/* live timers, against max_entries */
	atomic_t nr_objs;		/* timers allocated and not yet freed */
	u64 resolution;			/* ns, unit of callback return values */
	struct llist_head free_list;	/* deleted while maybe running */
	struct irq_work free_irq_work;	/* kicks free_work from any context */
	struct work_struct free_work;
};

/* Timers are allocated from one cache per backend, sized for the backend's
 * member of the union at the end: 88 bytes for the wheel, 112 for hrtimers
 * (without lock debugging).
 */
struct tmap_timer {
	union {
		/* Only used while alive: once dead, a timer is not armed again
		 * and its runner does not get past the dead check.
		 */
		struct bpf_timer_map *tmap;
		struct llist_node free_node;	/* deferred free, once dead */
	};
	struct bpf_prog *prog;
	u64 expires;		/* the map value: absolute ns, 0 = disarmed */
	raw_spinlock_t lock;	/* protects expires, seq, dead and arming */
	u32 id;
	u32 seq;		/* bumped by each update and delete */
	bool dead;		/* deleted, never armed again */
	bool pinned;		/* BPF_F_TIMER_CPU_PIN */
	bool hres;		/* hrtimer backend */
	bool touched;		/* updated or deleted since its publication */
	u16 pass;		/* softirq pass of the last run, see tmap_pass() */
	union {			/* one per backend; rcu once stopped for good */
		struct timer_list timer;
		struct hrtimer hrtimer;
		struct rcu_head rcu;
	};
};

static struct kmem_cache *tmap_wheel_cache, *tmap_hres_cache;

static struct kmem_cache *tmap_cache(bool hres)
{
	return hres ? tmap_hres_cache : tmap_wheel_cache;
}

static struct bpf_timer_map *to_tmap(const struct bpf_map *map)
{
	return container_of(map, struct bpf_timer_map, map);
}

/* Arm the timer_list of @t for @when, @now being the current time. */
static void tmap_arm_wheel(struct tmap_timer *t, u64 when, u64 now)
{
	unsigned long delay = 0;

	/* Round up, and add a jiffy for the part of this one already gone. */
	if (when > now)
		delay = min_t(u64, nsecs_to_jiffies64(when - now) + 1,
			      MAX_JIFFY_OFFSET);
	mod_timer(&t->timer, jiffies + delay);
}

/* Arm @t for t->expires. Called with t->lock held. */
static void tmap_arm(struct tmap_timer *t)
{
	enum hrtimer_mode mode = HRTIMER_MODE_ABS_SOFT;

	if (!t->hres) {
		tmap_arm_wheel(t, t->expires, ktime_get_ns());
		return;
	}
	if (t->pinned)
		mode |= HRTIMER_MODE_PINNED;
	hrtimer_start(&t->hrtimer, ns_to_ktime(t->expires), mode);
}

/* Re-arm @t for @when from its own callback at time @now, t->lock held,
 * the timer not queued (see tmap_run()). t->expires, the map value, is left
 * alone. Returns true for an hrtimer, which its callback restarts by
 * returning HRTIMER_RESTART: cheaper than hrtimer_start() from the callback,
 * as __run_hrtimer() enqueues it under the base lock it takes anyway, with
 * no base switch.
 */
static bool tmap_rearm(struct tmap_timer *t, u64 when, u64 now)
{
	if (t->hres) {
		hrtimer_set_expires(&t->hrtimer, ns_to_ktime(when));
		return true;
	}
	tmap_arm_wheel(t, when, now);
	return false;
}

/* Whether an update or create queued @t again since the timer core took it
 * off its queue to run it. Stable under t->lock: every arming takes it.
 */
static bool tmap_queued(struct tmap_timer *t)
{
	if (t->hres)
		return hrtimer_is_queued(&t->hrtimer);
	return timer_pending(&t->timer);
}

/* The softirq pass running @t's callback on this CPU: the CPU's count of
 * its backend's softirq, which grows by one per pass. Truncated to 16 bits,
 * two passes 65536 apart look alike, which only defers a run to the next
 * pass; the same pass always matches.
 */
static u16 tmap_pass(const struct tmap_timer *t)
{
	return __this_cpu_read(kstat.softirqs[t->hres ? HRTIMER_SOFTIRQ :
						     TIMER_SOFTIRQ]);
}

/* Stop @t without waiting for a running callback. Called with t->lock held.
 * Returns -1 if the callback is running, as hrtimer_try_to_cancel() does.
 */
static int tmap_disarm(struct tmap_timer *t)
{
	if (t->hres)
		return hrtimer_try_to_cancel(&t->hrtimer);
	return try_to_del_timer_sync(&t->timer);
}

/* Earliest expires + k * n * resolution (k >= 1) that is after @now. */
static u64 tmap_next_expiry(const struct bpf_timer_map *tmap, u64 expires,
			    u32 n, u64 now)
{
	u64 period, next;

	if (check_mul_overflow((u64)n, tmap->resolution, &period) ||
	    check_add_overflow(expires, period, &next) || next > KTIME_MAX)
		return KTIME_MAX;
	if (next > now)
		return next;
	/* Late by more than a period: skip the missed runs, no burst. */
	next = expires + (div64_u64(now - expires, period) + 1) * period;
	return min_t(u64, next, KTIME_MAX);
}

static u32 tmap_run_prog(struct bpf_prog *prog, struct bpf_timer_md *ctx)
{
	u32 ret;

	rcu_read_lock();
	migrate_disable();
	if (unlikely(this_cpu_inc_return(*prog->active) != 1)) {
		/* Cannot happen today: the timer softirq does not nest and
		 * the tracing programs that could run inside a callback may
		 * not use timer maps. Guarded all the same, as trampolines
		 * are: a run skipped here is retried a resolution later.
		 */
		bpf_prog_inc_misses_counter(prog);
		ret = 1;
	} else {
		ctx->cpu = smp_processor_id();
		ret = bpf_prog_run(prog, ctx);
	}
	this_cpu_dec(*prog->active);
	migrate_enable();
	rcu_read_unlock();
	return ret;
}

/* Timer callback, in softirq context, for both backends. Returns true if
 * an hrtimer is to be restarted.
 */
static bool tmap_run(struct tmap_timer *t)
{
	struct bpf_timer_md ctx = {};
	bool restart = false;
	unsigned long flags;
	u32 seq, ret;
	u64 now;

	raw_spin_lock_irqsave(&t->lock, flags);
	/* Deleted, disarmed, or armed again by an update since the timer
	 * core dequeued it: that arming runs it, this run is stale.
	 */
	if (t->dead || !t->expires || tmap_queued(t))	/* race 9 */
		goto unlock;
	now = ktime_get_ns();
	if (unlikely(now < t->expires)) {	/* race 7 */
		/* The wheel fired a little early. */
		restart = tmap_rearm(t, t->expires, now);
		goto unlock;
	}
	if (unlikely(t->pass == tmap_pass(t))) {	/* race 8 */
		/* Ran in this pass already and armed for the past since:
		 * run it in the next pass, which an hrtimer due after the
		 * time this pass started and a wheel timer a jiffy ahead
		 * are left to.
		 */
		restart = tmap_rearm(t, now + 1, now);
		goto unlock;
	}
	t->pass = tmap_pass(t);
	ctx.id = t->id;
	ctx.expires = t->expires;
	seq = t->seq;
	raw_spin_unlock_irqrestore(&t->lock, flags);

	ret = tmap_run_prog(t->prog, &ctx);

	raw_spin_lock_irqsave(&t->lock, flags);
	/* An update or delete during the run wins over the return value. */
	if (t->dead || t->seq != seq)	/* race 2 */
		goto unlock;
	/* Updates bump seq, and a create arms only a timer that nothing
	 * touched, before any run (race 10): a queued timer here is a bug,
	 * and re-arming it in place would break its hrtimer queue's order.
	 */
	if (WARN_ON_ONCE(tmap_queued(t)))
		goto unlock;
	if (!ret) {
		WRITE_ONCE(t->expires, 0);
		goto unlock;
	}
	/* One clock read for the next expiry and for arming it. */
	now = ktime_get_ns();
	WRITE_ONCE(t->expires, tmap_next_expiry(t->tmap, ctx.expires, ret, now));
	restart = tmap_rearm(t, t->expires, now);
unlock:
	raw_spin_unlock_irqrestore(&t->lock, flags);
	return restart;
}

static enum hrtimer_restart tmap_hrtimer_fn(struct hrtimer *hrtimer)
{
	/* A delete meanwhile waits for this callback, then cancels. */
	if (tmap_run(container_of(hrtimer, struct tmap_timer, hrtimer)))
		return HRTIMER_RESTART;
	return HRTIMER_NORESTART;
}

static void tmap_timer_fn(struct timer_list *timer)
{
	struct tmap_timer *t = from_timer(t, timer, timer);

	tmap_run(t);
}

/* Delete @t: mark it dead and stop it, without waiting for a running
 * callback. Only the first of concurrent deleters gets true and owns the
 * timer: it erases the id and frees it. Called under RCU, which keeps a
 * timer found in the XArray from being freed meanwhile.
 */
static bool tmap_kill(struct bpf_timer_map *tmap, struct tmap_timer *t)
{
	unsigned long flags;
	bool first;

	raw_spin_lock_irqsave(&t->lock, flags);
	first = !t->dead;
	if (first) {	/* race 3 */
		/* read locklessly by lookups and get_next_key */
		WRITE_ONCE(t->dead, true);
		t->touched = true;
		t->seq++;
		WRITE_ONCE(t->expires, 0);
		tmap_disarm(t);
	}
	raw_spin_unlock_irqrestore(&t->lock, flags);
	if (first)
		atomic_dec(&tmap->nr_timers);
	return first;
}

/* A live timer of @id, or NULL. Under RCU. */
static struct tmap_timer *tmap_find(struct bpf_timer_map *tmap, u32 id)
{
	struct tmap_timer *t = xa_load(&tmap->timers, id);

	return t && !READ_ONCE(t->dead) ? t : NULL;	/* race 3 */
}

static void tmap_free(struct bpf_timer_map *tmap, struct tmap_timer *t)
{
	bpf_prog_put(t->prog);
	atomic_dec(&tmap->nr_objs);
	/* Programs may still read t->expires through a looked up pointer. */
	kfree_rcu(t, rcu);
}

/* Erase the id of a dead timer the caller owns, wait for a running
 * callback of it, then free it. Process context.
 */
static void tmap_free_sync(struct bpf_timer_map *tmap, struct tmap_timer *t)
{
	xa_erase(&tmap->timers, t->id);
	if (t->hres)
		hrtimer_cancel(&t->hrtimer);
	else
		timer_shutdown_sync(&t->timer);
	tmap_free(tmap, t);
}

/* Deletes from programs may come with scheduler locks held: queue_work()'s
 * wakeup is done from irq_work, which takes no locks but raw ones, hence
 * a hard irq_work on PREEMPT_RT too.
 */
static void tmap_free_irq_work(struct irq_work *work)
{
	struct bpf_timer_map *tmap = container_of(work, struct bpf_timer_map,
						  free_irq_work);

	queue_work(system_unbound_wq, &tmap->free_work);
}

static void tmap_free_work(struct work_struct *work)
{
	struct bpf_timer_map *tmap = container_of(work, struct bpf_timer_map,
						  free_work);
	struct tmap_timer *t, *tmp;
	struct llist_node *list;

	list = llist_del_all(&tmap->free_list);
	llist_for_each_entry_safe(t, tmp, list, free_node) {
		tmap_free_sync(tmap, t);
		cond_resched();
	}
}

/* Delete every timer, waiting for running callbacks, and free those that
 * programs deleted. Process context.
 */
static void tmap_delete_all(struct bpf_timer_map *tmap)
{
	unsigned long id = 0;
	struct tmap_timer *t;
	bool mine;

	for (;;) {
		rcu_read_lock();
		t = xa_find(&tmap->timers, &id, ULONG_MAX, XA_PRESENT);
		mine = t && tmap_kill(tmap, t);
		rcu_read_unlock();
		if (!t)
			break;
		/* else another deleter owns it */
		if (mine)	/* race 5 */
			tmap_free_sync(tmap, t);
		id++;
		cond_resched();
	}
	/* Run the free work here rather than flush it: map_free runs on
	 * system_unbound_wq itself, and would wait for a worker of its own.
	 */
	irq_work_sync(&tmap->free_irq_work);
	cancel_work_sync(&tmap->free_work);
	tmap_free_work(&tmap->free_work);
}

static int timer_map_alloc_check(union bpf_attr *attr)
{
	if (attr->key_size != sizeof(u32) || attr->value_size != sizeof(u64) ||
	    attr->max_entries == 0 ||
	    attr->map_flags & ~TIMER_MAP_CREATE_FLAG_MASK ||
	    !bpf_map_flags_access_ok(attr->map_flags))
		return -EINVAL;
	if (attr->map_extra &&
	    (attr->map_extra < TIMER_MAP_MIN_RES ||
	     attr->map_extra > TIMER_MAP_MAX_RES))
		return -EINVAL;
	return 0;
}

static struct bpf_map *timer_map_alloc(union bpf_attr *attr)
{
	int numa_node = bpf_map_attr_numa_node(attr);
	struct bpf_timer_map *tmap;

	tmap = bpf_map_area_alloc(sizeof(*tmap), numa_node);
	if (!tmap)
		return ERR_PTR(-ENOMEM);

	bpf_map_init_from_attr(&tmap->map, attr);
	/* map_extra stays as given, 0 for the default: libbpf compares it
	 * with the map's definition to reuse a pinned map.
	 */
	tmap->resolution = attr->map_extra ?: TIMER_MAP_DEFAULT_RES;
	tmap->hres = tmap->resolution < TICK_NSEC;
	/* Its lock is only taken in process context, see the top. */
	xa_init_flags(&tmap->timers, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	atomic_set(&tmap->nr_timers, 0);
	atomic_set(&tmap->nr_objs, 0);
	init_llist_head(&tmap->free_list);
	tmap->free_irq_work = IRQ_WORK_INIT_HARD(tmap_free_irq_work);
	INIT_WORK(&tmap->free_work, tmap_free_work);
	return &tmap->map;
}

static void timer_map_release_uref(struct bpf_map *map)
{
	tmap_delete_all(to_tmap(map));
}

static void timer_map_free(struct bpf_map *map)
{
	struct bpf_timer_map *tmap = to_tmap(map);

	/* Normally empty already: release_uref ran. */
	tmap_delete_all(tmap);
	xa_destroy(&tmap->timers);
	bpf_map_area_free(tmap);
}

static void *timer_map_lookup_elem(struct bpf_map *map, void *key)
{
	struct tmap_timer *t = tmap_find(to_tmap(map), *(u32 *)key);

	return t ? &t->expires : NULL;
}

static long timer_map_update_elem(struct bpf_map *map, void *key, void *value,
				  u64 map_flags)
{
	struct tmap_timer *t;
	u64 expires = *(u64 *)value;
	unsigned long flags;
	long ret = 0;

	if (map_flags > BPF_EXIST || expires > KTIME_MAX)
		return -EINVAL;
	t = xa_load(&to_tmap(map)->timers, *(u32 *)key);
	if (!t)
		return -ENOENT;

	raw_spin_lock_irqsave(&t->lock, flags);
	if (t->dead) {	/* race 3 */
		ret = -ENOENT;
		goto unlock;
	}
	/* Timers are created by BPF_TIMER_CREATE only. */
	if (map_flags == BPF_NOEXIST) {
		ret = -EEXIST;
		goto unlock;
	}
	t->touched = true;
	t->seq++;
	WRITE_ONCE(t->expires, expires);
	if (expires)
		tmap_arm(t);
	else
		tmap_disarm(t);
unlock:
	raw_spin_unlock_irqrestore(&t->lock, flags);
	return ret;
}

/* Delete from a program: must not wait, it may run in this very callback,
 * and takes no lock but raw ones (see the top). The rest is deferred: the
 * XArray erase takes a spinlock_t, the callback may be running, and
 * dropping the last reference to the program queues work, whose wakeup
 * takes the scheduler's locks, which the deleting program may hold.
 */
static long timer_map_delete_elem(struct bpf_map *map, void *key)
{
	struct bpf_timer_map *tmap = to_tmap(map);
	struct tmap_timer *t;

	t = xa_load(&tmap->timers, *(u32 *)key);
	if (!t || !tmap_kill(tmap, t))
		return -ENOENT;
	if (llist_add(&t->free_node, &tmap->free_list))	/* race 1 */
		irq_work_queue(&tmap->free_irq_work);
	return 0;
}

/* BPF_MAP_DELETE_ELEM from user space: waits for a running callback. */
int bpf_timer_map_delete_sync(struct bpf_map *map, void *key)
{
	struct bpf_timer_map *tmap = to_tmap(map);
	struct tmap_timer *t;
	bool mine;

	rcu_read_lock();
	t = xa_load(&tmap->timers, *(u32 *)key);
	mine = t && tmap_kill(tmap, t);
	rcu_read_unlock();
	if (!mine)
		return -ENOENT;
	tmap_free_sync(tmap, t);
	return 0;
}

/* BPF_TIMER_CREATE: the new timer takes over the caller's reference on
 * @prog when an id (>= 0) is returned. @flags were checked by the caller.
 *
 * The caller holds the map's fd, a user reference, for the whole call, so
 * map_release_uref cannot run between the id's reservation and the timer's
 * publication: no timer outlives the map's last user reference.
 */
int bpf_timer_map_create(struct bpf_map *map, struct bpf_prog *prog,
			 u64 expires, u64 flags)
{
	struct bpf_timer_map *tmap = to_tmap(map);
	struct mem_cgroup *memcg, *old_memcg;
	struct tmap_timer *t;
	unsigned long irqflags;
	u32 id;
	int err;

	if (expires && !(flags & BPF_F_TIMER_ABS) &&
	    check_add_overflow(expires, ktime_get_ns(), &expires))
		return -EINVAL;
	if (expires > KTIME_MAX)
		return -EINVAL;

	if (atomic_inc_return(&tmap->nr_timers) > map->max_entries) {
		err = -E2BIG;
		goto err_dec;
	}

	/* Charged to the map's memcg. At its limit, or under global memory
	 * pressure, the create fails with -ENOMEM instead of invoking the
	 * OOM killer, as bpf_map_area_alloc() does for a map's own memory.
	 */
	memcg = bpf_map_memcg_enter(map, &old_memcg);
	t = kmem_cache_alloc_node(tmap_cache(tmap->hres), TMAP_GFP | __GFP_ZERO,
				  map->numa_node);
	/* Reserve the id: a NULL entry, invisible to lookups and deletes. */
	err = t ? xa_alloc_cyclic(&tmap->timers, &id, NULL, xa_limit_31b,
				  &tmap->next_id, TMAP_GFP) :
		  -ENOMEM;
	bpf_map_memcg_exit(old_memcg, memcg);
	if (err < 0) {
		if (t)
			kmem_cache_free(tmap_cache(tmap->hres), t);
		goto err_dec;
	}
	atomic_inc(&tmap->nr_objs);

	t->tmap = tmap;
	t->hres = tmap->hres;
	t->prog = prog;
	t->id = id;
	t->expires = expires;
	t->pinned = flags & BPF_F_TIMER_CPU_PIN;
	raw_spin_lock_init(&t->lock);
	if (tmap->hres) {
		hrtimer_init(&t->hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
		t->hrtimer.function = tmap_hrtimer_fn;
	} else {
		timer_setup(&t->timer, tmap_timer_fn,
			    t->pinned ? TIMER_PINNED : 0);
	}

	/* Publish. From here a delete may free t, but only after a grace
	 * period, hence the RCU read section. The slot is reserved: the
	 * store allocates nothing. An update or delete may come before the
	 * arming below: its value stands (race 10).
	 */
	rcu_read_lock();
	WARN_ON_ONCE(xa_is_err(xa_store(&tmap->timers, id, t, GFP_NOWAIT)));

	raw_spin_lock_irqsave(&t->lock, irqflags);
	if (!t->touched && t->expires)	/* race 10 */
		tmap_arm(t);
	raw_spin_unlock_irqrestore(&t->lock, irqflags);
	rcu_read_unlock();
	return id;

err_dec:
	atomic_dec(&tmap->nr_timers);
	return err;
}

/* BPF_TIMER_GET_INFO: what the map value does not show. */
int bpf_timer_map_get_info(struct bpf_map *map, u32 id,
			   struct bpf_timer_info *info)
{
	struct tmap_timer *t;
	unsigned long flags;
	int err = -ENOENT;

	/* t is freed after a grace period, and holds its program until it
	 * is dead, which is checked under its lock.
	 */
	rcu_read_lock();
	t = tmap_find(to_tmap(map), id);
	if (!t)
		goto out;
	raw_spin_lock_irqsave(&t->lock, flags);
	if (!t->dead) {
		info->id = id;
		info->prog_id = t->prog->aux->id;
		info->expires = t->expires;
		info->flags = t->pinned ? BPF_F_TIMER_CPU_PIN : 0;
		err = 0;
	}
	raw_spin_unlock_irqrestore(&t->lock, flags);
out:
	rcu_read_unlock();
	return err;
}

static int timer_map_get_next_key(struct bpf_map *map, void *key,
				  void *next_key)
{
	struct bpf_timer_map *tmap = to_tmap(map);
	unsigned long id = key ? *(u32 *)key : 0;
	struct tmap_timer *t;

	/* Ids in ascending order, from the first above @key whether or not
	 * @key still exists: a dump goes on where it was when callbacks
	 * delete timers meanwhile, instead of starting over as hash maps do.
	 * Under RCU (map_get_next_key()).
	 */
	if (key)
		t = xa_find_after(&tmap->timers, &id, ULONG_MAX, XA_PRESENT);
	else
		t = xa_find(&tmap->timers, &id, ULONG_MAX, XA_PRESENT);
	while (t && READ_ONCE(t->dead))	/* race 3 */
		t = xa_find_after(&tmap->timers, &id, ULONG_MAX, XA_PRESENT);
	if (!t)
		return -ENOENT;
	*(u32 *)next_key = id;
	return 0;
}

static int timer_map_check_btf(const struct bpf_map *map, const struct btf *btf,
			       const struct btf_type *key_type,
			       const struct btf_type *value_type)
{
	/* A __u32 id (or no key type), a __u64 expiry. */
	if (!btf_type_is_void(key_type) &&
	    (!btf_type_is_int(key_type) || btf_int_bits(key_type) != 32))
		return -EINVAL;
	if (!btf_type_is_int(value_type) || btf_int_bits(value_type) != 64)
		return -EINVAL;
	return 0;
}

/* The XArray's nodes: a walk from leaf to leaf, counting each node the
 * first time it is met. A node of shift s covers the ids that agree above
 * bit s + XA_CHUNK_SHIFT: an ancestor of this leaf was met before if it
 * covers the previous leaf's ids too. A leaf holds 64 ids: O(timers / 64)
 * steps for dense ids, O(timers) for the sparsest, with a break every 1024
 * leaves. Concurrent changes make the count approximate, as a memory
 * figure may be.
 */
static u64 tmap_xa_nodes(struct xarray *xa)
{
	unsigned long prev = ULONG_MAX;	/* none yet: ids are below 2^31 */
	unsigned int leaves = 0, shift;
	struct xa_node *node;
	XA_STATE(xas, xa, 0);
	u64 nodes = 0;
	void *entry;

	rcu_read_lock();
	while ((entry = xas_find(&xas, ULONG_MAX))) {
		if (xa_is_retry(entry)) {
			xas_reset(&xas);
			continue;
		}
		if (!xas.xa_node)	/* a lone entry at index 0 */
			break;
		for (node = xas.xa_node; node; node = xa_parent(xa, node)) {
			shift = node->shift + XA_CHUNK_SHIFT;
			if (prev != ULONG_MAX &&
			    (shift >= BITS_PER_LONG ||
			     xas.xa_index >> shift == prev >> shift))
				break;
			nodes++;
		}
		prev = xas.xa_index;
		if ((prev | XA_CHUNK_MASK) == ULONG_MAX)
			break;
		xas_set(&xas, (prev | XA_CHUNK_MASK) + 1);
		if (++leaves % 1024 == 0) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	return nodes;
}

static u64 timer_map_mem_usage(const struct bpf_map *map)
{
	struct bpf_timer_map *tmap = to_tmap(map);

	/* Timers not yet freed, deleted ones included, and the XArray's
	 * nodes, which sparse ids keep alive with a few timers each.
	 */
	return sizeof(*tmap) +
	       (u64)atomic_read(&tmap->nr_objs) *
			kmem_cache_size(tmap_cache(tmap->hres)) +
	       tmap_xa_nodes(&tmap->timers) * sizeof(struct xa_node);
}

static int __init timer_map_init(void)
{
	tmap_wheel_cache =
		kmem_cache_create("bpf_timer_map_wheel",
				  offsetofend(struct tmap_timer, timer), 0,
				  SLAB_ACCOUNT | SLAB_PANIC, NULL);
	tmap_hres_cache =
		kmem_cache_create("bpf_timer_map_hrtimer",
				  offsetofend(struct tmap_timer, hrtimer), 0,
				  SLAB_ACCOUNT | SLAB_PANIC, NULL);
	return 0;
}
late_initcall(timer_map_init);

BTF_ID_LIST_SINGLE(timer_map_btf_ids, struct, bpf_timer_map)
const struct bpf_map_ops timer_map_ops = {
	.map_alloc_check = timer_map_alloc_check,
	.map_alloc = timer_map_alloc,
	.map_free = timer_map_free,
	.map_release_uref = timer_map_release_uref,
	.map_lookup_elem = timer_map_lookup_elem,
	.map_update_elem = timer_map_update_elem,
	.map_delete_elem = timer_map_delete_elem,
	.map_get_next_key = timer_map_get_next_key,
	.map_check_btf = timer_map_check_btf,
	.map_mem_usage = timer_map_mem_usage,
	.map_btf_id = &timer_map_btf_ids[0],
};

/* BPF_PROG_TYPE_TIMER */

static const struct bpf_func_proto *
timer_prog_func_proto(enum bpf_func_id func_id, const struct bpf_prog *prog)
{
	return bpf_base_func_proto(func_id, prog);
}

static bool timer_prog_is_valid_access(int off, int size,
				       enum bpf_access_type type,
				       const struct bpf_prog *prog,
				       struct bpf_insn_access_aux *info)
{
	/* The context is the real struct bpf_timer_md: no conversion, so
	 * any aligned read inside it will do.
	 */
	return type == BPF_READ && off >= 0 &&
	       off + size <= sizeof(struct bpf_timer_md) && off % size == 0;
}

const struct bpf_verifier_ops timer_verifier_ops = {
	.get_func_proto = timer_prog_func_proto,
	.is_valid_access = timer_prog_is_valid_access,
};

const struct bpf_prog_ops timer_prog_ops = {
#ifdef CONFIG_NET
	.test_run = bpf_prog_test_run_timer,
#endif
};
