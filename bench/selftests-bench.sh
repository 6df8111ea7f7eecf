#!/bin/sh
# The series' selftests benchmark (benchs/run_bench_timer_map.sh) alone,
# in a guest of the release kernel, with the clock event device and
# hres_active printed first. FIRE and CREATE are its timer counts, CS the
# seconds of each create round (whole rounds are counted):
#   scripts/lib/vm-run --kernel release --icount 0 --smp 1 --mem 8G --timeout 3000 -- \
#       env CS=30 bench/selftests-bench.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
rm -rf /tmp/sb && mkdir -p /tmp/sb
ln -s "${SB:-$top/build/user/bench}" /tmp/sb/bench
ln -s "$top/build/linux/tools/testing/selftests/bpf/benchs" /tmp/sb/benchs
grep -H . /sys/devices/system/clockevents/clockevent*/current_device || true
grep -m2 hres_active /proc/timer_list || true
cd /tmp/sb
RUN_BENCH="./bench -w2 -d8" FIRE_TIMERS="${FIRE:-1000 10000}" CREATE_TIMERS="${CREATE:-1000000}" \
	CREATE_SECONDS="${CS:-30}" ./benchs/run_bench_timer_map.sh
