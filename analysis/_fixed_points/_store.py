"""Fixed points of every network of a sweep, written back into its store."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from .._over_members import Chunk, run_over_members
from .._settings import resolve, settings_dict
from ._connect import connect_saddles
from ._dataset import fixed_points_from_dataset, fixed_points_to_dataset
from ._sample import sample_initial_states
from ._search import find_fixed_points
from ._settings import FixedPointSearch


def fixed_points(
    store,
    *,
    settings: FixedPointSearch | None = None,
    u=None,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    figures: str | pathlib.Path | None = None,
    replace: bool = False,
    **keywords,
) -> dict[str, xr.Dataset]:
    """Find the fixed points of every trained network of a store and store them.

    For each member: `n_initial` states sampled from its stored evaluation trajectories
    plus noise of `noise_scale` (see `sample_initial_states`), searched with
    `find_fixed_points` at constant input `u` (zeros by default), then each one-mode
    saddle connected to the attractors it leads to (`connect_saddles`). Members are
    processed `members_per_chunk` at a time, vmapped. Results are written as the
    `fixed_points` analysis (one Dataset per group: `points (member, fp, state)`, `valid`,
    `n_points (member)`, `q`, `stability`, `n_unstable`, `eigenvalues_real/imag
    (member, fp, eig)`, `unstable_vector`, `attractor_plus/minus`, candidate statuses)
    with the settings and code version. Re-running with the same settings merges by
    member (e.g. after a `selection`); other settings are refused unless `replace`.

    **Arguments:** `settings` (a `FixedPointSearch`; its fields may also be given as
    keywords, e.g. `n_initial=256, n_iters=2000`, which replace those fields),
    `members_per_chunk`, `selection` (hyperparameter values choosing members), `seed`,
    `figures` (a folder: one PCA figure and one eigenvalue figure per member), `replace`.

    **Returns:** the results per group.
    """
    search = resolve("fixed_points", FixedPointSearch, settings, keywords)
    stored = dict(settings_dict(search), seed=seed, u=None if u is None else np.asarray(u).tolist())

    def analyse(chunk: Chunk) -> xr.Dataset:
        states = jnp.asarray(np.asarray(chunk.data["states"].values))
        keys = jr.split(chunk.key, states.shape[0])
        starts = jax.vmap(
            lambda s, k: sample_initial_states(s, search.n_initial, noise_scale=search.noise_scale, key=k)
        )(states, keys)
        u0 = jnp.zeros(chunk.task.input_size) if u is None else jnp.asarray(u, dtype=states.dtype)
        result = _search(chunk.models, starts, u0, search)
        ds = fixed_points_to_dataset(result)
        if figures is not None:
            _figures(pathlib.Path(figures), chunk, result, states)
        return ds

    return run_over_members(
        store, "fixed_points", analyse, members_per_chunk=members_per_chunk, selection=selection,
        settings=stored, seed=seed, progress=progress, replace=replace,
    )


@eqx.filter_jit
def _search(models, starts, u, search: FixedPointSearch):
    def one(model, start):
        fps = find_fixed_points(
            model, u, start, n_iters=search.n_iters, learning_rate=search.learning_rate, tol_q=search.tol_q,
            unique_tol=search.unique_tol, outlier_distance=search.outlier_distance, max_points=search.max_points,
        )
        return connect_saddles(model, fps, u) if search.connect else fps

    return eqx.filter_vmap(one)(models, starts)


def _figures(folder: pathlib.Path, chunk: Chunk, result, states):
    import matplotlib.pyplot as plt

    from ._plots import plot_eigenvalues, plot_fixed_points

    folder.mkdir(parents=True, exist_ok=True)
    for i, member in enumerate(chunk.members):
        one = jax.tree_util.tree_map(lambda x: x[i], result)
        fig = plot_fixed_points(one, states[i])
        fig.suptitle(f"member {member}: trajectories and fixed points (PCA)")
        fig.savefig(folder / f"fixed_points_member{member}.png", dpi=110)
        plt.close(fig)
        fig = plot_eigenvalues(one)
        fig.suptitle(f"member {member}: eigenvalues at the fixed points")
        fig.savefig(folder / f"eigenvalues_member{member}.png", dpi=110)
        plt.close(fig)


def load_fixed_points(store, member: int):
    """The stored `FixedPoints` of one member (after `fixed_points(store)` has run)."""
    from neurodyn.store import SweepStore, open_sweep

    sweep = store if isinstance(store, SweepStore) else open_sweep(store)
    table = sweep.members
    row = int(np.nonzero(np.asarray(table["member"].values) == member)[0][0])
    group = str(np.asarray(table["group"].values)[row])
    ds = sweep.analysis("fixed_points", group=group)  # the member's own group: no padding
    return fixed_points_from_dataset(ds.sel(member=member))
