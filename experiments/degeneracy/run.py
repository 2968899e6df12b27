"""Solution degeneracy trends (Huang, Singh, Martinelli, Rajan 2025) at small scale.

    python experiments/degeneracy/run.py [--quick] [--out DIR] [--only NAME ...] [--retrain]

One sweep per study (every network of a study trained to the same held-out loss
threshold, then 3 evaluations of patience): flip-flop channels (`channels.toml`), width
(`width.toml`), L1 on the recurrent weights (`l1.toml`), the µP feature-learning strength
γ (`gamma.toml`, `gamma_seeds.toml` with 10 seeds and `gamma_30.toml` with 30, the last
with the feature-learning level alone), the delay of delayed discrimination
(`delay.toml`), its auxiliary output (`aux.toml`), the nuclear norm (`nuclear.toml`), and
width and L1 on delayed discrimination (`width_dd.toml`, `l1_dd.toml`, and
`l1_dd_10.toml`: L1's behaviour level alone, 10 seeds). For each,
`neurodyn.analysis.degeneracy` with one condition per value of the swept axis gives, per member, its out-of-distribution loss (behaviour), and
within each condition the pairwise DSA distances (dynamics) and permutation-invariant
weight distances (weights); the γ study adds ‖W_T − W_0‖_F and tangent-kernel alignment.
Each member is summarised by its mean distance to the other seeds of its condition, and
the lowest and highest condition are compared with a one-sided Mann-Whitney test over
seeds (behaviour: on |L_OOD − condition median|, the Brown-Forsythe form of a spread
test, since σ_OOD is one number per condition). Every study with the dynamics level also
reports each member's DSA null (two halves of its own trials). Writes figures and `results.md` into DIR
(default experiments/degeneracy/out, or out-quick). `--quick`: 4 seeds, the two end
conditions, hidden 16 (width 16 and 32), a loose threshold (a few minutes on a 2-core CPU).
"""

import argparse
import pathlib
import time
import tomllib

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib
import numpy as np
from scipy.stats import mannwhitneyu

import neurodyn
import neurodyn.analysis as na

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ALPHA = 0.05  # stated in README.md before the first run

# What each study sweeps and the direction docs/studies/degeneracy.md predicts from the lowest to the
# highest value of the axis ("down", "up"; None: reported with a two-sided test, no claim).
STUDIES = {
    "channels": {"axis": "n_bits", "levels": ("behaviour", "dynamics", "weights"),
                 "expect": {"behaviour": None, "dynamics": "down", "weights": "up"}},
    "width": {"axis": "hidden_size", "levels": ("behaviour", "dynamics", "weights"),
              "expect": {"behaviour": "down", "dynamics": "down", "weights": "down"}},
    "l1": {"axis": "l1", "levels": ("behaviour", "dynamics", "weights"),
           "expect": {"behaviour": "down", "dynamics": "down", "weights": "down"}},
    "gamma": {"axis": "gamma", "levels": ("behaviour", "dynamics", "weights", "feature_learning"),
              "expect": {"behaviour": None, "dynamics": None, "weights": None,
                         "weight_change": "up", "kernel_alignment": "down"}},
    # the three factors added later, criteria stated in README.md before their first run
    "delay": {"axis": "delay_max", "levels": ("behaviour", "dynamics", "weights"),
              "expect": {"behaviour": None, "dynamics": "down", "weights": "up"}},
    "aux": {"axis": "aux", "levels": ("behaviour", "dynamics", "weights"),
            "expect": {"behaviour": None, "dynamics": "down", "weights": "up"}},
    "nuclear": {"axis": "nuclear", "levels": ("behaviour", "dynamics", "weights"),
                "expect": {"behaviour": "down", "dynamics": "down", "weights": "down"}},
    # the behaviour level where it lives (delayed discrimination, OOD = delays x 2) and the
    # kernel-alignment trend with twice the seeds and four times the probes; criteria
    # stated in README.md before their first run
    "width_dd": {"axis": "hidden_size", "levels": ("behaviour", "dynamics", "weights"),
                 "expect": {"behaviour": "down", "dynamics": "down", "weights": "down"}},
    "l1_dd": {"axis": "l1", "levels": ("behaviour", "dynamics", "weights"),
              "expect": {"behaviour": "down", "dynamics": "down", "weights": "down"}},
    "gamma_seeds": {"axis": "gamma", "levels": ("behaviour", "dynamics", "weights", "feature_learning"),
                    "expect": {"behaviour": None, "dynamics": None, "weights": None,
                               "weight_change": "up", "kernel_alignment": "down"},
                    "probes": (16, 8), "quick": False},
    # the kernel-alignment trend with 30 seeds, the feature-learning level alone; criteria
    # stated in README.md before its run
    "gamma_30": {"axis": "gamma", "levels": ("feature_learning",),
                 "expect": {"weight_change": "up", "kernel_alignment": "down"},
                 "probes": (16, 8), "quick": False},
    # the L1 behaviour trend on delayed discrimination with 10 seeds, its end conditions
    "l1_dd_10": {"axis": "l1", "levels": ("behaviour",), "expect": {"behaviour": "down"}, "quick": False},
}
MEASURES = {
    "behaviour": "|L_OOD - condition median| (spread of the OOD loss)",
    "dynamics": "DSA distance",
    "weights": "permutation-invariant weight distance",
    "weight_change": "||W_T - W_0||_F",
    "relative weight distance": "d(W1, W2) / sqrt((||W1||_F^2 + ||W2||_F^2) / 2), scale-free",
    "kernel_alignment": "tangent-kernel alignment A(K_0, K_T), mean over probe batches",
    "kernel_alignment, one probe batch": "as analysis.degeneracy reports it (4 probe trials)",
    "dsa_null": "DSA distance between two halves of the member's own trials (App. F.3 null)",
}
# Analysis settings (the same for every study).
RANK, DSA_RESTARTS, PERM_RESTARTS = 6, 8, 4
PROBES = {False: (4, 8), True: (2, 4)}  # tangent-kernel alignment: probe batches x trials (full, quick)
NULL_SPLITS = 8  # random halvings of each member's trials for the DSA null


def load_spec(name: str, quick: bool) -> dict:
    spec = tomllib.loads((HERE / f"{name}.toml").read_text())
    if quick:
        # the two end conditions, 4 seeds (the fewest for which a one-sided Mann-Whitney
        # test can reach p < 0.05), a loose threshold; hidden 16 so that the 3-bit
        # channels group and the width-16 group are one compiled program
        spec["sweep"]["seeds"] = 4
        spec["train"]["n_steps"] = 500
        spec["train"]["loss_threshold"] = 2e-2
        spec["train"]["patience"] = 1
        if "lr_decay_steps" in spec["train"]:
            spec["train"]["lr_decay_steps"] = spec["train"]["n_steps"]
        spec["train"]["eval_every"] = min(spec["train"]["eval_every"], 100)
        axis = {"channels": ("task", "n_bits"), "width": ("model", "hidden_size"),
                "l1": ("train", "l1"), "gamma": ("model", "gamma"), "delay": ("task", "delay_max"),
                "aux": ("task", "aux"), "nuclear": ("train", "nuclear"), "width_dd": ("model", "hidden_size"),
                "l1_dd": ("train", "l1"), "gamma_seeds": ("model", "gamma"),
                "gamma_30": ("model", "gamma"), "l1_dd_10": ("train", "l1")}[name]
        values = spec[axis[0]][axis[1]]
        spec[axis[0]][axis[1]] = [values[0], values[-1]]
        if name == "delay":  # zipped with delay_max
            spec["task"]["delay_min"] = [spec["task"]["delay_min"][0], spec["task"]["delay_min"][-1]]
        if name in ("width", "width_dd"):
            spec["model"]["hidden_size"] = [16, 32]
        else:
            spec["model"]["hidden_size"] = 16
    return spec


def condition_means(matrix: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per member, the mean of its finite distances to the other members of its condition."""
    out = np.full(len(codes), np.nan)
    for i, c in enumerate(codes):
        others = (codes == c) & (np.arange(len(codes)) != i)
        vals = matrix[i, others]
        vals = vals[np.isfinite(vals)]
        if len(vals):
            out[i] = vals.mean()
    return out


def per_member(name: str, ds, codes: np.ndarray) -> dict[str, np.ndarray]:
    """One value per member for each measure of the study."""
    out = {}
    if "ood_loss" in ds:
        ood = np.asarray(ds["ood_loss"].values, dtype=float)
        med = {c: np.nanmedian(ood[codes == c]) for c in np.unique(codes)}
        out["behaviour"] = np.abs(ood - np.array([med[c] for c in codes]))
    if "dsa_distance" in ds:
        out["dynamics"] = condition_means(np.asarray(ds["dsa_distance"].values), codes)
    if "weight_distance" in ds:
        # between widths only ‖·‖_F / n compares (docs/studies/degeneracy.md)
        key = "weight_distance_normalised" if name.startswith("width") else "weight_distance"
        out["weights"] = condition_means(np.asarray(ds[key].values), codes)
    if "weight_change" in ds:
        out["weight_change"] = np.asarray(ds["weight_change"].values, dtype=float)
    if "kernel_alignment" in ds:
        out["kernel_alignment, one probe batch"] = np.asarray(ds["kernel_alignment"].values, dtype=float)
    return out


def probe_alignment(sweep, members: np.ndarray, n_batches: int, n_trials: int) -> np.ndarray:
    """Per member, A(K_0, K_T) averaged over `n_batches` probe batches of `n_trials` trials
    (the same batches for every member): one small batch gives a noisy alignment."""
    task = sweep.task(int(members[0]))
    probes = [task.sample_batch(n_trials, key=jr.key(1000 + b)).inputs for b in range(n_batches)]
    out = []
    for m in members:
        before, after = sweep.model(int(m), which="init"), sweep.model(int(m))
        out.append(np.mean([float(na.tangent_kernel_alignment(before, after, x)) for x in probes]))
    return np.asarray(out)


def dsa_null(sweep, members: np.ndarray) -> np.ndarray:
    """Per member, the mean DSA distance between random halves of its own stored trials
    (`analysis.dsa_null_distribution`, same rank and restarts as the pairwise distances):
    the distance two fits of one network's dynamics differ by."""
    table = sweep.members
    ids, groups = np.asarray(table["member"].values), np.asarray(table["group"].values)
    opened = {}
    out = []
    for m in members:
        group = str(groups[int(np.nonzero(ids == m)[0][0])])
        if group not in opened:
            opened[group] = sweep.group(group)["states"]
        states = jnp.asarray(opened[group].sel(member=int(m)).values)
        hidden = jax.vmap(jax.vmap(sweep.model(int(m)).hidden))(states)
        scores = na.dsa_null_distribution(hidden, rank=RANK, n_splits=NULL_SPLITS, key=jr.key(int(m)),
                                          n_restarts=DSA_RESTARTS)
        out.append(float(np.mean(np.asarray(scores.distance))))
    return np.asarray(out)


def relative_weight_distance(sweep, ds, codes: np.ndarray) -> np.ndarray:
    """Per member, mean over its condition of d(W1, W2) / sqrt((‖W1‖² + ‖W2‖²) / 2)."""
    norms = np.array([float(np.linalg.norm(np.asarray(sweep.model(int(m)).recurrent_weights())))
                      for m in np.asarray(ds["member"].values)])
    raw = np.asarray(ds["weight_distance"].values)
    scale = np.sqrt((norms[:, None] ** 2 + norms[None, :] ** 2) / 2)
    return condition_means(raw / scale, codes)


def rank_test(low: np.ndarray, high: np.ndarray, direction: str | None) -> float:
    low, high = low[np.isfinite(low)], high[np.isfinite(high)]
    if len(low) < 2 or len(high) < 2:
        return float("nan")
    alt = {"down": "greater", "up": "less", None: "two-sided"}[direction]
    return float(mannwhitneyu(low, high, alternative=alt).pvalue)


def fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3g}"


def study(name: str, cfg: dict, out: pathlib.Path, quick: bool, retrain: bool) -> dict:
    store = out / f"{name}.zarr"
    start = time.perf_counter()
    if store.exists() and not retrain and neurodyn.open_sweep(store).complete:
        sweep, trained = neurodyn.open_sweep(store), float("nan")
    else:
        # an interrupted run resumes from its store; only --retrain replaces a complete one
        resume = store.exists() and not retrain
        sweep = neurodyn.run_sweep(load_spec(name, quick), store, overwrite=store.exists() and retrain,
                                   resume=resume, progress=False).open()
        trained = time.perf_counter() - start
    start = time.perf_counter()
    ds = na.degeneracy(sweep, levels=cfg["levels"], condition_by=[cfg["axis"]], rank=RANK,
                       dsa_restarts=DSA_RESTARTS, perm_restarts=PERM_RESTARTS, progress=False,
                       figures=out / name)
    analysed = time.perf_counter() - start
    # conditions sorted by the axis value; labels read "axis=value", keep the value
    codes = np.asarray(ds["member_condition"].values)
    axis_values = np.asarray(ds[cfg["axis"]].values, dtype=float)
    order = np.argsort([axis_values[codes == c][0] for c in range(ds.sizes["condition"])])
    ds = ds.isel(condition=order)
    codes = np.argsort(order)[codes]
    labels = [str(c).split("=", 1)[-1] for c in np.asarray(ds["condition"].values)]
    values = per_member(name, ds, codes)
    if "weight_distance" in ds:
        values["relative weight distance"] = relative_weight_distance(sweep, ds, codes)
    if "dynamics" in cfg["levels"]:
        values["dsa_null"] = dsa_null(sweep, np.asarray(ds["member"].values))
    if "feature_learning" in cfg["levels"]:
        probes = PROBES[True] if quick else cfg.get("probes", PROBES[False])
        values["kernel_alignment"] = probe_alignment(sweep, np.asarray(ds["member"].values), *probes)
    table = sweep.members
    rows = [int(np.nonzero(np.asarray(table["member"].values) == m)[0][0]) for m in np.asarray(ds["member"].values)]
    status = np.asarray(table["status"].values)[rows]
    steps = np.asarray(table["steps_trained"].values)[rows]
    final = np.asarray(table["final_loss"].values, dtype=float)[rows]
    return {"name": name, "cfg": cfg, "ds": ds, "task": type(sweep.task(int(ds["member"].values[0]))).__name__, "codes": codes, "labels": labels, "values": values,
            "status": status, "steps": steps, "final": final, "trained": trained, "analysed": analysed,
            "threshold": load_spec(name, quick)["train"]["loss_threshold"]}


def report(r: dict) -> list[str]:
    name, cfg, ds, codes, labels = r["name"], r["cfg"], r["ds"], r["codes"], r["labels"]
    axis, last = cfg["axis"], len(labels) - 1
    lines = [f"## {name} ({axis}: {' -> '.join(labels)})", ""]
    trained = "reused store" if not np.isfinite(r["trained"]) else f"trained in {r['trained']:.0f} s"
    lines += [f"{trained}; degeneracy analysis {r['analysed']:.0f} s; threshold {r['threshold']:g} held-out MSE.", ""]
    head = ["measure (per member: mean over the other seeds of its condition)"] + [f"{axis}={lab}" for lab in labels]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| networks reaching the threshold | " + " | ".join(
        f"{int(np.sum(r['status'][codes == c] == 'ok'))}/{int(np.sum(codes == c))}" for c in range(len(labels))) + " |")
    lines.append("| median steps trained | " + " | ".join(f"{np.median(r['steps'][codes == c]):.0f}" for c in range(len(labels))) + " |")
    lines.append("| median final held-out loss | " + " | ".join(fmt(np.median(r['final'][codes == c])) for c in range(len(labels))) + " |")
    if "ood_loss" in ds:
        ood = np.asarray(ds["ood_loss"].values, dtype=float)
        ood_label = "delays x 2" if r["task"] == "DelayedDiscrimination" else "trials twice as long"
        lines.append(f"| median OOD loss ({ood_label}) | " + " | ".join(fmt(np.nanmedian(ood[codes == c])) for c in range(len(labels))) + " |")
    if "sigma_ood" in ds:
        lines.append("| sigma_OOD (std of the OOD loss over seeds) | " + " | ".join(fmt(v) for v in np.asarray(ds["sigma_ood"].values)) + " |")
    if "output_distance_mean" in ds:
        lines.append("| mean output distance | " + " | ".join(fmt(v) for v in np.asarray(ds["output_distance_mean"].values)) + " |")
    for key, vals in r["values"].items():
        label = MEASURES.get(key, key)
        if key == "weights" and name.startswith("width"):
            label += " / n"
        lines.append(f"| median {key}: {label} | " + " | ".join(fmt(np.nanmedian(vals[codes == c])) for c in range(len(labels))) + " |")
    lines.append("")
    for key, direction in cfg["expect"].items():
        if key not in r["values"]:
            lines.append(f"- {name}, {key}: not computed")
            continue
        vals = r["values"][key]
        low, high = vals[codes == 0], vals[codes == last]
        p = rank_test(low, high, direction)
        summary = (f"median {fmt(np.nanmedian(low))} ({axis}={labels[0]}) -> {fmt(np.nanmedian(high))} "
                   f"({axis}={labels[last]}), n = {np.isfinite(low).sum()} vs {np.isfinite(high).sum()} seeds")
        if direction is None:
            lines.append(f"- {name}, {key} (no prediction): {summary}, two-sided Mann-Whitney p = {fmt(p)}")
        else:
            verdict = "PASS" if p < ALPHA else "FAIL"
            lines.append(f"- Pass criterion ({name}, {key} {direction}): {summary}, one-sided Mann-Whitney p = {fmt(p)} -> {verdict}")
    if "relative weight distance" in r["values"]:
        vals = r["values"]["relative weight distance"]
        p = rank_test(vals[codes == 0], vals[codes == last], None)
        lines.append(f"- {name}, relative weight distance d / ||W||_F (scale-free check, no claim): median "
                     f"{fmt(np.nanmedian(vals[codes == 0]))} -> {fmt(np.nanmedian(vals[codes == last]))}, two-sided Mann-Whitney p = {fmt(p)}")
    lines.append("")
    return lines


def figure(results: list[dict], out: pathlib.Path) -> str:
    # only the levels some study here measured: a feature-learning-only run has two panels, not five
    keys = [k for k in ("behaviour", "dynamics", "weights", "weight_change", "kernel_alignment")
            if any(k in r["values"] for r in results)]
    fig, axes = plt.subplots(len(results), len(keys), figsize=(3.2 * len(keys), 2.6 * len(results)), squeeze=False)
    for row, r in zip(axes, results):
        for ax, key in zip(row, keys):
            if key not in r["values"]:
                ax.axis("off")
                continue
            vals, codes = r["values"][key], r["codes"]
            for c in range(len(r["labels"])):
                v = vals[codes == c]
                ax.scatter(np.full(len(v), c) + np.linspace(-0.12, 0.12, len(v)), v, s=14, color="C0", alpha=0.7)
                ax.hlines(np.nanmedian(v), c - 0.25, c + 0.25, color="k")
            ax.set_xticks(range(len(r["labels"])), r["labels"])
            ax.set_xlabel(r["cfg"]["axis"])
            ax.set_title(f"{r['name']}: {key}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "trends.png", dpi=100)
    plt.close(fig)
    return "trends.png"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds, end conditions, small sizes (minutes)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--only", nargs="+", choices=sorted(STUDIES), default=None, help="run only these studies")
    parser.add_argument("--reuse", action="store_true", help="(the default) reuse complete stores and resume interrupted ones")
    parser.add_argument("--retrain", action="store_true", help="train every study again, replacing its complete store")
    parser.add_argument("--compile-cache", type=pathlib.Path, default=HERE.parents[1] / ".jax_cache",
                        help="persistent compilation cache (default: the repository's .jax_cache); groups of equal "
                             "shapes in different studies then compile once")
    args = parser.parse_args(argv)
    out = args.out or HERE / ("out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(args.compile_cache))
    wall = time.perf_counter()
    results = []
    # with --quick, gamma_seeds and gamma_30 are gamma itself (4 seeds, the quick probes): not run again
    names = args.only or [n for n in STUDIES if not (args.quick and not STUDIES[n].get("quick", True))]
    for name in names:
        results.append(study(name, STUDIES[name], out, args.quick, args.retrain))
        print(f"{name}: trained {results[-1]['trained']:.0f} s, analysed {results[-1]['analysed']:.0f} s", flush=True)
    fig = figure(results, out)
    lines = [f"# Degeneracy: results ({'QUICK run' if args.quick else 'full run'})", ""]
    lines += [f"Analysis: `neurodyn.analysis.degeneracy(condition_by=[axis], rank={RANK}, dsa_restarts={DSA_RESTARTS}, "
              f"perm_restarts={PERM_RESTARTS})`; Mann-Whitney tests compare the lowest and highest condition over seeds, "
              f"alpha = {ALPHA}.", ""]
    for r in results:
        lines += report(r)
    lines += [f"Total wall time: {time.perf_counter() - wall:.0f} s.", "",
              f"Figures: {fig}, " + ", ".join(f"{r['name']}/degeneracy.png" for r in results), ""]
    (out / "results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
