#!/bin/sh
# The teardown of maps thinned out by deletes, in a guest of the release
# kernel: for each backend (BACKENDS, default "wheel hrtimer") and each N
# in SPARSE (default "1 64 32 16 8"), 1,000,000 timers created 1024 a call,
# all but one in N deleted, then the map closed (N = 1: none deleted).
# D is the seconds a run (default 10; whole rounds only are counted):
#   scripts/lib/vm-run --kernel release --icount 0 --smp 1 --mem 8G --timeout 3000 -- \
#       env D=10 bench/sparse-teardown.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bench=${SB:-$top/build/user/bench}
grep -m2 hres_active /proc/timer_list || true
for b in ${BACKENDS:-wheel hrtimer}; do
	for n in ${SPARSE:-1 64 32 16 8}; do
		sparse=
		[ "$n" = 1 ] || sparse="--sparse $n"
		# shellcheck disable=SC2086 # "--sparse N" is two words
		"$bench" -w1 -d"${D:-10}" timer-map-create --backend "$b" --batch 1024 \
			--nr_timers 1000000 $sparse | grep Summary
	done
done
