// SPDX-License-Identifier: GPL-2.0
/* Random bpf(2) calls on the surface BPF_MAP_TYPE_TIMER adds, checked
 * against the contract: every call must succeed or fail with an errno the
 * contract allows for it, and where the outcome is determined (bad flags,
 * fds, ids, sizes) with exactly that errno. A model of each map's timers
 * checks lookups, get_next_key and BPF_TIMER_GET_INFO.
 *
 * usage: test_timer_map_fuzz [-s SEED] [-n CALLS] [-t SECONDS]
 * The seed is 1 unless given (0: a new one each run); -t 0: no time limit.
 * Prints the seed, the calls and errnos per command, and "PASS" or
 * "FAIL"; exit status 0 only on PASS. Run as root (it also checks calls
 * from a child without capabilities).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "bpf_util.h"
#include "cap_helpers.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define KTIME_MAX	((__u64)~0ULL >> 1)
#define SEC_NS		1000000000ULL
#define NR_MAPS		4
#define MAX_TIMERS	12	/* max_entries of the maps the model follows */
#define PIN_DIR		"/sys/fs/bpf"
#define MAX_ERRNO	600

enum {
	C_MAP_CREATE, C_TIMER_CREATE, C_GET_INFO, C_LOOKUP, C_UPDATE,
	C_DELETE, C_NEXT_KEY, C_LOOKUP_AND_DELETE, C_BATCH, C_FREEZE,
	C_PIN, C_OBJ_GET, C_UNPRIV, NR_CMDS
};

static const char * const cmd_names[NR_CMDS] = {
	"BPF_MAP_CREATE", "BPF_TIMER_CREATE", "BPF_TIMER_GET_INFO",
	"BPF_MAP_LOOKUP_ELEM", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_DELETE_ELEM",
	"BPF_MAP_GET_NEXT_KEY", "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
	"BPF_MAP_*_BATCH", "BPF_MAP_FREEZE", "BPF_OBJ_PIN/unlink",
	"BPF_OBJ_GET", "unprivileged",
};

/* Every call's inputs determine its result: the fuzzer requires that
 * one errno (or success), never "any errno the contract allows". Calls on
 * a map of another type (ANY) are made only to see that nothing breaks.
 */

static unsigned long calls[NR_CMDS], errs[NR_CMDS][MAX_ERRNO + 1];
static unsigned long bad;
static __u64 rng;

static __u64 rnd(void)
{
	/* xorshift64*: the same seed gives the same calls */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static bool chance(int percent)
{
	return below(100) < (__u64)percent;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

/* One timer of the model: its value is known within [lo, hi]; once lo
 * is past, the callback may have run: it returns 0 (disarmed) or 1 to 3
 * (re-armed that many resolutions after its expiry, or the first such
 * time after now), at random.
 */
struct mtimer {
	__u32 id;
	bool pinned;
	__u64 lo, hi;
};

/* fd modes: what the syscall side may do through an fd */
#define M_R	1
#define M_W	2

struct fmap {
	int fd, ro_fd, wo_fd;
	int fd_mode;		/* of fd: BPF_F_RDONLY/WRONLY at creation */
	bool frozen, pinned;
	__u64 res;		/* the map's resolution */
	int n;
	struct mtimer t[MAX_TIMERS];
};

static struct fmap maps[NR_MAPS];
static int prog_fd, sock_prog_fd, array_fd, closed_fd;
static __u32 prog_id;
static char pin_path[NR_MAPS][64];

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

/* Record the result of a call: @ret >= 0 or -1 with errno. @want is the
 * errno the inputs determine (0: success), -1 when any allowed result will
 * do, ANY for a call on another map type.
 */
#define ANY (-3)

static void check(int cmd, long ret, int want, const char *what)
{
	int err = ret < 0 ? errno : 0;

	calls[cmd]++;
	errs[cmd][err > MAX_ERRNO ? MAX_ERRNO : err]++;
	if (want == ANY || err == want)
		return;
	if (bad++ < 20)
		printf("BAD %s (%s): returned %ld, errno %d (%s), expected %s\n",
		       cmd_names[cmd], what, ret, err, strerror(err),
		       want ? strerror(want) : "success");
}

static void mismatch(int cmd, const char *fmt, unsigned long long a,
		     unsigned long long b)
{
	if (bad++ < 20) {
		printf("BAD %s: ", cmd_names[cmd]);
		printf(fmt, a, b);
		printf("\n");
	}
}

/* An expiry: 0, past, near, far, at or beyond KTIME_MAX, random */
static __u64 gen_expiry(bool abs)
{
	__u64 now = abs ? now_ns() : 0;

	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return abs ? 1 + below(now) : 1;
	case 2: return now + below(2000000);		/* within 2 ms */
	case 3:
		return now + 3600 * SEC_NS + below(SEC_NS);
	case 4:
		return KTIME_MAX - below(2);
	case 5:
		return KTIME_MAX + 1 + below(3);
	case 6:
		return ~0ULL;
	case 7:
		return rnd();
	default: return now + below(50 * 1000000ULL);	/* within 50 ms */
	}
}

/* A file descriptor for a map argument, and the errno it determines
 * before any other check of the map: 0 for a good timer map fd, whose
 * mode (M_R, M_W) goes to @mode.
 */
static int pick_map_fd(struct fmap *m, int *why, int *mode)
{
	*mode = M_R | M_W;
	switch (below(20)) {
	case 0:
		*why = EBADF;
		return closed_fd;
	case 1:
		*why = EBADF;
		return -1;
	case 2:		/* not a map */
		*why = EINVAL;
		return prog_fd;
	case 3:		/* another map type */
		*why = -2;
		return array_fd;
	case 4:		/* read-only, if there is one */
		if (m->ro_fd < 0)
			break;
		*mode = M_R;
		*why = 0;
		return m->ro_fd;
	case 5:		/* write-only, if there is one */
		if (m->wo_fd < 0)
			break;
		*mode = M_W;
		*why = 0;
		return m->wo_fd;
	}
	*mode = m->fd_mode;
	*why = 0;
	return m->fd;
}

/* The errno a read or a write through a map fd gets before the map looks
 * at its arguments: the fd's own (@why), or EPERM without the permission
 * (a frozen map's fds lose write permission); ANY on a map of another
 * type; else 0.
 */
static int read_errno(int why, int mode)
{
	if (why > 0)
		return why;
	if (why == -2)
		return ANY;
	return mode & M_R ? 0 : EPERM;
}

static int write_errno(struct fmap *m, int why, int mode)
{
	if (why > 0)
		return why;
	if (why == -2)
		return ANY;
	return !(mode & M_W) || m->frozen ? EPERM : 0;
}

static struct mtimer *find(struct fmap *m, __u32 id)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->t[i].id == id)
			return &m->t[i];
	return NULL;
}

static void forget(struct fmap *m, __u32 id)
{
	struct mtimer *t = find(m, id);

	if (t)
		*t = m->t[--m->n];
}

/* A key: mostly an existing id */
static __u32 pick_id(struct fmap *m)
{
	if (m->n && chance(70))
		return m->t[below(m->n)].id;
	return chance(50) ? below(MAX_TIMERS * 2) : (__u32)rnd();
}

/* Whether @v can be the value of @t now; learns what the callback did */
static bool value_ok(struct fmap *m, struct mtimer *t, __u64 v)
{
	__u64 now = now_ns();

	if (v >= t->lo && v <= t->hi)
		return true;
	/* not due yet: nothing ran */
	if (!t->lo || t->lo > now || t->lo > KTIME_MAX)
		return false;
	/* Fired (at its expiry e in [lo, hi] or later), and its callback
	 * disarmed it, or re-armed it to e + k * res, and so on: the next
	 * expiry after the last run, 3 resolutions after now at most, on
	 * e's grid.
	 */
	if (v && (v <= t->lo || v > now + 3 * m->res ||
		  (t->lo == t->hi && (v - t->lo) % m->res)))
		return false;
	t->lo = v;
	t->hi = v;
	return true;
}

static void close_map(struct fmap *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->ro_fd >= 0)
		close(m->ro_fd);
	if (m->wo_fd >= 0)
		close(m->wo_fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->ro_fd = -1;
	m->wo_fd = -1;
}

/* Follow @fd, a timer map created with @flags and @res, in @m's place */
static void follow_map(struct fmap *m, int fd, __u32 flags, __u64 res)
{
	if (m->pinned)
		unlink(pin_path[m - maps]);
	close_map(m);
	m->fd = fd;
	m->fd_mode = flags & BPF_F_RDONLY ? M_R : flags & BPF_F_WRONLY ? M_W : M_R | M_W;
	m->res = res ?: 1000000;	/* the default: 1 ms */
}

/* A fresh map in the place of @m */
static void replace_map(struct fmap *m)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_TIMER, NULL, 4, 8, MAX_TIMERS, NULL);

	check(C_MAP_CREATE, fd, 0, "a fresh map");
	if (fd >= 0)
		follow_map(m, fd, 0, 0);
}

static void do_map_create(void)
{
	union bpf_attr attr = {};
	__u32 flags_ok;
	bool valid;
	long fd;
	int want;

	attr.map_type = chance(95) ? BPF_MAP_TYPE_TIMER : below(40);
	attr.key_size = chance(85) ? 4 : below(17);
	attr.value_size = chance(85) ? 8 : below(17);
	attr.max_entries = chance(70) ? MAX_TIMERS :
			   chance(50) ? below(3) : (__u32)rnd();
	switch (below(6)) {
	case 0:
		/* not the flags that name another fd: stdin's kind decides */
		attr.map_flags = (1U << below(32)) &
				 ~(BPF_F_TOKEN_FD | BPF_F_VTYPE_BTF_OBJ_FD);
		break;
	case 1:
		attr.map_flags = BPF_F_NUMA_NODE;
		break;
	default:
		attr.map_flags = 0;
	}
	attr.numa_node = 0;
	switch (below(5)) {
	case 0:
		attr.map_extra = 1000 + below(3600 * SEC_NS);
		break;
	case 1:
		attr.map_extra = rnd() >> below(64);
		break;
	case 2:
		attr.map_extra = chance(50) ? 999 : 3600 * SEC_NS + 1;
		break;
	default:
		attr.map_extra = 0;
	}
	if (attr.map_type != BPF_MAP_TYPE_TIMER) {
		/* other types: only that nothing breaks. Small ones: freeing
		 * a reuseport array of millions of entries is a soft lockup
		 * under the debug kernel, whatever timer maps do.
		 */
		attr.max_entries &= 63;
		fd = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
		if (fd >= 0)
			close(fd);
		return;
	}
	flags_ok = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
	valid = attr.key_size == 4 && attr.value_size == 8 &&
		attr.max_entries && !(attr.map_flags & ~flags_ok) &&
		(attr.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY)) !=
			(BPF_F_RDONLY | BPF_F_WRONLY) &&
		(!attr.map_extra || (attr.map_extra >= 1000 &&
				     attr.map_extra <= 3600 * SEC_NS));
	/* valid: created, whatever max_entries (ids are allocated lazily) */
	want = valid ? 0 : EINVAL;
	fd = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	check(C_MAP_CREATE, fd, want, "random attributes");
	if (fd >= 0 && !valid)
		mismatch(C_MAP_CREATE, "invalid map created (%llu, %llu)", attr.map_flags,
			 attr.map_extra);
	if (fd < 0)
		return;
	/* follow it now and then (maps must live long enough to fill up),
	 * if it is of our size; read-only and write-only ones less often
	 */
	if (chance(20) && attr.max_entries == MAX_TIMERS &&
	    (!(attr.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY)) || chance(30))) {
		follow_map(&maps[below(NR_MAPS)], fd, attr.map_flags, attr.map_extra);
		return;
	}
	close(fd);
}

static void do_timer_create(struct fmap *m)
{
	union bpf_attr attr = {};
	int why, pwhy, want = -1, i, mode;
	size_t size = offsetofend(union bpf_attr, timer_create);
	bool tail = false;
	__u64 exp, flags, before, lo, hi;
	long id;

	attr.timer_create.map_fd = pick_map_fd(m, &why, &mode);
	switch (below(20)) {
	case 0:
		attr.timer_create.prog_fd = closed_fd;
		pwhy = EBADF;
		break;
	case 1:
		attr.timer_create.prog_fd = sock_prog_fd;
		pwhy = EINVAL;
		break;
	case 2:
		attr.timer_create.prog_fd = array_fd;
		pwhy = EINVAL;
		break;
	default:
		attr.timer_create.prog_fd = prog_fd;
		pwhy = 0;
	}
	flags = below(4);	/* ABS, CPU_PIN */
	if (chance(10))
		flags |= 1ULL << below(64);
	flags &= ~(chance(50) ? BPF_F_TIMER_ABS : 0ULL);
	attr.timer_create.flags = flags;
	exp = gen_expiry(flags & BPF_F_TIMER_ABS);
	attr.timer_create.expires = exp;
	if (chance(5)) {
		size_t known = offsetofend(union bpf_attr, timer_create);

		((char *)&attr)[known + below(sizeof(attr) - known)] = 1;
		size = sizeof(attr);
		tail = true;
	}

	/* the order of the kernel's checks decides the errno */
	if (tail || (flags & ~(__u64)(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)))
		want = EINVAL;
	else if (why > 0)
		want = why;
	else if (why == -2)
		want = EINVAL;
	else if (!(mode & M_W) || m->frozen)
		want = EPERM;
	else if (pwhy)
		want = pwhy;

	before = now_ns();
	id = sys_bpf(BPF_TIMER_CREATE, &attr, size);
	if (want < 0) {
		if (exp > KTIME_MAX ||
		    (!(flags & BPF_F_TIMER_ABS) && exp > KTIME_MAX - before))
			want = EINVAL;
		else if (m->n >= MAX_TIMERS)
			want = E2BIG;
		else
			want = 0;	/* valid, with room: created */
	}
	check(C_TIMER_CREATE, id, want, "random fds, flags, expiry");
	if (id < 0)
		return;
	if (want)
		return;
	if (find(m, id)) {
		mismatch(C_TIMER_CREATE, "id %llu given twice (%llu timers)", id, m->n);
		return;
	}
	if (m->n >= MAX_TIMERS) {
		mismatch(C_TIMER_CREATE, "%llu timers in a map of %llu", m->n + 1, MAX_TIMERS);
		return;
	}
	lo = exp;
	hi = exp;
	if (exp && !(flags & BPF_F_TIMER_ABS)) {
		lo = before + exp;
		hi = now_ns() + exp;
	}
	i = m->n++;
	m->t[i].id = id;
	m->t[i].pinned = flags & BPF_F_TIMER_CPU_PIN;
	m->t[i].lo = lo;
	m->t[i].hi = hi;
}

static void do_get_info(struct fmap *m, void *bad_page)
{
	struct { struct bpf_timer_info info; __u8 tail[16]; } buf;
	union bpf_attr attr = {};
	size_t size = offsetofend(union bpf_attr, timer_info);
	int why, want = -1, mode;
	struct mtimer *t;
	__u32 len, id;
	long ret;

	memset(&buf, 0, sizeof(buf));
	id = pick_id(m);
	attr.timer_info.map_fd = pick_map_fd(m, &why, &mode);
	attr.timer_info.id = id;
	switch (below(8)) {
	case 0:
		len = 0;
		break;
	case 1:
		len = below(sizeof(buf.info));
		break;
	case 2:
		len = sizeof(buf);
		buf.tail[below(16)] = 1;
		break;
	case 3:
		len = sizeof(buf);
		break;
	default:
		len = sizeof(buf.info);
	}
	attr.timer_info.info_len = len;
	attr.timer_info.info = (unsigned long)&buf;
	if (chance(5))
		attr.timer_info.info = chance(50) ? 0 : (unsigned long)bad_page;
	if (chance(3))
		attr.timer_info.flags = 1 + below(100);
	if (chance(3)) {
		size = sizeof(attr);
		((char *)&attr)[offsetofend(union bpf_attr, timer_info) +
				below(sizeof(attr) - offsetofend(union bpf_attr, timer_info))] = 1;
	}

	if (attr.timer_info.flags || size > offsetofend(union bpf_attr, timer_info))
		want = EINVAL;
	else if (len > sizeof(buf.info) && attr.timer_info.info != (unsigned long)&buf)
		want = EFAULT;	/* reading the tail to check it is zero */
	else if (len > sizeof(buf.info) && buf.tail[0] + buf.tail[1] + buf.tail[2] +
		 buf.tail[3] + buf.tail[4] + buf.tail[5] + buf.tail[6] + buf.tail[7] +
		 buf.tail[8] + buf.tail[9] + buf.tail[10] + buf.tail[11] + buf.tail[12] +
		 buf.tail[13] + buf.tail[14] + buf.tail[15])
		want = E2BIG;
	else if (why > 0)
		want = why;
	else if (why == -2)
		want = EINVAL;
	else if (!(mode & M_R))
		want = EPERM;
	else if (!find(m, id))
		want = ENOENT;
	else if (len && attr.timer_info.info != (unsigned long)&buf)
		want = EFAULT;
	else
		want = 0;
	ret = sys_bpf(BPF_TIMER_GET_INFO, &attr, size);
	check(C_GET_INFO, ret, want, "random ids, lengths, buffers");
	if (ret || want)
		return;
	if (attr.timer_info.info_len != (len < sizeof(buf.info) ? len : sizeof(buf.info)))
		mismatch(C_GET_INFO, "info_len %llu for %llu", attr.timer_info.info_len, len);
	if (len < sizeof(buf.info))
		return;
	t = find(m, id);
	if (buf.info.id != id)
		mismatch(C_GET_INFO, "id %llu for %llu", buf.info.id, id);
	if (buf.info.prog_id != prog_id)
		mismatch(C_GET_INFO, "prog_id %llu for %llu", buf.info.prog_id, prog_id);
	if (!value_ok(m, t, buf.info.expires))
		mismatch(C_GET_INFO, "expires %llu, model says from %llu", buf.info.expires, t->lo);
	if (buf.info.flags != (t->pinned ? BPF_F_TIMER_CPU_PIN : 0))
		mismatch(C_GET_INFO, "flags %#llx, pinned %llu", buf.info.flags, t->pinned);
}

static void do_lookup(struct fmap *m)
{
	__u32 id = pick_id(m);
	int why, want, mode;
	struct mtimer *t;
	__u64 v = 0;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	t = find(m, id);
	want = read_errno(why, mode);
	if (!want && !t)
		want = ENOENT;
	ret = bpf_map_lookup_elem(fd, &id, &v);
	check(C_LOOKUP, ret, want, "random keys");
	if (!ret && want == 0 && !value_ok(m, t, v))
		mismatch(C_LOOKUP, "value %llu, model says from %llu", v, t->lo);
}

static void do_update(struct fmap *m)
{
	__u32 id = pick_id(m);
	__u64 v = gen_expiry(true), flags;
	int why, want;
	struct mtimer *t;
	int mode;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	flags = chance(90) ? below(3) : chance(50) ? BPF_F_LOCK : rnd();
	t = find(m, id);
	want = write_errno(m, why, mode);
	if (!want && (flags > BPF_EXIST || v > KTIME_MAX))
		want = EINVAL;
	else if (!want && !t)
		want = ENOENT;
	else if (!want && flags == BPF_NOEXIST)
		want = EEXIST;
	ret = bpf_map_update_elem(fd, &id, &v, flags);
	check(C_UPDATE, ret, want, "random keys, values, flags");
	if (!ret && want == 0) {
		t->lo = v;
		t->hi = v;
	}
}

static void do_delete(struct fmap *m)
{
	__u32 id = pick_id(m);
	int why, want;
	int mode;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	want = write_errno(m, why, mode);
	if (!want)
		want = find(m, id) ? 0 : ENOENT;
	ret = bpf_map_delete_elem(fd, &id);
	check(C_DELETE, ret, want, "random keys");
	if (!ret && want == 0)
		forget(m, id);
}

static void do_next_key(struct fmap *m)
{
	__u32 key = pick_id(m), next = 0, expect = 0;
	bool first = chance(20), found = false;
	int why, want, i;
	int mode;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	/* the smallest id above the key (above none: the smallest) */
	for (i = 0; i < m->n; i++) {
		if (!first && m->t[i].id <= key)
			continue;
		if (!found || m->t[i].id < expect)
			expect = m->t[i].id;
		found = true;
	}
	want = read_errno(why, mode);
	if (!want && !found)
		want = ENOENT;
	ret = bpf_map_get_next_key(fd, first ? NULL : &key, &next);
	check(C_NEXT_KEY, ret, want, "random keys");
	if (!ret && want == 0 && next != expect)
		mismatch(C_NEXT_KEY, "next key %llu, model says %llu", next, expect);
}

static void do_batch(struct fmap *m)
{
	__u32 keys[4], count = 4, out = 0;
	__u64 vals[4] = {};
	int why, want;
	int mode;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	/* array maps have batch operations */
	if (why == -2)
		return;
	memset(keys, 0, sizeof(keys));
	/* read permission checked first, then write, then: no such op */
	switch (below(5)) {
	case 0:
		want = read_errno(why, mode) ?: ENOTSUPP;
		ret = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, NULL);
		break;
	case 1:
		want = write_errno(m, why, mode) ?: ENOTSUPP;
		ret = bpf_map_update_batch(fd, keys, vals, &count, NULL);
		break;
	case 2:
		want = write_errno(m, why, mode) ?: ENOTSUPP;
		ret = bpf_map_delete_batch(fd, keys, &count, NULL);
		break;
	case 3:
		want = read_errno(why, mode) ?: write_errno(m, why, mode) ?: ENOTSUPP;
		ret = bpf_map_lookup_and_delete_batch(fd, NULL, &out, keys, vals,
						      &count, NULL);
		break;
	default:
		/* one check of both permissions */
		want = read_errno(why, mode) ?: write_errno(m, why, mode) ?: ENOTSUPP;
		ret = bpf_map_lookup_and_delete_elem(fd, keys, vals);
		check(C_LOOKUP_AND_DELETE, ret, want, "any key");
		if (!ret)
			mismatch(C_LOOKUP_AND_DELETE, "succeeded (%llu%llu)", 0, 0);
		return;
	}
	check(C_BATCH, ret, want, "no batch ops");
	if (!ret)
		mismatch(C_BATCH, "a batch op succeeded (%llu%llu)", 0, 0);
}

static void do_freeze(struct fmap *m)
{
	int why, want;
	int mode;
	long ret;
	int fd = pick_map_fd(m, &why, &mode);

	want = write_errno(m, why, mode);
	ret = bpf_map_freeze(fd);
	check(C_FREEZE, ret, want, "pool map");
	if (!ret && want == 0)
		m->frozen = true;
}

static void do_pin(struct fmap *m)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts);
	const char *path = pin_path[m - maps];
	bool wo = chance(50);
	long ret;

	if (chance(50)) {
		ret = m->pinned ? unlink(path) : bpf_obj_pin(m->fd, path);
		check(C_PIN, ret, 0, m->pinned ? "unlink" : "pin");
		if (!ret)
			m->pinned = !m->pinned;
		return;
	}
	/* a read-only or write-only fd of the pinned map */
	opts.file_flags = wo ? BPF_F_WRONLY : BPF_F_RDONLY;
	ret = bpf_obj_get_opts(path, &opts);
	check(C_OBJ_GET, ret, m->pinned ? 0 : ENOENT, wo ? "write-only" : "read-only");
	if (ret < 0)
		return;
	if (wo) {
		if (m->wo_fd >= 0)
			close(m->wo_fd);
		m->wo_fd = ret;
	} else {
		if (m->ro_fd >= 0)
			close(m->ro_fd);
		m->ro_fd = ret;
	}
}

/* A child without capabilities: creating maps and timers is EPERM. */
static void do_unpriv(struct fmap *m, int n)
{
	int status, i;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		__u64 caps = 1ULL << CAP_BPF | 1ULL << CAP_SYS_ADMIN |
			     1ULL << CAP_PERFMON | 1ULL << CAP_NET_ADMIN;
		int wrong = 0;

		if (cap_disable_effective(caps, NULL))
			_exit(100);
		for (i = 0; i < n; i++) {
			struct bpf_timer_create_opts o = { .sz = sizeof(o) };
			long r;

			if (i & 1)
				r = bpf_map_create(BPF_MAP_TYPE_TIMER, NULL, 4, 8, 4, NULL);
			else
				r = bpf_timer_create(m->fd, prog_fd, &o);
			if (r >= 0 || errno != EPERM)
				wrong++;
		}
		_exit(wrong > 99 ? 99 : wrong);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		mismatch(C_UNPRIV, "child failed (%llu, %llu)", pid, 0);
		return;
	}
	calls[C_UNPRIV] += n;
	errs[C_UNPRIV][EPERM] += n - WEXITSTATUS(status);
	if (WEXITSTATUS(status))
		mismatch(C_UNPRIV, "%llu of %llu calls were not EPERM", WEXITSTATUS(status), n);
}

/* Returns 0 five times in eight, else 1, 2 or 3: timers re-arm by their
 * return value now and then.
 */
static int load_prog(enum bpf_prog_type type)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_prandom_u32 },
		{ .code = BPF_ALU64 | BPF_AND | BPF_K, .dst_reg = BPF_REG_0, .imm = 7 },
		{ .code = BPF_JMP | BPF_JLE | BPF_K, .dst_reg = BPF_REG_0, .off = 1, .imm = 3 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(type, "fuzz_cb", "GPL", insns, ARRAY_SIZE(insns), NULL);
}

/* The highest id of a map, or of a program, now */
static __u32 last_id(int (*next)(__u32, __u32 *))
{
	__u32 id = 0, last = 0;

	while (!next(id, &id))
		last = id;
	return last;
}

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static void kmemleak_write(const char *what)
{
	int fd = open(KMEMLEAK, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, what, strlen(what)) != (ssize_t)strlen(what))
		printf("kmemleak: %s: %s\n", what, strerror(errno));
	close(fd);
}

/* After the run: every map and program it made is freed, and kmemleak
 * (where the kernel has it) reports nothing new. Objects younger than 5 s
 * are not reported: wait that out.
 */
static void check_end_state(__u32 map_base, __u32 prog_base)
{
	__u32 next;
	char buf[4096];
	ssize_t n;
	int fd, i;

	for (i = 0; i < 300; i++) {
		if (bpf_map_get_next_id(map_base, &next) &&
		    bpf_prog_get_next_id(prog_base, &next))
			break;
		usleep(100000);
	}
	if (!bpf_map_get_next_id(map_base, &next))
		mismatch(C_MAP_CREATE, "map %llu still there after the run (base %llu)",
			 next, map_base);
	if (!bpf_prog_get_next_id(prog_base, &next))
		mismatch(C_TIMER_CREATE, "program %llu still there after the run (base %llu)",
			 next, prog_base);
	fd = open(KMEMLEAK, O_RDONLY);
	if (fd < 0) {
		printf("kmemleak: not in this kernel, not checked\n");
		return;
	}
	sleep(6);
	kmemleak_write("scan");
	kmemleak_write("scan");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (n > 0)
		mismatch(C_MAP_CREATE, "kmemleak reports %llu bytes%llu:", n, 0);
	if (n > 0)
		printf("%s\n", buf);
	else
		printf("kmemleak: nothing new\n");
}

int main(int argc, char **argv)
{
	unsigned long n = 20000, i, total = 0;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	__u64 seed = 1, end = 0, secs = 0;
	__u32 map_base, prog_base;
	void *bad_page;
	int opt, c, e;

	while ((opt = getopt(argc, argv, "s:n:t:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-s SEED] [-n CALLS] [-t SECONDS]\n", argv[0]);
			return 2;
		}
	}
	if (secs)	/* 0: no time limit */
		end = now_ns() + secs * SEC_NS;
	if (!seed)	/* -s 0: a new seed each run */
		seed = now_ns() ^ getpid();
	rng = seed;
	/* what exists before the run: kmemleak's suspects and the ids */
	kmemleak_write("scan");
	kmemleak_write("clear");
	map_base = last_id(bpf_map_get_next_id);
	prog_base = last_id(bpf_prog_get_next_id);
	printf("seed %llu (rerun: -s %llu -n %lu)\n", (unsigned long long)seed,
	       (unsigned long long)seed, n);

	prog_fd = load_prog(BPF_PROG_TYPE_TIMER);
	sock_prog_fd = load_prog(BPF_PROG_TYPE_SOCKET_FILTER);
	array_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL);
	/* a closed fd whose number no new fd takes */
	closed_fd = dup2(0, 900);
	bad_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (prog_fd < 0 || sock_prog_fd < 0 || array_fd < 0 || closed_fd < 0 ||
	    bad_page == MAP_FAILED || bpf_prog_get_info_by_fd(prog_fd, &info, &len)) {
		printf("FAIL setup: %s\n", strerror(errno));
		return 1;
	}
	close(closed_fd);
	prog_id = info.id;
	for (i = 0; i < NR_MAPS; i++) {
		snprintf(pin_path[i], sizeof(pin_path[i]), PIN_DIR "/timer_fuzz_%d_%lu",
			 getpid(), i);
		unlink(pin_path[i]);
		maps[i].ro_fd = -1;
		maps[i].wo_fd = -1;
		maps[i].fd = bpf_map_create(BPF_MAP_TYPE_TIMER, NULL, 4, 8, MAX_TIMERS, NULL);
		maps[i].fd_mode = M_R | M_W;
		maps[i].res = 1000000;
		if (maps[i].fd < 0) {
			printf("FAIL setup: map: %s\n", strerror(errno));
			return 1;
		}
	}

	for (i = 0; i < n && (!end || (i % 256) || now_ns() < end); i++) {
		struct fmap *m = &maps[below(NR_MAPS)];

		switch (below(100)) {
		case 0 ... 4:
			do_map_create();
			break;
		case 5 ... 24:
			do_timer_create(m);
			break;
		case 25 ... 34:
			do_get_info(m, bad_page);
			break;
		case 35 ... 49:
			do_lookup(m);
			break;
		case 50 ... 67:
			do_update(m);
			break;
		case 68 ... 79:
			do_delete(m);
			break;
		case 80 ... 89:
			do_next_key(m);
			break;
		case 90 ... 93:
			do_batch(m);
			break;
		case 94:
			/* frozen maps refuse most calls: not for long */
			if (m->frozen)
				replace_map(m);
			else if (chance(30))
				do_freeze(m);
			break;
		case 95 ... 97:
			do_pin(m);
			break;
		default:
			if (chance(10))
				do_unpriv(m, 16);
			else
				do_lookup(m);
		}
	}

	printf("%-32s %10s  errnos\n", "command", "calls");
	for (c = 0; c < NR_CMDS; c++) {
		total += calls[c];
		printf("%-32s %10lu ", cmd_names[c], calls[c]);
		for (e = 0; e <= MAX_ERRNO; e++)
			if (errs[c][e])
				printf(" %s:%lu", !e ? "ok" : e == ENOTSUPP ? "ENOTSUPP" :
				       strerrorname_np(e) ?: "?", errs[c][e]);
		printf("\n");
	}
	for (i = 0; i < NR_MAPS; i++) {
		if (maps[i].pinned)
			unlink(pin_path[i]);
		close_map(&maps[i]);
	}
	close(prog_fd);
	close(sock_prog_fd);
	close(array_fd);
	check_end_state(map_base, prog_base);
	/* a run that made (almost) no calls proves nothing */
	if (total < (n < 1000 ? n : 1000)) {
		printf("BAD: only %lu calls made\n", total);
		bad++;
	}
	printf("%lu calls, %lu wrong: %s\n", total, bad, bad ? "FAIL" : "PASS");
	return bad ? 1 : 0;
}
