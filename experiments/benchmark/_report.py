"""results.md: the tables a reader wants, rendered from results.json's content."""

import re

from _case_train import METHODS


def fmt(x: float) -> str:
    if x != x:  # NaN
        return "nan"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.3g} G"
    if a >= 1e4 or a < 1e-3:
        return f"{x:.2e}"
    return f"{x:.3g}"


def cell(fig: dict | None) -> str:
    if fig is None:
        return "–"
    if len(fig["repeats"]) == 1:
        return fmt(fig["median"])
    return f"{fmt(fig['median'])} ({fmt(fig['min'])}–{fmt(fig['max'])})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def _grid(figs: dict, prefix: str) -> list[tuple[int, int]]:
    pairs = set()
    for name in figs:
        m = re.match(rf"{prefix}/H(\d+)/K(\d+)/", name)
        if m:
            pairs.add((int(m.group(1)), int(m.group(2))))
    return sorted(pairs)


def render(doc: dict, command: str) -> str:
    figs, ratios = doc["figures"], doc["ratios"]
    m, v = doc["machine"], doc["versions"]
    lines = ["# neurodyn benchmark results", ""]
    lines += [f"Command: `{command}`  ", f"Date: {doc['date']}  ", f"Settings: {doc['settings_line']}", ""]
    lines += [
        f"Machine: {m['cpu_model']}, {m['cores']} cores; JAX backend `{m['backend']}` "
        f"({m['device_kind']}, {m['device_count']} device(s)); load average at start "
        f"{m['load_average_start']}, at end {m.get('load_average_end')}; threads: JAX all "
        f"{m['cores']} cores, torch {m.get('torch_threads')}; OMP_WAIT_POLICY={m['omp_wait_policy']}, "
        f"OPENBLAS_NUM_THREADS={m.get('openblas_num_threads')}.  ",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
        "",
        "Each figure: median of the repeats after warm-up, (min–max) over repeats. Every ratio "
        "divides two medians of this run.",
        "",
    ]
    if ratios:
        lines += ["## Key ratios", ""]
        lines += _table(["ratio", "value"], [[k, fmt(r["value"])] for k, r in ratios.items()])

    grid = _grid(figs, "throughput")
    if grid:
        methods = [k for k in METHODS if any(f"throughput/H{h}/K{kk}/{k}" in figs for h, kk in grid)]
        lines += ["## (a) Training throughput, network-steps/s (higher is better)", ""]
        lines += [
            "CTRNN on the 3-bit flip-flop, batch 64, T = 100, Adam. " + "; ".join(f"`{k}`: {METHODS[k]}" for k in methods) + ".",
            "",
        ]
        rows = []
        for h, k in grid:
            row = [str(h), str(k)] + [cell(figs.get(f"throughput/H{h}/K{k}/{meth}")) for meth in methods]
            group = figs.get(f"throughput/H{h}/K{k}/neurodyn_group")
            for meth in methods[1:]:
                other = figs.get(f"throughput/H{h}/K{k}/{meth}")
                row.append(f"{group['median'] / other['median']:.2f}×" if group and other else "–")
            rows.append(row)
        header = ["H", "K"] + [f"`{x}`" for x in methods] + [f"group / `{x}`" for x in methods[1:]]
        lines += _table(header, rows)

    if "roofline/matmul_peak" in figs:
        peak = figs["roofline/matmul_peak"]
        lines += ["## (b) Roofline", ""]
        lines += [
            f"Dense matmul (`jnp.dot`, {peak['params']['n']}² float32): {cell(peak)} FLOP/s. "
            "A training step's FLOPs are its matmuls, counted by hand (forward + backward); "
            "the fraction below is FLOPs × network-steps/s ÷ that rate.",
            "",
        ]
        rows = []
        for h, k in _grid(figs, "roofline"):
            rows.append([str(h), str(k)] + [cell(figs.get(f"roofline/H{h}/K{k}/{meth}")) for meth in METHODS])
        if rows:
            lines += _table(["H", "K"] + [f"`{x}`" for x in METHODS], rows)
        chains = sorted(
            (int(a), int(b), c, n) for n in figs for a, b, c in re.findall(r"roofline/chain/H(\d+)/K(\d+)/(\w+)$", n)
        )
        if chains:
            lines += [
                "The recurrence's matmul chain alone (T = 100 steps of h ← tanh(h W), batch 64), "
                "K networks vmapped (one batched matmul per step) or by `lax.map` (one after "
                "another inside one program) on one device, or as a sweep runs a group (split "
                "over every device, `lax.map` on each), as a fraction of the dense rate. On a "
                "CPU one device does about one core's work on these small matmuls, while the "
                "dense rate uses every core: the sweep layout's row is the ceiling a sweep's "
                "step is measured against.",
                "",
            ]
            lines += _table(
                ["H", "K", "members by", "FLOP/s", "fraction of dense"],
                [[str(h), str(k), {"map": "lax.map", "sweep": "sweep layout"}.get(c, c), cell(figs[n]), f"{figs[n]['median'] / peak['median']:.2f}"]
                 for h, k, c, n in chains],
            )

    comp = sorted(int(k) for k in re.findall(r"compile/H\d+/K(\d+)/total", " ".join(figs)))
    if comp:
        lines += ["## (c) Compile time of one group's training call, s (lower is better)", ""]
        h = next(n for n in figs if n.startswith("compile/")).split("/")[1]
        lines += _table(
            ["K", "trace", "compile", "total"],
            [[str(k)] + [cell(figs[f"compile/{h}/K{k}/{p}"]) for p in ("trace", "compile", "total")] for k in comp],
        )

    fps = [n for n in figs if n.startswith("fixed_points/")]
    if fps:
        info = doc["info"].get("fixed_points", {})
        lines += ["## (d) Fixed points", ""]
        lines += [
            f"{info.get('candidates')} candidates on a trained {info.get('hidden')}-unit CTRNN "
            f"({info.get('train_steps')} Adam steps, loss {fmt(info.get('final_train_loss', float('nan')))}), "
            f"{info.get('dtype')}, tolerance q < {info.get('tol_q')}.",
            "",
        ]
        rows = []
        for n in fps:
            p = figs[n]["params"]
            rows.append([
                f"`{n.split('/')[1]}`", cell(figs[n]), str(p["adam_budget"]),
                f"from q ≤ {p['newton_from_q']}" if p["newton"] else "no",
                f"{p['converged_fraction']:.3f}", fmt(p["median_q"]), str(p["unique_points"]),
            ])
        lines += _table(["finder", "time, s", "Adam budget", "Newton", "converged", "median q", "unique points"], rows)

    if "store/write_trajectories" in figs:
        lines += ["## (e) Store", ""]
        w = figs["store/write_trajectories"]
        lines += [f"Trajectories {w['params']['shape']} float32 ({w['params']['mb']} MB, {w['params']['on_disk_mb']} MB on disk).", ""]
        rows = [[name.split("/")[1], cell(figs[name]), figs[name]["unit"]] for name in figs if name.startswith("store/")]
        lines += _table(["figure", "value", "unit"], rows)
        p = figs["store/sweep_wall"]["params"]
        lines += [
            f"Sweep: {p['members']} members, H = {p['hidden']}, {p['n_steps']} steps, timed whole "
            "(compilation included); time inside store calls (median s, calls): "
            + ", ".join(f"{k} {s} ×{p['store_calls'][k]}" for k, s in p["store_seconds_median"].items()) + ".",
            "",
        ]

    mem = sorted({int(t) for t in re.findall(r"memory/\w+/T(\d+)/", " ".join(figs))})
    if mem:
        lines += ["## (f) Peak memory of one group's training against T", ""]
        any_fig = next(figs[n] for n in figs if n.startswith("memory/"))["params"]
        lines += [
            f"K = {any_fig['K']}, H = {any_fig['hidden']}, batch {any_fig['batch']}; growth = peak RSS − RSS "
            "before the first call (MB); `checkpointed` = `TrainConfig(bptt_chunk=k)` with k the largest divisor of T up to √T (the backward pass keeps one state per chunk).",
            "",
        ]
        rows = []
        for t in mem:
            row = [str(t)]
            for var in ("library", "checkpointed"):
                row += [cell(figs.get(f"memory/{var}/T{t}/growth")), cell(figs.get(f"memory/{var}/T{t}/step_time"))]
            rows.append(row)
        lines += _table(["T", "library growth, MB", "library step, s", "checkpointed growth, MB", "checkpointed step, s"], rows)

    par = sorted(
        {(int(h), int(t), g) for h, t, g in re.findall(r"parallel/H(\d+)/T(\d+)/g([\d.]+)/", " ".join(figs))}
    )
    if par:
        info = doc["info"].get("parallel", {})
        lines += ["## (g) Parallel-in-time evaluation: scan against DEER and quasi-DEER", ""]
        lines += [
            f"One trial of a leaky tanh network (τ = 2), float32, tolerance 1e-5, on "
            f"`{info.get('backend')}` ({info.get('device')}), at most "
            f"{info.get('max_iter') or 'T'} iterations. Time, s (iterations; ✗ = not "
            "converged); speed-up = scan time / method time (below 1: a slow-down).",
            "",
        ]
        rows = []
        for h, t, g in par:
            stem = f"parallel/H{h}/T{t}/g{g}"
            row = [str(h), str(t), g]
            scan = figs.get(f"{stem}/scan/time")
            for meth in ("scan", "deer", "quasi_deer"):
                fig = figs.get(f"{stem}/{meth}/time")
                if fig is None:
                    row.append("skipped")
                    continue
                p = fig["params"]
                mark = "" if p["converged"] else " ✗"
                row.append(cell(fig) + ("" if meth == "scan" else f" ({p['iterations']}{mark})"))
            for meth in ("deer", "quasi_deer"):
                fig = figs.get(f"{stem}/{meth}/time")
                row.append(f"{scan['median'] / fig['median']:.2f}×" if scan and fig else "–")
            rows.append(row)
        lines += _table(
            ["H", "T", "gain", "scan, s", "deer, s", "quasi_deer, s", "deer speed-up", "quasi_deer speed-up"], rows
        )

    pairs = sorted({int(h) for h in re.findall(r"pairs/H(\d+)/", " ".join(figs))})
    if pairs:
        info = doc["info"].get("pairs", {})
        lines += ["## (h) All pairs of a condition: DSA and weight distances", ""]
        lines += [
            f"{info.get('networks')} networks, {info.get('trials')} trials of {info.get('n_time')} steps, all "
            f"pairs; DSA rank {info.get('rank')}, whitened, no delays, angular score ({info.get('dsa_restarts')} "
            f"restarts for neurodyn; `dsa-metric`'s default optimiser); weights with "
            f"{info.get('perm_restarts')} FAQ restarts; on `{info.get('backend')}` ({info.get('device')}). "
            "Time of the whole stage, s; agreement of the scores beside it.",
            "",
        ]
        rows = []
        for h in pairs:
            stem = f"pairs/H{h}"
            ours, ref = figs.get(f"{stem}/dsa_neurodyn/time"), figs.get(f"{stem}/dsa_reference/time")
            host, comp = figs.get(f"{stem}/weights_scipy/time"), figs.get(f"{stem}/weights_jax/time")
            agree = {**(host or {}).get("params", {}), **(ours or {}).get("params", {})}
            rows.append([
                str(h), cell(ours), cell(ref),
                f"{ref['median'] / ours['median']:.1f}×" if ours and ref else "–",
                fmt(agree.get("dsa_spearman", float("nan"))),
                fmt(agree.get("dsa_ours_at_most_reference", float("nan"))),
                cell(host), cell(comp),
                f"{host['median'] / comp['median']:.2f}×" if host and comp else "–",
                fmt(agree.get("weights_max_relative_difference", float("nan"))),
            ])
        lines += _table(
            ["H", "DSA neurodyn, s", "DSA dsa-metric, s", "speed-up", "rank corr.", "share ours ≤ ref.",
             "weights host FAQ, s", "weights all-pairs program, s", "speed-up", "max rel. diff."], rows
        )

    if doc["skipped"]:
        lines += ["## Skipped", ""] + [f"- {k}: {why}" for k, why in doc["skipped"].items()] + [""]
    if doc["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in doc["notes"]] + [""]
    lines += ["Seconds per case: " + ", ".join(f"{k} {s:.0f}" for k, s in doc["case_seconds"].items()), ""]
    return "\n".join(lines)
