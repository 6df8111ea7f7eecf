/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the prog_tests/timer_map*.c tests */
#ifndef __TIMER_MAP_HELPERS_H
#define __TIMER_MAP_HELPERS_H

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <test_progs.h>
#include <network_helpers.h>
#include "timer_map_common.h"
#include "timer_map.skel.h"

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

static inline __u64 now_ns(void)
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

static const struct backend backends[] __maybe_unused = {
	{ "wheel", false, WHEEL_RES },
	{ "hrtimer", true, HRES_RES },
};

/* Before a test concludes that nothing fires any more: ten of the
 * backend's resolutions, and 100 ms at least.
 */
static inline void sleep_stopped(const struct backend *b)
{
	__u64 ns = 10 * b->res > 100 * MS ? 10 * b->res : 100 * MS;

	usleep(ns / 1000);
}

/* A loaded skeleton and the map, callback and tc program of one backend */
struct tm_env {
	struct timer_map *skel;
	struct timer_map__bss *bss;
	const struct backend *b;
	int map_fd, prog_fd, ops_fd;
};

static inline bool tm_open(struct tm_env *t, const struct backend *b)
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

static inline void tm_close(struct tm_env *t)
{
	timer_map__destroy(t->skel);
	t->skel = NULL;
}

/* A mapping of the skeleton's .bss that outlives the skeleton
 * (tests that free it while callbacks still run), or MAP_FAILED.
 */
struct bss_map {
	struct timer_map__bss *bss;
	size_t size;
};

static inline bool bss_map(struct tm_env *t, struct bss_map *m)
{
	int fd = bpf_map__fd(t->skel->maps.bss);

	m->size = roundup(sizeof(*t->bss), getpagesize());
	m->bss = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return ASSERT_NEQ(m->bss, MAP_FAILED, "mmap bss");
}

static inline void bss_unmap(struct bss_map *m)
{
	if (m->bss != MAP_FAILED)
		munmap(m->bss, m->size);
}

static inline int make_map(__u32 max_entries, __u64 resolution)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_extra = resolution);

	return bpf_map_create(BPF_MAP_TYPE_TIMER, "test_timers", sizeof(__u32),
			      sizeof(__u64), max_entries, &opts);
}

static inline int create_timer(int map_fd, int prog_fd, __u64 expires, __u64 flags)
{
	LIBBPF_OPTS(bpf_timer_create_opts, opts, .expires = expires,
		    .flags = flags);

	return bpf_timer_create(map_fd, prog_fd, &opts);
}

static inline int arm(int map_fd, __u32 id, __u64 expires)
{
	return bpf_map_update_elem(map_fd, &id, &expires, BPF_ANY);
}

static inline __u64 lookup(int map_fd, __u32 id)
{
	__u64 v = -1ULL;

	if (bpf_map_lookup_elem(map_fd, &id, &v))
		return -1ULL;
	return v;
}

static inline int count_keys(int map_fd)
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

/* Deletes every timer; callbacks may delete some meanwhile (ENOENT) */
static inline void delete_all(int map_fd)
{
	__u32 key;

	while (!bpf_map_get_next_key(map_fd, NULL, &key))
		if (bpf_map_delete_elem(map_fd, &key) && errno != ENOENT)
			break;
}

static inline __u32 prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

static inline __u32 map_id(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return 0;
	return info.id;
}

/* Whether an fd_by_id lookup found the object; closes what it got. */
static inline bool got_fd(int fd)
{
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define prog_alive(id) got_fd(bpf_prog_get_fd_by_id(id))
#define map_alive(id) got_fd(bpf_map_get_fd_by_id(id))

static inline __u64 map_memlock(int map_fd)
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

static inline bool pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return ASSERT_OK(sched_setaffinity(0, sizeof(set), &set), "sched_setaffinity");
}

static inline void unpin_cpu(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < libbpf_num_possible_cpus(); i++)
		CPU_SET(i, &set);
	ASSERT_OK(sched_setaffinity(0, sizeof(set), &set), "unpin");
}

static inline bool two_cpus(void)
{
	if (libbpf_num_possible_cpus() >= 2)
		return true;
	/* the harness boots two vCPUs: say why rather than skip quietly */
	ASSERT_GE(libbpf_num_possible_cpus(), 2, "needs two CPUs");
	return false;
}

static inline int test_run(int prog_fd)
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

static inline void *spinner_fn(void *arg)
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

static inline bool spinner_start(struct spinner *s, int cpu)
{
	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	s->started = !pthread_create(&s->thread, NULL, spinner_fn, s);
	return ASSERT_TRUE(s->started, "spinner") &&
	       ASSERT_TRUE(WAIT_FOR(READ_ONCE(s->count) > 0, DEADLINE_MS), "spinner runs");
}

static inline void spinner_stop(struct spinner *s)
{
	if (!s->started)
		return;
	WRITE_ONCE(s->stop, true);
	pthread_join(s->thread, NULL);
	s->started = false;
}

/* Runs @fn as subtest "@name_wheel", then "@name_hrtimer", printing how
 * long each took (for the record: no verdict depends on it).
 */
static inline void run_per_backend(const char *name,
				   void (*fn)(const struct backend *b))
{
	char sub[64];
	__u64 t0;
	int i;

	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		snprintf(sub, sizeof(sub), "%s_%s", name, backends[i].name);
		if (!test__start_subtest(sub))
			continue;
		t0 = now_ns();
		fn(&backends[i]);
		printf("%s: %llu ms\n", sub, (now_ns() - t0) / MS);
	}
}

#endif
