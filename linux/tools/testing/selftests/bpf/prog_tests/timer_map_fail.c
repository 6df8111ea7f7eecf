// SPDX-License-Identifier: GPL-2.0
/* Which programs may use a timer map and what a timer program may return:
 * the verifier's rejections and acceptances in progs/timer_map_fail.c
 * (RUN_TESTS), freplace programs replacing a timer callback, and a
 * struct_ops program (a TCP congestion control) arming a timer.
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <test_progs.h>
#include "timer_map_helpers.h"
#include "timer_map.skel.h"
#include "timer_map_fail.skel.h"
#include "timer_map_freplace.skel.h"
#include "timer_map_struct_ops.skel.h"

/* An freplace program of "cb" is verified as a timer program: one that
 * returns INT_MAX + 1 is rejected; one in range replaces the callback,
 * and its return value re-arms the timer.
 */
static void test_freplace(void)
{
	struct timer_map_freplace *ext;
	struct bpf_link *link = NULL;
	char log[16384] = "";
	struct tm_env t;
	int id;

	if (!tm_open(&t, &backends[0]))
		return;
	ext = timer_map_freplace__open();
	if (!ASSERT_OK_PTR(ext, "open"))
		goto out;
	bpf_program__set_autoload(ext->progs.ext_cb, false);
	bpf_program__set_attach_target(ext->progs.ext_ret_too_big, t.prog_fd, "cb");
	bpf_program__set_log_buf(ext->progs.ext_ret_too_big, log, sizeof(log));
	ASSERT_ERR(timer_map_freplace__load(ext), "load: returns INT_MAX + 1");
	ASSERT_HAS_SUBSTR(log, "should have been in [0, 2147483647]", "verifier log");
	timer_map_freplace__destroy(ext);

	ext = timer_map_freplace__open();
	if (!ASSERT_OK_PTR(ext, "open"))
		goto out;
	bpf_program__set_autoload(ext->progs.ext_ret_too_big, false);
	bpf_program__set_attach_target(ext->progs.ext_cb, t.prog_fd, "cb");
	if (!ASSERT_OK(timer_map_freplace__load(ext), "load: in range, uses a timer map"))
		goto destroy;
	link = bpf_program__attach_freplace(ext->progs.ext_cb, t.prog_fd, "cb");
	if (!ASSERT_OK_PTR(link, "attach"))
		goto destroy;
	id = create_timer(t.map_fd, t.prog_fd, 2 * t.b->res, 0);
	if (!ASSERT_GE(id, 0, "create"))
		goto destroy;
	/* returns 3, then 0: two runs, then disarmed */
	ASSERT_TRUE(WAIT_FOR(ext->bss->ext_runs == 2 && lookup(t.map_fd, id) == 0,
			     DEADLINE_MS), "the replacement ran twice, then disarmed");
	ASSERT_EQ(ext->bss->ext_runs, 2, "its return values re-armed, then stopped");
	ASSERT_EQ(RUNS(t.skel, id), 0, "the replaced callback never ran");
	ASSERT_OK(bpf_map_delete_elem(t.map_fd, &id), "delete");
destroy:
	bpf_link__destroy(link);
	timer_map_freplace__destroy(ext);
out:
	tm_close(&t);
}

/* A TCP congestion control's init arms a timer: struct_ops programs may
 * use timer maps (they run with the socket lock held, in process or
 * softirq context).
 */
static void test_struct_ops(void)
{
	struct timer_map_struct_ops *skel;
	struct bpf_link *link = NULL;
	int lfd = -1, cfd = -1, id;

	skel = timer_map_struct_ops__open_and_load();
	if (!ASSERT_OK_PTR(skel, "load: struct_ops programs use a timer map"))
		return;
	id = create_timer(bpf_map__fd(skel->maps.ca_timers),
			  bpf_program__fd(skel->progs.ca_cb), 0, 0);
	if (!ASSERT_EQ(id, 0, "create"))
		goto out;
	link = bpf_map__attach_struct_ops(skel->maps.tm_ca);
	if (!ASSERT_OK_PTR(link, "register the congestion control"))
		goto out;
	lfd = start_server(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_GE(lfd, 0, "server") || !ASSERT_GE(cfd, 0, "socket"))
		goto out;
	if (!ASSERT_OK(setsockopt(cfd, IPPROTO_TCP, TCP_CONGESTION, "bpf_tm_ca",
				  strlen("bpf_tm_ca")), "TCP_CONGESTION") ||
	    !ASSERT_OK(connect_fd_to_fd(cfd, lfd, 0), "connect"))
		goto out;
	ASSERT_TRUE(WAIT_FOR(skel->bss->fired, DEADLINE_MS), "the timer armed by init fired");
	ASSERT_GT(skel->bss->inits, 0, "init ran");
	ASSERT_EQ(skel->data->init_err, 0, "update from struct_ops");
out:
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	bpf_link__destroy(link);
	timer_map_struct_ops__destroy(skel);
}

void test_timer_map_fail(void)
{
	RUN_TESTS(timer_map_fail);
	if (test__start_subtest("freplace"))
		test_freplace();
	if (test__start_subtest("struct_ops"))
		test_struct_ops();
}
