"""Timescales of one network: learned τ, autocorrelation timescales, network timescales.

Everything here works on a single model or on plain arrays; `eqx.filter_vmap` over
stacked members gives a whole sweep. `timescales_to_dataset` labels member-stacked
results with the store's dimension names.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Int, PRNGKeyArray

from neurodyn import _checks
from neurodyn.models import AbstractContinuousRNN, AbstractRNN

from .._long_runs import AbstractInputProcess, drive
from ._autocorr import AutocorrelationAccumulator, normalise_autocovariance
from ._expfit import ExpFit, fit_autocorrelation

_DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def learned_tau(model: AbstractRNN, *, in_steps: bool = False) -> Float[Array, " hidden"]:
    """The per-neuron time constants τ of a model (a scalar τ is broadcast to every unit).

    Uses `model.effective_tau()` where the model defines it (τ as the dynamics use it,
    e.g. max(τ, 1) for `LeakyRateRNN`, max(τ, dt) for `CTRNN`), else its `tau` field;
    looks through `silence` wrappers. τ is in the model's units (steps for discrete
    models, time for continuous ones); `in_steps=True` divides a continuous model's τ by
    `dt`, to compare with autocorrelation timescales. Raises a `ValueError` for models
    without τ (VanillaRNN, GRU, LSTM).
    """
    inner = model
    while hasattr(inner, "silenced_model"):
        inner = inner.silenced_model
    if hasattr(inner, "effective_tau"):
        tau = inner.effective_tau()
    else:
        tau = getattr(inner, "tau", None)
    if tau is None:
        raise ValueError(
            f"learned_tau: {type(inner).__name__} has no `tau` field, so it has no learned "
            "time constants. Use a model with per-neuron τ (CTRNN, LeakyRateRNN), or the "
            "autocorrelation timescales (`autocorrelation_timescales`) instead."
        )
    tau = jnp.broadcast_to(jnp.asarray(tau), (inner.hidden_size,))
    if in_steps and isinstance(inner, AbstractContinuousRNN):
        tau = tau / inner.dt
    return tau


class TauStatistics(eqx.Module):
    """Summary statistics of a set of τ, plus a histogram on fixed edges (vmappable)."""

    mean: Float[Array, ""]
    median: Float[Array, ""]
    std: Float[Array, ""]
    minimum: Float[Array, ""]
    maximum: Float[Array, ""]
    quantiles: Float[Array, " quantile"]
    counts: Float[Array, " bin"]
    edges: Float[Array, " edge"]


@eqx.filter_jit
def tau_statistics(
    tau: Float[Array, " hidden"],
    *,
    quantiles: tuple[float, ...] = _DEFAULT_QUANTILES,
    edges: Float[Array, " edge"] | None = None,
) -> TauStatistics:
    """Mean, median, spread, `quantiles` and a histogram of τ (NaN entries ignored).

    `edges` defaults to 61 log-spaced edges from 0.1 to 10⁴ (fixed, so histograms of
    different members share bins and the function `vmap`s); values outside are not counted.
    """
    tau = jnp.asarray(tau)
    if edges is None:
        edges = jnp.geomspace(0.1, 1e4, 61)
    edges = jnp.asarray(edges, dtype=tau.dtype)
    finite = jnp.isfinite(tau)
    counts, _ = jnp.histogram(jnp.where(finite, tau, edges[0] - 1.0), bins=edges)
    return TauStatistics(
        mean=jnp.nanmean(tau),
        median=jnp.nanmedian(tau),
        std=jnp.nanstd(tau),
        minimum=jnp.nanmin(tau),
        maximum=jnp.nanmax(tau),
        quantiles=jnp.nanquantile(tau, jnp.asarray(quantiles, dtype=tau.dtype)),
        counts=counts.astype(tau.dtype),
        edges=edges,
    )


def network_timescales(
    eigenvalues: Complex[Array, "*fp eig"], *, continuous: bool, dt: float | None = None
) -> Float[Array, "*fp eig"]:
    """Timescales of the linearised dynamics from Jacobian eigenvalues at fixed points.

        continuous time:  τ_k = −1 / Re λ_k               (the model's time units)
        discrete time:    τ_k = −dt / ln |λ_k|            (steps when `dt` is None)

    Decaying modes have τ > 0; growing modes (Re λ > 0, |λ| > 1) get τ < 0, |τ| being
    their e-folding time; marginal modes ±inf; NaN eigenvalues (padding of an invalid
    fixed point) give NaN. Complex pairs give the same τ twice.

    **Arguments:**

    - `eigenvalues`: any shape, e.g. `[fp, eig]` from the fixed-point analysis.
    - `continuous`: True for eigenvalues of the vector field's Jacobian, False for those
      of the step map h ↦ step(h, u).
    - `dt`: for discrete models, the time per step, to express τ in time units; unused
      for continuous models (their τ are already in time units).
    """
    lam = jnp.asarray(eigenvalues)
    if continuous:
        return -1.0 / jnp.real(lam)
    step = 1.0 if dt is None else dt
    return -step / jnp.log(jnp.abs(lam))


def valid_timescales(tau_net: Float[Array, "*unit"], *, threshold: float = 1.0):
    """The units kept in summaries: finite τ_net above `threshold` (default 1 step)."""
    return jnp.isfinite(tau_net) & (tau_net > threshold)


class TimescaleSummary(eqx.Module):
    """Summary of τ_net over units with the exclusion rule applied (τ_net ≤ threshold out)."""

    mean: Float[Array, ""]
    median: Float[Array, ""]
    std: Float[Array, ""]
    n_valid: Int[Array, ""]
    n_excluded: Int[Array, ""]


@eqx.filter_jit
def summarise_timescales(
    tau_net: Float[Array, " hidden"], *, threshold: float = 1.0
) -> TimescaleSummary:
    """Mean, median and spread of τ_net over the units with τ_net > `threshold`.

    Units with τ_net ≤ `threshold` (default 1 step: no memory beyond one step) or NaN
    (not fitted, e.g. silenced) are excluded, as in Khajehabdollahi et al. (ICLR 2024).
    All statistics are NaN when no unit remains. `vmap` over members.
    """
    valid = valid_timescales(tau_net, threshold=threshold)
    kept = jnp.where(valid, tau_net, jnp.nan)
    n_valid = jnp.sum(valid)
    return TimescaleSummary(
        mean=jnp.nanmean(kept),
        median=jnp.nanmedian(kept),
        std=jnp.nanstd(kept),
        n_valid=n_valid.astype(jnp.int32),
        n_excluded=(tau_net.size - n_valid).astype(jnp.int32),
    )


class TimescaleResult(eqx.Module):
    """Autocorrelation timescales of one network (add a leading `member` axis by vmap).

    **Fields:** `autocorrelation` `[lag, hidden]` and `population_autocorrelation`
    `[lag]` (averaged over trials); `fit` (`ExpFit` per unit) and `population_fit`;
    `learned_tau` `[hidden]` (NaN for models without τ). Times are in steps (a
    continuous model's learned τ divided by its `dt`).
    """

    autocorrelation: Float[Array, "lag hidden"]
    population_autocorrelation: Float[Array, " lag"]
    fit: ExpFit
    population_fit: ExpFit
    learned_tau: Float[Array, " hidden"]


def autocorrelation_timescales(
    model: AbstractRNN,
    input_process: AbstractInputProcess,
    *,
    n_steps: int,
    burn_in: int,
    key: PRNGKeyArray,
    max_lag: int = 100,
    fit_lag: int = 30,
    n_trials: int = 1,
    chunk_size: int = 1000,
    record: str = "rates",
    tau_bounds: tuple[float, float] = (1e-2, 1e3),
    min_fraction: float = 0.1,
    min_separation: float = 1.0,
    criterion: str = "aic",
    noise: bool = False,
    time_solver: str = "scan",
) -> TimescaleResult:
    """Drive a network, stream its autocorrelations, and fit timescales per unit.

    The protocol of Khajehabdollahi et al. (ICLR 2024): drive with random input (e.g.
    `BinaryInput()`), drop `burn_in` steps, estimate each unit's autocorrelation over
    `n_steps` with the streaming estimator (never storing the run), average over
    `n_trials`, fit single/double exponentials on lags 0 … `fit_lag` and choose by AIC
    (`min_fraction`, `min_separation` and `criterion` as in `fit_autocorrelation`; the
    defaults are the study's rule with the amplitude guard). The same for the summed
    activity. Use `summarise_timescales` for averages with the
    τ_net ≤ 1 exclusion. `eqx.filter_vmap` over members (keys split per member).
    `time_solver` runs each chunk of the drive with `neurodyn.parallel.evaluate` (see
    `drive`).
    """
    owner = "autocorrelation_timescales"
    max_lag = _checks.positive_int(owner, "max_lag", max_lag)
    fit_lag = _checks.positive_int(owner, "fit_lag", fit_lag, minimum=5)
    if fit_lag > max_lag:
        raise ValueError(f"{owner}: fit_lag={fit_lag} must be <= max_lag={max_lag}.")
    if n_steps <= max_lag:
        raise ValueError(
            f"{owner}: n_steps={n_steps} must exceed max_lag={max_lag}; runs of 10⁵ steps "
            "are typical."
        )
    acc = AutocorrelationAccumulator(max_lag, population=True)
    cov, cov_pop = drive(
        model,
        input_process,
        n_steps,
        burn_in=burn_in,
        key=key,
        chunk_size=chunk_size,
        n_trials=n_trials,
        record=record,
        accumulator=acc,
        noise=noise,
        time_solver=time_solver,
    )
    rho = normalise_autocovariance(cov)
    rho_pop = normalise_autocovariance(cov_pop[..., None])[:, 0]
    # Units and population in one fit call: one compiled program instead of two.
    fits = fit_autocorrelation(
        jnp.concatenate([rho, rho_pop[:, None]], axis=1),
        fit_lag=fit_lag,
        tau_bounds=tau_bounds,
        min_fraction=min_fraction,
        min_separation=min_separation,
        criterion=criterion,
    )
    fit = jax.tree_util.tree_map(lambda x: x[:-1], fits)
    population_fit = jax.tree_util.tree_map(lambda x: x[-1], fits)
    try:
        tau = learned_tau(model, in_steps=True)
    except ValueError:
        tau = jnp.full(rho.shape[1], jnp.nan)
    return TimescaleResult(
        autocorrelation=rho,
        population_autocorrelation=rho_pop,
        fit=fit,
        population_fit=population_fit,
        learned_tau=jnp.asarray(tau, rho.dtype),
    )

