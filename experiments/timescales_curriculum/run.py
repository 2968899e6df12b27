"""Curricula and timescales on N-parity (Khajehabdollahi et al. 2024), end to end.

    python experiments/timescales_curriculum/run.py [--quick] [--out DIR] [--overwrite] [--train-only]

Trains `single_head.toml` and `multi_head.toml` (leaky rate RNNs, per-neuron trainable τ,
N-parity from N = 2 with an advance threshold of 98 %, parameters snapshotted after every
epoch), then per network: the epoch each N was reached (the curriculum state in the
store), the final network's accuracy at every N (`neurodyn.train.accuracy_by_n`: does it
still solve the N it passed earlier?), and, for the network at the end of each stage it
passed, its learned τ and its autocorrelation timescales τ_net
(`neurodyn.analysis.autocorrelation_timescales`, binary input, AIC-chosen exponential
fits, τ_net ≤ 1 excluded). Writes figures and `results.md` into DIR (default:
experiments/timescales_curriculum/out, or out-quick). `--quick` trains small networks for
few steps (about 4-5 min on a 2-core CPU).
"""

import argparse
import pathlib
import time
import tomllib

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import matplotlib
import numpy as np

import neurodyn
import neurodyn.analysis as na
from neurodyn.train import accuracy_by_n

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
CURRICULA = ("single_head", "multi_head")
# Stated in README.md before the first full run.
WINS_NEEDED = 3          # of 4 seeds: multi-head reaches a higher N than single-head
RETAINED = 0.95          # multi-head: accuracy on every earlier N at the end
FORGOTTEN = 0.75         # single-head: mean accuracy on the earlier N at the end
ACC_BATCH = 1024         # trials per N for the final accuracy
TAU_STEPS = 20_000       # timescale run length (quick: 4000), burn-in 500, as for the released networks
TAU_TRIALS = 10          # independent runs per network (quick: 2)
TARGET_N = 12            # the N both curricula are compared at (quick: the cap)
TAU_GROWTH = 0.05        # criterion 5: learned τ at stage 11 <= stage 2 + this
N_ABLATE = 20            # units silenced: the slowest or the fastest learned τ (quick: 8)
EPS = [0.0, *np.geomspace(1e-2, 10, 10).tolist()]  # weight perturbation scales


def load_spec(name: str, quick: bool) -> dict:
    spec = tomllib.loads((HERE / f"{name}.toml").read_text())
    if quick:
        spec["model"]["hidden_size"] = 32
        spec["task"]["n_cap"] = 4
        spec["train"]["n_steps"] = 1000
        spec["train"]["eval_every"] = 100
        spec["train"]["batch_size"] = 64
        spec["sweep"]["seeds"] = 2
        spec["sweep"]["snapshot_every"] = 100
    return spec


def snapshot_model(sweep, member: int, ds, pos: int, snap: int):
    """The member's model with the parameters of snapshot `snap` (`final` layout)."""
    model = sweep.model(member)
    for var in ds.data_vars:
        if not var.startswith("snapshot_"):
            continue
        name = var[len("snapshot_"):]
        old = getattr(model, name)
        value = np.asarray(ds[var].values[pos, snap])
        model = eqx.tree_at(lambda m, name=name: getattr(m, name), model, jnp.asarray(value, dtype=old.dtype))
    return model


# Other single/double selection rules, applied to the same fits (`na.select_model`): how
# many units each changes against the default (the study's AIC with the amplitude guard).
RULES = {"AIC alone": {"min_fraction": 0.0}, "BIC": {"criterion": "bic"}, "τ_slow ≥ 3 τ_fast": {"min_separation": 3.0}}
GUARD = "τ_slow ≥ 3 τ_fast"


@eqx.filter_jit
def _timescales(model, key, n_steps, n_trials):
    res = na.autocorrelation_timescales(model, na.BinaryInput(), n_steps=n_steps, burn_in=500, key=key, n_trials=n_trials)
    fit = res.fit
    summary = na.summarise_timescales(fit.tau_net)
    changed = jnp.stack([jnp.sum(na.select_model(fit, **rule).choice != fit.choice) for rule in RULES.values()])
    guarded = na.summarise_timescales(na.select_model(fit, **RULES[GUARD]).tau_net).median
    return (summary.median, summary.n_valid, jnp.nanmean(res.learned_tau), res.population_fit.tau_net,
            jnp.sum(fit.choice == 1), changed, guarded)


def stage_task(curriculum, task, n: int):
    """`task` as the curriculum sets it at stage N = n (its `n` and active heads)."""
    n = jnp.asarray(n, jnp.int32)
    return eqx.tree_at(lambda t: (t.n, t.active), task, (n, curriculum.active_set(task, n)))


def ablations(model, task, n_units: int, key):
    """Accuracy per N with the `n_units` slowest or fastest learned-τ units silenced."""
    tau = jnp.asarray(model.tau)
    out = {}
    for name, mask in (("slowest", na.slowest_units(tau, n_units)), ("fastest", na.fastest_units(tau, n_units))):
        acc = np.asarray(accuracy_by_n(na.silence(model, mask), task, ACC_BATCH, key=key))
        out[name] = {int(n): float(a) for n, a in enumerate(acc, start=1) if np.isfinite(a)}
    out["n_units"] = n_units
    return out


def perturbation(model, task, config, n: int, key):
    """Accuracy at N = n after W_rec += ε‖W‖_F d/‖d‖_F, for every ε, before and after one
    epoch of retraining (all ε trained together in one vmapped program)."""
    keys = jr.split(key, len(EPS))
    perturbed = [na.perturb_weights(model, e, key=k) for e, k in zip(EPS, keys)]
    score = lambda m: float(np.asarray(accuracy_by_n(m, task, ACC_BATCH, key=jr.key(77)))[n - 1])  # noqa: E731
    before = [score(m) for m in perturbed]
    retrained, _ = neurodyn.train.fit_group(perturbed, task, config, keys=list(jr.split(jr.fold_in(key, 1), len(EPS))))
    after = [score(m) for m in retrained]
    return {"eps": EPS, "before": before, "after": after}


def analyse(sweep, name: str, spec: dict, quick: bool) -> list[dict]:
    """One row per member: curriculum schedule, final accuracy per N, τ per passed stage,
    the ablation of slow and fast units and the weight perturbation."""
    eval_every = int(spec["train"]["eval_every"])
    curriculum = neurodyn.train.curriculum_from_section(spec["train"])
    retrain = {k: v for k, v in spec["train"].items() if not k.startswith("curriculum")}
    retrain.update(n_steps=eval_every, eval_every=eval_every)
    config = neurodyn.train.train_config(retrain)
    rows = []
    for g in sweep.groups:
        ds = sweep.group(g).load()
        steps = np.asarray(ds["snapshot_step"].values)
        ns = np.asarray(ds["n"].values)
        for pos, m in enumerate(np.asarray(ds["member"].values)):
            m = int(m)
            reached = np.asarray(ds["curriculum_reached"].values[pos])
            task = sweep.task(m)
            model = sweep.model(m)
            acc = np.asarray(accuracy_by_n(model, task, ACC_BATCH, key=jr.key(500 + m)))
            n_max = int(ds["curriculum_n"].values[pos])
            finished = bool(ds["curriculum_finished"].values[pos])
            # The network at the end of each stage it passed: the snapshot taken when N + 1
            # was reached (after epoch e, i.e. at step e * eval_every); the final network
            # for the cap N when the curriculum finished there.
            stages = []
            for n in ns:
                if n + 1 <= ns[-1] and reached[n] > 0:
                    snap = int(np.nonzero(steps == int(reached[n]) * eval_every)[0][0])
                    stages.append((int(n), snap, int(steps[snap])))
                elif n == n_max and finished:
                    stages.append((int(n), len(steps) - 1, int(steps[-1])))
            taus = []
            for n, snap, step in stages:
                net = snapshot_model(sweep, m, ds, pos, snap)
                tau_net, n_valid, learned, pop, n_double, changed, guarded = _timescales(
                    net, jr.key(900 + m), 4000 if quick else TAU_STEPS, 2 if quick else TAU_TRIALS)
                taus.append({"n": n, "step": step, "tau_net": float(tau_net), "n_valid": int(n_valid),
                             "learned_tau": float(learned), "population_tau": float(pop), "n_double": int(n_double),
                             "changed": dict(zip(RULES, np.asarray(changed).tolist())), "tau_net_guarded": float(guarded)})
            final = stage_task(curriculum, task, n_max)
            ablated = ablations(model, task, 8 if quick else N_ABLATE, jr.key(600 + m))
            perturbed = perturbation(model, final, config, n_max, jr.key(700 + m))
            rows.append({"curriculum": name, "ablation": ablated, "perturbation": perturbed, "member": m, "seed": int(np.asarray(sweep.members["seed"].values)[m]),
                         "n_max": n_max, "finished": finished, "reached": {int(n): int(e) for n, e in zip(ns, reached) if e >= 0},
                         "accuracy": {int(n): float(a) for n, a in zip(ns, acc) if np.isfinite(a)},
                         "stages": taus})
    return rows


def schedule(sweep, name: str) -> list[dict]:
    """Per member: the epoch each N was reached and the final accuracy per N (the fixed-τ
    condition gets only these: its question is whether τ needs to be learned at all)."""
    rows = []
    for g in sweep.groups:
        ds = sweep.group(g).load()
        ns = np.asarray(ds["n"].values)
        for pos, m in enumerate(np.asarray(ds["member"].values)):
            m = int(m)
            acc = np.asarray(accuracy_by_n(sweep.model(m), sweep.task(m), ACC_BATCH, key=jr.key(500 + m)))
            reached = np.asarray(ds["curriculum_reached"].values[pos])
            rows.append({"curriculum": name, "member": m, "seed": int(np.asarray(sweep.members["seed"].values)[m]),
                         "n_max": int(ds["curriculum_n"].values[pos]),
                         "reached": {int(n): int(e) for n, e in zip(ns, reached) if e >= 0},
                         "accuracy": {int(n): float(a) for n, a in zip(ns, acc) if np.isfinite(a)}})
    return rows


def fixed_tau_section(rows, fixed) -> list[str]:
    multi = {r["seed"]: r for r in rows if r["curriculum"] == "multi_head"}
    lines = ["", "## Fixed τ = 1, multi-head (the study: as good as trainable τ)", "",
             "| seed | largest N (τ = 1 / trainable) | epoch each N was reached, τ = 1 | trainable τ | "
             "final accuracy at earlier N, τ = 1 |", "|---|---|---|---|---|"]
    for r in sorted(fixed, key=lambda r: r["seed"]):
        t = multi.get(r["seed"], {"n_max": "-", "reached": {}})
        earlier = [a for n, a in sorted(r["accuracy"].items()) if 2 <= n < r["n_max"]]
        lines.append(f"| {r['seed']} | {r['n_max']} / {t['n_max']} | "
                     + ", ".join(f"N{n}:{e}" for n, e in sorted(r["reached"].items())) + " | "
                     + ", ".join(f"N{n}:{e}" for n, e in sorted(t["reached"].items())) + " | "
                     + (f"{100 * min(earlier):.1f}–{100 * max(earlier):.1f} %" if earlier else "-") + " |")
    return lines


def spearman(x, y) -> float:
    if len(x) < 2:
        return float("nan")
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if np.std(rx) == 0 or np.std(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _save(fig, axes, out: pathlib.Path, name: str) -> str:
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def figures(out: pathlib.Path, rows, eval_every: int) -> list[str]:
    names = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for r in rows:
        color = "C0" if r["curriculum"] == "single_head" else "C1"
        ns = sorted(r["reached"])
        epochs = [r["reached"][n] for n in ns]
        axes[0].step(np.asarray(epochs) * eval_every, ns, where="post", color=color, alpha=0.7,
                     label=r["curriculum"] if r["seed"] == 0 else None)
        accs = sorted(r["accuracy"].items())
        axes[1].plot([n for n, _ in accs], [a for _, a in accs], "o-", color=color, alpha=0.7,
                     label=r["curriculum"] if r["seed"] == 0 else None)
        st = r["stages"]
        axes[2].plot([s["n"] for s in st], [s["tau_net"] for s in st], "o-", color=color, alpha=0.7,
                     label=f"{r['curriculum']} τ_net" if r["seed"] == 0 else None)
        axes[2].plot([s["n"] for s in st], [s["learned_tau"] for s in st], "s--", color=color, alpha=0.4,
                     label=f"{r['curriculum']} learned τ" if r["seed"] == 0 else None)
    axes[0].set(xlabel="training step", ylabel="current N", title="curriculum progress (one line per network)")
    axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[1].set(xlabel="N", ylabel="accuracy of the final network", title="accuracy at every N after training",
                ylim=(0.3, 1.02))
    axes[2].set(xlabel="N passed", ylabel="steps (τ_net: median over units; learned τ: mean)",
                title="timescales at the end of each stage")
    names.append(_save(fig, axes, out, "curriculum_timescales.png"))

    # The study's figures: epochs spent on each new N; accuracy per N with slow or fast
    # units silenced; accuracy after the weight perturbation, before and after retraining.
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for r in rows:
        color = "C0" if r["curriculum"] == "single_head" else "C1"
        label = r["curriculum"] if r["seed"] == 0 else None
        ns = sorted(n for n in r["reached"] if n > min(r["reached"]))
        axes[0].plot(ns, [r["reached"][n] - r["reached"][n - 1] for n in ns], "o-", color=color, alpha=0.7, label=label)
        final = [n for n in sorted(r["accuracy"]) if 2 <= n <= r["n_max"]]
        for kind, style in (("slowest", "v--"), ("fastest", "^:")):
            axes[1].plot(final, [r["ablation"][kind].get(n, np.nan) for n in final], style, color=color, alpha=0.6,
                         label=f"{r['curriculum']}, {kind} {r['ablation']['n_units']} silenced" if r["seed"] == 0 else None)
        p = r["perturbation"]
        eps = np.asarray(p["eps"][1:])
        axes[2].semilogx(eps, p["before"][1:], "o-", color=color, alpha=0.6,
                         label=f"{r['curriculum']}, perturbed" if r["seed"] == 0 else None)
        axes[2].semilogx(eps, p["after"][1:], "s--", color=color, alpha=0.4,
                         label=f"{r['curriculum']}, after one epoch" if r["seed"] == 0 else None)
    axes[0].set(xlabel="N", ylabel="epochs to pass N − 1 → N", title="epochs per new N (one line per network)")
    axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[1].set(xlabel="N", ylabel="accuracy", title="units silenced by learned τ", ylim=(0.3, 1.02))
    axes[2].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[2].set(xlabel="ε (‖ΔW‖_F / ‖W‖_F)", ylabel="accuracy at the final N", title="weight perturbation",
                ylim=(0.3, 1.02))
    names.append(_save(fig, axes, out, "curriculum_mechanisms.png"))
    return names


def write_results(out, rows, specs, timings, figs, quick, fixed=None):
    s = specs["multi_head"]
    m, t, task = s["model"], s["train"], s["task"]
    lines = [f"# Curricula and timescales: results ({'QUICK run' if quick else 'full run'})", "",
             f"N-parity from N = 2 to n_cap = {task['n_cap']}; leaky rate RNN ({m['leak']} leak), {m['hidden_size']} units, "
             f"LeakyReLU(0.01), no self-connections, τ trainable; SGD Nesterov lr {t['learning_rate']}, momentum {t['momentum']}, "
             f"grad clip {t['grad_clip']}, batch {t['batch_size']}, {t['n_steps']} steps in epochs of {t['eval_every']} steps "
             f"(advance at > {100 * t['curriculum_threshold']:.0f} % on {t['curriculum_eval_batch_size']} fresh trials); "
             f"{s['sweep']['seeds']} seeds per curriculum. Final accuracy per N on {ACC_BATCH} fresh trials per N. "
             f"Timescales: binary input, {2 if quick else TAU_TRIALS} runs of {4000 if quick else TAU_STEPS} steps after 500 "
             "burn-in, fits on lags 0-30, median over units with τ_net > 1.", ""]
    for name in CURRICULA:
        lines += [f"## {name}", "",
                  "| seed | largest N | finished at cap | epoch each N was reached | final accuracy at each N |",
                  "|---|---|---|---|---|"]
        for r in rows:
            if r["curriculum"] != name:
                continue
            lines.append(f"| {r['seed']} | {r['n_max']} | {'yes' if r['finished'] else 'no'} | "
                         + ", ".join(f"N{n}:{e}" for n, e in sorted(r["reached"].items())) + " | "
                         + ", ".join(f"N{n}:{100 * a:.1f}%" for n, a in sorted(r["accuracy"].items()) if n >= 2) + " |")
        lines += ["", "Timescales of the network at the end of each stage it passed (step = training step of the snapshot):", "",
                  "| seed | N | step | learned τ mean | τ_net median (units kept) | population τ_net |", "|---|---|---|---|---|---|"]
        for r in rows:
            if r["curriculum"] != name:
                continue
            for st in r["stages"]:
                lines.append(f"| {r['seed']} | {st['n']} | {st['step']} | {st['learned_tau']:.3f} | "
                             f"{st['tau_net']:.3f} ({st['n_valid']}) | {st['population_tau']:.3f} |")
        lines.append("")

    single = {r["seed"]: r for r in rows if r["curriculum"] == "single_head"}
    multi = {r["seed"]: r for r in rows if r["curriculum"] == "multi_head"}
    seeds = sorted(set(single) & set(multi))
    n_seeds = len(seeds)
    need = WINS_NEEDED if not quick else n_seeds
    target = TARGET_N if not quick else int(task["n_cap"])
    early, late = 2, (11 if not quick else target - 1)

    def epoch_at(r, n):  # the epoch N = n was reached; None if never
        return r["reached"].get(n)

    def win(k):
        em, es = epoch_at(multi[k], target), epoch_at(single[k], target)
        return em is not None and (es is None or em < es)

    wins = sum(win(k) for k in seeds)

    def earlier(r):  # the N passed before the current one
        return [a for n, a in r["accuracy"].items() if 2 <= n < r["n_max"]]

    kept = [bool(earlier(r)) and min(earlier(r)) >= RETAINED for r in multi.values()]
    lost = [bool(earlier(r)) and float(np.mean(earlier(r))) <= FORGOTTEN for r in single.values()]

    def at_stage(r, n, key):
        values = [st[key] for st in r["stages"] if st["n"] == n]
        return values[0] if values else float("nan")

    rising, flat = {}, {}
    for name, group in (("single_head", single), ("multi_head", multi)):
        pairs = [(at_stage(r, early, "tau_net"), at_stage(r, late, "tau_net")) for r in group.values()]
        rising[name] = (sum(np.isfinite(b) and b > a for a, b in pairs), pairs)
        pairs = [(at_stage(r, early, "learned_tau"), at_stage(r, late, "learned_tau")) for r in group.values()]
        flat[name] = (sum(np.isfinite(b) and b <= a + TAU_GROWTH for a, b in pairs), pairs)
    fmt = lambda ps: "[" + ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in ps) + "]"  # noqa: E731
    verdict = lambda k: "PASS" if k >= need else "FAIL"  # noqa: E731
    epochs = ", ".join(f"seed {k}: {epoch_at(multi[k], target)} vs {epoch_at(single[k], target)}" for k in seeds)
    lines += ["## Pass criteria", "",
              f"- Pass criterion (curriculum): multi-head reaches N = {target} in fewer epochs than single-head (same seed) "
              f"in >= {need} of {n_seeds} seeds (epochs multi vs single, None = not within the budget: {epochs}): "
              f"{wins}/{n_seeds} -> {verdict(wins)}",
              f"- Pass criterion (retention, multi-head): accuracy >= {100 * RETAINED:.0f} % at every earlier N at the end, in >= "
              f"{need} of {n_seeds} seeds: {sum(kept)}/{n_seeds} -> {verdict(sum(kept))}",
              f"- Pass criterion (forgetting, single-head): mean accuracy <= {100 * FORGOTTEN:.0f} % on the earlier N at the end, in >= "
              f"{need} of {n_seeds} seeds: {sum(lost)}/{n_seeds} -> {verdict(sum(lost))}"]
    for name in CURRICULA:
        head = name.replace("_", "-")
        lines += [f"- Pass criterion (τ_net rises with N, {head}): median τ_net at the end of stage {late} above stage {early} "
                  f"in >= {need} of {n_seeds} seeds ({fmt(rising[name][1])}): {rising[name][0]}/{n_seeds} -> {verdict(rising[name][0])}",
                  f"- Pass criterion (learned τ does not grow, {head}): mean learned τ at stage {late} <= stage {early} + "
                  f"{TAU_GROWTH} in >= {need} of {n_seeds} seeds ({fmt(flat[name][1])}): {flat[name][0]}/{n_seeds} -> "
                  f"{verdict(flat[name][0])}"]
    lines += ["", f"## The τ_net estimator: units each selection rule changes (of {m['hidden_size']} per network)", "",
              "Every network at the end of every stage it passed; the default is the study's AIC with the amplitude "
              "guard (a double fit one of whose terms carries < 10 % counts as single). `changed` counts the units "
              "whose single/double choice the rule flips; the last column is criterion 4 under the guard "
              f"{GUARD} (median τ_net at stage {late} above stage {early}).", "",
              "| curriculum | networks | units double (default) | " + " | ".join(f"changed by {k}" for k in RULES)
              + f" | τ_net rises with N under {GUARD} |", "|---|---|---|" + "---|" * len(RULES) + "---|"]
    for name, group in (("single_head", single), ("multi_head", multi)):
        stages = [st for r in group.values() for st in r["stages"]]
        pairs = [(at_stage(r, early, "tau_net_guarded"), at_stage(r, late, "tau_net_guarded")) for r in group.values()]
        up = sum(np.isfinite(b) and b > a for a, b in pairs)
        lines.append(f"| {name} | {len(stages)} | {sum(st['n_double'] for st in stages)} | "
                     + " | ".join(str(sum(st["changed"][k] for st in stages)) for k in RULES)
                     + f" | {up}/{len(pairs)} {fmt(pairs)} |")
    lines += ["", "## Ablation of slow and fast units (the study: slow units matter in single-head, fast in multi-head)", "",
              "| curriculum | seed | final N | accuracy at earlier and final N: intact / slowest silenced / fastest silenced |",
              "|---|---|---|---|"]
    for r in rows:
        ns = [n for n in sorted(r["accuracy"]) if 2 <= n <= r["n_max"]]
        cells = ", ".join(f"N{n}: {100 * r['accuracy'][n]:.0f}/{100 * r['ablation']['slowest'].get(n, np.nan):.0f}/"
                          f"{100 * r['ablation']['fastest'].get(n, np.nan):.0f}%" for n in ns)
        lines.append(f"| {r['curriculum']} | {r['seed']} | {r['n_max']} | {cells} |")
    lines += ["", "## Weight perturbation W += ε‖W‖_F d/‖d‖_F (accuracy at the final N, before / after one epoch of retraining)", "",
              "| curriculum | seed | " + " | ".join(f"ε={e:.2g}" for e in EPS) + " |", "|---|---|" + "---|" * len(EPS)]
    for r in rows:
        p = r["perturbation"]
        lines.append(f"| {r['curriculum']} | {r['seed']} | "
                     + " | ".join(f"{100 * b:.0f}/{100 * a:.0f}" for b, a in zip(p["before"], p["after"])) + " |")
    if fixed:
        lines += fixed_tau_section(rows, fixed)
    lines += [
              "", "## Run time (this machine)", ""]
    lines += [f"- {k}: {v:.0f} s" for k, v in timings.items()]
    lines.append(f"- total: {sum(timings.values()):.0f} s")
    lines += ["", "Figures: " + ", ".join(figs), ""]
    (out / "results.md").write_text("\n".join(lines))


def train(spec: dict, store: pathlib.Path, *, overwrite: bool):
    """The curriculum's sweep: resumed where a stopped run left it, reused when complete,
    replaced only with `overwrite`."""
    if store.exists() and not overwrite:
        sweep = neurodyn.open_sweep(store)
        if sweep.complete:
            return sweep, False
        return neurodyn.run_sweep(spec, store, resume=True, progress=True).open(), True
    return neurodyn.run_sweep(spec, store, overwrite=overwrite, progress=True).open(), True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small networks, few steps (minutes)")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--overwrite", action="store_true", help="retrain from scratch, replacing the stores in DIR")
    parser.add_argument("--train-only", action="store_true", help="train (or resume) the stores and stop")
    parser.add_argument("--fixed-tau", action="store_true",
                        help="also the third condition: multi-head with every τ fixed at 1 (multi_head_tau1.toml)")
    args = parser.parse_args(argv)
    out = args.out or HERE / ("out-quick" if args.quick else "out")
    out.mkdir(parents=True, exist_ok=True)
    rows, timings, specs = [], {}, {}
    for name in CURRICULA:
        spec = specs[name] = load_spec(name, args.quick)
        store = out / f"{name}.zarr"
        start = time.perf_counter()
        sweep, trained = train(spec, store, overwrite=args.overwrite)
        label = f"{name} training" if trained else f"{name} training (complete store reused, not timed)"
        timings[label] = time.perf_counter() - start if trained else 0.0
        if args.train_only:
            continue
        start = time.perf_counter()
        rows += analyse(sweep, name, spec, args.quick)
        timings[f"{name} accuracy per N and timescales"] = time.perf_counter() - start
    fixed = None
    if args.fixed_tau:
        spec = load_spec("multi_head_tau1", args.quick)
        start = time.perf_counter()
        sweep, trained = train(spec, out / "multi_head_tau1.zarr", overwrite=args.overwrite)
        timings["multi_head_tau1 training" if trained else "multi_head_tau1 training (complete store reused, not timed)"] = (
            time.perf_counter() - start if trained else 0.0)
        if not args.train_only:
            fixed = schedule(sweep, "multi_head_tau1")
    if args.train_only:
        print("trained:", ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
        return
    figs = figures(out, rows, int(specs["multi_head"]["train"]["eval_every"]))
    write_results(out, rows, specs, timings, figs, args.quick, fixed)
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
