#!/bin/sh
# For scripts/profile --mark __x64_sys_getpriority: runs CMD in the guest
# and marks a window in it with nice(1), which calls getpriority(2): WAIT
# seconds in (default 7, once the timers run), then SPAN seconds later
# (default 4). CMD's output goes to /tmp/out/cmd.log, its summary to stdout.
#   scripts/profile --mark __x64_sys_getpriority -- bench/profile-window.sh CMD...
"$@" >/tmp/out/cmd.log 2>&1 &
pid=$!
sleep "${WAIT:-7}"; nice >/dev/null
sleep "${SPAN:-4}"; nice >/dev/null
wait $pid
grep Summary /tmp/out/cmd.log
