"""Fixed points of a trained 128-unit CTRNN: neurodyn against a PyTorch reference.

The parent process trains the network (float32, the training program the throughput case
compiled) and saves its weights and trajectories; a worker process with float64 enabled
searches 1024 candidates (drawn from the trajectories with noise 0.5, the reference
finder's default) for q = ½‖F(h)‖² < 1e-12 within an iteration budget.

Variants, timed round-robin after a warm-up:

- `neurodyn_adam`: `find_fixed_points(newton=False)` with the reference's budget: the
  same algorithm as the reference (batched Adam on q, then deduplication and Jacobians);
- `neurodyn_newton`: a short Adam phase (`short_iters`), then Newton on every candidate
  with q <= `short_newton_q`: how neurodyn reaches the tolerance;
- `torch`: what the widely used finder (FixedPointFinder, Golub & Sussillo 2018) does:
  Adam (lr 1e-2) on q for all candidates at once until every q < tol or the budget runs
  out, then the unique points (1e-3) among the slow and fixed ones and a Jacobian
  (`torch.autograd.functional.jacobian`) and eigenvalues per point.
"""

import os
import time

import numpy as np

TOL_Q = 1e-12
KEEP_Q = 1e-3  # slow-point threshold: what both finders deduplicate and linearise
UNIQUE_TOL = 1e-3
LEARNING_RATE = 1e-2
WEIGHTS = ("W_rec", "W_in", "b", "W_out", "b_out", "tau", "h0")


def prepare(programs, settings: dict, path) -> dict:
    """Train the network and save its weights and trajectories to `path` (npz)."""
    import jax
    import jax.random as jr
    from _neurodyn_train import make_config, make_model

    hidden = settings["hidden"]
    program = programs.single(hidden)
    config = make_config(programs.batch, programs.steps_per_call, learning_rate=5e-3)
    kmodel, ktrain, ktest = jr.split(jr.key(42), 3)
    state = program.trainer.init(make_model(hidden, key=kmodel), programs.task, config, key=ktrain)
    calls = max(1, settings["train_steps"] // programs.steps_per_call)
    for _ in range(calls):
        state, logs = program(state)
    loss = float(np.mean(np.asarray(logs.loss)))
    model = state.model
    trials = programs.task.sample_batch(64, key=ktest)
    states = jax.vmap(lambda x: model(x).state)(trials.inputs)
    np.savez(path, states=np.asarray(states), **{k: np.asarray(getattr(model, k)) for k in WEIGHTS})
    return {"train_steps": calls * programs.steps_per_call, "final_train_loss": loss}


def _torch_find(weights: dict, x0: np.ndarray, n_iters: int, dt_tau) -> dict:
    import torch

    t = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in weights.items()}
    drive = t["b"]  # u = 0
    tau = torch.clamp(t["tau"], min=dt_tau)

    def field(h):
        return (-h + torch.tanh(h) @ t["W_rec"].T + drive) / tau

    x = torch.as_tensor(x0, dtype=torch.float64).clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=LEARNING_RATE)
    iters = 0
    for iters in range(1, n_iters + 1):
        q = 0.5 * (field(x) ** 2).sum(-1)
        if q.max().item() < TOL_Q:
            break
        opt.zero_grad(set_to_none=True)
        q.sum().backward()
        opt.step()
    with torch.no_grad():
        h = x.detach()
        q = 0.5 * (field(h) ** 2).sum(-1)
        keep = torch.nonzero(q <= KEEP_Q).flatten()
        order = keep[torch.argsort(q[keep])]
        unique = []
        for i in order.tolist():
            if not unique or torch.cdist(h[i : i + 1], h[unique]).min().item() > UNIQUE_TOL:
                unique.append(i)
    eigs = []
    for i in unique:
        jac = torch.autograd.functional.jacobian(field, h[i], vectorize=True)
        eigs.append(torch.linalg.eigvals(jac))
    q = q.numpy()
    return {
        "converged": float(np.mean(q < TOL_Q)),
        "median_q": float(np.median(q)),
        "unique": len(unique),
        "iterations": iters,
    }


def _neurodyn_stats(fps) -> dict:
    status = np.asarray(fps.candidate_status)
    q = np.asarray(fps.candidate_q)
    return {
        "converged": float(np.mean(status == 0)),
        "median_q": float(np.median(q)),
        "unique": int(np.asarray(fps.valid).sum()),
    }


def worker(path: str, settings: dict, repeats: int) -> dict:
    """Run in a process started with JAX_ENABLE_X64=1."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    from _neurodyn_train import DT, make_model

    from neurodyn.analysis import find_fixed_points, sample_initial_states

    if not jax.config.jax_enable_x64:
        raise RuntimeError("the fixed-point worker needs JAX_ENABLE_X64=1")
    data = dict(np.load(path))
    weights = {k: data[k].astype(np.float64) for k in WEIGHTS}
    model = make_model(settings["hidden"], key=jr.key(0))
    model = eqx.tree_at(lambda m: [getattr(m, k) for k in WEIGHTS], model, [jnp.asarray(weights[k]) for k in WEIGHTS])
    x0 = sample_initial_states(jnp.asarray(data["states"], jnp.float64), settings["candidates"], key=jr.key(7))
    u = jnp.zeros(model.input_size)
    n_iters, short = settings["n_iters"], settings["short_iters"]

    def nd(iters, newton):
        return lambda: jax.block_until_ready(
            find_fixed_points(
                model, u, x0, n_iters=iters, tol_q=TOL_Q, newton=newton,
                newton_tol_q=settings["short_newton_q"] if newton else KEEP_Q,
            )
        )

    variants = {"neurodyn_adam": nd(n_iters, False), "neurodyn_newton": nd(short, True)}
    torch_ok = True
    try:
        import torch

        torch.set_num_threads(int(settings["threads"]))
        x0_np = np.array(x0)
        variants["torch"] = lambda: _torch_find(weights, x0_np, n_iters, DT)
    except ImportError:
        torch_ok = False

    # Warm-up: compiles both neurodyn programs (the budget is traced, so 2 iterations
    # compile the same program as 5000) and touches every torch code path.
    nd(2, False)()
    nd(2, True)()
    if torch_ok:
        _torch_find(weights, np.array(x0), 2, DT)
    times = {k: [] for k in variants}
    stats = {}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            stats[name] = out if name == "torch" else _neurodyn_stats(out)
    return {"times": times, "stats": stats, "x64": True, "candidates": int(x0.shape[0]), "dtype": str(x0.dtype)}


def run(results, programs, settings: dict, repeats: int, workdir, spawn) -> None:
    """The parent's side: train, save, start the worker, record its figures."""
    path = os.path.join(workdir, "fixed_points_network.npz")
    trained = prepare(programs, settings, path)
    from _machine import n_cores

    settings = {**settings, "threads": n_cores()}
    out = spawn("fixed_points", {"path": path, "settings": settings, "repeats": repeats}, x64=True)
    name = "fixed_points"
    budget = {"neurodyn_newton": settings["short_iters"]}
    for variant, times in out["times"].items():
        s = out["stats"][variant]
        results.add(
            f"{name}/{variant}/time",
            "s",
            times,
            higher_is_better=False,
            candidates=out["candidates"],
            hidden=settings["hidden"],
            adam_budget=budget.get(variant, settings["n_iters"]),
            newton=variant == "neurodyn_newton",
            newton_from_q=settings["short_newton_q"] if variant == "neurodyn_newton" else None,
            converged_fraction=s["converged"],
            median_q=s["median_q"],
            unique_points=s["unique"],
            **({"iterations": s["iterations"]} if "iterations" in s else {}),
        )
    results.info[name] = {**trained, "dtype": out["dtype"], "tol_q": TOL_Q, **settings}
    if "torch" in out["times"]:
        for variant in ("neurodyn_adam", "neurodyn_newton"):
            results.ratio(
                f"fixed_points: torch time / {variant} time",
                f"{name}/torch/time",
                f"{name}/{variant}/time",
                "speed-up of neurodyn over the PyTorch reference (converged fractions in the figures)",
            )
    else:
        results.notes.append("fixed points: torch is not installed; the PyTorch reference was skipped.")
