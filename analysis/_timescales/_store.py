"""Timescales of every network of a sweep, written back into its store."""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr

from neurodyn.models import AbstractContinuousRNN

from .._long_runs import BinaryInput, GaussianInput, ZeroInput
from .._over_members import Chunk, run_over_members
from .._settings import resolve
from ._core import autocorrelation_timescales, network_timescales
from ._dataset import timescales_to_dataset
from ._settings import INPUTS as INPUTS
from ._settings import TimescaleSettings


def _input_process(name: str, std: float):
    if name == "binary":
        return BinaryInput()
    if name == "gaussian":
        return GaussianInput(std=std)
    return ZeroInput()


def timescales(
    store,
    *,
    settings: TimescaleSettings | None = None,
    members_per_chunk: int = 16,
    selection: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    figures: str | pathlib.Path | None = None,
    replace: bool = False,
    **keywords,
) -> dict[str, xr.Dataset]:
    """Autocorrelation timescales, learned τ and network timescales of a whole sweep.

    Each network is driven by `input` ("binary": x ~ Bernoulli(p) with p ~ U(0, 1) per
    trial; "gaussian": N(0, `input_std`²); "zero") for `burn_in` + `n_steps` steps,
    streamed in chunks (no run is stored); each unit's autocorrelation is fitted with a
    single and a double exponential on lags 0 … `fit_lag`, chosen by AIC (docs/studies/timescales.md).
    With `network=True` and a stored `fixed_points` analysis, the timescales of the
    linearised dynamics at every fixed point are added (τ = −1/Re λ, or −1/ln|λ| steps).
    Results are written as the `timescales` analysis (`tau_net (member, hidden)`,
    `autocorrelation (member, lag, hidden)`, learned τ, …). Re-running with the same
    settings merges by member; other settings are refused unless `replace`.

    **Arguments:** `settings` (a `TimescaleSettings`; its fields may also be given as
    keywords, e.g. `n_steps=50_000, input="gaussian"`, which replace those fields),
    `members_per_chunk`, `selection`, `seed`, `figures` (a folder of autocorrelation
    figures), `replace`.

    **Returns:** the results per group.
    """
    drive = resolve("timescales", TimescaleSettings, settings, keywords)
    process = _input_process(drive.input, drive.input_std)
    settings = dict(drive.stored(), seed=seed)
    network, n_steps, burn_in, max_lag = drive.network, drive.n_steps, drive.burn_in, drive.max_lag
    fit_lag, n_trials, chunk_size, solver = drive.fit_lag, drive.n_trials, drive.chunk_size, drive.time_solver
    rule = (drive.criterion, drive.min_fraction, drive.min_separation)
    from neurodyn.store import SweepStore, open_sweep

    sweep = store if isinstance(store, SweepStore) else open_sweep(store)
    fp = sweep.analysis("fixed_points") if (network and "fixed_points" in sweep.analyses) else None

    def analyse(chunk: Chunk) -> xr.Dataset:
        keys = jr.split(chunk.key, len(chunk.members))
        result = _drive_and_fit(
            chunk.models, keys, process, n_steps, burn_in, max_lag, fit_lag, n_trials, chunk_size, solver, rule
        )
        net = None
        template = jax.tree_util.tree_map(lambda x: x[0] if eqx.is_array(x) else x, chunk.models)
        continuous = isinstance(template, AbstractContinuousRNN)
        if fp is not None and all(m in fp["member"].values for m in chunk.members):
            sub = fp.sel(member=chunk.members)
            eig = np.asarray(sub["eigenvalues_real"].values) + 1j * np.asarray(sub["eigenvalues_imag"].values)
            net = np.asarray(network_timescales(jnp.asarray(eig), continuous=continuous))
        ds = timescales_to_dataset(
            result, network_tau=net, network_tau_units="time" if continuous else "steps",
            member=np.asarray(chunk.members), settings=settings,
        )
        if figures is not None:
            _figures(pathlib.Path(figures), chunk, result)
        return ds

    return run_over_members(
        sweep, "timescales", analyse, members_per_chunk=members_per_chunk, selection=selection,
        settings=settings, seed=seed, progress=progress, replace=replace,
    )


@eqx.filter_jit
def _drive_and_fit(models, keys, process, n_steps, burn_in, max_lag, fit_lag, n_trials, chunk_size, solver, rule):
    criterion, min_fraction, min_separation = rule

    def one(model, key):
        return autocorrelation_timescales(
            model, process, n_steps=n_steps, burn_in=burn_in, key=key, max_lag=max_lag,
            fit_lag=fit_lag, n_trials=n_trials, chunk_size=chunk_size, time_solver=solver,
            criterion=criterion, min_fraction=min_fraction, min_separation=min_separation,
        )

    return eqx.filter_vmap(one)(models, keys)


def _figures(folder: pathlib.Path, chunk: Chunk, result):
    import matplotlib.pyplot as plt

    from ._plots import plot_autocorrelation

    folder.mkdir(parents=True, exist_ok=True)
    for i, member in enumerate(chunk.members):
        one = jax.tree_util.tree_map(lambda x: x[i], result)
        fig = plot_autocorrelation(np.asarray(one.autocorrelation), one.fit)
        fig.suptitle(f"member {member}: autocorrelation per unit with fits")
        fig.savefig(folder / f"autocorrelation_member{member}.png", dpi=110)
        plt.close(fig)
