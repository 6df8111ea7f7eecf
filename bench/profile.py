#!/usr/bin/env python3
"""Guest instructions per function from bench/insn-profile.c's snapshots.

  profile.py COUNTS SYSTEM_MAP [--from N] [--to M] [--list]
             [--per K | --per-calls FUNC [--scale S]] [--top T]

Prints the instructions each kernel function executed between snapshots N
and M (default: the first and the last; --list shows them all), most
first, and its calls (executions of the block at its entry; "-" where
none starts there: code inlined or entered sideways). --per K divides by
K (say, the number of timers), --per-calls FUNC by FUNC's calls in the
window times S (say, timers per call). Block start addresses are mapped
to the function containing them; user space and BPF JIT code show as
[user] and [bpf].
"""
import argparse
import bisect


def read_snaps(path):
    snaps, cur = [], None
    with open(path) as f:
        for line in f:
            if line.startswith('@snap'):
                _, n, why, addr = line.split()
                cur = {}
                snaps.append((why + (' ' + addr if why == 'mark' else ''), cur))
            else:
                a, i, e = line.split()
                cur[int(a, 16)] = (int(i), int(e))
    return snaps


def read_map(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            a, t, name = line.split()[:3]
            if t in 'tTwW':
                addrs.append(int(a, 16))
                names.append(name)
    return addrs, names


def where(addr, addrs, names):
    """(function, whether addr is its entry)"""
    if addr < 0x8000000000000000:
        return '[user]', False
    i = bisect.bisect_right(addrs, addr) - 1
    # _etext closes the kernel's text; above it: modules and the BPF JIT
    if i < 0 or names[i] in ('_etext', '_end') or addr - addrs[i] > 0x100000:
        return '[bpf]', False
    return names[i], addr == addrs[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('counts')
    ap.add_argument('system_map')
    ap.add_argument('--from', dest='first', type=int, default=0)
    ap.add_argument('--to', type=int, default=-1)
    ap.add_argument('--per', type=float, default=0)
    ap.add_argument('--per-calls')
    ap.add_argument('--scale', type=float, default=1)
    ap.add_argument('--top', type=int, default=40)
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    snaps = read_snaps(a.counts)
    if a.list or len(snaps) < 2:
        for i, (why, c) in enumerate(snaps):
            print(f'snapshot {i}: {why}, {sum(x[0] for x in c.values())} '
                  'instructions so far')
        if len(snaps) < 2:
            return
    addrs, names = read_map(a.system_map)
    (w0, c0), (w1, c1) = snaps[a.first], snaps[a.to]
    insns, calls = {}, {}
    for addr, (n, e) in c1.items():
        n0, e0 = c0.get(addr, (0, 0))
        f, entry = where(addr, addrs, names)
        if n > n0:
            insns[f] = insns.get(f, 0) + n - n0
        if entry:
            calls[f] = calls.get(f, 0) + e - e0
    total = sum(insns.values())
    per, unit = 1.0, ''
    if a.per:
        per, unit = a.per, f'per {a.per:g}'
    elif a.per_calls:
        per = calls.get(a.per_calls, 0) * a.scale
        unit = f'per {a.per_calls} call' + (f' / {a.scale:g}' if a.scale != 1 else '')
        if not per:
            raise SystemExit(f'{a.per_calls}: no calls in the window')
    print(f'snapshots {a.first} ({w0}) to {a.to} ({w1}): {total} instructions'
          + (f', {total / per:.1f} {unit}' if unit else ''))
    print(f'{"instructions":>14} {"share":>6} {"calls":>12}  function')
    for f, n in sorted(insns.items(), key=lambda x: -x[1])[:a.top]:
        c = f'{calls[f] / per:12.3f}' if f in calls and unit else \
            f'{calls[f]:12d}' if f in calls else f'{"-":>12}'
        print(f'{n / per:14.1f} {100.0 * n / total:5.1f}% {c}  {f}')


if __name__ == '__main__':
    main()
