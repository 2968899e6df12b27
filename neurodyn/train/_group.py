"""Training many networks of one static structure together, vmapped over `member`."""

import dataclasses
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import AbstractRNN
from ..tasks import AbstractTask
from ._config import TrainConfig
from ._fit import History, model_has_noise, run_chunk_vmapped
from ._loop import host, n_calls, train_calls
from ._members import check_layout, devices_for, member_mesh, padded_size, shard_members
from ._trainer import Logs, Trainer, TrainState


def stack(trees: Sequence):
    """Stack pytrees of identical structure along a new leading `member` axis."""
    arrays = [eqx.filter(t, eqx.is_array) for t in trees]
    static = eqx.filter(trees[0], eqx.is_array, inverse=True)
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *arrays)
    return eqx.combine(stacked, static)


def unstack(tree, n: int) -> list:
    """The inverse of `stack`: `n` pytrees, one per member."""
    arrays, static = eqx.partition(tree, eqx.is_array)
    return [eqx.combine(jax.tree_util.tree_map(lambda x, i=i: x[i], arrays), static) for i in range(n)]


def group_trainer(configs: Sequence[TrainConfig], models: Sequence[AbstractRNN], *, curriculum=None) -> Trainer:
    """One `Trainer` for members whose configs share a static structure."""
    keys = {c.static_key()[:-1] for c in configs}  # the noise flag is settled below
    if len(keys) != 1:
        raise ValueError(
            "these training configs cannot share one compiled program: they differ in "
            "optimizer (name, flags or which numeric options are set), learning-rate schedule "
            "(name, flags or which options are set), clipping on/off, batch size, step budget, "
            "epoch length, stopping rule (on/off, patience) or which penalties are on. Split "
            "them into separate groups."
        )
    penalties = tuple(sorted({k for c in configs for k, v in c.penalties().items() if v != 0}))
    noise = any(model_has_noise(m) for m in models)
    return Trainer(configs[0], noise=noise, penalties=penalties, curriculum=curriculum)


def init_group(trainer: Trainer, models, tasks, configs, keys) -> TrainState:
    """Stacked training states, one per member."""
    states = [trainer.init(m, t, c, key=k) for m, t, c, k in zip(models, tasks, configs, keys)]
    return stack(states)


@dataclasses.dataclass
class GroupProgress:
    """What the host sees after each compiled call."""

    steps: np.ndarray
    done: np.ndarray
    diverged: np.ndarray
    last_loss: np.ndarray


def fit_group(
    models: Sequence[AbstractRNN],
    tasks: AbstractTask | Sequence[AbstractTask],
    configs: TrainConfig | Sequence[TrainConfig],
    *,
    keys,
    progress: bool | Callable[[GroupProgress], None] = False,
    curriculum=None,
    layout: str = "auto",
    devices=None,
) -> tuple[list[AbstractRNN], list[History]]:
    """Train several networks at once in one vmapped, jitted program.

    Members may differ in any number (learning rate, penalties, initial weights, task
    probabilities) but not in structure (sizes, activation, optimiser name).

    **Arguments:**

    - `models`: one model per member, all of the same structure.
    - `tasks`, `configs`: one per member, or a single one shared by all.
    - `keys`: one key per member.
    - `progress`: True for a progress bar, or a callable receiving a `GroupProgress`.
    - `curriculum`: one `AbstractCurriculum` for the group; each member advances on
      its own schedule.
    - `layout`: how members share a device: "auto", "vmap" or "map" (see
      `neurodyn.train.over_members`).
    - `devices`: a list of devices to split the members over (padded with copies of
      the last member to a multiple of their number); default all of `jax.devices()`.
      On a CPU-only machine, `neurodyn.use_cpu_cores()` makes every core a device.

    **Returns:** the trained models and one `History` each.
    """
    check_layout(layout)
    n = len(models)
    tasks = list(tasks) if isinstance(tasks, (list, tuple)) else [tasks] * n
    configs = list(configs) if isinstance(configs, (list, tuple)) else [configs] * n
    keys = list(keys)
    if not (len(tasks) == len(configs) == len(keys) == n):
        raise ValueError(
            f"fit_group: {n} models but {len(tasks)} tasks, {len(configs)} configs and "
            f"{len(keys)} keys; pass one of each per member (or one task / config for all)."
        )
    devices = devices_for(n, jax.devices() if devices is None else list(devices))
    k = padded_size(n, len(devices))
    pad = lambda xs: list(xs) + [xs[-1]] * (k - n)  # noqa: E731
    trainer = group_trainer(configs, models, curriculum=curriculum)
    mesh = member_mesh(devices)
    states = shard_members(init_group(trainer, pad(models), pad(tasks), pad(configs), pad(keys)), mesh)
    config = configs[0]
    calls = n_calls(trainer, max(c.n_epochs for c in configs))
    logs: list[Logs] = []
    bar = None
    if progress is True:
        from ._fit import _progress

        bar = _progress(True, calls * config.eval_every * trainer.epochs_per_call)
    run = lambda s: run_chunk_vmapped(trainer, s, layout=layout, mesh=mesh)  # noqa: E731
    for call in train_calls(run, states, n_calls=calls):
        states = call.states
        logs.append(jax.device_get(call.logs))
        info = GroupProgress(
            steps=host(states.step)[:n],
            done=call.done[:n],
            diverged=call.diverged[:n],
            last_loss=np.asarray(call.logs.loss[:n, -1]),
        )
        if callable(progress):
            progress(info)
        if bar is not None:
            bar[0].update(bar[1], completed=int(info.steps.max()), loss=float(np.nanmean(info.last_loss)))
    if bar is not None:
        bar[0].stop()
    histories = histories_from_logs(logs, states, config)[:n]
    return [s.model for s in unstack(states, n)], histories


def histories_from_logs(logs: Sequence[Logs], states: TrainState, config: TrainConfig) -> list[History]:
    """Split stacked logs into one `History` per member."""
    loss = np.concatenate([np.asarray(l.loss) for l in logs], axis=1)
    metric = np.concatenate([np.asarray(l.metric) for l in logs], axis=1)
    active = np.concatenate([np.asarray(l.active) for l in logs], axis=1)
    eval_loss = np.concatenate([np.asarray(l.eval_loss) for l in logs], axis=1)
    eval_metric = np.concatenate([np.asarray(l.eval_metric) for l in logs], axis=1)
    eval_step = config.eval_every * np.arange(1, eval_loss.shape[1] + 1)
    out = []
    for i in range(loss.shape[0]):
        keep = np.isfinite(eval_loss[i])
        out.append(
            History(
                loss=loss[i][active[i]],
                metric=metric[i][active[i]],
                eval_step=eval_step[keep],
                eval_loss=eval_loss[i][keep],
                eval_metric=eval_metric[i][keep],
                steps=int(states.step[i]),
                done=bool(states.done[i]),
                diverged=bool(states.diverged[i]),
                curriculum=jax.tree_util.tree_map(lambda x, i=i: np.asarray(x[i]), states.curriculum),
            )
        )
    return out
