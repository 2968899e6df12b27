"""All pairs of a condition: the degeneracy analysis's DSA and weight stages, side by side.

16 networks h_t = tanh(W h_{t−1} + w_in x_t) (W uniform, scaled to spectral radius g with
g spread over [0.9, 1.3]; one input channel of standard normal noise), `trials` trials of
`n_time` steps each:

- DSA (at the widths in `dsa_hidden`): every network's DMD operator (`fit_dmd`, rank `rank`, whitened, no delays: the
  reference code's convention) and the angular score of all 120 pairs in one compiled
  program (`pairwise_dsa`, `dsa_restarts` restarts), against the reference package
  `dsa-metric` (`DSA.DSA(..., score_method="angular")`, its default optimiser, same
  rank, no delays, ridge 0) on the same trajectories. Recorded next to the times: the
  rank correlation of the two sets of 120 scores, their median relative difference, and
  the share of pairs where ours is at most the reference's (ours minimises over the whole
  orthogonal group; a smaller angle is the better optimum).
- Weights: the permutation-invariant distance of all 120 pairs, the host FAQ one pair
  after another (`solver="scipy"`) against all pairs in one compiled program
  (`solver="jax"`), with the largest relative difference of the distances.

Each timed figure is the whole stage, compile excluded (one warm-up call first); a stage
whose warm-up call takes longer than `max_call_s` (the reference's, about 2 s a pair on
2 CPU cores) is timed by that one call. Runs in a worker process (float64 off, the default
float32 for the JAX solvers).
"""

import time

N_NETWORKS = 16


def _networks(hidden: int, trials: int, n_time: int):
    """Trajectories [network, trial, time, hidden] and recurrent weights of the 16 networks:
    h_t = tanh(W h_{t−1} + w_in x_t), W uniform, scaled to spectral radius g."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    gains = np.linspace(0.9, 1.3, N_NETWORKS)
    inputs = jr.normal(jr.key(1), (trials, n_time, 1))
    w_in = jr.normal(jr.key(2), (hidden, 1))
    states, weights = [], []
    for k, g in enumerate(gains):
        W = jr.uniform(jr.key(100 + k), (hidden, hidden), minval=-1.0, maxval=1.0)
        W = g * W / jnp.max(jnp.abs(jnp.linalg.eigvals(W)))

        def run(u, W=W):
            def step(h, x):
                h = jnp.tanh(W @ h + w_in @ x)
                return h, h

            return jax.lax.scan(step, jnp.zeros(hidden), u)[1]

        states.append(np.asarray(jax.vmap(run)(inputs)))
        weights.append(np.asarray(W, dtype=np.float64))
    return np.stack(states), np.stack(weights)


def _reference(states, rank: int):
    """dsa-metric's all-pairs angular score on the same trajectories, or None and why."""
    try:
        import torch
        from DSA import DSA
    except ImportError as err:
        return None, f"dsa-metric is not importable ({err}); pip install -e '.[bench]'"
    import numpy as np

    def reference():
        torch.manual_seed(0)
        dsa = DSA(list(states), n_delays=1, rank=rank, lamb=0.0, score_method="angular", verbose=False)
        return np.asarray(dsa.fit_score())

    return reference, None


def worker(settings: dict, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    from _results import interleaved
    from scipy.stats import spearmanr

    from neurodyn.analysis import (
        fit_dmd,
        pairwise_dsa,
        pairwise_permutation_distances,
        select_pairs,
    )

    out = {"device": jax.devices()[0].device_kind, "backend": jax.default_backend(), "points": []}
    rank, restarts = settings["rank"], settings["dsa_restarts"]
    for hidden in settings["hidden"]:
        states, weights = _networks(hidden, settings["trials"], settings["n_time"])
        pairs = select_pairs(n_members=N_NETWORKS)
        point = {"hidden": hidden, "pairs": len(pairs), "times": {}, "agreement": {}}

        fit = jax.jit(jax.vmap(lambda x: fit_dmd(x, rank=rank, whiten=True)))

        def ours():
            ops = fit(jnp.asarray(states))
            scores = pairwise_dsa(ops, jnp.asarray(pairs), key=jr.key(0), n_restarts=restarts, batch_size=None)
            return np.asarray(jax.block_until_ready(scores.angle))

        calls = {}
        if hidden in settings["dsa_hidden"]:
            calls["dsa_neurodyn"] = ours
            reference, why = _reference(states, rank)
            if reference is None:
                out.setdefault("skipped", []).append(why)
            else:
                calls["dsa_reference"] = reference

        def perm(solver):
            return lambda: pairwise_permutation_distances(
                weights, pairs, n_restarts=settings["perm_restarts"], key=jr.key(2), solver=solver, progress=False
            )[0]

        calls["weights_scipy"] = perm("scipy")
        calls["weights_jax"] = perm("jax")
        values = {}
        for name, fn in calls.items():
            start = time.perf_counter()
            values[name] = fn()  # warm-up (compiles the JAX programs)
            point.setdefault("first_s", {})[name] = time.perf_counter() - start
        slow = {name for name, t in point["first_s"].items() if t > settings["max_call_s"]}
        point["times"] = interleaved({k: f for k, f in calls.items() if k not in slow}, repeats)
        for name in slow:  # timed once: the warm-up call (its compile is not JAX's)
            point["times"][name] = [point["first_s"][name]]
        if "dsa_reference" in values:
            angle, matrix = values["dsa_neurodyn"], values["dsa_reference"]
            ref = np.asarray([matrix[i, j] for i, j in pairs])
            point["agreement"]["dsa_spearman"] = float(spearmanr(angle, ref).statistic)
            point["agreement"]["dsa_median_relative_difference"] = float(np.median((angle - ref) / ref))
            point["agreement"]["dsa_ours_at_most_reference"] = float(np.mean(angle <= ref + 1e-6))
        d_scipy, d_jax = values["weights_scipy"], values["weights_jax"]
        point["agreement"]["weights_max_relative_difference"] = float(np.max(np.abs(d_jax - d_scipy) / d_scipy))
        point["agreement"]["weights_jax_at_most_scipy"] = float(np.mean(d_jax <= d_scipy * (1 + 1e-9)))
        out["points"].append(point)
    return out


def run(results, settings: dict, repeats: int, spawn) -> None:
    out = spawn("pairs", {"settings": settings, "repeats": repeats})
    for note in out.get("skipped", []):
        results.notes.append(f"pairs: {note}.")
    for point in out["points"]:
        h = point["hidden"]
        stem = f"pairs/H{h}"
        for name, values in point["times"].items():
            results.add(f"{stem}/{name}/time", "s", values, higher_is_better=False, hidden=h,
                        pairs=point["pairs"], first_s=round(point["first_s"][name], 2), **point["agreement"])
        if f"{stem}/dsa_neurodyn/time" in results.figures:
            results.ratio(f"pairs H={h}: dsa-metric time / neurodyn time (all {point['pairs']} DSA pairs)",
                          f"{stem}/dsa_reference/time", f"{stem}/dsa_neurodyn/time",
                          "speed-up of neurodyn's DSA over the reference package's, same trajectories and settings")
        results.ratio(f"pairs H={h}: host FAQ time / compiled all-pairs FAQ time",
                      f"{stem}/weights_scipy/time", f"{stem}/weights_jax/time",
                      "speed-up of the all-pairs program over one host solve after another (below 1: slower)")
        agreement = ", ".join(f"{k} {v:.3g}" for k, v in point["agreement"].items())
        results.notes.append(f"pairs H={h}: agreement of the distances: {agreement}.")
    results.info["pairs"] = {**settings, "networks": N_NETWORKS, "device": out["device"], "backend": out["backend"]}
