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

/* NUMBER[ns|us|ms|s], in nanoseconds. */
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
		return -errno;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (__builtin_mul_overflow(val, units[i].mult, ns))
			return -ERANGE;
		return 0;
	}
	return -EINVAL;
}

/* The value of a timer map from the command line, as an absolute expiry:
 * "delay DURATION", "at NS", "disarm", a single number (absolute ns), or
 * the raw bytes. Returns what follows, NULL on error.
 */
char **timer_parse_expiry(char **argv, __u64 *expires)
{
	__u64 delay;
	char *end;

	if (!*argv) {
		p_err("missing timer expiry");
		return NULL;
	}
	if (is_prefix(*argv, "disarm")) {
		*expires = 0;
		return argv + 1;
	}
	if (is_prefix(*argv, "delay") || is_prefix(*argv, "at")) {
		bool at = is_prefix(*argv, "at");

		if (!argv[1] || timer_parse_duration(argv[1], &delay)) {
			p_err("bad %s '%s': expected NUMBER[ns|us|ms|s]",
			      at ? "time" : "delay", argv[1] ?: "");
			return NULL;
		}
		if (!at && delay)
			delay += timer_now_ns();
		*expires = delay;
		return argv + 2;
	}
	/* One number alone is the expiry; more are its bytes. */
	errno = 0;
	*expires = strtoull(*argv, &end, 0);
	if (!*end && !errno && (!argv[1] || !is_number(argv[1])))
		return argv + 1;
	p_err("bad timer expiry '%s': expected delay DURATION, at NS, disarm or NS",
	      *argv);
	return NULL;
}

bool is_number(const char *str)
{
	char *end;

	if (!*str)
		return false;
	strtoull(str, &end, 0);
	return !*end;
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
	int id, err = -1;

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
			if (timer_parse_duration(*argv, &opts.expires)) {
				p_err("bad %s '%s': expected NUMBER[ns|us|ms|s]",
				      at ? "time" : "delay", *argv);
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

/* Timers are listed in ascending id order; ids not above the last one
 * shown are skipped, as the walk restarts from the first id when the
 * previous one was deleted meanwhile.
 */
static int show_map_timers(int fd, const struct bpf_map_info *map_info,
			   bool say_empty)
{
	struct prog_name_cache cache = {};
	struct bpf_timer_info info;
	__u32 id, *prev = NULL;
	__u64 shown = 0, last = 0;
	__u64 now = timer_now_ns();
	__u32 len;

	while (!bpf_map_get_next_key(fd, prev, &id)) {
		prev = &id;
		if (shown && id <= last)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_timer_get_info(fd, id, &info, &len)) {
			if (errno == ENOENT)
				continue;
			p_err("can't get info of timer %u: %s", id,
			      strerror(errno));
			return -1;
		}
		show_timer(map_info, &info, prog_name(&cache, info.prog_id),
			   now);
		shown++;
		last = id;
	}
	if (errno != ENOENT) {
		p_err("can't walk timer map %u: %s", map_info->id,
		      strerror(errno));
		return -1;
	}
	if (!shown && say_empty && !json_output)
		printf("map %u name %s  no timers\n", map_info->id,
		       map_info->name);
	return 0;
}

static int show_all_timers(void)
{
	struct bpf_map_info info;
	__u32 id = 0, len;
	int fd, err;

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
			if (errno == ENOENT)
				continue;
			p_err("can't get map by id (%u): %s", id,
			      strerror(errno));
			return -1;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_map_get_info_by_fd(fd, &info, &len);
		if (err)
			p_err("can't get map info: %s", strerror(errno));
		else if (info.type == BPF_MAP_TYPE_TIMER)
			err = show_map_timers(fd, &info, false);
		close(fd);
		if (err)
			return -1;
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
