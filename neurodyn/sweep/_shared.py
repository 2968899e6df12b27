"""What the coordinating process and the cluster jobs both use to train regions: the
devices, the evaluation batch, the snapshot steps and a member's status."""

import jax
import jax.random as jr
import numpy as np

from ..train._group import stack

EVAL_SEED = 20_240_601


def _devices(n: int | None):
    if jax.process_count() > 1:
        raise ValueError(
            f"run_sweep runs in one process, but jax.distributed joined {jax.process_count()} processes: "
            "one sweep does not span hosts. Use executor='slurm' (one job per region batch, each on "
            "its own host's devices) and leave jax.distributed uninitialised."
        )
    devices = jax.devices()
    if n is None:
        return devices
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"devices={n!r} must be a positive integer.")
    if n > len(devices):
        raise ValueError(f"devices={n} but only {len(devices)} device(s) are visible: {devices}.")
    return devices[:n]


def _eval_trials(group, tasks, n_trials: int):
    """The group's evaluation batch: one shared batch, or one per member if tasks differ.

    `tasks` maps each member index of `group` to its task."""
    tasks = [tasks[i] for i in group.members]
    key = jr.key(EVAL_SEED)
    first = tasks[0].sample_batch(n_trials, key=key)
    params = [tuple(np.asarray(x).tobytes() for x in jax.tree_util.tree_leaves(t)) for t in tasks]
    if all(p == params[0] for p in params):
        return True, first
    return False, stack([t.sample_batch(n_trials, key=key) for t in tasks])


def snapshot_steps(config, every) -> list[int]:
    """The steps at which parameters are snapshotted: multiples of `every` in the budget
    of `config` (a `TrainConfig`, or a built member)."""
    if every is None:
        return []
    config = getattr(config, "config", config)
    per_call = min(config.epochs_per_call, config.n_epochs) * config.eval_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1 or every % per_call:
        raise ValueError(
            f"spec [sweep] snapshot_every={every!r} must be a positive multiple of the steps run per "
            f"compiled call ({per_call} = epochs_per_call x eval_every)."
        )
    total = config.n_epochs * config.eval_every
    return list(range(every, total + 1, every))


def _status(result, pos: int) -> dict:
    if result.diverged[pos]:
        status = "diverged"
    elif result.threshold and not result.converged[pos]:
        status = "not_converged"
    else:
        status = "ok"
    return {
        "status": status,
        "final_loss": float(result.final_loss[pos]),
        "final_metric": float(result.final_metric[pos]),
        "steps_trained": int(result.steps[pos]),
    }
