"""The HMM-emulation mechanism of every network of a store, written back into it."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from neurodyn import _checks

from .._over_members import Chunk, run_over_members
from ._analyse import analyse_mechanism
from ._dataset import NAME, mechanism_to_dataset
from ._settings import HMMMechanism, resolve_parts, settings_dict
from ._training import training_dynamics

SNAPSHOT = "snapshot_"


@eqx.filter_jit
def _analyse_chunk(models, keys, settings, parts):
    return eqx.filter_vmap(lambda m, k: analyse_mechanism(m, settings=settings, key=k, parts=parts))(models, keys)


@eqx.filter_jit
def _training_chunk(models, keys, settings):
    return eqx.filter_vmap(lambda m, k: training_dynamics(m, settings=settings, key=k))(models, keys)


def snapshot_models(models, data: xr.Dataset):
    """`models` (`[member, …]` leaves) with every leaf `[member, snapshot, …]`: the stored
    `snapshot_<field>` values where there are some, the member's own values elsewhere."""
    n_snap = data.sizes["snapshot"]
    arrays, static = eqx.partition(models, eqx.is_array)
    arrays = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x[:, None], (x.shape[0], n_snap, *x.shape[1:])), arrays
    )
    model = eqx.combine(arrays, static)
    for name in [v[len(SNAPSHOT):] for v in data.data_vars if v.startswith(SNAPSHOT)]:
        old = getattr(model, name)
        values = jnp.asarray(np.asarray(data[SNAPSHOT + name].values), dtype=old.dtype)
        model = eqx.tree_at(lambda m, name=name: getattr(m, name), model, values)
    return model


def _snapshot_loss(data: xr.Dataset, steps: np.ndarray) -> np.ndarray | None:
    if "loss" not in data or "step" not in data["loss"].dims:
        return None
    # a snapshot before the first training step has no loss: NaN there
    return np.asarray(data["loss"].reindex(step=steps).values)


def member_keys(seed: int, members) -> jax.Array:
    """Two keys `[member, 2]` per member, from `seed` and the member's id alone, so a
    member's results do not depend on which chunk or selection it was analysed in."""
    base = jr.key(int(seed))
    ids = jnp.asarray(np.asarray(members, dtype=np.int64) % (2**31 - 1), dtype=jnp.int32)
    return jax.vmap(lambda m: jr.split(jr.fold_in(base, m)))(ids)


def hmm_mechanism(
    store,
    *,
    settings: HMMMechanism | None = None,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    figures: str | pathlib.Path | None = None,
    parts=None,
    training: bool = True,
    seed: int = 0,
    progress: bool = True,
    replace: bool = False,
    which: str = "final",
    **keywords,
) -> dict[str, xr.Dataset]:
    """The mechanism analyses of Torre et al. (NeurIPS 2025) for every network of a store.

    Per member, vmapped over chunks of `members_per_chunk` members: `analyse_mechanism`
    (orbit and relaxation per noise scale, residency segmentation, linearisation along
    the trajectory, kick units and noise-integrating populations, drive scaling of the
    kick units against a random control set) and, when the store holds parameter
    snapshots (`snapshot_<field>`, spec `[sweep] snapshot_every`) and `training`, the
    `training_dynamics` over them with the training loss at each snapshot step. Results
    are written as the `hmm_mechanism` analysis (`analyses/hmm_mechanism.<group>`; see
    `mechanism_to_dataset` for the variables) with the settings stored whole.
    Each member's noise comes from `seed` and its member id alone, so its results do not
    depend on `members_per_chunk` or `selection`. Re-running with the same settings
    merges by member; other settings are refused before any work unless `replace`.

    **Arguments:** `store` (a path or an open `SweepStore`); `settings` (`HMMMechanism`;
    keywords are routed to every part with that field, e.g. `scales=[0.1, 1, 2, 3, 4]`,
    `n_steps=30_000`, `mu=[0, 1, 2]`, `noise_std=1.0`); `selection` (hyperparameter
    values choosing members); `figures` (a folder: one figure per member); `parts` (as
    in `analyse_mechanism`; None: all; stored with the settings); `training`; `seed`;
    `which` (the parameters analysed: `"final"`, `"init"`, or `"best"`, the snapshot
    with the lowest held-out loss, as the study keeps its validation-best model;
    stored with the settings).

    **Returns:** the results per group.
    """
    owner = "hmm_mechanism"
    if settings is not None and not isinstance(settings, HMMMechanism):
        raise TypeError(
            f"{owner}: settings must be an HMMMechanism, got {type(settings).__name__}; build "
            "one with HMMMechanism(...) or pass its fields as keywords."
        )
    if settings is None:
        settings = HMMMechanism(**keywords)
    elif keywords:
        settings = HMMMechanism(
            settings.global_dynamics, settings.residency, settings.units,
            settings.drive_scaling, settings.training, **keywords,
        )
    parts = resolve_parts(owner, parts)
    seed = _checks.positive_int(owner, "seed", seed, minimum=0)
    stored = {
        **settings_dict(settings), "parts": list(parts), "seed": seed, "with_training": bool(training),
    }
    if which != "final":  # stores analysed before `which` existed hold final parameters
        stored["parameters"] = which

    def analyse(chunk: Chunk) -> xr.Dataset:
        keys = member_keys(seed, chunk.members)
        k_main, k_train = keys[:, 0], keys[:, 1]
        result = _analyse_chunk(chunk.models, k_main, settings, parts)
        train, steps, loss = None, None, None
        if training and any(v.startswith(SNAPSHOT) for v in chunk.data.data_vars):
            snaps = snapshot_models(chunk.models, chunk.data)
            train = _training_chunk(snaps, k_train, settings.training)
            if "snapshot_step" in chunk.data.coords:
                steps = np.asarray(chunk.data["snapshot_step"].values)
                loss = _snapshot_loss(chunk.data, steps)
        ds = mechanism_to_dataset(
            result, member=np.asarray(chunk.members), settings=stored, training=train,
            snapshot_step=steps, snapshot_loss=loss,
        )
        if figures is not None:
            _figures(pathlib.Path(figures), chunk.group, ds)
        return ds

    return run_over_members(
        store, NAME, analyse, members_per_chunk=members_per_chunk, selection=selection,
        settings=stored, seed=seed, progress=progress, replace=replace, which=which,
    )


def _figures(folder: pathlib.Path, group: str, ds: xr.Dataset) -> None:
    from ._plots import plot_mechanism

    folder.mkdir(parents=True, exist_ok=True)
    for member in np.asarray(ds["member"].values):
        fig = plot_mechanism(ds.sel(member=member))
        fig.suptitle(f"group {group}, member {member}: HMM-emulation mechanism")
        fig.savefig(folder / f"hmm_mechanism_member{member}.png", dpi=100)
