#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bpftool and BPF_MAP_TYPE_TIMER: map create/dump/lookup/update/delete,
# prog load, timer create/show, feature probe; plain and JSON output, exit
# status and error messages. Run as root from the directory holding
# timer_map_bpftool.bpf.o; BPFTOOL names the bpftool to test. One line per
# check: "ok - NAME" or "not ok - NAME: WHY".

# Kselftest framework requirement - SKIP code is 4.
ksft_skip=4

BPFTOOL=${BPFTOOL:-bpftool}
OBJ=timer_map_bpftool.bpf.o
BPF_FS=$(awk '$3 == "bpf" {print $2; exit}' /proc/mounts)
D=$BPF_FS/test_bpftool_timer
SEC=1000000000
# How bpftool prints the time left: checked for its form only, as the
# guest's speed decides its value; values are checked through JSON.
LEFT='\((in [0-9]+\.[0-9]{3}(s|ms|us)|in [0-9]+ns|due)\)'

if [ "$(id -u)" -ne 0 ] || [ -z "$BPF_FS" ] || [ ! -f "$OBJ" ] ||
   ! command -v jq >/dev/null || ! command -v python3 >/dev/null; then
	echo "SKIP: needs root, a mounted bpffs, jq, python3 and $OBJ here"
	exit $ksft_skip
fi
ERR=$(mktemp)

failed=0 passed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }

# run ARGS...: bpftool with stdout in $out, stderr in $err, status in $rc
run() {
	out=$("$BPFTOOL" "$@" 2>"$ERR")
	rc=$?
	err=$(<"$ERR")
}

# has ERE TEXT: a line of TEXT matches ERE. grep -Eq without starting a
# process: a process start costs about a second under emulation.
has() {
	local line

	while IFS= read -r line; do
		[[ $line =~ $1 ]] && return 0
	done <<<"$2"
	return 1
}

# expect_ok NAME ERE ARGS...: succeeds and stdout matches ERE
expect_ok() {
	local name=$1 re=$2
	shift 2
	run "$@"
	if [ $rc -ne 0 ]; then
		not_ok "$name" "'bpftool $*' failed ($rc): $err"
	elif ! has "$re" "$out"; then
		not_ok "$name" "'bpftool $*' printed '$out', expected /$re/"
	else
		ok "$name"
	fi
}

# expect_err NAME ERE ARGS...: fails with ERE in the error message, and
# so does the JSON output if $json_too is set
expect_err() {
	local name=$1 re=$2
	shift 2
	run "$@"
	if [ $rc -eq 0 ]; then
		not_ok "$name" "'bpftool $*' succeeded: $out"
		return
	fi
	if ! has "Error: .*$re" "$err"; then
		not_ok "$name" "'bpftool $*' said '$err', expected /$re/"
		return
	fi
	if [ -z "${json_too:-}" ]; then
		ok "$name"
		return
	fi
	run -j "$@"
	if [ $rc -eq 0 ] ||
	   ! jq -e --arg re "$re" '.error | test($re)' <<<"$out" >/dev/null; then
		not_ok "$name" "'bpftool -j $*' printed '$out' ($rc)"
		return
	fi
	ok "$name"
}

# json NAME JQ-FILTER ARGS...: JSON output makes the jq filter true
json() {
	local name=$1 filter=$2
	shift 2
	run -j "$@"
	if [ $rc -ne 0 ]; then
		not_ok "$name" "'bpftool -j $*' failed ($rc): $err"
	elif ! jq -e "$filter" <<<"$out" >/dev/null 2>&1; then
		not_ok "$name" "'bpftool -j $*' printed '$out', expected $filter"
	else
		ok "$name"
	fi
}

ntimers() { "$BPFTOOL" -j timer show map pinned "$1" | jq length; }
# CLOCK_MONOTONIC in ns: /proc/timer_list's "now at N nsecs" is
# ktime_get(), read without starting a process; python3 otherwise.
now_ns() {
	local a b n rest

	if [ -r /proc/timer_list ]; then
		while read -r a b n rest; do
			[ "$a $b" = "now at" ] && { echo "$n"; return; }
		done </proc/timer_list
	fi
	python3 -c 'import time; print(time.monotonic_ns())'
}

PROBE=$(mktemp)
cleanup() { rm -rf "$D"; rm -f "$ERR" "$PROBE" "$PROBE.err"; }
trap cleanup EXIT
cleanup
mkdir -p "$D"

# feature probe loads a program of every type and creates a map of every
# type: a minute under emulation. It runs meanwhile; checked at the end.
if [ -z "${SKIP_FEATURE_PROBE:-}" ]; then
	"$BPFTOOL" -j feature probe kernel >"$PROBE" 2>"$PROBE.err" &
	probe_pid=$!
fi

# --- map create and show -------------------------------------------------
expect_ok map_create '^$' map create "$D/tm" type timer key 4 value 8 \
	entries 4 name tm_bpftool
expect_ok map_show ': timer  name tm_bpftool  flags 0x0$' map show pinned "$D/tm"
expect_ok map_show_resolution 'max_entries 4  memlock [0-9]+B  resolution 1.000ms$' \
	map show pinned "$D/tm"
expect_ok map_create_extra '^$' map create "$D/hr" type timer key 4 value 8 \
	entries 4 name tm_hres extra 100000
json map_show_json '.type == "timer" and .resolution_ns == 100000 and
	.max_entries == 4' map show pinned "$D/hr"
expect_err map_create_bad_extra "can't parse map extra" map create "$D/x" \
	type timer key 4 value 8 entries 4 name x extra 1ms
expect_err map_create_extra_range 'map create failed: Invalid argument' \
	map create "$D/x" type timer key 4 value 8 entries 4 name x extra 10
expect_err map_create_bad_value 'map create failed: Invalid argument' \
	map create "$D/x" type timer key 4 value 4 entries 4 name x
expect_ok map_create_empty '^$' map create "$D/empty" type timer key 4 \
	value 8 entries 4 name tm_empty
expect_ok map_create_array '^$' map create "$D/arr" type array key 4 value 8 \
	entries 4 name plain_array

# --- prog load -----------------------------------------------------------
expect_ok prog_load_autodetect '^$' prog load "$OBJ" "$D/tick"
expect_ok prog_show ': timer  name tick ' prog show pinned "$D/tick"
expect_ok prog_load_type '^$' prog load "$OBJ" "$D/tick2" type timer
json prog_show_json '.type == "timer" and .name == "tick"' \
	prog show pinned "$D/tick2"
# The same code as a socket filter: a program of the wrong type.
expect_ok prog_load_other_type '^$' prog load "$OBJ" "$D/sock" type socket
prog_id=$("$BPFTOOL" -j prog show pinned "$D/tick" | jq .id)
map_id=$("$BPFTOOL" -j map show pinned "$D/tm" | jq .id)

# --- timer create --------------------------------------------------------
expect_ok timer_create '^0$' timer create map pinned "$D/tm" \
	prog pinned "$D/tick" delay 3600s
json timer_create_json '.id == 1' timer create map id "$map_id" \
	prog id "$prog_id" at $(($(now_ns) + 3600 * SEC))
expect_ok timer_create_pin_cpu '^2$' timer create map pinned "$D/tm" \
	prog pinned "$D/tick" pin_cpu
expect_ok timer_create_hres '^0$' timer create map pinned "$D/hr" \
	prog pinned "$D/tick2" delay 3600s
expect_ok timer_armed_hres "  id 0  expires [0-9]+ $LEFT  prog [0-9]+ name tick\$" \
	timer show map pinned "$D/hr"

# --- timer show ----------------------------------------------------------
# (Timers 0 and 1 expire in an hour: the checks take minutes under
# emulation.)
run timer show map pinned "$D/tm"
m="^map $map_id name tm_bpftool " p=" prog $prog_id name tick"
if [ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 3 ] &&
   has "$m id 0  expires [0-9]+ $LEFT $p\$" "$out" &&
   has "$m id 1  expires [0-9]+ $LEFT $p\$" "$out" &&
   has "$m id 2  disarmed $p  pin_cpu\$" "$out"; then
	ok timer_show
else
	not_ok timer_show "printed '$out' ($rc): $err"
fi
json timer_show_json "length == 3 and
	(.[0] | .map_id == $map_id and .map_name == \"tm_bpftool\" and
		.id == 0 and .armed and .time_left_ns > 0 and
		.time_left_ns <= 3600 * $SEC and .prog_id == $prog_id and
		.prog_name == \"tick\" and (.pin_cpu | not)) and
	(.[2] | .id == 2 and (.armed | not) and .expires == 0 and .pin_cpu and
		(has(\"time_left_ns\") | not))" timer show map pinned "$D/tm"
run timer list map pinned "$D/tm"
list_out=$out list_rc=$rc
run timer show map pinned "$D/tm"
if [ $list_rc -eq 0 ] && [ $rc -eq 0 ] && [ -n "$out" ] &&
   [ "$(sed 's/(in [^)]*)//' <<<"$list_out")" = "$(sed 's/(in [^)]*)//' <<<"$out")" ]; then
	ok timer_list_alias
else
	not_ok timer_list_alias "list printed '$list_out'"
fi
json timer_show_all "[.[] | select(.map_id == $map_id)] | length == 3" timer show
expect_ok timer_show_empty "^map [0-9]+ name tm_empty  no timers$" \
	timer show map pinned "$D/empty"
json timer_show_empty_json 'length == 0' timer show map pinned "$D/empty"
# The hrtimer armed above, re-armed to fire now, fires and its callback
# (returning 0) leaves it disarmed. Waits for that, up to two minutes.
expect_ok timer_rearm_now '^$' map update pinned "$D/hr" key 0 value delay 1us
for i in $(seq 120); do
	run -j timer show map pinned "$D/hr"
	jq -e '.[0].armed | not' <<<"$out" >/dev/null && break
	sleep 1
done
expect_ok timer_fired "  id 0  disarmed  prog [0-9]+ name tick$" \
	timer show map pinned "$D/hr"

# --- bad input changes nothing -------------------------------------------
before=$(ntimers "$D/tm")
json_too=1 expect_err unknown_map 'get map by id \(999999\)' timer show map id 999999
expect_err unknown_map_create 'get map by id \(999999\)' timer create \
	map id 999999 prog pinned "$D/tick"
json_too=1 expect_err wrong_map_type 'is a array map, not a timer map' \
	timer show map pinned "$D/arr"
expect_err wrong_map_type_create 'is a array map, not a timer map' \
	timer create map pinned "$D/arr" prog pinned "$D/tick"
json_too=1 expect_err non_timer_prog 'is a socket_filter program, not a timer program' \
	timer create map pinned "$D/tm" prog pinned "$D/sock"
expect_err unknown_prog 'get by id \(999999\)' \
	timer create map pinned "$D/tm" prog id 999999
for bad in 5parsecs 0x10 1.5s ms ''; do
	expect_err "bad_delay_'$bad'" "bad delay '$bad'" timer create \
		map pinned "$D/tm" prog pinned "$D/tick" delay "$bad"
done
json_too=1 expect_err bad_at "bad time 'soon'" timer create map pinned "$D/tm" \
	prog pinned "$D/tick" at soon
expect_err delay_overflow "bad delay '99999999999s': beyond KTIME_MAX" \
	timer create map pinned "$D/tm" prog pinned "$D/tick" delay 99999999999s
expect_err delay_past_ktime_max "bad delay '9300000000s': beyond KTIME_MAX" \
	timer create map pinned "$D/tm" prog pinned "$D/tick" delay 9300000000s
expect_err missing_prog 'missing prog' timer create map pinned "$D/tm"
expect_err missing_map 'missing map' timer create prog pinned "$D/tick"
expect_err two_expiries 'expiry specified twice' timer create \
	map pinned "$D/tm" prog pinned "$D/tick" delay 1s at 5
expect_err unknown_arg 'unknown arg bogus' timer create \
	map pinned "$D/tm" prog pinned "$D/tick" bogus
expect_err show_extra_arg 'unknown arg bogus' timer show map pinned "$D/tm" bogus
after=$(ntimers "$D/tm")
if [ "$before" = 3 ] && [ "$after" = 3 ]; then
	ok bad_input_changes_nothing
else
	not_ok bad_input_changes_nothing "$before timers before, $after after"
fi
expect_ok timer_create_last '^3$' timer create map pinned "$D/tm" \
	prog pinned "$D/tick"
expect_err map_full 'is full \(4 entries\)' timer create map pinned "$D/tm" \
	prog pinned "$D/tick"

# --- map dump/lookup/update/delete on timer maps --------------------------
run map dump pinned "$D/tm"
if [ $rc -eq 0 ] && has "^id: 0  expires [0-9]+ $LEFT\$" "$out" &&
   has '^id: 2  disarmed$' "$out" && has '^Found 4 elements$' "$out"; then
	ok map_dump
else
	not_ok map_dump "printed '$out' ($rc): $err"
fi
json map_dump_json 'length == 4 and (.[0] | .id == 0 and .armed and
	.time_left_ns > 0 and (.key | length) == 4) and
	(.[2] | .id == 2 and .expires == 0 and (.armed | not))' \
	map dump pinned "$D/tm"
expect_ok map_lookup_id '^id: 2  disarmed$' map lookup pinned "$D/tm" key 2
expect_ok map_lookup_bytes '^id: 2  disarmed$' map lookup pinned "$D/tm" \
	key 2 0 0 0
t0=$(now_ns)
expect_ok map_update_delay '^$' map update pinned "$D/tm" key 2 value delay 3600s
t1=$(now_ns)
expect_ok map_update_delay_shown "^id: 2  expires [0-9]+ $LEFT\$" \
	map lookup pinned "$D/tm" key 2
json map_update_delay_value ".expires >= $t0 + 3600 * $SEC and
	.expires <= $t1 + 3600 * $SEC" map lookup pinned "$D/tm" key 2
expect_ok map_update_disarm '^$' map update pinned "$D/tm" key 2 value disarm
expect_ok map_update_disarm_shown '^id: 2  disarmed$' map lookup pinned "$D/tm" key 2
at=$(($(now_ns) + 7200 * SEC))
expect_ok map_update_at '^$' map update pinned "$D/tm" key 2 value at $at
json map_update_at_shown ".expires == $at" map lookup pinned "$D/tm" key 2
expect_ok map_update_ns '^$' map update pinned "$D/tm" key 2 value 0
expect_ok map_update_ns_shown '^id: 2  disarmed$' map lookup pinned "$D/tm" key 2
expect_err map_update_bad_delay "bad delay 'never'" map update pinned "$D/tm" \
	key 2 value delay never
expect_err map_update_delay_overflow "bad delay '18446744073s': beyond KTIME_MAX" \
	map update pinned "$D/tm" key 2 value delay 18446744073s
expect_err map_update_abbreviated "bad timer expiry 'd'" \
	map update pinned "$D/tm" key 2 value d
expect_err map_update_missing 'update failed: No such file or directory' \
	map update pinned "$D/tm" key 9 value delay 1s
expect_err map_update_noexist 'update failed: File exists' \
	map update pinned "$D/tm" key 2 value 0 noexist
expect_ok map_delete '^$' map delete pinned "$D/tm" key 1
json map_delete_gone '[.[].id] == [0, 2, 3]' timer show map pinned "$D/tm"
run map lookup pinned "$D/tm" key 1
if [ $rc -ne 0 ] && has '^Not found$' "$out"; then
	ok map_lookup_deleted
else
	not_ok map_lookup_deleted "printed '$out' ($rc): $err"
fi

# --- bash completion -------------------------------------------------------
COMPLETION=${BPFTOOL_COMPLETION:-$(dirname "$0")/../../../bpf/bpftool/bash-completion/bpftool}

# completes NAME WANT WORDS...: completing the last of WORDS offers every
# word of WANT, and none of the words of $avoid
completes() {
	local name=$1 want=$2 got w bad=
	shift 2
	got=$(PATH=$(dirname "$(command -v "$BPFTOOL")"):$PATH bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$0"
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_bpftool bpftool "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		echo "${COMPREPLY[*]}"' "$COMPLETION" bpftool "$@" 2>"$ERR")
	[ -s "$ERR" ] && bad=1
	for w in $want; do
		[[ " $got " == *" $w "* ]] || bad=1
	done
	for w in ${avoid:-}; do
		[[ " $got " != *" $w "* ]] || bad=1
	done
	if [ -n "$bad" ]; then
		not_ok "$name" "'$*' completes to '$got' ($(<"$ERR"))"
	else
		ok "$name"
	fi
}

if [ -f /usr/share/bash-completion/bash_completion ] && [ -f "$COMPLETION" ]; then
	arr_id=$("$BPFTOOL" -j map show pinned "$D/arr" | jq .id)
	avoid= completes completion_object timer ti
	avoid= completes completion_commands 'create help list show' timer ''
	avoid= completes completion_create 'map prog pin_cpu delay at' timer create ''
	avoid=delay completes completion_create_at 'map pin_cpu' timer create prog id 1 at 5 ''
	avoid=$arr_id completes completion_map_ids "$map_id" timer create map id ''
	avoid= completes completion_prog_ids "$prog_id" timer create map id "$map_id" \
		prog id ''
	avoid=plain_array completes completion_map_names tm_bpftool timer show map name ''
	avoid= completes completion_show map timer show ''
	avoid= completes completion_map_create_extra extra map create "$D/x" type timer \
		key 4 value 8 entries 4 name x ''
	avoid= completes completion_map_update_value 'delay at disarm' map update \
		pinned "$D/tm" key 0 value ''
	avoid= completes completion_prog_load_type timer prog load "$OBJ" "$D/x" type ti
else
	echo "skip - completion (no bash-completion or no $COMPLETION)"
fi

# --- feature probe ---------------------------------------------------------
if [ -n "${SKIP_FEATURE_PROBE:-}" ]; then
	echo "skip - feature_probe (SKIP_FEATURE_PROBE set)"
else
	wait "$probe_pid"
	rc=$?
	out=$(<"$PROBE")
	if [ $rc -ne 0 ]; then
		not_ok feature_probe \
			"'bpftool -j feature probe kernel' failed ($rc): $(<"$PROBE.err")"
	elif ! jq -e '.program_types.have_timer_prog_type and
		     .map_types.have_timer_map_type' <<<"$out" >/dev/null 2>&1; then
		not_ok feature_probe "no have_timer_prog_type and have_timer_map_type in its output"
	else
		ok feature_probe
	fi
fi

echo "# $passed passed, $failed failed"
[ $failed -eq 0 ]
