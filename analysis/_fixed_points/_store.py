"""Fixed points of every network of a sweep, written back into its store."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from neurodyn import _checks

from .._over_members import Chunk, run_over_members
from ._connect import connect_saddles
from ._dataset import fixed_points_from_dataset, fixed_points_to_dataset
from ._sample import sample_initial_states
from ._search import find_fixed_points


def fixed_points(
    store,
    *,
    u=None,
    n_initial: int = 1024,
    noise_scale: float = 0.5,
    n_iters: int = 5000,
    learning_rate: float = 1e-2,
    tol_q: float = 1e-12,
    unique_tol: float | str = 1e-3,
    outlier_distance: float | None = 10.0,
    max_points: int | None = 64,
    connect: bool = True,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    figures: str | pathlib.Path | None = None,
    replace: bool = False,
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

    **Arguments:** the search settings of `find_fixed_points` (defaults: the reference
    finder's, SCIENCE.md §1), `max_points` (size of the `fp` axis), `selection`
    (hyperparameter values choosing members), `figures` (a folder: one PCA figure and one
    eigenvalue figure per member).

    **Returns:** the results per group.
    """
    owner = "fixed_points"
    _checks.positive_int(owner, "n_initial", n_initial)
    _checks.positive_int(owner, "n_iters", n_iters, minimum=0)
    _checks.in_range(owner, "noise_scale", noise_scale, low=0.0)
    _checks.in_range(owner, "learning_rate", learning_rate, low=0.0, low_open=True)
    _checks.in_range(owner, "tol_q", tol_q, low=0.0, low_open=True)
    if unique_tol != "auto":
        _checks.in_range(owner, "unique_tol", unique_tol, low=0.0, low_open=True)
    if outlier_distance is not None:
        _checks.in_range(owner, "outlier_distance", outlier_distance, low=0.0, low_open=True)
    if max_points is not None:
        _checks.positive_int(owner, "max_points", max_points)
    settings = dict(
        n_initial=n_initial, noise_scale=noise_scale, n_iters=n_iters, learning_rate=learning_rate,
        tol_q=tol_q, unique_tol=unique_tol, outlier_distance=outlier_distance, max_points=max_points,
        connect=connect, seed=seed, u=None if u is None else np.asarray(u).tolist(),
    )

    def analyse(chunk: Chunk) -> xr.Dataset:
        states = jnp.asarray(np.asarray(chunk.data["states"].values))
        keys = jr.split(chunk.key, states.shape[0])
        starts = jax.vmap(lambda s, k: sample_initial_states(s, n_initial, noise_scale=noise_scale, key=k))(states, keys)
        u0 = jnp.zeros(chunk.task.input_size) if u is None else jnp.asarray(u, dtype=states.dtype)
        result = _search(chunk.models, starts, u0, n_iters, learning_rate, tol_q, unique_tol, outlier_distance, max_points, connect)
        ds = fixed_points_to_dataset(result)
        if figures is not None:
            _figures(pathlib.Path(figures), chunk, result, states)
        return ds

    return run_over_members(
        store, "fixed_points", analyse, members_per_chunk=members_per_chunk, selection=selection,
        settings=settings, seed=seed, progress=progress, replace=replace,
    )


@eqx.filter_jit
def _search(models, starts, u, n_iters, learning_rate, tol_q, unique_tol, outlier_distance, max_points, connect):
    def one(model, start):
        fps = find_fixed_points(
            model, u, start, n_iters=n_iters, learning_rate=learning_rate, tol_q=tol_q,
            unique_tol=unique_tol, outlier_distance=outlier_distance, max_points=max_points,
        )
        return connect_saddles(model, fps, u) if connect else fps

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
