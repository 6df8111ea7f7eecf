// SPDX-License-Identifier: GPL-2.0
/* BPF_MAP_TYPE_TIMER and BPF_TIMER_CREATE: the operations from user space
 * and from programs, BPF_TIMER_GET_INFO, libbpf, and the errors of bad
 * input (which must change nothing).
 *
 * The other concerns have their own files: timer_map_callback.c (when
 * callbacks run, re-arming), timer_map_lifetime.c (references, close,
 * pinning, memory), timer_map_race.c (concurrency), timer_map_fault.c
 * (allocation failures), timer_map_fail.c (verifier rejections).
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <test_progs.h>
#include "cap_helpers.h"
#include "timer_map_helpers.h"
#include "timer_map.skel.h"

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

/* Pins at a fixed bpffs path and measures memory: serial. */
void serial_test_timer_map(void)
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
	if (test__start_subtest("errors"))
		test_errors();
	if (test__start_subtest("backend"))
		test_backend();
	run_per_backend("crud", test_crud);
}
