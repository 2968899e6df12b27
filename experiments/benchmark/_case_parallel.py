"""Parallel-in-time evaluation: the sequential scan against DEER and quasi-DEER.

One trial of a leaky tanh network (`LeakyRateRNN`, leak "post", τ = 2, `init="gain"`,
one input channel of standard normal noise), float32, `neurodyn.parallel.evaluate` with
its default tolerance (1e-5) and `max_iter` = min(T, `max_iter` of the settings), on a
grid of T, H and gain. Each
method is compiled ahead of time (the compile time is recorded apart), then timed
round-robin after one warm-up call. Recorded with each time: the Newton iterations,
whether the solve converged, and max |states − scan's states|.

DEER keeps a dense `(T, H, H)` Jacobian and its associative scan a few more arrays of
that size; a point whose estimate (`DENSE_COPIES` of them) exceeds `dense_limit_mb` is
skipped with a note instead of exhausting the host's memory. A method whose warm-up
call takes longer than `max_call_s` is timed once (that call) instead of `repeats`
times. Runs in a worker process without the member layout's device split, so each
program sees the whole machine.
"""

import time

METHODS = ("scan", "deer", "quasi_deer")
DENSE_COPIES = 6


def _dense_mb(n_time: int, hidden: int, itemsize: int = 4) -> float:
    return DENSE_COPIES * n_time * hidden * hidden * itemsize / 2**20


def worker(settings: dict, repeats: int) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    from _results import interleaved, time_call

    from neurodyn.models import LeakyRateRNN
    from neurodyn.parallel import evaluate

    points = []
    for hidden in settings["hidden"]:
        for n_time in settings["n_time"]:
            for gain in settings["gains"]:
                model = LeakyRateRNN(1, hidden, 1, tau=2.0, activation="tanh", init="gain", gain=gain, key=jr.key(0))
                inputs = jr.normal(jr.key(1), (n_time, 1))
                point = {"hidden": hidden, "n_time": n_time, "gain": gain, "methods": {}, "skipped": {}}
                calls = {}
                for method in METHODS:
                    if method == "deer" and _dense_mb(n_time, hidden) > settings["dense_limit_mb"]:
                        point["skipped"][method] = (
                            f"dense Jacobians need about {_dense_mb(n_time, hidden):.0f} MB "
                            f"(limit {settings['dense_limit_mb']} MB)"
                        )
                        continue
                    cap = settings.get("max_iter")
                    limit = None if method == "scan" or cap is None else min(n_time, cap)
                    fn = eqx.filter_jit(
                        lambda m, u, method=method, limit=limit: evaluate(m, u, method=method, max_iter=limit)
                    )
                    start = time.perf_counter()
                    compiled = fn.lower(model, inputs).compile()
                    compile_s = time.perf_counter() - start
                    kept = []
                    first = time_call(lambda c=compiled: kept.append(jax.block_until_ready(c(model, inputs))))
                    calls[method] = lambda c=compiled: jax.block_until_ready(c(model, inputs))
                    traj, info = kept[0]
                    point["methods"][method] = {
                        "compile_s": compile_s,
                        "first_s": first,
                        "max_iter": limit,
                        "iterations": int(info.iterations),
                        "converged": bool(info.converged),
                        "states": traj.state,
                    }
                reference = point["methods"]["scan"]["states"]
                for out in point["methods"].values():
                    out["max_error"] = float(jnp.max(jnp.abs(out.pop("states") - reference)))
                slow = {m for m, out in point["methods"].items() if out["first_s"] > settings["max_call_s"]}
                times = interleaved({m: c for m, c in calls.items() if m not in slow}, repeats)
                for method in slow:
                    times[method] = [point["methods"][method]["first_s"]]
                for method, values in times.items():
                    point["methods"][method]["times"] = values
                points.append(point)
    return {"points": points, "device": jax.devices()[0].device_kind, "backend": jax.default_backend()}


def run(results, settings: dict, repeats: int, spawn) -> None:
    """The parent's side: one worker for the whole grid, then figures and ratios."""
    out = spawn("parallel", {"settings": settings, "repeats": repeats})
    for point in out["points"]:
        h, t, g = point["hidden"], point["n_time"], point["gain"]
        stem = f"parallel/H{h}/T{t}/g{g}"
        for method, m in point["methods"].items():
            results.add(
                f"{stem}/{method}/time",
                "s",
                m["times"],
                higher_is_better=False,
                hidden=h,
                n_time=t,
                gain=g,
                iterations=m["iterations"],
                converged=m["converged"],
                max_error=m["max_error"],
                compile_s=round(m["compile_s"], 2),
                dtype="float32",
            )
        for method in ("deer", "quasi_deer"):
            results.ratio(
                f"parallel H={h} T={t} gain={g}: scan time / {method} time",
                f"{stem}/scan/time",
                f"{stem}/{method}/time",
                "speed-up of the parallel solve over the sequential scan (below 1: a slow-down)",
            )
        for method, why in point["skipped"].items():
            results.notes.append(f"parallel H={h} T={t} gain={g}: {method} skipped, {why}.")
    results.info["parallel"] = {**settings, "device": out["device"], "backend": out["backend"]}
