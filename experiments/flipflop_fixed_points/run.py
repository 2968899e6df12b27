"""3-bit flip-flop networks and their fixed points (Sussillo & Barak 2013), end to end.

    python experiments/flipflop_fixed_points/run.py [--quick] [--out DIR]

Trains the sweeps `sweep_ctrnn.toml` and `sweep_vanilla.toml` (CTRNN and discrete tanh RNN,
two sizes, three seeds each), finds every network's fixed points at zero input with
`neurodyn.analysis.fixed_points`, classifies each stable point by the sign pattern its
readout produces, checks which attractors the one-mode saddles join, writes figures and
`results.md` into DIR (default: experiments/flipflop_fixed_points/out, or out-quick).
`--quick` trains one small size for fewer steps (about 2-4 min on a 2-core CPU).
"""

import argparse
import itertools
import pathlib
import time
import tomllib

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib
import numpy as np

import neurodyn
import neurodyn.analysis as na

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SPECS = {"CTRNN": HERE / "sweep_ctrnn.toml", "VanillaRNN": HERE / "sweep_vanilla.toml"}
PASS_FRACTION = 0.8  # stated in README.md before the first run
N_BITS = 3


def load_spec(path: pathlib.Path, quick: bool) -> dict:
    spec = tomllib.loads(path.read_text())
    if quick:
        spec["model"]["hidden_size"] = 32
        spec["train"]["n_steps"] = 800
        spec["sweep"]["seeds"] = 2
    return spec


def accuracy(sweep, member: int, *, key, n_trials: int = 256) -> float:
    """Per-bit sign accuracy on fresh trials (masked as the task's own metric)."""
    task = sweep.task(member)
    trials, traj = sweep.simulate(member, n_trials=n_trials, key=key)
    return float(task.batch_metric(traj.output, trials))


def classify(sweep, ds, pos: int, member: int) -> dict:
    """Stable points, their output sign patterns, and what the one-mode saddles join."""
    valid = np.asarray(ds["valid"].values[pos])
    slow = np.asarray(ds["slow"].values[pos])
    stability = np.asarray(ds["stability"].values[pos])
    n_unstable = np.asarray(ds["n_unstable"].values[pos])
    plus = np.asarray(ds["attractor_plus"].values[pos])
    minus = np.asarray(ds["attractor_minus"].values[pos])
    points = jnp.asarray(np.asarray(ds["points"].values[pos]))
    model = sweep.model(member)
    outputs = np.asarray(jax.vmap(model.readout)(jnp.nan_to_num(points)))
    signs = np.where(outputs > 0, 1, -1)
    fixed = valid & ~slow
    stable = fixed & (stability == 0)
    patterns = {tuple(signs[i]) for i in np.nonzero(stable)[0]}
    one_mode = fixed & (n_unstable == 1)
    joined, one_bit_pairs = 0, set()
    for i in np.nonzero(one_mode)[0]:
        a, b = int(plus[i]), int(minus[i])
        if a < 0 or b < 0 or a == b or not (stable[a] and stable[b]):
            continue
        joined += 1
        if int(np.sum(signs[a] != signs[b])) == 1:
            one_bit_pairs.add(frozenset((a, b)))
    n_stable = int(stable.sum())
    return {
        "n_stable": n_stable,
        "eight_patterns": n_stable == 2**N_BITS and len(patterns) == 2**N_BITS,
        "n_one_mode": int(one_mode.sum()),
        "n_joined": joined,
        "n_one_bit_edges": len(one_bit_pairs),
        "n_other": int((fixed & ~stable & ~one_mode).sum()),
        "n_slow": int((valid & slow).sum()),
    }


def figures(out: pathlib.Path, label: str, sweep, fp_ds, member: int) -> list[str]:
    names = []
    trials, traj = sweep.simulate(member, n_trials=1, key=jr.key(2024))
    inputs, targets, output = (np.asarray(a[0]) for a in (trials.inputs, trials.targets, traj.output))
    fig, axes = plt.subplots(N_BITS, 1, figsize=(8, 5), sharex=True)
    for i, ax in enumerate(axes):
        ax.step(np.arange(len(inputs)), inputs[:, i], where="post", color="0.6", label="input")
        ax.plot(targets[:, i], "k--", lw=1, label="target")
        ax.plot(output[:, i], color="C0", lw=2, label="output")
        ax.set_ylabel(f"bit {i + 1}")
    axes[0].legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1].set_xlabel("time step")
    fig.suptitle(f"{label}, member {member}: a held-out trial")
    fig.tight_layout()
    names.append(f"{label}_trial.png")
    fig.savefig(out / names[-1], dpi=110)
    plt.close(fig)

    fps = na.fixed_points_from_dataset(fp_ds.sel(member=member))
    group = str(np.asarray(sweep.members["group"].values)[member])
    ds = sweep.group(group)
    pos = int(np.nonzero(np.asarray(ds["member"].values) == member)[0][0])
    states = np.asarray(ds["states"].isel(member=pos).values)
    fig = na.plot_fixed_points(fps, states)
    fig.suptitle(f"{label}, member {member}: trajectories and fixed points (PCA)")
    names.append(f"{label}_fixed_points.png")
    fig.savefig(out / names[-1], dpi=110)
    plt.close(fig)
    fig = na.plot_eigenvalues(fps)
    fig.suptitle(f"{label}, member {member}: Jacobian eigenvalues at the fixed points")
    names.append(f"{label}_eigenvalues.png")
    fig.savefig(out / names[-1], dpi=110)
    plt.close(fig)
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (minutes)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="reuse complete stores already in DIR instead of retraining")
    args = parser.parse_args(argv)
    out = args.out or HERE / ("out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    fp_settings = dict(n_initial=256 if args.quick else 2048, n_iters=1500 if args.quick else 3000, max_points=48)

    rows, timings, figs = [], {}, []
    for label, path in SPECS.items():
        spec = load_spec(path, args.quick)
        store = out / f"{label}.zarr"
        start = time.perf_counter()
        if args.reuse and store.exists() and neurodyn.open_sweep(store).complete:
            sweep = neurodyn.open_sweep(store)
            timings[f"{label} training (reused store, not timed)"] = 0.0
        else:
            sweep = neurodyn.run_sweep(spec, store, overwrite=store.exists(), progress=False).open()
            timings[f"{label} training"] = time.perf_counter() - start
        start = time.perf_counter()
        results = na.fixed_points(sweep, progress=False, **fp_settings)
        timings[f"{label} fixed points"] = time.perf_counter() - start
        members = sweep.members
        for ds in results.values():
            for pos, m in enumerate(np.asarray(ds["member"].values)):
                m = int(m)
                row = {"model": label, "member": m,
                       "hidden_size": int(np.asarray(members["hidden_size"].values)[m]) if "hidden_size" in members.coords else int(spec["model"]["hidden_size"]),
                       "seed": int(np.asarray(members["seed"].values)[m]),
                       "accuracy": accuracy(sweep, m, key=jr.key(10_000 + m))}
                row.update(classify(sweep, ds, pos, m))
                rows.append(row)
        best = max((r for r in rows if r["model"] == label), key=lambda r: (r["eight_patterns"], r["accuracy"]))
        fp_ds = next(ds for ds in results.values() if best["member"] in np.asarray(ds["member"].values))
        figs += figures(out, label, sweep, fp_ds, best["member"])

    write_results(out, rows, timings, figs, args.quick, fp_settings)
    print((out / "results.md").read_text())


def write_results(out, rows, timings, figs, quick, fp_settings):
    lines = [f"# Flip-flop fixed points: results ({'QUICK run' if quick else 'full run'})", ""]
    lines.append(f"Fixed-point search: {fp_settings['n_initial']} initial states, {fp_settings['n_iters']} Adam "
                 "iterations + Newton refinement, tol_q 1e-12, uniqueness 1e-3 (neurodyn defaults otherwise), zero input.")
    lines.append("")
    lines.append("| model | hidden | seed | sign accuracy | stable | 8 distinct sign patterns | one-mode saddles | saddles joining 2 attractors | one-bit attractor pairs joined (of 12) | other unstable | slow |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lines.append(f"| {r['model']} | {r['hidden_size']} | {r['seed']} | {100 * r['accuracy']:.2f} % | {r['n_stable']} | "
                     f"{'yes' if r['eight_patterns'] else 'no'} | {r['n_one_mode']} | {r['n_joined']} | {r['n_one_bit_edges']} | "
                     f"{r['n_other']} | {r['n_slow']} |")
    lines += ["", "## Per model and size", "",
              "| model | hidden | networks | exactly 8 stable, one per sign pattern | all 12 one-bit pairs joined by a one-mode saddle | median accuracy |",
              "|---|---|---|---|---|---|"]
    total_ok = {}
    for (model, hidden), group in itertools.groupby(sorted(rows, key=lambda r: (r["model"], r["hidden_size"])), key=lambda r: (r["model"], r["hidden_size"])):
        group = list(group)
        ok = sum(r["eight_patterns"] for r in group)
        edges = sum(r["eight_patterns"] and r["n_one_bit_edges"] == 12 for r in group)
        total_ok.setdefault(model, [0, 0])
        total_ok[model][0] += ok
        total_ok[model][1] += len(group)
        lines.append(f"| {model} | {hidden} | {len(group)} | {ok}/{len(group)} | {edges}/{len(group)} | "
                     f"{100 * np.median([r['accuracy'] for r in group]):.2f} % |")
    lines += ["", "## Pass criterion", ""]
    for model, (ok, n) in total_ok.items():
        frac = ok / n
        verdict = "PASS" if frac >= PASS_FRACTION else "FAIL"
        lines.append(f"- Pass criterion ({model}): >= {100 * PASS_FRACTION:.0f} % of networks have exactly 8 stable fixed points, "
                     f"one per output sign pattern: measured {ok}/{n} = {100 * frac:.0f} % -> {verdict}")
    lines += ["", "## Run time (this machine)", ""]
    lines += [f"- {k}: {v:.0f} s" for k, v in timings.items()]
    lines.append(f"- total: {sum(timings.values()):.0f} s")
    lines += ["", "Figures: " + ", ".join(figs), ""]
    (out / "results.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
