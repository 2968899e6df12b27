"""The demo: a few CTRNNs learn the 3-bit flip-flop together, with figures and a table."""

import dataclasses
import pathlib
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from . import models, tasks
from .train import TrainConfig
from .train._group import fit_group


@dataclasses.dataclass
class DemoSettings:
    """Sizes of the demo; `tiny` runs the same path in seconds."""

    hidden_size: int = 48
    n_time: int = 50
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    learning_rates: tuple[float, ...] = (3e-3,)
    n_steps: int = 1500
    eval_every: int = 100
    batch_size: int = 64

    @classmethod
    def tiny(cls) -> "DemoSettings":
        return cls(hidden_size=16, n_time=20, seeds=(0, 1), n_steps=40, eval_every=20, batch_size=16)


def flipflop_task(settings: DemoSettings) -> tasks.FlipFlop:
    return tasks.FlipFlop(n_bits=3, p=0.05, pulse_width=2, n_time=settings.n_time)


def build_members(settings: DemoSettings):
    task = flipflop_task(settings)
    members = []
    for lr in settings.learning_rates:
        for seed in settings.seeds:
            key = jr.key(seed)
            mkey, tkey = jr.split(key)
            model = models.CTRNN(3, settings.hidden_size, 3, tau=1.0, dt=0.2, key=mkey)
            config = TrainConfig(
                learning_rate=lr,
                n_steps=settings.n_steps,
                eval_every=settings.eval_every,
                batch_size=settings.batch_size,
                eval_batch_size=128,
                grad_clip=1.0,
                epochs_per_call=max(1, 500 // settings.eval_every),
            )
            members.append({"seed": seed, "learning_rate": lr, "model": model, "config": config, "key": tkey})
    return task, members


def fresh_accuracy(model, task, *, key, n_trials: int = 256) -> float:
    """Per-bit sign accuracy on a batch the network has never seen."""
    trials = task.sample_batch(n_trials, key=key)
    outputs = jax.vmap(lambda x: model(x).output)(trials.inputs)
    return float(jnp.mean(jax.vmap(task.metric)(outputs, trials)))


def run_demo(out: str | pathlib.Path = "neurodyn-demo", *, tiny: bool = False, console=None):
    """Train the demo networks, print a summary table, save figures; return the rows."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    settings = DemoSettings.tiny() if tiny else DemoSettings()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    task, members = build_members(settings)
    console.print(
        f"[bold]neurodyn demo[/bold]: {len(members)} CTRNNs (H = {settings.hidden_size}) on the "
        f"3-bit flip-flop (T = {settings.n_time}), trained together in one compiled program."
    )
    start = time.perf_counter()
    trained, histories = fit_group(
        [m["model"] for m in members],
        task,
        [m["config"] for m in members],
        keys=[m["key"] for m in members],
        progress=True,
    )
    elapsed = time.perf_counter() - start
    rows = []
    for member, model, hist in zip(members, trained, histories):
        acc = fresh_accuracy(model, task, key=jr.key(10_000 + member["seed"]))
        rows.append(
            {
                "seed": member["seed"],
                "learning_rate": member["learning_rate"],
                "steps": hist.steps,
                "final_loss": float(hist.eval_loss[-1]) if len(hist.eval_loss) else float("nan"),
                "accuracy": acc,
                "status": "diverged" if hist.diverged else ("done" if hist.done else "budget"),
            }
        )
    table = Table(title=f"3-bit flip-flop, trained in {elapsed:.1f} s")
    for col in ("seed", "learning rate", "steps", "held-out MSE", "sign accuracy (fresh trials)", "status"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["seed"]),
            f"{r['learning_rate']:g}",
            str(r["steps"]),
            f"{r['final_loss']:.2e}",
            f"{100 * r['accuracy']:.2f} %",
            r["status"],
        )
    console.print(table)
    figures = save_figures(out, task, trained[0], histories, members)
    console.print("Figures written: " + ", ".join(str(f) for f in figures))
    return rows


def save_figures(out: pathlib.Path, task, model, histories, members) -> list[pathlib.Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    trial = task.sample(key=jr.key(2024))
    output = np.asarray(model(trial.inputs).output)
    fig, axes = plt.subplots(task.n_bits, 1, figsize=(8, 1.8 * task.n_bits), sharex=True)
    t = np.arange(task.n_time)
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.step(t, np.asarray(trial.inputs[:, i]), where="post", color="0.6", label="input pulses")
        ax.plot(t, np.asarray(trial.targets[:, i]), "k--", lw=1, label="target")
        ax.plot(t, output[:, i], color="C0", lw=2, label="network output")
        ax.set_ylabel(f"bit {i + 1}")
        ax.set_ylim(-1.4, 1.4)
    np.atleast_1d(axes)[0].legend(loc="upper right", fontsize=8, ncol=3)
    np.atleast_1d(axes)[-1].set_xlabel("time step")
    fig.suptitle("Example trial: inputs, targets and the trained network's outputs")
    fig.tight_layout()
    paths.append(out / "example_trials.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for member, hist in zip(members, histories):
        label = f"seed {member['seed']}, lr {member['learning_rate']:g}"
        ax.semilogy(hist.step, hist.loss, alpha=0.35, lw=0.8)
        ax.semilogy(hist.eval_step, hist.eval_loss, "o-", ms=3, color=ax.lines[-1].get_color(), label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("MSE (lines: training batches; dots: held-out batch)")
    ax.legend(fontsize=8)
    ax.set_title("Loss curves")
    fig.tight_layout()
    paths.append(out / "loss_curves.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
