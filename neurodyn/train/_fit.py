"""`fit`: train one network; `run_chunk`: the compiled call sweeps reuse."""

import dataclasses

import equinox as eqx
import jax
import numpy as np
from jaxtyping import PRNGKeyArray

from ..models import AbstractRNN
from ..tasks import AbstractTask
from ._config import TrainConfig
from ._loop import n_calls, train_calls
from ._members import over_members
from ._trainer import Logs, Trainer, TrainState

#: How many times each compiled entry point has been traced (tests count recompilations).
TRACE_COUNTS = {"single": 0, "vmapped": 0}


@eqx.filter_jit
def run_chunk(trainer: Trainer, state: TrainState) -> tuple[TrainState, Logs]:
    """`trainer.run` for one network, compiled once per trainer and state structure."""
    TRACE_COUNTS["single"] += 1
    return trainer.run(state)


@eqx.filter_jit
def run_chunk_vmapped(
    trainer: Trainer, states: TrainState, *, layout: str = "auto", mesh=None
) -> tuple[TrainState, Logs]:
    """`trainer.run` for every member of `states` (a leading member axis), in one program.

    `layout` ("auto", "vmap" or "map") says how members share a device and `mesh` (a
    one-axis "member" mesh, see `member_mesh`) splits them over devices; see
    `neurodyn.train.over_members`.
    """
    TRACE_COUNTS["vmapped"] += 1
    return over_members(trainer.run, states, layout=layout, mesh=mesh)


@dataclasses.dataclass
class History:
    """Training curves of one network.

    `loss` and `metric` are recorded on each training batch at every step taken;
    `eval_loss` and `eval_metric` on the fixed held-out batch after every epoch.
    `curriculum` is the final `CurriculumState` (numpy leaves) when a curriculum was
    used: N reached, epoch of each advance, last accuracy per N; None otherwise.
    """

    loss: np.ndarray
    metric: np.ndarray
    eval_step: np.ndarray
    eval_loss: np.ndarray
    eval_metric: np.ndarray
    steps: int
    done: bool
    diverged: bool
    curriculum: object = None

    @property
    def step(self) -> np.ndarray:
        return np.arange(1, len(self.loss) + 1)


def model_has_noise(model: AbstractRNN) -> bool:
    noise = getattr(model, "noise_std", None)
    if noise is None:
        return False
    try:
        return bool(np.any(np.asarray(noise) > 0))
    except Exception:  # a tracer: assume noise may be present
        return True


def fit(
    model: AbstractRNN,
    task: AbstractTask,
    config: TrainConfig = TrainConfig(),
    *,
    key: PRNGKeyArray,
    progress: bool = False,
    curriculum=None,
) -> tuple[AbstractRNN, History]:
    """Train `model` on `task`.

    Steps run inside one compiled call per `config.epochs_per_call` epochs; the loop
    ends when the step budget is spent, the stopping rule fires, or the loss turns
    non-finite (the model is then the last one with a finite loss).

    **Arguments:**

    - `model`: any neurodyn model whose sizes fit the task.
    - `task`: the task to train on.
    - `config`: a `TrainConfig`.
    - `key`: the key for trial sampling, process noise and the held-out batch.
    - `progress`: show a progress bar.
    - `curriculum`: an `AbstractCurriculum` driving the task's N (e.g.
      `MultiHeadCurriculum()`); the member stops once it masters the cap N.

    **Returns:** `(trained_model, history)`.
    """
    trainer = Trainer(config, noise=model_has_noise(model), curriculum=curriculum)
    state = trainer.init(model, task, config, key=key)
    calls = n_calls(trainer, config.n_epochs)
    logs = []
    bar = _progress(progress, calls * config.eval_every * trainer.epochs_per_call)
    for call in train_calls(lambda s: run_chunk(trainer, s), state, n_calls=calls):
        state = call.states
        logs.append(jax.device_get(call.logs))
        if bar is not None:
            bar[0].update(bar[1], completed=int(state.step), loss=float(call.logs.loss[-1]))
    if bar is not None:
        bar[0].stop()
    history = _history(logs, state, config)
    return state.model, history


def _history(logs, state: TrainState, config: TrainConfig) -> History:
    active = np.concatenate([np.asarray(l.active) for l in logs])
    loss = np.concatenate([np.asarray(l.loss) for l in logs])[active]
    metric = np.concatenate([np.asarray(l.metric) for l in logs])[active]
    eval_loss = np.concatenate([np.asarray(l.eval_loss) for l in logs])
    eval_metric = np.concatenate([np.asarray(l.eval_metric) for l in logs])
    keep = np.isfinite(eval_loss)
    eval_step = config.eval_every * np.arange(1, len(eval_loss) + 1)
    return History(
        loss=loss,
        metric=metric,
        eval_step=eval_step[keep],
        eval_loss=eval_loss[keep],
        eval_metric=eval_metric[keep],
        steps=int(state.step),
        done=bool(state.done),
        diverged=bool(state.diverged),
        curriculum=jax.device_get(state.curriculum),
    )


def _progress(show: bool, total: int):
    if not show:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.3g}"),
        TimeRemainingColumn(),
    )
    bar.start()
    return bar, bar.add_task("fit", total=total, loss=float("nan"))
