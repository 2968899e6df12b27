"""RNNs emulating a hidden Markov model (Torre et al. 2025), end to end.

    python experiments/hmm_emulation/run.py [--quick] [--out DIR]

Trains the sweeps `sweep.toml` and `sweep_fully_connected.toml` (bias-free ReLU RNNs driven
by Gaussian noise, trained with the Sinkhorn divergence against sequences of a 2-state
linear-chain HMM and of a 3-state fully connected HMM), then per network:
the emission statistics of 1024 generated sequences against the HMM's analytic values,
the Sinkhorn-matched distance against the HMM-vs-HMM baseline, the fixed points at zero
input (`neurodyn.analysis.fixed_points`) and a zero-input relaxation from noise-driven
states, and the exact noise-scaling invariance. Writes figures and `results.md` into DIR
(default: experiments/hmm_emulation/out, or out-quick). `--quick` trains a smaller
network for fewer steps (a few minutes on a 2-core CPU).
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

import neurodyn
import neurodyn.analysis as na
from neurodyn.store import best_parameters
from neurodyn.tasks import emission_statistics, emulation_distance, sample_hmm_onehot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SPECS = {"linear_chain": HERE / "sweep.toml", "fully_connected": HERE / "sweep_fully_connected.toml"}
#: the study-settings run (`--study`): README.md, "Study-settings run"
STUDY_SPECS = {h: HERE / "study" / f"{h}.toml" for h in ("linear_chain", "fully_connected", "cyclic")}
TITLES = {"linear_chain": "2-state linear chain", "fully_connected": "3-state fully connected",
          "cyclic": "4-state cyclic"}
# Stated in README.md before the first run.
MARGINAL_TOL = 0.05      # max |P(o) - analytic|
TRANSITION_TOL = 0.10    # max |P(o'|o) - analytic|
CHANGES_REL_TOL = 0.25   # |changes - analytic| / analytic
RATIO_MAX = 2.0          # S(generated, HMM) / S(HMM', HMM)
COLLAPSE_TOL = 1e-3      # spread of zero-input end states, relative to the driven states' scale
N_EVAL = 1024  # generated sequences per network (512 with --quick)
N_RELAX = 300


def load_spec(path: pathlib.Path, quick: bool) -> dict:
    spec = tomllib.loads(path.read_text())
    if quick:
        spec["model"]["hidden_size"] = 32
        spec["train"]["batch_size"] = 64
        spec["train"]["eval_batch_size"] = 128
        spec["train"]["n_steps"] = 300
        spec["sweep"]["seeds"] = 2
    return spec


def emission_check(sweep, member: int, *, key) -> dict:
    task = sweep.task(member)
    k1, k2, k3 = jr.split(key, 3)
    trials = task.sample_batch(N_EVAL, key=k1)
    _, traj = sweep.simulate(member, trials.inputs)
    emitted = task.sample_emissions(traj.output, key=k2)
    got, exact = emission_statistics(emitted), task.analytic_statistics()
    distance, baseline = emulation_distance(emitted[: N_EVAL // 2], task.hmm, key=k3, blur=float(task.blur))
    return {
        "marginals": np.asarray(got.marginals), "marginals_exact": np.asarray(exact.marginals),
        "marginal_err": float(jnp.max(jnp.abs(got.marginals - exact.marginals))),
        "transitions": np.asarray(got.transitions), "transitions_exact": np.asarray(exact.transitions),
        "transition_err": float(jnp.max(jnp.abs(got.transitions - exact.transitions))),
        "changes": float(got.changes), "changes_exact": float(exact.changes),
        "distance": float(distance), "baseline": float(baseline), "ratio": float(distance / baseline),
        "emitted": np.asarray(emitted[:8]), "hidden": np.asarray(traj.state[:8]),
    }


def hmm_reference(task, *, key) -> dict:
    """The same statistics for a sample of the HMM itself of the same size: the sampling error."""
    got, exact = emission_statistics(sample_hmm_onehot(task.hmm, N_EVAL, task.n_time, key=key)), task.analytic_statistics()
    return {"marginal_err": float(jnp.max(jnp.abs(got.marginals - exact.marginals))),
            "transition_err": float(jnp.max(jnp.abs(got.transitions - exact.transitions))),
            "changes": float(got.changes)}


def relaxation_check(sweep, member: int, *, key) -> dict:
    """Drive with noise for the trial length, then zero input: do all states meet at one point?"""
    task = sweep.task(member)
    trials = task.sample_batch(256, key=key)
    zeros = jnp.zeros((trials.inputs.shape[0], N_RELAX, task.input_size))
    _, traj = sweep.simulate(member, jnp.concatenate([trials.inputs, zeros], axis=1))
    hidden = np.asarray(traj.state)
    driven = hidden[:, : task.n_time]
    end = hidden[:, -1]
    scale = float(np.sqrt(np.mean(np.sum(driven**2, axis=-1))))
    spread = float(np.max(np.linalg.norm(end - end.mean(0), axis=-1))) / scale
    return {"driven_scale": scale, "end_spread": spread, "end_norm": float(np.max(np.linalg.norm(end, axis=-1))) / scale,
            "relax_hidden": hidden[:4]}


def scaling_check(sweep, member: int, *, key) -> dict:
    """Scale the noise by c: the hidden trajectory of a bias-free ReLU net from h0 = 0 scales by c."""
    task = sweep.task(member)
    x = task.sample_batch(64, key=key).inputs
    _, base = sweep.simulate(member, x)
    out = {}
    for c in (2.0, 0.5, 3.0):
        _, scaled = sweep.simulate(member, c * x)
        diff = np.asarray(scaled.state) - c * np.asarray(base.state)
        out[c] = (int(np.count_nonzero(diff)), float(np.max(np.abs(diff)) / max(float(np.max(np.abs(c * np.asarray(base.state)))), 1e-30)))
    return out


def fixed_point_summary(sweep, quick: bool) -> dict:
    results = na.fixed_points(sweep, n_initial=256 if quick else 1024, n_iters=1500 if quick else 5000,
                              max_points=16, progress=False)
    fp = {}
    for ds in results.values():
        for pos, m in enumerate(np.asarray(ds["member"].values)):
            valid, slow = np.asarray(ds["valid"].values[pos]), np.asarray(ds["slow"].values[pos])
            stab = np.asarray(ds["stability"].values[pos])
            pts = np.asarray(ds["points"].values[pos])
            fixed = valid & ~slow
            norms = np.linalg.norm(np.nan_to_num(pts[fixed]), axis=-1)
            fp[int(m)] = {"n_fixed": int(fixed.sum()), "n_stable": int((fixed & (stab == 0)).sum()),
                          "max_norm": float(norms.max()) if norms.size else float("nan"), "n_slow": int((valid & slow).sum())}
    return fp


# The study-settings run (`--study`), criteria stated in README.md before it.
STUDY_MARGINAL_TOL = 0.03    # max |P(o) - analytic|
STUDY_DIAGONAL_TOL = 0.05    # max |P(o|o) - analytic| on the diagonal
STUDY_CHANGES_REL_TOL = 0.20
STUDY_RATIO_MAX = 1.25
STUDY_DWELL_REL_TOL = 0.25   # mean dwell against the HMM's mean run length
STUDY_MU0_CUT = 0.80         # mu = 0 on the kick units cuts output changes by at least this
STUDY_CONTROL_MAX = 0.20     # ... while the random control set changes them by at most this
STUDY_N_EVAL = 4096          # generated sequences per network (matched distance on 1024)
STUDY_MECHANISM = dict(max_dwell=60)  # otherwise the study's defaults (HMMMechanism())


def study_emission(sweep, member: int, *, key) -> dict:
    """Emission statistics and matched distance of the member's validation-best model."""
    task, model = sweep.task(member), sweep.model(member, which="best")
    k1, k2, k3 = jr.split(key, 3)
    trials = task.sample_batch(STUDY_N_EVAL, key=k1)
    traj = jax.vmap(lambda x: model(x))(trials.inputs)
    emitted = task.sample_emissions(traj.output, key=k2)
    got, exact = emission_statistics(emitted), task.analytic_statistics()
    distance, baseline = emulation_distance(emitted[:1024], task.hmm, key=k3, blur=float(task.blur))
    diag, diag_exact = np.diag(np.asarray(got.transitions)), np.diag(np.asarray(exact.transitions))
    return {
        "marginals": np.asarray(got.marginals), "marginals_exact": np.asarray(exact.marginals),
        "marginal_err": float(jnp.max(jnp.abs(got.marginals - exact.marginals))),
        "diagonal": diag, "diagonal_exact": diag_exact,
        # a symbol never emitted has no P(o|o): that counts as a miss (inf)
        "diagonal_err": float(np.max(np.where(np.isfinite(diag), np.abs(diag - diag_exact), np.inf))),
        "changes": float(got.changes), "changes_exact": float(exact.changes),
        "distance": float(distance), "baseline": float(baseline), "ratio": float(distance / baseline),
        "emitted": np.asarray(emitted[:32]),
    }


def study_hmm(out: pathlib.Path, hmm: str, sweep, timings: dict) -> dict:
    """Emission criteria per member (validation-best parameters) and, for the linear
    chain, the mechanism over the store."""
    start = time.perf_counter()
    group = sweep.group("g0")
    best = best_parameters(group)
    rows = []
    for pos, m in enumerate(np.asarray(group["member"].values)):
        m = int(m)
        row = {"member": m, "seed": int(np.asarray(sweep.members["seed"].values)[m]),
               "best_step": int(best["best_step"].values[pos]), "best_eval_loss": float(best["best_eval_loss"].values[pos]),
               "final_eval_loss": float(np.asarray(group["eval_loss"].values)[pos, -1]),
               "eval_loss": np.asarray(group["eval_loss"].values)[pos], "eval_step": np.asarray(group["eval_step"].values)}
        row.update(study_emission(sweep, m, key=jr.key(500 + m)))
        rows.append(row)
    timings[f"{hmm}: emission statistics and matched distance"] = time.perf_counter() - start
    mechanism = None
    if hmm == "linear_chain":
        start = time.perf_counter()
        mechanism = na.hmm_mechanism(
            sweep, which="best", figures=out / "mechanism", progress=True, **STUDY_MECHANISM
        )["g0"].load()
        timings[f"{hmm}: mechanism (neurodyn.analysis.hmm_mechanism)"] = time.perf_counter() - start
    return {"rows": rows, "mechanism": mechanism, "task": sweep.task(0)}


def study_criteria(hmm: str, result: dict) -> tuple[list[str], list[str]]:
    """(table lines, criterion lines) for one HMM of the study-settings run."""
    rows, title = result["rows"], TITLES[hmm]
    fmt = lambda a: "[" + ", ".join(f"{v:.3f}" for v in np.ravel(a)) + "]"  # noqa: E731
    r0 = rows[0]
    lines = [f"### {title} HMM", "",
             f"Analytic marginals {fmt(r0['marginals_exact'])}, diagonal P(o|o) {fmt(r0['diagonal_exact'])}, "
             f"{r0['changes_exact']:.2f} changes per sequence; statistics of {STUDY_N_EVAL} generated sequences per "
             "network (validation-best parameters), matched distance on 1024.", "",
             "| member | seed | best step | best / final held-out loss | marginals | max marginal error | diagonal P(o\\|o) | "
             "max diagonal error | changes / sequence | ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['member']} | {r['seed']} | {r['best_step']} | {r['best_eval_loss']:.3f} / {r['final_eval_loss']:.3f} | "
                     f"{fmt(r['marginals'])} | {r['marginal_err']:.3f} | {fmt(r['diagonal'])} | {r['diagonal_err']:.3f} | "
                     f"{r['changes']:.2f} | {r['ratio']:.2f} |")
    lines.append("")
    need = 2
    verdict = lambda ok: f"{sum(ok)}/{len(ok)} -> {'PASS' if sum(ok) >= need else 'FAIL'}"  # noqa: E731
    ok = [r["marginal_err"] <= STUDY_MARGINAL_TOL and r["diagonal_err"] <= STUDY_DIAGONAL_TOL
          and abs(r["changes"] - r["changes_exact"]) <= STUDY_CHANGES_REL_TOL * r["changes_exact"]
          and r["ratio"] <= STUDY_RATIO_MAX for r in rows]
    criteria = [f"- Pass criterion 1 (emulation, {title}): in >= 2/3 of networks, marginals within {STUDY_MARGINAL_TOL}, "
                f"diagonal P(o|o) within {STUDY_DIAGONAL_TOL}, changes within {100 * STUDY_CHANGES_REL_TOL:.0f} % and "
                f"matched-distance ratio <= {STUDY_RATIO_MAX}: {verdict(ok)}"]
    mech = result["mechanism"]
    if mech is not None:
        task = result["task"]
        run_length = (task.n_steps - 1) / float(task.analytic_statistics().changes)
        lines += ["Mechanism (`neurodyn.analysis.hmm_mechanism`, validation-best parameters, "
                  f"settings {STUDY_MECHANISM} and the study's defaults otherwise):", "",
                  "| member | collapsed (per noise std) | orbit radius (per noise std) | label counts (transition / kick-zone / cluster / other) | "
                  "mean unstable eigenvalues (transition / kick-zone / cluster) | mean dwell | output changes: baseline, mu = 0 kick units, mu = 0 control |",
                  "|---|---|---|---|---|---|---|"]
        checks = {k: [] for k in ("collapse", "orbit", "labels", "dwell", "mu")}
        mu = list(np.asarray(mech["mu"].values))
        i0 = mu.index(0.0) if 0.0 in mu else None
        for pos, m in enumerate(np.asarray(mech["member"].values)):
            row = mech.isel(member=pos)
            collapsed = np.asarray(row["global_collapsed"].values)
            radius = np.asarray(row["global_radius"].values)
            counts = np.asarray(row["residency_label_count"].values)
            unstable = np.asarray(row["linear_mean_unstable"].values)
            dwell = float(np.mean(row["residency_dwell"].values))
            base = float(row["scaling_baseline_changes"].values)
            target = float(row["scaling_changes"].sel(set="target").values[i0]) if i0 is not None else np.nan
            control = float(row["scaling_changes"].sel(set="control").values[i0]) if i0 is not None else np.nan
            lines.append(f"| {int(m)} | {' '.join('yes' if c else 'no' for c in collapsed)} | {fmt(radius)} | "
                         f"{' / '.join(str(int(c)) for c in counts)} | {' / '.join(f'{u:.2f}' for u in unstable[:3])} | "
                         f"{dwell:.1f} | {base:.2f}, {target:.2f}, {control:.2f} |")
            checks["collapse"].append(bool(collapsed.all()))
            checks["orbit"].append(bool(radius[0] > 0 and np.all(np.diff(radius) > 0)))
            checks["labels"].append(bool((counts[:3] > 0).all() and unstable[2] < unstable[1]))
            checks["dwell"].append(abs(dwell - run_length) <= STUDY_DWELL_REL_TOL * run_length)
            checks["mu"].append(bool(base > 0 and target <= (1 - STUDY_MU0_CUT) * base
                                     and abs(control - base) <= STUDY_CONTROL_MAX * base))
        lines.append("")
        criteria += [
            f"- Pass criterion 2a (zero input -> one point, {title}): collapsed at every noise std: {verdict(checks['collapse'])}",
            f"- Pass criterion 2b (noise -> an orbit growing with the noise std): {verdict(checks['orbit'])}",
            f"- Pass criterion 2c (all three residency labels; fewer unstable eigenvalues in clusters than in kick-zones): "
            f"{verdict(checks['labels'])}",
            f"- Pass criterion 2d (mean dwell within {100 * STUDY_DWELL_REL_TOL:.0f} % of the HMM's mean run length "
            f"{run_length:.1f}): {verdict(checks['dwell'])}",
            f"- Pass criterion 2e (mu = 0 on the kick units cuts output changes by >= {100 * STUDY_MU0_CUT:.0f} %, the "
            f"random control by <= {100 * STUDY_CONTROL_MAX:.0f} %): {verdict(checks['mu'])}",
        ]
    return lines, criteria


def study_figure(out: pathlib.Path, hmm: str, result: dict) -> str:
    rows = result["rows"]
    r = min(rows, key=lambda r: r["ratio"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    axes[0].imshow(np.argmax(r["emitted"], -1), aspect="auto", cmap="viridis", interpolation="nearest")
    axes[0].set(title=f"{TITLES[hmm]}, member {r['member']}: emitted symbols", xlabel="time", ylabel="sequence")
    x = np.arange(3)
    axes[1].bar(x - 0.2, r["marginals_exact"], 0.4, label="HMM (analytic)")
    axes[1].bar(x + 0.2, r["marginals"], 0.4, label=f"RNN ({STUDY_N_EVAL} sequences)")
    axes[1].set(xticks=x, title="emission marginals", xlabel="symbol")
    axes[1].legend(fontsize=7)
    for row in rows:
        line, = axes[2].plot(row["eval_step"], row["eval_loss"], lw=1, label=f"seed {row['seed']}")
        axes[2].plot([row["best_step"]], [row["best_eval_loss"]], "o", color=line.get_color())
    axes[2].set(title="held-out loss (dot: the kept, best step)", xlabel="step", ylabel="Sinkhorn divergence")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    name = f"hmm_study_{hmm}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def write_study_results(out: pathlib.Path, results: dict, timings: dict, figs: list[str]) -> None:
    lines = ["# HMM emulation at the study's settings: results", ""]
    criteria = []
    for hmm, result in results.items():
        table, crit = study_criteria(hmm, result)
        lines += table
        criteria += crit
    lines += ["## Pass criteria", ""] + criteria + ["", "## Run time (this machine)", ""]
    lines += [f"- {k}: {v:.0f} s" for k, v in timings.items()]
    lines += ["", "Figures: " + ", ".join(figs) + "; per-member mechanism figures in mechanism/", ""]
    (out / "results.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller network, fewer steps (minutes)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--analyse-only", action="store_true", help="reuse the trained stores in DIR; train nothing")
    parser.add_argument("--only", choices=sorted(STUDY_SPECS), default=None, help="run one HMM only")
    parser.add_argument("--study", action="store_true", help="the study-settings run (study/*.toml) -> out-study/")
    parser.add_argument("--train-only", action="store_true", help="train (or resume) the stores; analyse nothing")
    parser.add_argument("--overwrite", action="store_true", help="replace stores in DIR instead of resuming them")
    args = parser.parse_args(argv)
    if args.study and args.quick:
        parser.error("--study and --quick are different runs; choose one.")
    out = args.out or HERE / ("out-study" if args.study else "out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    global N_EVAL
    N_EVAL = 512 if args.quick else N_EVAL
    timings, sections, figs, studies = {}, [], [], {}
    for hmm, path in (STUDY_SPECS if args.study else SPECS).items():
        if args.only not in (None, hmm):
            continue
        spec = load_spec(path, args.quick)
        store = out / f"{hmm}.zarr"
        start = time.perf_counter()
        if args.analyse_only:
            sweep = neurodyn.open_sweep(store)
        else:
            # an existing store is continued (it survives being stopped); replaced only on request
            resume = store.exists() and not args.overwrite
            sweep = neurodyn.run_sweep(
                spec, store, resume=resume, overwrite=args.overwrite, progress=args.study
            ).open()
            timings[f"{hmm}: training"] = time.perf_counter() - start
        if args.train_only:
            continue
        if args.study:
            studies[hmm] = study_hmm(out, hmm, sweep, timings)
            figs.append(study_figure(out, hmm, studies[hmm]))
            continue

        start = time.perf_counter()
        fp = fixed_point_summary(sweep, args.quick)
        timings[f"{hmm}: fixed points"] = time.perf_counter() - start

        start = time.perf_counter()
        rows = []
        for m in np.asarray(sweep.members["member"].values):
            m = int(m)
            row = {"member": m, "seed": int(np.asarray(sweep.members["seed"].values)[m]),
                   "final_loss": float(np.asarray(sweep.members["final_loss"].values)[m])}
            row.update(emission_check(sweep, m, key=jr.key(100 + m)))
            row.update(relaxation_check(sweep, m, key=jr.key(200 + m)))
            row["scaling"] = scaling_check(sweep, m, key=jr.key(300 + m))
            row.update({f"fp_{k}": v for k, v in fp[m].items()})
            rows.append(row)
        timings[f"{hmm}: emission, relaxation and scaling checks"] = time.perf_counter() - start
        figs += figures(out, hmm, rows)
        sections.append((hmm, spec, rows, hmm_reference(sweep.task(0), key=jr.key(400))))

    if args.train_only:
        print(f"trained: {', '.join(sorted(p.name for p in out.glob('*.zarr')))} in {out}")
        return
    if args.study:
        write_study_results(out, studies, timings, figs)
        print((out / "results.md").read_text())
        return
    write_results(out, sections, timings, figs, args.quick)
    print((out / "results.md").read_text())


def figures(out: pathlib.Path, hmm: str, rows) -> list[str]:
    r = min(rows, key=lambda r: r["ratio"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    axes[0].imshow(np.argmax(r["emitted"], -1), aspect="auto", cmap="viridis", interpolation="nearest")
    axes[0].set(title=f"{TITLES[hmm]}, member {r['member']}: emitted symbols", xlabel="time", ylabel="sequence")
    x = np.arange(3)
    axes[1].bar(x - 0.2, r["marginals_exact"], 0.4, label="HMM (analytic)")
    axes[1].bar(x + 0.2, r["marginals"], 0.4, label=f"RNN ({N_EVAL} sequences)")
    axes[1].set(xticks=x, title="emission marginals", xlabel="symbol")
    axes[1].legend(fontsize=7)
    h = r["relax_hidden"]
    axes[2].plot(np.linalg.norm(h, axis=-1).T, lw=1)
    axes[2].axvline(h.shape[1] - N_RELAX, color="k", ls="--", lw=0.8)
    axes[2].set(title="‖h‖: noise, then zero input (dashed)", xlabel="time")
    fig.tight_layout()
    name = f"hmm_emulation_{hmm}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return [name]


def write_results(out, sections, timings, figs, quick):
    fmt = lambda a: "[" + ", ".join(f"{v:.3f}" for v in np.ravel(a)) + "]"
    lines = [f"# HMM emulation: results ({'QUICK run' if quick else 'full run'})", ""]
    criteria = []
    for hmm, spec, rows, ref in sections:
        m, t = spec["model"], spec["train"]
        lines += [f"## {TITLES[hmm]} HMM", "",
                  f"Sequences of {spec['task']['n_time']} steps; bias-free ReLU VanillaRNN with {m['hidden_size']} units; "
                  f"Adam lr {t['learning_rate']}, batch {t['batch_size']}, {t['n_steps']} steps, grad clip {t['grad_clip']}; "
                  f"{len(rows)} seeds. Statistics from {N_EVAL} generated sequences per network; matched distance on "
                  f"{N_EVAL // 2} sequences.", "",
                  f"Analytic emission marginals: {fmt(rows[0]['marginals_exact'])}; analytic emission changes per sequence: "
                  f"{rows[0]['changes_exact']:.3f}; analytic P(o'|o): {fmt(rows[0]['transitions_exact'])}", "",
                  f"Sampling error for reference: {N_EVAL} sequences drawn from the HMM itself give max marginal error "
                  f"{ref['marginal_err']:.3f}, max P(o'|o) error {ref['transition_err']:.3f}, {ref['changes']:.2f} changes per sequence.", "",
                  "| member | seed | final loss | marginals | max marginal error | max P(o'\\|o) error | changes / sequence | "
                  "S(RNN, HMM) | S(HMM', HMM) | ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['member']} | {r['seed']} | {r['final_loss']:.2e} | {fmt(r['marginals'])} | {r['marginal_err']:.3f} | "
                         f"{r['transition_err']:.3f} | {r['changes']:.2f} | {r['distance']:.4f} | {r['baseline']:.4f} | {r['ratio']:.2f} |")
        lines += ["", "Zero input:", "",
                  "| member | fixed points (zero input) | stable | largest ‖h*‖ | slow points | spread of end states after "
                  f"{N_RELAX} zero-input steps / driven scale | largest ‖h_end‖ / driven scale |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['member']} | {r['fp_n_fixed']} | {r['fp_n_stable']} | {r['fp_max_norm']:.2e} | {r['fp_n_slow']} | "
                         f"{r['end_spread']:.2e} | {r['end_norm']:.2e} |")
        lines += ["", "Noise scaling (64 trials; entries of the hidden trajectory that differ from c·h):", "",
                  "| member | c = 2 | c = 0.5 | c = 3 (max relative difference) |", "|---|---|---|---|"]
        for r in rows:
            sc = r["scaling"]
            lines.append(f"| {r['member']} | {sc[2.0][0]} differ | {sc[0.5][0]} differ | {sc[3.0][0]} differ, {sc[3.0][1]:.1e} |")
        lines.append("")

        ok_marg = [r["marginal_err"] <= MARGINAL_TOL for r in rows]
        ok_trans = [r["transition_err"] <= TRANSITION_TOL
                    and abs(r["changes"] - r["changes_exact"]) <= CHANGES_REL_TOL * r["changes_exact"] for r in rows]
        ok_ratio = [r["ratio"] <= RATIO_MAX for r in rows]
        ok_collapse = [r["fp_n_stable"] == 1 and r["end_spread"] <= COLLAPSE_TOL for r in rows]
        ok_scale = [r["scaling"][2.0][0] == 0 and r["scaling"][0.5][0] == 0 for r in rows]
        need = (2 * len(rows) + 2) // 3
        verdict = lambda ok, k=need: f"{sum(ok)}/{len(ok)} -> {'PASS' if sum(ok) >= k else 'FAIL'}"
        title = TITLES[hmm]
        criteria += [
            f"- Pass criterion (emission marginals, {title}): in >= 2/3 of networks, every marginal within {MARGINAL_TOL} "
            f"of the analytic value: {verdict(ok_marg)}",
            f"- Pass criterion (emission transitions, {title}): in >= 2/3 of networks, P(o'|o) within {TRANSITION_TOL} of the "
            f"analytic values and changes per sequence within {100 * CHANGES_REL_TOL:.0f} %: {verdict(ok_trans)}",
            f"- Pass criterion (matched distance, {title}): in >= 2/3 of networks, S(RNN, HMM) / S(HMM', HMM) <= {RATIO_MAX}: "
            f"{verdict(ok_ratio)}",
            f"- Pass criterion (zero input, {title}): in >= 2/3 of networks, exactly one stable fixed point at zero input and "
            f"zero-input end states within {COLLAPSE_TOL} (relative) of each other: {verdict(ok_collapse)}",
            f"- Pass criterion (noise scaling, {title}): in every network, noise x2 and x0.5 scale the hidden trajectory bit "
            f"for bit: {verdict(ok_scale, len(rows))}",
        ]
    lines += ["## Pass criteria", ""] + criteria + ["", "## Run time (this machine)", ""]
    lines += [f"- {k}: {v:.0f} s" for k, v in timings.items()]
    lines.append(f"- total: {sum(timings.values()):.0f} s")
    lines += ["", "Figures: " + ", ".join(figs), ""]
    (out / "results.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
