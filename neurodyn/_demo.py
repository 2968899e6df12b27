"""The demo: a small sweep of CTRNNs on the 3-bit flip-flop, written to a store and read back."""

import pathlib
import time

import jax
import jax.random as jr
import numpy as np


def demo_spec(tiny: bool = False) -> dict:
    """The demo's sweep: 2 learning rates x 3 seeds (tiny: 1 x 2, a few steps)."""
    if tiny:
        return {
            "task": {"name": "flipflop", "n_bits": 3, "n_time": 20, "p": 0.05, "pulse_width": 2},
            "model": {"name": "ctrnn", "hidden_size": 16, "tau": 1.0, "dt": 0.2},
            "train": {"learning_rate": 3e-3, "n_steps": 40, "eval_every": 20, "batch_size": 16,
                      "eval_batch_size": 32, "grad_clip": 1.0, "epochs_per_call": 2},
            "sweep": {"seeds": 2, "trajectories": 8},
        }
    return {
        "task": {"name": "flipflop", "n_bits": 3, "n_time": 50, "p": 0.05, "pulse_width": 2},
        "model": {"name": "ctrnn", "hidden_size": 48, "tau": 1.0, "dt": 0.2},
        "train": {"learning_rate": [3e-3, 1e-2], "n_steps": 1500, "eval_every": 100, "batch_size": 64,
                  "eval_batch_size": 128, "grad_clip": 1.0, "epochs_per_call": 5},
        "sweep": {"seeds": 3, "trajectories": 16},
    }


def fresh_accuracy(model, task, *, key, n_trials: int = 256) -> float:
    """Per-bit sign accuracy on a batch the network has never seen."""
    trials = task.sample_batch(n_trials, key=key)
    outputs = jax.vmap(lambda x: model(x).output)(trials.inputs)
    return float(task.batch_metric(outputs, trials))


def run_demo(
    out: str | pathlib.Path = "neurodyn-demo", *, tiny: bool = False, overwrite: bool = False, console=None
):
    """Run the demo sweep into `out/demo.zarr`, print a summary table, save figures.

    An earlier demo's store is replaced only with `overwrite=True` (`neurodyn demo
    --overwrite`, which `make demo` passes); a store holding files neurodyn did not
    write is never replaced."""
    from rich.console import Console

    from ._tables import print_table
    from .store import open_sweep
    from .sweep import run_sweep

    console = console or Console()
    if not str(out).strip():
        raise ValueError("--out '' is empty; give a folder for the demo's store and figures, e.g. --out neurodyn-demo.")
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            f"--out {str(out)!r} is a file; the demo writes a folder (its store and figures). "
            "Give a folder, e.g. --out neurodyn-demo."
        )
    store_path = out / "demo.zarr"
    if store_path.exists() and not overwrite:
        raise FileExistsError(
            f"{str(store_path)!r} already holds a store (an earlier demo?). Replace it with "
            "`neurodyn demo --overwrite` (`make demo` does), or choose another --out."
        )
    out.mkdir(parents=True, exist_ok=True)
    spec = demo_spec(tiny)
    console.print(
        "[bold]neurodyn demo[/bold]: a sweep of CTRNNs on the 3-bit flip-flop, each group "
        f"trained in one compiled program, written to {store_path}."
    )
    start = time.perf_counter()
    run_sweep(spec, store_path, overwrite=store_path.exists(), console=console)
    elapsed = time.perf_counter() - start

    sweep = open_sweep(store_path)
    members = sweep.members
    rows = []
    for i, member in enumerate(np.asarray(members["member"].values)):
        model = sweep.model(int(member))
        task = sweep.task(int(member))
        rows.append(
            {
                "member": int(member),
                "seed": int(members["seed"].values[i]),
                "learning_rate": float(members["learning_rate"].values[i]) if "learning_rate" in members.coords else spec["train"]["learning_rate"],
                "steps": int(members["steps_trained"].values[i]),
                "final_loss": float(members["final_loss"].values[i]),
                "status": str(members["status"].values[i]),
                "accuracy": fresh_accuracy(model, task, key=jr.key(10_000 + int(member))),
            }
        )
    print_table(
        console, ("member", "seed", "learning_rate", "steps", "MSE", "accuracy", "status"),
        [[str(r["member"]), str(r["seed"]), f"{r['learning_rate']:g}", str(r["steps"]), f"{r['final_loss']:.2e}",
          f"{100 * r['accuracy']:.2f} %", r["status"]] for r in rows],
        title=f"3-bit flip-flop sweep, trained in {elapsed:.1f} s (read back from the store)",
        notes=["MSE: held-out mean squared error.", "accuracy: per-bit sign accuracy on fresh trials."],
    )
    best = max(rows, key=lambda r: r["accuracy"])
    figures = save_figures(out, sweep, best["member"])
    figures += analyse_fixed_points(sweep, out, best["member"], tiny=tiny, console=console)
    analyse_timescales(sweep, tiny=tiny, console=console)
    analyse_degeneracy(sweep, tiny=tiny, console=console)
    console.print("Figures written: " + ", ".join(str(f) for f in figures))
    console.print(f"Store: {store_path} (open it with neurodyn.open_sweep or `neurodyn info {store_path}`)")
    return rows


def analyse_fixed_points(sweep, out: pathlib.Path, member: int, *, tiny: bool, console) -> list[pathlib.Path]:
    """Fixed points of every demo network, a table of what was found, figures of one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurodyn import analysis
    from neurodyn._tables import print_table

    start = time.perf_counter()
    results = analysis.fixed_points(
        sweep, n_initial=64 if tiny else 512, n_iters=200 if tiny else 3000, max_points=32, progress=True,
    )
    elapsed = time.perf_counter() - start
    rows = []
    for ds in results.values():
        valid, slow = np.asarray(ds["valid"].values), np.asarray(ds["slow"].values)
        stab, nun = np.asarray(ds["stability"].values), np.asarray(ds["n_unstable"].values)
        plus, minus = np.asarray(ds["attractor_plus"].values), np.asarray(ds["attractor_minus"].values)
        for i, m in enumerate(np.asarray(ds["member"].values)):
            fixed = valid[i] & ~slow[i]
            stable = fixed & (stab[i] == 0)
            one = fixed & (nun[i] == 1)
            joined = one & (plus[i] >= 0) & (minus[i] >= 0) & (plus[i] != minus[i])
            rows.append([
                str(m), str(int(stable.sum())), str(int(one.sum())), str(int(joined.sum())),
                str(int((fixed & ~stable & ~one).sum())), str(int((valid[i] & slow[i]).sum())),
            ])
    print_table(
        console, ("member", "stable", "saddles, 1 unstable mode", "saddles joining 2 attractors", "other", "slow points"),
        rows, title=f"Fixed points (zero input), found in {elapsed:.1f} s; a perfect 3-bit flip-flop has 8 stable ones",
    )
    from neurodyn.analysis import load_fixed_points, plot_eigenvalues, plot_fixed_points

    fps = load_fixed_points(sweep, member)
    group = str(np.asarray(sweep.members["group"].values)[member])
    ds = sweep.group(group)
    pos = int(np.nonzero(np.asarray(ds["member"].values) == member)[0][0])
    states = np.asarray(ds["states"].isel(member=pos).values)
    paths = []
    fig = plot_fixed_points(fps, states)
    fig.suptitle(f"Member {member}: trajectories and fixed points in PCA space")
    paths.append(out / "fixed_points.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    fig = plot_eigenvalues(fps)
    fig.suptitle(f"Member {member}: eigenvalues of the Jacobian at each fixed point")
    paths.append(out / "eigenvalues.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def analyse_timescales(sweep, *, tiny: bool, console):
    """A short driving run per network: learned τ and autocorrelation timescales τ_net."""
    from neurodyn import analysis
    from neurodyn._tables import print_table

    start = time.perf_counter()
    results = analysis.timescales(sweep, n_steps=400 if tiny else 5000, burn_in=50 if tiny else 200,
                                  max_lag=40, fit_lag=30, progress=True)
    elapsed = time.perf_counter() - start
    rows = []
    for ds in results.values():
        for i, m in enumerate(np.asarray(ds["member"].values)):
            rows.append([
                str(m), f"{np.nanmean(np.asarray(ds['learned_tau'].values[i])):.3g}",
                f"{float(ds['tau_net_mean'].values[i]):.3g}", f"{float(ds['tau_net_median'].values[i]):.3g}",
                f"{int(ds['n_valid_units'].values[i])} / {ds.sizes['hidden']}",
                f"{float(ds['population_tau_net'].values[i]):.3g}",
            ])
    print_table(
        console, ("member", "learned τ (τ/dt)", "τ_net mean", "τ_net median", "units kept", "population τ"), rows,
        title=f"Timescales in steps (binary input, {elapsed:.1f} s); units with τ_net ≤ 1 excluded from the averages",
    )


def analyse_degeneracy(sweep, *, tiny: bool, console):
    """How differently the demo's networks solve the flip-flop, per learning rate."""
    from neurodyn import analysis
    from neurodyn._tables import print_degeneracy

    start = time.perf_counter()
    ds = analysis.degeneracy(sweep, rank=6, dsa_restarts=4, perm_restarts=2, progress=True)
    console.print(f"Degeneracy across the demo networks ({time.perf_counter() - start:.1f} s):")
    print_degeneracy(ds, console)


def save_figures(out: pathlib.Path, sweep, member: int) -> list[pathlib.Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    task = sweep.task(member)
    trials, traj = sweep.simulate(member, n_trials=1, key=jr.key(2024))
    inputs, targets = np.asarray(trials.inputs[0]), np.asarray(trials.targets[0])
    output = np.asarray(traj.output[0])
    fig, axes = plt.subplots(task.output_size, 1, figsize=(8, 1.8 * task.output_size), sharex=True)
    axes = np.atleast_1d(axes)
    t = np.arange(inputs.shape[0])
    for i, ax in enumerate(axes):
        ax.step(t, inputs[:, i], where="post", color="0.6", label="input pulses")
        ax.plot(t, targets[:, i], "k--", lw=1, label="target")
        ax.plot(t, output[:, i], color="C0", lw=2, label="network output")
        ax.set_ylabel(f"bit {i + 1}")
        ax.set_ylim(-1.4, 1.4)
    axes[0].legend(loc="upper right", fontsize=8, ncol=3)
    axes[-1].set_xlabel("time step")
    fig.suptitle(f"Member {member}: inputs, targets and the trained network's outputs")
    fig.tight_layout()
    paths.append(out / "example_trials.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    members = sweep.members
    fig, ax = plt.subplots(figsize=(7, 4))
    for g in sweep.groups:
        ds = sweep.group(g).load()
        for pos, m in enumerate(np.asarray(ds["member"].values)):
            row = int(np.nonzero(np.asarray(members["member"].values) == m)[0][0])
            label = ", ".join(
                f"{c} {np.asarray(members[c].values)[row]:g}" for c in members.coords
                if c != "member" and np.asarray(members[c].values).dtype.kind in "if"
            )
            loss = np.asarray(ds["loss"].values[pos])
            line = ax.semilogy(ds["step"].values, loss, alpha=0.35, lw=0.8)[0]
            ax.semilogy(ds["eval_step"].values, ds["eval_loss"].values[pos], "o-", ms=3, color=line.get_color(), label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("MSE (lines: training batches; dots: held-out)")
    ax.legend(fontsize=7)
    ax.set_title("Loss curves of every member")
    fig.tight_layout()
    paths.append(out / "loss_curves.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
