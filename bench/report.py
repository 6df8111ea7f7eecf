#!/usr/bin/env python3
"""Turn the raw results of scripts/bench into a Markdown table and a plot.

    bench/report.py RUN-DIR OUT-DIR   -> OUT-DIR/latest.md, OUT-DIR/latest.png

RUN-DIR holds plain/raw.jsonl (wall time) and icount-1/, icount-2/ (QEMU
-icount shift=0: guest ns = guest instructions), each one JSON object a line
from bench/timer_bench.c; accel and machine.txt describe the host.
"""
import json
import os
import statistics as st
import sys

VARIANTS = ["wheel", "hres", "hres500", "upstream", "timerfd"]
VNAME = {"gc-kernel": "GC sweep in the kernel", "gc-user": "GC sweep from user space", "wheel": "timer map, wheel", "hres": "timer map, hrtimer",
         "hres500": "timer map, hrtimer 500 µs",
         "upstream": "upstream bpf_timer", "timerfd": "timerfd+epoll+test_run"}
BODIES = ["trivial", "realistic"]


def load(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    pass
    return recs


class Run:
    def __init__(self, name, recs):
        self.name = name
        self.recs = recs
        base = [r for r in recs if r["kind"] == "baseline"]
        self.base_rate = base[0]["busy_ns"] / base[0]["wall_ns"] if base else 0.0

    def of(self, kind, **kw):
        return [r for r in self.recs if r["kind"] == kind and
                all(r.get(k) == v for k, v in kw.items())]

    def fire_cost(self, v, n, body):
        """CPU ns per firing (baseline busy subtracted), one per window."""
        out = []
        for r in self.of("fire", variant=v, n=n, body=body):
            if r["fires"]:
                busy = r["busy_ns"] - self.base_rate * r["wall_ns"]
                out.append(max(busy, 0) / r["fires"])
        return out

    def fire_rate(self, v, n, body):
        return [r["fires"] * 1e9 / r["wall_ns"] for r in self.of("fire", variant=v, n=n, body=body)]

    def counts(self):
        return sorted({r["n"] for r in self.recs if r["kind"] == "fire"})


def med(xs):
    return st.median(xs) if xs else None


def spread(xs):
    """Half the range, relative to the median, in %."""
    if not xs or len(xs) < 2 or not med(xs):
        return None
    return (max(xs) - min(xs)) / 2 / med(xs) * 100


def fmt_ns(x):
    if x is None:
        return "–"
    if x >= 1e9:
        return "%.2f s" % (x / 1e9)
    if x >= 1e6:
        return "%.1f ms" % (x / 1e6)
    if x >= 1e3:
        return "%.2f µs" % (x / 1e3)
    return "%.0f ns" % x


def fmt_sp(xs):
    m = med(xs)
    if m is None:
        return "–"
    s = spread(xs)
    return fmt_ns(m) + ("" if s is None else " ±%.0f%%" % s)


def rel_diff(a, b):
    if a is None or b is None or not (a + b):
        return None
    return abs(a - b) / ((a + b) / 2) * 100


def nname(n):
    return {1: "1", 1000: "1k", 10000: "10k", 100000: "100k", 1000000: "1M"}.get(n, str(n))


def main():
    rundir, outdir = sys.argv[1], sys.argv[2]
    plain = Run("plain", load(os.path.join(rundir, "plain", "raw.jsonl")))
    ic = [Run(n, load(os.path.join(rundir, n, "raw.jsonl"))) for n in ("icount-1", "icount-2")]
    ic = [r for r in ic if r.recs]
    accel = open(os.path.join(rundir, "accel")).read().strip() if os.path.exists(
        os.path.join(rundir, "accel")) else "tcg"
    machine = open(os.path.join(rundir, "machine.txt")).read().strip() if os.path.exists(
        os.path.join(rundir, "machine.txt")) else ""
    wall = "real time (KVM)" if accel == "kvm" else "guest wall time (TCG, emulated)"
    I1 = ic[0] if ic else None
    I2 = ic[1] if len(ic) > 1 else None
    counts = plain.counts() or (I1.counts() if I1 else [])
    L = []
    p = L.append
    p("# Timer benchmark results\n")
    p("Run `%s`, %s. Host:\n" % (os.path.basename(rundir), "quick mode" if "quick" in rundir else "full mode"))
    if not counts:
        p("(`--gc-only`: the GC sweep alone; the timer tables below are empty.)\n")
    p("```\n%s\naccel: %s\n```\n" % (machine, accel))
    guest = plain.of("guest") or (I1.of("guest") if I1 else [])
    if guest:
        p("Guest: %d vCPU(s) for the wall-time run, kernel %s (release config); "
          "icount runs: QEMU `-icount shift=0,sleep=off`, 1 vCPU, so **icount ns = guest "
          "instructions** (idle time skipped).\n" % (guest[0]["cpus"], guest[0]["kernel"]))
        for g, name in ((plain.of("guest"), "wall-time"), (I1.of("guest") if I1 else [], "icount-1")):
            if g and "hres_active" in g[0]:
                p("hres_active per CPU (/proc/timer_list), %s run: %s\n" % (name, g[0]["hres_active"]))
    p("Two figures for every cost: **wall** = %s, median of the repetitions ± half their "
      "range; **icount** = instructions (run 1), with the relative difference to run 2 "
      "of the same deterministic measurement in brackets.\n" % wall)

    def icf(fn, *a):
        """icount figure: run-1 median [Δ to run 2]."""
        if not I1:
            return "–"
        a1 = med(fn(I1, *a))
        if a1 is None:
            return "–"
        s = fmt_ns(a1)
        if I2:
            a2 = med(fn(I2, *a))
            d = rel_diff(a1, a2)
            if d is not None:
                s += " [Δ%.1f%%]" % d
        return s

    # ---- per-fire cost
    p("## CPU time per firing (all CPUs, idle-baseline subtracted)\n")
    p("Periodic timers, period chosen so the firing rate stays near 5000/s "
      "(1 ms period for N=1). Callback bodies: *trivial* = per-CPU counter increment; "
      "*realistic* = hash lookup + update of a per-flow counter. Both record their "
      "lateness (bpf_ktime_get_ns, a per-CPU histogram).\n")
    hdr = "| N | timers | body | wall/fire | icount/fire | fires/s (wall) |"
    p(hdr)
    p("|---|---|---|---|---|---|")
    for n in counts:
        for v in VARIANTS:
            for b in BODIES:
                p("| %s | %s | %s | %s | %s | %s |" % (
                    nname(n), VNAME[v], b, fmt_sp(plain.fire_cost(v, n, b)),
                    icf(Run.fire_cost, v, n, b),
                    "%.0f" % med(plain.fire_rate(v, n, b)) if plain.fire_rate(v, n, b) else "–"))
    p("")
    fl = {b: [r["per_ns"] for r in plain.of("floor", body=b)] for b in BODIES}
    p("**Floor** (BPF_PROG_TEST_RUN, repeat=100000, the callback alone): " + "; ".join(
        "%s %s wall, %s icount" % (b, fmt_sp(fl[b]),
                                    icf(lambda R, bb: [r["per_ns"] for r in R.of("floor", body=bb)], b))
        for b in BODIES) + ".\n")

    # ---- ratios
    p("## Ratios (per-fire CPU time, trivial body; >1 means the timer map is cheaper)\n")
    p("| N | basis | upstream / wheel | upstream / hrtimer | upstream / hrtimer 500 µs | timerfd / wheel | timerfd / hrtimer | wheel / floor | hrtimer / floor |")
    p("|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for n in counts:
        for label, R in (("wall", plain), ("icount", I1)):
            if R is None:
                continue
            c = {v: med(R.fire_cost(v, n, "trivial")) for v in VARIANTS}
            f = med([r["per_ns"] for r in R.of("floor", body="trivial")])

            def rt(a, b):
                return "%.1f×" % (a / b) if a and b else "–"
            ratios[(n, label)] = (c, f)
            p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                nname(n), label, rt(c["upstream"], c["wheel"]), rt(c["upstream"], c["hres"]),
                rt(c["upstream"], c["hres500"]), rt(c["timerfd"], c["wheel"]), rt(c["timerfd"], c["hres"]),
                rt(c["wheel"], f), rt(c["hres"], f)))
    p("")

    # ---- operations
    nmax = max(counts) if counts else 0
    p("## Operations, per timer (N = %s)\n" % nname(nmax))
    p("create: `BPF_TIMER_CREATE` per timer vs upstream's sequence from a program "
      "(hash insert, bpf_timer_init, set_callback, start; bpf_loop in a tc program run by "
      "BPF_PROG_TEST_RUN, 16k timers a run). re-arm from user space: map update vs "
      "(bpf_timer has no user-space API) one BPF_PROG_TEST_RUN of a program doing "
      "bpf_timer_start. re-arm from BPF: map update vs bpf_timer_start in a bpf_loop. "
      "delete: bpf_map_delete_elem from user space (timer map: delete the timer; "
      "upstream: delete the hash element, which cancels and frees its timer). "
      "close: close() of the last fd of the map holding the rest of the timers armed "
      "(the timer map deletes them in map_release_uref), and until the map id is gone.\n")
    p("| op | variant | wall/timer | icount/timer |")
    p("|---|---|---|---|")
    for op in ("create", "rearm_user", "rearm_bpf", "delete_user", "close", "close_freed"):
        for v in ("wheel", "hres", "upstream"):
            def opf(R, vv, oo):
                return [r["per_ns"] for r in R.of("op", variant=vv, op=oo, n=nmax)]
            p("| %s | %s | %s | %s |" % (op, VNAME[v], fmt_sp(opf(plain, v, op)), icf(opf, v, op)))
    p("")
    p("Close of the map with %s armed timers (whole map, ms): " % nname(nmax) + "; ".join(
        "%s close() %s, freed after %s" % (
            VNAME[v],
            fmt_ns(med([r["wall_ns"] for r in plain.of("op", variant=v, op="close", n=nmax)])),
            fmt_ns(med([r["wall_ns"] for r in plain.of("op", variant=v, op="close_freed", n=nmax)])))
        for v in ("wheel", "hres", "upstream")) + " (wall).\n")

    # ---- memory
    p("## Memory per armed timer\n")
    p("map_mem_usage = `memlock` of /proc/PID/fdinfo after arming; slab = growth of "
      "/proc/slabinfo (Σ num_objs × objsize, `slab_nomerge`) while creating and arming; "
      "total = map_mem_usage + slab growth not already in map_mem_usage (upstream: the "
      "struct bpf_hrtimer kmalloc'ed by bpf_timer_init is not in map_mem_usage, the "
      "preallocated hash elements are).\n")
    p("| N | variant | map_mem_usage/timer | slab growth/timer | total/timer |")
    p("|---|---|---|---|---|")
    mem_total = {}
    for n in counts:
        if n < 1000:
            continue
        for v in ("wheel", "hres", "upstream"):
            m = plain.of("mem", variant=v, n=n)
            if not m:
                continue
            m = m[0]
            ml = m["memlock"] / n
            sl = m["slab_arm"] / n
            tot = ml + (sl if v == "upstream" else 0)
            mem_total[(n, v)] = tot
            p("| %s | %s | %.0f B | %.0f B | %.0f B |" % (nname(n), VNAME[v], ml, sl, tot))
    p("")

    # ---- lateness
    p("## Lateness (callback run time − scheduled expiry), trivial body, wall run\n")
    p("Histogram buckets are 1/8 of a power of two wide; p50/p99 are bucket upper bounds. "
      "`early` counts runs before their expiry (must be 0).\n")
    p("| N | variant | p50 | p99 | max | early |")
    p("|---|---|---|---|---|---|")
    for n in counts:
        for v in VARIANTS:
            rs = plain.of("fire", variant=v, n=n, body="trivial")
            if not rs:
                continue
            p("| %s | %s | %s | %s | %s | %d |" % (
                nname(n), VNAME[v], fmt_ns(med([r["late_p50"] for r in rs])),
                fmt_ns(med([r["late_p99"] for r in rs])), fmt_ns(max(r["late_max"] for r in rs)),
                sum(r["early"] for r in rs + plain.of("fire", variant=v, n=n, body="realistic"))))
    p("")

    # ---- GC
    p("## GC sweep of a flow table at 1M, 4M and 16M flows\n")
    p("The timer_gc sample's sharded table (samples/bpf/timer_gc_kern.c): hash maps of 1024 "
      "flows at most, three quarters full on average, in an array of maps; 10% of the flows "
      "idle past the timeout. **kernel**: every shard's GC timer (one per shard, pinned "
      "round-robin to the CPUs) runs once, bpf_for_each_map_elem over its shard deleting "
      "the idle flows. **user**: per shard, bpf_map_lookup_batch of the whole shard, then "
      "bpf_map_delete_batch of the idle ones, one thread. CPU = busy time of all CPUs during "
      "the sweep (baseline subtracted; for the kernel sweep at least the callbacks' run time "
      "from the BPF statistics, /proc/stat being sampled at the tick). Longest run = the longest single callback run "
      "(bpf_ktime_get_ns() around it): in the icount run, guest instructions; target at "
      "most 1,000,000 (1 ms at 1 instruction a ns). Ratio = user CPU / kernel CPU, target "
      "at least 4.\n")
    p("| flows | shards | longest run (icount) | most flows in a run | kernel CPU (wall) | "
      "user CPU (wall) | ratio (wall) | kernel CPU (icount) | user CPU (icount) | "
      "ratio (icount) | kernel per flow (icount) | elapsed kernel / user (wall) |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|")

    def gcf(R, how, flows):
        # /proc/stat is sampled at the tick: the kernel sweep's CPU is at
        # least its callbacks' run time (BPF stats, ktime).
        return [max(r["busy_ns"] - R.base_rate * r["wall_ns"], r["prog_ns"], 0)
                for r in R.of("gc", how=how, flows=flows)]
    sizes = sorted({r["flows"] for r in plain.of("gc")} |
                   ({r["flows"] for r in I1.of("gc")} if I1 else set()))
    gc_rows = []
    for fl in sizes:
        anyr = (plain.of("gc", flows=fl) or I1.of("gc", flows=fl))[0]
        gk, gu = med(gcf(plain, "kernel", fl)), med(gcf(plain, "user", fl))
        ik = med(gcf(I1, "kernel", fl)) if I1 else None
        iu = med(gcf(I1, "user", fl)) if I1 else None
        ikr = I1.of("gc", how="kernel", flows=fl) if I1 else []
        longest = max(r["max_run_ns"] for r in ikr) if ikr else None
        most = max((r["max_scanned"] for r in plain.of("gc", how="kernel", flows=fl) + ikr),
                   default=None)
        ratio = lambda u, k: "%.1f×" % (u / k) if u and k else "–"
        p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |" % (
            "{:,}".format(fl), "{:,}".format(anyr["shards"]),
            "{:,} insns".format(longest) if longest is not None else "–",
            most if most is not None else "–",
            fmt_sp(gcf(plain, "kernel", fl)), fmt_sp(gcf(plain, "user", fl)), ratio(gu, gk),
            icf(gcf, "kernel", fl), icf(gcf, "user", fl), ratio(iu, ik),
            fmt_ns(ik / fl) if ik else "–",
            fmt_ns(med([r["wall_ns"] for r in plain.of("gc", how="kernel", flows=fl)])),
            fmt_ns(med([r["wall_ns"] for r in plain.of("gc", how="user", flows=fl)]))))
        gc_rows.append((fl, longest, gk, gu, ik, iu))
    p("")

    # ---- determinism
    if I1 and I2:
        diffs = []
        for n in counts:
            for v in VARIANTS:
                for b in BODIES:
                    d = rel_diff(med(I1.fire_cost(v, n, b)), med(I2.fire_cost(v, n, b)))
                    if d is not None:
                        diffs.append(d)
        for op in ("create", "rearm_user", "rearm_bpf", "delete_user", "close"):
            for v in ("wheel", "hres", "upstream"):
                a = med([r["per_ns"] for r in I1.of("op", variant=v, op=op, n=nmax)])
                b = med([r["per_ns"] for r in I2.of("op", variant=v, op=op, n=nmax)])
                d = rel_diff(a, b)
                if d is not None:
                    diffs.append(d)
        p("## Do the two icount runs agree?\n")
        if diffs:
            p("Relative difference between run 1 and run 2 over %d icount figures (per-fire "
              "costs and operations): median %.1f%%, 90th percentile %.1f%%, max %.1f%%. "
              "Wall-time repetitions in the same boot spread by a median of ±%.0f%% (per-fire).\n" % (
                  len(diffs), st.median(diffs), sorted(diffs)[int(0.9 * (len(diffs) - 1))],
                  max(diffs),
                  st.median([s for s in (spread(plain.fire_cost(v, n, b)) for n in counts
                                         for v in VARIANTS for b in BODIES) if s is not None] or [0])))

    # ---- targets
    p("## Targets\n")
    p("| target | basis | measured | met? |")
    p("|---|---|---|---|")
    for n in counts:
        for label in ("wall", "icount"):
            if (n, label) not in ratios:
                continue
            c, f = ratios[(n, label)]
            best = min([x for x in (c["wheel"], c["hres"]) if x] or [0])
            if c["upstream"] and c["wheel"] and c["hres"]:
                ok_w = c["wheel"] <= c["upstream"]
                ok_h = c["hres"] <= c["upstream"]
                p("| per-fire cost ≤ upstream bpf_timer, N=%s | %s | wheel %s, hrtimer %s, upstream %s | wheel %s, hrtimer %s |" % (
                    nname(n), label, fmt_ns(c["wheel"]), fmt_ns(c["hres"]), fmt_ns(c["upstream"]),
                    "yes" if ok_w else "**no**", "yes" if ok_h else "**no**"))
            if c["upstream"] and c["hres500"] and n >= 1000:
                p("| hrtimer 500 µs per-fire cost ≤ 0.5× upstream bpf_timer, N=%s | %s | %.2f× (%s, upstream %s) | %s |" % (
                    nname(n), label, c["hres500"] / c["upstream"], fmt_ns(c["hres500"]),
                    fmt_ns(c["upstream"]), "yes" if c["hres500"] <= 0.5 * c["upstream"] else "**no**"))
            if c["timerfd"] and best:
                p("| ≥ 20× below timerfd+test_run, N=%s | %s | wheel %.1f×, hrtimer %.1f× | wheel %s, hrtimer %s |" % (
                    nname(n), label, c["timerfd"] / c["wheel"], c["timerfd"] / c["hres"],
                    "yes" if c["timerfd"] / c["wheel"] >= 20 else "**no**",
                    "yes" if c["timerfd"] / c["hres"] >= 20 else "**no**"))
    for n in counts:
        rs = plain.of("fire", variant="hres500", n=n, body="trivial")
        if rs and n >= 1000:
            p99 = med([r["late_p99"] for r in rs])
            p("| hrtimer 500 µs p99 lateness ≤ one resolution, N=%s | wall | %s | %s |" % (
                nname(n), fmt_ns(p99), "yes" if p99 <= 500000 else "**no**"))
    for (n, v), t in sorted(mem_total.items()):
        if n == nmax and v != "upstream":
            p("| ≤ 96 B per armed timer, N=%s | map_mem_usage | %s %.0f B | %s |" % (
                nname(n), VNAME[v], t, "yes" if t <= 96 else "**no**"))
    for fl, longest, gk, gu, ik, iu in gc_rows:
        if longest is not None:
            p("| longest GC callback run ≤ 1,000,000 guest instructions, %s flows | icount | %s | %s |" % (
                "{:,}".format(fl), "{:,}".format(longest), "yes" if longest <= 1000000 else "**no**"))
        for what, k, u in (("wall", gk, gu), ("icount", ik, iu)):
            if k and u:
                p("| kernel GC ≤ 1/4 of user-space GC CPU, %s flows | %s | %.1f× | %s |" % (
                    "{:,}".format(fl), what, u / k, "yes" if u / k >= 4 else "**no**"))
    p("")

    # ---- the series' own benchmark, as the guests printed it
    sb = [(n, os.path.join(rundir, n, "selftests-bench.txt")) for n in ("plain", "icount-1", "icount-2")]
    sb = [(n, open(f).read().rstrip()) for n, f in sb if os.path.exists(f)]
    if sb:
        p("## The selftests benchmark (benchs/run_bench_timer_map.sh, patch 26)\n")
        p("Summary lines of `bench timer-map-fire` and `bench timer-map-create`, run in "
          "the same boots (CPU per fire: busy time of all CPUs less the idle busy rate; "
          "lateness in whole µs buckets).\n")
        for n, text in sb:
            p("%s:\n\n```\n%s\n```\n" % (n, text))

    # ---- profiles
    for run, what in (("icount-1", "icount run: samples follow guest instructions"),
                      ("plain", "wall run: samples follow emulated time")):
        prof = []
        for v in VARIANTS + ["gc-kernel", "gc-user"]:
            path = os.path.join(rundir, run, "perf-%s.txt" % v)
            if not os.path.exists(path):
                continue
            rows = []
            for line in open(path):
                parts = line.split()
                if len(parts) >= 3 and parts[0].endswith("%") and parts[1] in ("[k]", "[.]"):
                    rows.append((float(parts[0][:-1]), " ".join(parts[2:])))
            isidle = lambda sym: "halt" in sym or sym in ("default_idle", "cpuidle_idle_call")
            idle = sum(x for x, sym in rows if isidle(sym))
            busy = [(x, sym) for x, sym in rows if not isidle(sym)]
            if busy and idle < 100:
                tot = 100 - idle
                prof.append("- %s (%.0f%% of samples idle; share of the rest): %s" % (
                    VNAME.get(v, v), idle,
                    ", ".join("`%s` %.0f%%" % (sym, x / tot * 100) for x, sym in busy[:10])))
        if prof:
            p("## Profiles: perf record -a -e cpu-clock in the guest, N=1k, trivial body (%s)\n" % what)
            p("\n".join(prof) + "\n")

    md = "\n".join(L) + "\n"
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(rundir, "report.md"), "w") as f:
        f.write(md)
    plot(plain, I1, counts, mem_total, gc_rows, wall, os.path.join(outdir, "latest.png"))
    print(md)


def plot(plain, I1, counts, mem_total, gc, wall, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(2, 2, figsize=(13, 9))
    for a, R, title in ((ax[0][0], plain, "CPU per firing, " + wall),
                        (ax[0][1], I1, "CPU per firing, icount (guest instructions)")):
        if R is None:
            continue
        for v in VARIANTS:
            ys = [med(R.fire_cost(v, n, "trivial")) for n in counts]
            lo = [min(R.fire_cost(v, n, "trivial") or [0]) for n in counts]
            hi = [max(R.fire_cost(v, n, "trivial") or [0]) for n in counts]
            xs = [max(n, 1) for n in counts]
            if any(y is not None for y in ys):
                yv = [y / 1e3 if y else float("nan") for y in ys]
                a.errorbar(xs, yv, yerr=[[max(y - l / 1e3, 0) for y, l in zip(yv, lo)],
                                         [max(h / 1e3 - y, 0) for y, h in zip(yv, hi)]],
                           marker="o", capsize=3, label=VNAME[v])
        fl = med([r["per_ns"] for r in R.of("floor", body="trivial")])
        if fl:
            a.axhline(fl / 1e3, color="gray", ls="--", label="floor (test_run)")
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("armed periodic timers")
        a.set_ylabel("µs per firing (trivial body)")
        a.set_title(title)
        a.legend(fontsize=8)
        a.grid(True, which="both", alpha=0.3)
    a = ax[1][0]
    ns = sorted({n for n, _ in mem_total})
    w = 0.25
    for i, v in enumerate(("wheel", "hres", "upstream")):
        a.bar([j + i * w for j in range(len(ns))], [mem_total.get((n, v), 0) for n in ns], w,
              label=VNAME[v])
    a.axhline(96, color="red", ls="--", label="target 96 B")
    a.set_xticks([j + w for j in range(len(ns))])
    a.set_xticklabels([nname(n) for n in ns])
    a.set_ylabel("bytes per armed timer")
    a.set_title("Memory per armed timer")
    a.legend(fontsize=8)
    a = ax[1][1]
    xs = [fl for fl, *_ in gc]
    for j, (lab, col) in enumerate((("kernel, wall", 2), ("user, wall", 3),
                                   ("kernel, icount", 4), ("user, icount", 5))):
        ys = [row[col] / row[0] if row[col] else 0 for row in gc]
        a.bar([i + (j - 1.5) * 0.2 for i in range(len(xs))], ys, 0.2, label=lab)
    a.set_xticks(range(len(xs)))
    a.set_xticklabels(["{:,}".format(x) for x in xs])
    a.set_xlabel("flows in the table")
    a.set_ylabel("CPU ns per flow and sweep")
    a.set_title("GC sweep: timer map callbacks vs user-space batch GC")
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
