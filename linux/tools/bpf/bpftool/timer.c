// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Timers of BPF_MAP_TYPE_TIMER maps: create and list them. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "main.h"

#define NSEC_PER_USEC	1000ULL
#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

__u64 timer_now_ns(void)
{
	struct timespec ts;

	/* The clock of the map values (and of bpf_ktime_get_ns()). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Format @ns with three significant decimals in the largest fitting unit. */
const char *timer_fmt_ns(char *buf, size_t len, __u64 ns)
{
	static const struct {
		const char *name;
		__u64 ns;
	} units[] = {
		{ "s", NSEC_PER_SEC }, { "ms", NSEC_PER_MSEC },
		{ "us", NSEC_PER_USEC },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (ns >= units[i].ns) {
			snprintf(buf, len, "%llu.%03llu%s", ns / units[i].ns,
				 ns % units[i].ns * 1000 / units[i].ns,
				 units[i].name);
			return buf;
		}
	}
	snprintf(buf, len, "%lluns", ns);
	return buf;
}

/* NUMBER[ns|us|ms|s], in nanoseconds: -EINVAL if malformed, -ERANGE past
 * KTIME_MAX.
 */
int timer_parse_duration(const char *str, __u64 *ns)
{
	static const struct {
		const char *suffix;
		__u64 mult;
	} units[] = {
		{ "", 1 }, { "ns", 1 }, { "us", NSEC_PER_USEC },
		{ "ms", NSEC_PER_MSEC }, { "s", NSEC_PER_SEC },
	};
	unsigned long long val;
	unsigned int i;
	char *end;

	if (*str < '0' || *str > '9')
		return -EINVAL;
	errno = 0;
	val = strtoull(str, &end, 10);
	if (errno)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (__builtin_mul_overflow(val, units[i].mult, ns) ||
		    *ns > INT64_MAX)
			return -ERANGE;
		return 0;
	}
	return -EINVAL;
}

static void p_err_duration(const char *what, const char *arg, int err)
{
	if (err == -ERANGE)
		p_err("bad %s '%s': beyond KTIME_MAX", what, arg);
	else
		p_err("bad %s '%s': expected NUMBER[ns|us|ms|s]", what, arg);
}

/* The value of a timer map from the command line, as an absolute expiry:
 * "delay DURATION", "at NS", "disarm" or NS. The keywords must be given in
 * full: values are data, "d" or "" should not mean anything. A delay of 0
 * disarms, as a relative expiry of 0 does for BPF_TIMER_CREATE. Returns
 * what follows, NULL on error.
 */
char **timer_parse_expiry(char **argv, __u64 *expires)
{
	bool at = *argv && !strcmp(*argv, "at");
	__u64 ns;
	int err;

	if (*argv && !strcmp(*argv, "disarm")) {
		*expires = 0;
		return argv + 1;
	}
	if (at || (*argv && !strcmp(*argv, "delay"))) {
		err = argv[1] ? timer_parse_duration(argv[1], &ns) : -EINVAL;
		if (!err && !at && ns &&
		    (__builtin_add_overflow(ns, timer_now_ns(), &ns) ||
		     ns > INT64_MAX))
			err = -ERANGE;
		if (err) {
			p_err_duration(at ? "time" : "delay", argv[1] ?: "", err);
			return NULL;
		}
		*expires = ns;
		return argv + 2;
	}
	if (*argv && is_decimal(*argv) && !timer_parse_duration(*argv, &ns)) {
		*expires = ns;
		return argv + 1;
	}
	p_err("bad timer expiry '%s': expected delay DURATION, at NS, disarm or NS",
	      *argv ?: "");
	return NULL;
}

/* A non-empty string of decimal digits */
bool is_decimal(const char *str)
{
	if (!*str)
		return false;
	while (*str >= '0' && *str <= '9')
		str++;
	return !*str;
}

void timer_print_expiry_plain(__u64 expires, __u64 now)
{
	char buf[32];

	if (!expires)
		printf("disarmed");
	else if (expires <= now)
		printf("expires %llu (due)", expires);
	else
		printf("expires %llu (in %s)", expires,
		       timer_fmt_ns(buf, sizeof(buf), expires - now));
}

void timer_print_expiry_json(json_writer_t *jw, __u64 expires, __u64 now)
{
	jsonw_uint_field(jw, "expires", expires);
	jsonw_bool_field(jw, "armed", expires);
	if (expires)
		jsonw_uint_field(jw, "time_left_ns",
				 expires > now ? expires - now : 0);
}

static int timer_map_parse_fd(int *argc, char ***argv,
			      struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd;

	fd = map_parse_fd_and_info(argc, argv, info, &len);
	if (fd < 0)
		return -1;
	if (info->type != BPF_MAP_TYPE_TIMER) {
		p_err("map %u (%s) is a %s map, not a timer map", info->id,
		      info->name, libbpf_bpf_map_type_str(info->type) ?: "unknown");
		close(fd);
		return -1;
	}
	return fd;
}

static int timer_prog_parse_fd(int *argc, char ***argv)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	fd = prog_parse_fd(argc, argv);
	if (fd < 0)
		return -1;
	if (bpf_prog_get_info_by_fd(fd, &info, &len)) {
		p_err("can't get prog info: %s", strerror(errno));
		goto err_close;
	}
	if (info.type != BPF_PROG_TYPE_TIMER) {
		p_err("program %u (%s) is a %s program, not a timer program",
		      info.id, info.name,
		      libbpf_bpf_prog_type_str(info.type) ?: "unknown");
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return -1;
}

static int do_create(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_timer_create_opts, opts);
	struct bpf_map_info map_info = {};
	int map_fd = -1, prog_fd = -1;
	bool have_expiry = false;
	int id, ret, err = -1;

	while (argc) {
		if (is_prefix(*argv, "map") || is_prefix(*argv, "prog")) {
			bool is_map = is_prefix(*argv, "map");

			if ((is_map ? map_fd : prog_fd) >= 0) {
				p_err("%s specified twice", *argv);
				goto out;
			}
			NEXT_ARG();
			if (!REQ_ARGS(2))
				goto out;
			if (is_map)
				map_fd = timer_map_parse_fd(&argc, &argv,
							    &map_info);
			else
				prog_fd = timer_prog_parse_fd(&argc, &argv);
			if ((is_map ? map_fd : prog_fd) < 0)
				goto out;
		} else if (is_prefix(*argv, "delay") || is_prefix(*argv, "at")) {
			bool at = is_prefix(*argv, "at");

			if (have_expiry) {
				p_err("expiry specified twice");
				goto out;
			}
			NEXT_ARG();
			if (!REQ_ARGS(1))
				goto out;
			ret = timer_parse_duration(*argv, &opts.expires);
			if (ret) {
				p_err_duration(at ? "time" : "delay", *argv, ret);
				goto out;
			}
			if (at)
				opts.flags |= BPF_F_TIMER_ABS;
			have_expiry = true;
			NEXT_ARG();
		} else if (is_prefix(*argv, "pin_cpu")) {
			opts.flags |= BPF_F_TIMER_CPU_PIN;
			NEXT_ARG();
		} else {
			p_err("unknown arg %s", *argv);
			goto out;
		}
	}
	if (map_fd < 0 || prog_fd < 0) {
		p_err("missing %s", map_fd < 0 ? "map" : "prog");
		goto out;
	}

	id = bpf_timer_create(map_fd, prog_fd, &opts);
	if (id < 0) {
		if (id == -E2BIG)
			p_err("can't create timer: map %u (%s) is full (%u entries)",
			      map_info.id, map_info.name, map_info.max_entries);
		else
			p_err("can't create timer: %s", strerror(-id));
		goto out;
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "id", id);
		jsonw_end_object(json_wtr);
	} else {
		printf("%d\n", id);
	}
	err = 0;
out:
	if (map_fd >= 0)
		close(map_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	return err;
}

/* Most timers of a map share their callback: remember the last name. */
struct prog_name_cache {
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
};

static const char *prog_name(struct prog_name_cache *cache, __u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (cache->id == id)
		return cache->name;
	cache->id = id;
	cache->name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return cache->name;
	if (!bpf_prog_get_info_by_fd(fd, &info, &len))
		memcpy(cache->name, info.name, sizeof(cache->name));
	close(fd);
	return cache->name;
}

static void show_timer(const struct bpf_map_info *map_info,
		       const struct bpf_timer_info *info, const char *prog,
		       __u64 now)
{
	bool pin_cpu = info->flags & BPF_F_TIMER_CPU_PIN;

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "map_id", map_info->id);
		jsonw_string_field(json_wtr, "map_name", map_info->name);
		jsonw_uint_field(json_wtr, "id", info->id);
		timer_print_expiry_json(json_wtr, info->expires, now);
		jsonw_bool_field(json_wtr, "pin_cpu", pin_cpu);
		jsonw_uint_field(json_wtr, "prog_id", info->prog_id);
		jsonw_string_field(json_wtr, "prog_name", prog);
		jsonw_end_object(json_wtr);
		return;
	}
	printf("map %u name %s  id %u  ", map_info->id, map_info->name,
	       info->id);
	timer_print_expiry_plain(info->expires, now);
	printf("  prog %u name %s%s\n", info->prog_id, prog,
	       pin_cpu ? "  pin_cpu" : "");
}

/* Timers in ascending id order: the walk goes on above a timer deleted
 * meanwhile, which is skipped. Listing @one_map, say when it is empty and
 * fail on errors; listing them all, note errors and go on.
 */
static int show_map_timers(int fd, const struct bpf_map_info *map_info,
			   bool one_map)
{
	struct prog_name_cache cache = {};
	struct bpf_timer_info info;
	__u32 id, *prev = NULL;
	__u64 now = timer_now_ns();
	__u64 shown = 0;
	__u32 len;

	while (!bpf_map_get_next_key(fd, prev, &id)) {
		prev = &id;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_timer_get_info(fd, id, &info, &len)) {
			if (errno == ENOENT)
				continue;
			goto err;
		}
		show_timer(map_info, &info, prog_name(&cache, info.prog_id),
			   now);
		shown++;
	}
	if (errno != ENOENT)
		goto err;
	if (!shown && one_map && !json_output)
		printf("map %u name %s  no timers\n", map_info->id,
		       map_info->name);
	return 0;

err:
	if (!one_map) {
		p_info("skipping timer map %u: %s", map_info->id, strerror(errno));
		return 0;
	}
	p_err("can't list the timers of map %u: %s", map_info->id,
	      strerror(errno));
	return -1;
}

/* Every timer map this process may read: one it can't is skipped, with a
 * note on stderr, instead of hiding the others.
 */
static int show_all_timers(void)
{
	struct bpf_map_info info;
	__u32 id = 0, len;
	int fd;

	while (true) {
		if (bpf_map_get_next_id(id, &id)) {
			if (errno == ENOENT)
				return 0;
			p_err("can't get next map: %s%s", strerror(errno),
			      errno == EINVAL ? " -- kernel too old?" : "");
			return -1;
		}
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0) {
			if (errno != ENOENT)
				p_info("skipping map %u: %s", id,
				       strerror(errno));
			continue;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_map_get_info_by_fd(fd, &info, &len))
			p_info("skipping map %u: %s", id, strerror(errno));
		else if (info.type == BPF_MAP_TYPE_TIMER)
			show_map_timers(fd, &info, false);
		close(fd);
	}
}

static int do_show(int argc, char **argv)
{
	struct bpf_map_info info = {};
	int fd = -1, err;

	if (argc) {
		if (!is_prefix(*argv, "map")) {
			p_err("expected 'map', got: %s", *argv);
			return -1;
		}
		NEXT_ARG();
		if (!REQ_ARGS(2))
			return -1;
		fd = timer_map_parse_fd(&argc, &argv, &info);
		if (fd < 0)
			return -1;
		if (argc) {
			p_err("unknown arg %s", *argv);
			close(fd);
			return -1;
		}
	}

	if (json_output)
		jsonw_start_array(json_wtr);
	err = fd >= 0 ? show_map_timers(fd, &info, true) : show_all_timers();
	if (json_output)
		jsonw_end_array(json_wtr);
	if (fd >= 0)
		close(fd);
	return err;
}

static int do_help(int argc, char **argv)
{
	if (json_output) {
		jsonw_null(json_wtr);
		return 0;
	}

	fprintf(stderr,
		"Usage: %1$s %2$s { show | list } [map MAP]\n"
		"       %1$s %2$s create map MAP prog PROG [delay DURATION | at NS] [pin_cpu]\n"
		"       %1$s %2$s help\n"
		"\n"
		"       " HELP_SPEC_MAP "\n"
		"       " HELP_SPEC_PROGRAM "\n"
		"       DURATION := NUMBER[ns|us|ms|s] (relative to now)\n"
		"       NS := absolute CLOCK_MONOTONIC time in ns\n"
		"       " HELP_SPEC_OPTIONS " }\n"
		"",
		bin_name, argv[-2]);

	return 0;
}

static const struct cmd cmds[] = {
	{ "show",	do_show },
	{ "list",	do_show },
	{ "create",	do_create },
	{ "help",	do_help },
	{ 0 }
};

int do_timer(int argc, char **argv)
{
	return cmd_select(cmds, argc, argv, do_help);
}
