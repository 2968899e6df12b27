"""What a group's Dataset holds, in the store's dimension vocabulary.

- `loss`, `metric` `(member, step)`: training-batch curves (NaN after a member stopped);
  `eval_loss`, `eval_metric` `(member, epoch)`: the held-out batch after each epoch.
- `init_<field>`, `final_<field>`: every array field of the model before and after
  training, e.g. `final_W_rec (member, hidden, hidden_in)`.
- `inputs`, `targets`, `mask` `(trial, time, ...)` of the evaluation batch — with a
  leading `member` axis when task parameters differ across the group's members — and
  the trained networks' `state (member, trial, time, state)` and `output`. The `time`
  coordinate counts steps (the state after step 1, 2, …); continuous models also have
  `t`, the same in the model's time units (`time · dt`).
- `steps_trained`, `done`, `diverged` `(member,)`.
- `snapshot_<field>` `(member, snapshot, ...)`: parameters every `snapshot_every` steps
  (when the spec asks for them), at the steps given by the `snapshot_step` coordinate.
"""

import dataclasses
import functools
import typing

import dask.array as da
import equinox as eqx
import numpy as np
import xarray as xr


def annotated_dims(cls) -> dict[str, tuple[str, ...]]:
    """Each array field's dims as its jaxtyping annotation names them
    (`W_rec: Float[Array, "hidden hidden_in"]` -> `("hidden", "hidden_in")`); fields
    whose annotation has no plain names (`*batch`, `...`, numbers) are left out."""
    return dict(_annotated_dims(cls))


@functools.lru_cache(maxsize=None)
def _annotated_dims(cls) -> tuple:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: no names from it
        return ()
    out = []
    for name, hint in hints.items():
        for arg in typing.get_args(hint) or (hint,):
            dim_str = getattr(arg, "dim_str", None)
            if dim_str is None:
                continue
            dims = tuple(dim_str.split())
            if all(d.isidentifier() for d in dims):
                out.append((name, dims))
            break
    return tuple(out)


def _sizes(model, task) -> dict:
    hidden = model.hidden_size
    return {
        "hidden": hidden,
        "hidden_in": hidden,
        "input": model.input_size,
        "output": model.output_size,
        "state": getattr(model, "state_size", hidden),
    }


def param_fields(model) -> dict[str, np.ndarray]:
    """The model's array fields by name (None fields left out)."""
    out = {}
    for f in dataclasses.fields(model):
        value = getattr(model, f.name, None)
        if eqx.is_array(value):
            out[f.name] = value
    return out


def param_dims(model, name: str, shape: tuple) -> tuple[str, ...]:
    """Named dims for a parameter: the names of its annotation on the model's class when
    the shape fits them (every name the model sizes — hidden, input, output, state — at
    its size, and a name used by several fields at one size), else `<name>_<i>`."""
    dims = _annotated_dims_of(model).get(name)
    if dims is not None and len(dims) == len(shape):
        sizes = _sizes(model, None)
        sizes.update(_annotated_sizes(model))
        if all(sizes.get(d, s) == s for d, s in zip(dims, shape)):
            return dims
    return tuple(f"{name}_{i}" for i in range(len(shape)))


def _annotated_dims_of(model) -> dict:
    return annotated_dims(type(model))


def _annotated_sizes(model) -> dict:
    """Sizes of the annotation names the model does not size itself, from the first
    array field that uses each (e.g. the GRU's `gates_hidden`, 3 x hidden)."""
    known = set(_sizes(model, None))
    out = {}
    for name, dims in _annotated_dims_of(model).items():
        value = getattr(model, name, None)
        if not eqx.is_array(value) and not hasattr(value, "shape"):
            continue
        if len(dims) != len(value.shape):
            continue
        for d, size in zip(dims, value.shape):
            if d not in known:
                out.setdefault(d, int(size))
    return out


def curriculum_dims(extra: int) -> tuple[str, ...]:
    """Dims of a curriculum state field: `member`, then `n` (N = 1 … n_cap) if per N."""
    return ("member",) + (("n",) if extra == 1 else ())


def _lazy(shape, dtype):
    return da.zeros(shape, dtype=dtype, chunks=(1, *shape[1:]) if shape else ())


def group_template(
    member_ids: list[int],
    model,
    task,
    n_steps: int,
    n_epochs: int,
    eval_trials,
    *,
    shared_trials: bool,
    eval_every: int,
    curriculum_state=None,
    snapshot_steps=None,
) -> xr.Dataset:
    """The full-size, unwritten Dataset of one group (values are only placeholders)."""
    k = len(member_ids)
    data = {
        "loss": (("member", "step"), _lazy((k, n_steps), np.float32)),
        "metric": (("member", "step"), _lazy((k, n_steps), np.float32)),
        "eval_loss": (("member", "epoch"), _lazy((k, n_epochs), np.float32)),
        "eval_metric": (("member", "epoch"), _lazy((k, n_epochs), np.float32)),
        "steps_trained": (("member",), _lazy((k,), np.int64)),
        "done": (("member",), _lazy((k,), bool)),
        "diverged": (("member",), _lazy((k,), bool)),
    }
    for name, value in param_fields(model).items():
        dims = param_dims(model, name, value.shape)
        for prefix in ("init_", "final_"):
            data[prefix + name] = (("member", *dims), _lazy((k, *value.shape), np.dtype(value.dtype)))
    if snapshot_steps is not None and len(snapshot_steps):
        n_snap = len(snapshot_steps)
        for name, value in param_fields(model).items():
            if not np.issubdtype(np.dtype(value.dtype), np.floating):
                continue
            dims = param_dims(model, name, value.shape)
            data["snapshot_" + name] = (("member", "snapshot", *dims), _lazy((k, n_snap, *value.shape), np.dtype(value.dtype)))
    trial, time = eval_trials.inputs.shape[-3:-1]
    traj_dims = {"inputs": "input", "targets": "output", "mask": "output"}
    for name, last in traj_dims.items():
        arr = np.asarray(getattr(eval_trials, name))
        if shared_trials:
            data[name] = (("trial", "time", last), arr)
        else:
            data[name] = (("member", "trial", "time", last), _lazy((k, trial, time, arr.shape[-1]), arr.dtype))
    state = getattr(model, "state_size", model.hidden_size)
    data["states"] = (("member", "trial", "time", "state"), _lazy((k, trial, time, state), np.float32))
    data["outputs"] = (("member", "trial", "time", "output"), _lazy((k, trial, time, model.output_size), np.float32))
    if curriculum_state is not None:
        for f in dataclasses.fields(curriculum_state):
            value = getattr(curriculum_state, f.name)
            dims = curriculum_dims(np.ndim(value))
            data["curriculum_" + f.name] = (dims, _lazy((k, *np.shape(value)), np.dtype(value.dtype)))
    coords = {
        "member": np.asarray(member_ids, dtype=np.int64),
        "step": np.arange(1, n_steps + 1, dtype=np.int64),
        "epoch": np.arange(1, n_epochs + 1, dtype=np.int64),
        "eval_step": ("epoch", eval_every * np.arange(1, n_epochs + 1, dtype=np.int64)),
    }
    if snapshot_steps is not None and len(snapshot_steps):
        coords["snapshot_step"] = ("snapshot", np.asarray(snapshot_steps, dtype=np.int64))
    # States and outputs are recorded after each step: index k holds step k + 1.
    coords["time"] = ("time", np.arange(1, time + 1, dtype=np.int64))
    dt = getattr(model, "dt", None)
    if isinstance(dt, (int, float)) and not isinstance(dt, bool):
        coords["t"] = ("time", float(dt) * np.arange(1, time + 1, dtype=np.float64))
    ds = xr.Dataset(data, coords=coords)
    if "n" in ds.dims:
        ds = ds.assign_coords(n=np.arange(1, ds.sizes["n"] + 1, dtype=np.int64))
    ds["loss"].attrs["description"] = "training-batch loss at each step (NaN after the member stopped)"
    ds["eval_loss"].attrs["description"] = "loss on the fixed held-out batch after each epoch"
    ds["states"].attrs["description"] = "full recurrent state on the evaluation batch after training"
    return ds
