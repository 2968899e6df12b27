"""Training one region (a chunk of one group's members) with checkpoints and resume."""

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from .. import _faults, store
from ..train import member_mesh, run_chunk_vmapped
from ..train._group import group_trainer, init_group
from ..train._loop import host, n_calls, train_calls
from ..train._members import devices_for, padded_size, shard_members
from ._datasets import param_fields
from ._plan import BuiltMember


@dataclasses.dataclass
class RegionResult:
    steps: np.ndarray
    done: np.ndarray
    diverged: np.ndarray
    final_loss: np.ndarray
    final_metric: np.ndarray
    converged: np.ndarray
    threshold: bool


def _history_template(k: int, n_steps: int, n_epochs: int):
    nan = jnp.float32(jnp.nan)
    return {
        "loss": jnp.full((k, n_steps), nan),
        "metric": jnp.full((k, n_steps), nan),
        "eval_loss": jnp.full((k, n_epochs), nan),
        "eval_metric": jnp.full((k, n_epochs), nan),
    }


def train_region(
    path,
    group: str,
    region: slice,
    built: list[BuiltMember],
    *,
    shared_trials: bool,
    eval_trials,
    devices=None,
    checkpoint_every: int = 1,
    snapshot_steps=(),
    on_progress=None,
    on_warning=None,
) -> RegionResult:
    """Train `built` (the region's members) together and write their region of `group`.

    Resumes from the region's checkpoint when there is one. Writes history, parameters
    and trajectories, then the done marker, then removes the checkpoint.
    """
    name = store.region_name(region)
    n_real = len(built)
    devices = None if devices is None else devices_for(n_real, devices)
    n_dev = 1 if devices is None else len(devices)
    k = padded_size(n_real, n_dev)
    padded = built + [built[-1]] * (k - n_real)
    models = [b.model for b in padded]
    configs = [b.config for b in padded]
    trainer = group_trainer(configs, models, curriculum=built[0].curriculum)
    states = init_group(trainer, models, [b.task for b in padded], configs, [b.train_key for b in padded])
    initial_models = states.model
    config = configs[0]
    n_epochs = config.n_epochs
    n_steps = n_epochs * config.eval_every
    steps_per_call = trainer.epochs_per_call * config.eval_every
    calls = n_calls(trainer, n_epochs)
    history = _history_template(k, n_steps, n_epochs)
    snap_index = {step: i for i, step in enumerate(snapshot_steps)}
    if snap_index:
        history["snapshots"] = {
            name: jnp.full((k, len(snap_index), *value.shape[1:]), jnp.nan, value.dtype)
            for name, value in param_fields(states.model).items()
            if jnp.issubdtype(value.dtype, jnp.floating)
        }
    calls_done = 0

    loaded = _load_checkpoint(path, group, name, (states, history), on_warning)
    if loaded is not None:
        (states, history), meta = loaded
        calls_done = int(meta["calls_done"])
        if on_progress is not None:  # steps trained before the checkpoint: not this run's rate
            on_progress(
                steps=host(states.step)[:n_real], done=host(states.done)[:n_real],
                diverged=host(states.diverged)[:n_real], resumed=True,
            )

    # the training state and its history live on the same devices, however they were made
    mesh = member_mesh(devices)
    states = shard_members(states, mesh)
    history = shard_members(history, mesh)
    # Host-side checks read each device's shard (`train._loop.host`): an eager `jnp.all`
    # or a slice of a sharded array would be a program with a collective. The loop's one
    # copy of the flags per call serves both the progress report and the next check.
    run = lambda s: run_chunk_vmapped(trainer, s, mesh=mesh)  # noqa: E731
    for each in train_calls(run, states, n_calls=calls, start=calls_done):
        call, states, logs = each.index, each.states, each.logs
        s0 = call * steps_per_call
        e0 = call * trainer.epochs_per_call
        n_s = min(steps_per_call, n_steps - s0)
        n_e = min(trainer.epochs_per_call, n_epochs - e0)
        active = logs.active[:, :n_s]
        snaps = history.get("snapshots")
        if snaps is not None and s0 + steps_per_call in snap_index:
            i = snap_index[s0 + steps_per_call]
            fields = param_fields(states.model)
            snaps = {name: buf.at[:, i].set(fields[name]) for name, buf in snaps.items()}
        history = {
            "loss": history["loss"].at[:, s0 : s0 + n_s].set(jnp.where(active, logs.loss[:, :n_s], jnp.nan)),
            "metric": history["metric"].at[:, s0 : s0 + n_s].set(jnp.where(active, logs.metric[:, :n_s], jnp.nan)),
            "eval_loss": history["eval_loss"].at[:, e0 : e0 + n_e].set(logs.eval_loss[:, :n_e]),
            "eval_metric": history["eval_metric"].at[:, e0 : e0 + n_e].set(logs.eval_metric[:, :n_e]),
        }
        if snaps is not None:
            history["snapshots"] = snaps
        if on_progress is not None:
            on_progress(steps=host(states.step)[:n_real], done=each.done[:n_real], diverged=each.diverged[:n_real])
        if (call + 1 - calls_done) % checkpoint_every == 0 and call + 1 < calls:
            store.save_checkpoint(path, group, name, (states, history), meta={"calls_done": call + 1})
            _faults.crash_point("after_checkpoint")

    result = _write_region(path, group, region, states, initial_models, history, n_real, shared_trials, eval_trials, trainer)
    _faults.crash_point("before_done_marker")
    store.mark_done(
        path,
        group,
        name,
        members=region,
        info={"steps": [int(s) for s in result.steps]},
    )
    store.remove_checkpoint(path, group, name)
    return result


def _shapes_only(tree):
    """`tree` with every array replaced by its shape and dtype: a template that places
    nothing on a device, so a loaded checkpoint is sharded like a fresh state."""
    return jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype) if eqx.is_array(x) else x, tree
    )


def _load_checkpoint(path, group, name, like, on_warning):
    """The region's checkpoint, or None; a damaged one is reported, removed, and the
    region trains from its start (the result is the same, only later)."""
    try:
        loaded = store.load_checkpoint(path, group, name, like=_shapes_only(like))
    except store.CheckpointError as err:
        message = f"{err} Training region {name!r} of group {group!r} from its start."
        if on_warning is None:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        else:
            on_warning(message)
        store.remove_checkpoint(path, group, name)
        return None
    if loaded is None:
        return None
    (states, history), meta = loaded
    calls = meta.get("calls_done") if isinstance(meta, dict) else None
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        message = (
            f"Checkpoint of region {name!r} of group {group!r} has no valid 'calls_done' "
            f"(got {calls!r}); training the region from its start."
        )
        if on_warning is None:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        else:
            on_warning(message)
        store.remove_checkpoint(path, group, name)
        return None
    return loaded


def _fields(module):
    return [(f.name, getattr(module, f.name)) for f in dataclasses.fields(module)]


@eqx.filter_jit
def _trajectories(trainer, states, eval_trials, shared: bool):
    """The stored trajectories of every member, as one compiled program (reused by every
    region of a group: run eagerly, each region would compile its scan again)."""

    def run(model, trials):
        return trainer.forward(model, trials, key=None)

    if shared:
        return eqx.filter_vmap(run, in_axes=(eqx.if_array(0), None))(states.model, eval_trials)
    return eqx.filter_vmap(run)(states.model, eval_trials)


def _write_region(path, group, region, states, initial_models, history, n_real, shared, eval_trials, trainer) -> RegionResult:
    traj = _trajectories(trainer, states, eval_trials, shared)
    take = lambda x: np.asarray(x)[:n_real]
    data = {
        "loss": (("member", "step"), take(history["loss"])),
        "metric": (("member", "step"), take(history["metric"])),
        "eval_loss": (("member", "epoch"), take(history["eval_loss"])),
        "eval_metric": (("member", "epoch"), take(history["eval_metric"])),
    }
    store.write_region(path, group, region, xr.Dataset(data))
    _faults.crash_point("chunk_write")
    from ._datasets import param_dims

    template = jax.tree.map(lambda x: host(x)[0] if eqx.is_array(x) else x, states.model) if n_real else None
    data = {
        "steps_trained": (("member",), take(states.step).astype(np.int64)),
        "done": (("member",), take(states.done)),
        "diverged": (("member",), take(states.diverged)),
        "states": (("member", "trial", "time", "state"), take(traj.state)),
        "outputs": (("member", "trial", "time", "output"), take(traj.output)),
    }
    for fname, value in history.get("snapshots", {}).items():
        dims = param_dims(template, fname, value.shape[2:])
        data["snapshot_" + fname] = (("member", "snapshot", *dims), take(value))
    if states.curriculum is not None:
        from ._datasets import curriculum_dims

        for fname, value in _fields(states.curriculum):
            data["curriculum_" + fname] = (curriculum_dims(np.ndim(value) - 1), take(value))
    if not shared:
        for name in ("inputs", "targets", "mask"):
            last = "input" if name == "inputs" else "output"
            data[name] = (("member", "trial", "time", last), take(getattr(eval_trials, name)))
    for prefix, models in (("init_", initial_models), ("final_", states.model)):
        for fname, value in param_fields(models).items():
            dims = param_dims(template, fname, value.shape[1:])
            data[prefix + fname] = (("member", *dims), take(value))
    store.write_region(path, group, region, xr.Dataset(data))
    eval_loss = take(states.eval_loss)
    return RegionResult(
        steps=take(states.step),
        done=take(states.done),
        diverged=take(states.diverged),
        final_loss=eval_loss,
        final_metric=take(states.eval_metric),
        converged=take(states.epochs_below) >= max(trainer.patience, 1),
        threshold=trainer.use_threshold,
    )
