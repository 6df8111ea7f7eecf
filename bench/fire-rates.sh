#!/bin/sh
# CPU per fire of the coalescing hrtimer map (500 us resolution) against
# upstream bpf_timer as the aggregate fire rate grows, in a guest of the
# release kernel: the timers of a map coalesce only when several fall due
# within the slack (half a resolution), and the benchmark spreads their
# phases evenly, so an interrupt runs about 1 + RATE * 250 us of them.
# NR: timer counts (default "1000 10000"), RATES: fires a second in all
# (default "5000 10000 20000 50000"), D: seconds a run (default 8):
#   scripts/lib/vm-run --kernel release --icount 0 --smp 1 --mem 8G --timeout 3000 -- \
#       bench/fire-rates.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bench=${SB:-$top/build/user/bench}
grep -m2 hres_active /proc/timer_list || true
for n in ${NR:-1000 10000}; do
	for r in ${RATES:-5000 10000 20000 50000}; do
		for b in "hrtimer --res 500000" bpf_timer; do
			printf '%s timers, %s/s, %s:' "$n" "$r" "$b"
			# shellcheck disable=SC2086 # "hrtimer --res N" is two words
			"$bench" -w2 -d"${D:-8}" timer-map-fire --backend $b \
				--nr_timers "$n" --rate "$r" | sed -n 's/.*Summary: /\t/p'
		done
	done
done
