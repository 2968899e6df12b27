"""Member-stacked timescale results as an xarray Dataset in the store's vocabulary."""

import json
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from neurodyn._version import __version__

from ._core import TimescaleResult
from ._expfit import DOUBLE, NOT_FITTED, SINGLE

SCHEMA_VERSION = 1

_FIT_FIELDS = (
    "tau_single",
    "amplitude_single",
    "aic_single",
    "tau_fast",
    "tau_slow",
    "amplitude_double",
    "fraction_fast",
    "aic_double",
)


#: what each fitted field is (single: A exp(-k/tau); double: A (c exp(-k/tau_fast) + (1-c) exp(-k/tau_slow)))
_FIT_NAMES = {
    "tau_single": "timescale tau of the single-exponential fit",
    "amplitude_single": "amplitude A of the single-exponential fit",
    "aic_single": "AIC of the single-exponential fit",
    "tau_fast": "fast timescale tau_fast of the double-exponential fit",
    "tau_slow": "slow timescale tau_slow of the double-exponential fit",
    "amplitude_double": "amplitude A of the double-exponential fit",
    "fraction_fast": "share c of the fast term in the double-exponential fit",
    "aic_double": "AIC of the double-exponential fit",
}


def _choice_attrs(what: str = "unit"):
    return {
        "long_name": f"fit chosen for the {what}'s autocorrelation",
        "flag_values": [NOT_FITTED, SINGLE, DOUBLE],
        "flag_meanings": "not_fitted single double",
    }


def _summary(tau_net: np.ndarray, threshold: float):
    """Mean and median of τ_net over the kept units, per member (NaN when none is kept)."""
    valid = np.isfinite(tau_net) & (tau_net > threshold)
    kept = np.where(valid, tau_net, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-excluded members: NaN
        return np.nanmean(kept, axis=-1), np.nanmedian(kept, axis=-1), valid.sum(axis=-1)


def timescales_to_dataset(
    result: TimescaleResult,
    *,
    network_tau: np.ndarray | None = None,
    network_tau_units: str = "steps",
    member: Mapping[str, Any] | np.ndarray | None = None,
    settings: Mapping[str, Any] | None = None,
    threshold: float = 1.0,
) -> xr.Dataset:
    """Label member-stacked timescale results with the store's dimension names.

    **Arguments:**

    - `result`: a `TimescaleResult` with a leading `member` axis (from
      `eqx.filter_vmap(autocorrelation_timescales)`).
    - `network_tau`: `[member, fp, eig]` from `network_timescales`, or None.
    - `network_tau_units`: "steps" for discrete models, the model's time unit otherwise.
    - `member`: the `member` coordinate (an array of ids) or a mapping of
      hyperparameter name → values along `member`, stored as coordinates.
    - `settings`: the analysis settings (n_steps, burn_in, input process, …), stored as
      JSON in the `settings` attribute.
    - `threshold`: the τ_net exclusion threshold used for `tau_net_mean`/`_median`.

    **Returns:** a Dataset with `(member, hidden)` τ_net, fit choice (int, −1 = not
    fitted), fit parameters and learned τ; `(member, lag, hidden)` and `(member, lag)`
    autocorrelations; `(member,)` population fits and summaries with the exclusion rule;
    `(member, fp, eig)` network timescales if given.
    """
    arr = lambda x: np.asarray(x)
    fit, pop = result.fit, result.population_fit
    tau_net = arr(fit.tau_net)
    if tau_net.ndim != 2:
        raise ValueError(
            "timescales_to_dataset: result must have a leading member axis "
            f"(fit.tau_net of shape [member, hidden]), got shape {tau_net.shape}. "
            "Stack single results with eqx.filter_vmap or jax.tree.map(np.stack, ...)."
        )
    n_member, n_hidden = tau_net.shape
    n_lag = arr(result.autocorrelation).shape[1]
    steps = {"units": "steps"}
    data = {
        "tau_net": (("member", "hidden"), tau_net, {**steps, "long_name": "autocorrelation timescale τ_net"}),
        "fit_choice": (("member", "hidden"), arr(fit.choice).astype(np.int32), _choice_attrs()),
        "learned_tau": (("member", "hidden"), arr(result.learned_tau), {"long_name": "learned τ"}),
        "autocorrelation": (("member", "lag", "hidden"), arr(result.autocorrelation),
                            {"long_name": "autocorrelation of each unit's activity", "units": "1"}),
        "population_autocorrelation": (("member", "lag"), arr(result.population_autocorrelation),
                                       {"long_name": "autocorrelation of the population (units pooled)", "units": "1"}),
        "population_tau_net": (("member",), arr(pop.tau_net),
                               {**steps, "long_name": "autocorrelation timescale τ_net of the population"}),
        "population_fit_choice": (("member",), arr(pop.choice).astype(np.int32), _choice_attrs("population")),
    }
    for name in _FIT_FIELDS:
        attrs = {**(steps if name.startswith("tau") else {}), "long_name": _FIT_NAMES[name]}
        data[name] = (("member", "hidden"), arr(getattr(fit, name)), attrs)
    mean, median, n_valid = _summary(tau_net, threshold)
    excl = {"units": "steps", "exclusion": f"units with tau_net <= {threshold} or NaN left out"}
    data["tau_net_mean"] = (("member",), mean, {**excl, "long_name": "mean τ_net over the kept units"})
    data["tau_net_median"] = (("member",), median, {**excl, "long_name": "median τ_net over the kept units"})
    data["n_valid_units"] = (("member",), n_valid, {"exclusion": excl["exclusion"], "long_name": "units kept"})
    if network_tau is not None:
        net = arr(network_tau)
        if net.ndim != 3 or net.shape[0] != n_member:
            raise ValueError(
                f"timescales_to_dataset: network_tau must be [member, fp, eig] with "
                f"{n_member} members, got shape {net.shape}."
            )
        data["network_tau"] = (("member", "fp", "eig"), net, {
            "units": network_tau_units,
            "long_name": "timescale of each Jacobian eigenmode at each fixed point (negative: growing)",
        })

    coords: dict[str, Any] = {"lag": ("lag", np.arange(n_lag), {"units": "steps", "long_name": "autocorrelation lag"})}
    if member is None:
        coords["member"] = np.arange(n_member)
    elif isinstance(member, Mapping):
        coords["member"] = np.arange(n_member)
        for name, values in member.items():
            coords[name] = ("member", np.asarray(values))
    else:
        coords["member"] = np.asarray(member)
    coords["hidden"] = ("hidden", np.arange(n_hidden), {"long_name": "hidden unit"})

    attrs = {
        "analysis": "timescales",
        "schema_version": SCHEMA_VERSION,
        "neurodyn_version": __version__,
        "settings": json.dumps(dict(settings or {}), default=str, sort_keys=True),
        "tau_net_threshold": float(threshold),
        "fit_models": "single: A exp(-k/tau); double: A (c exp(-k/tau_fast) + (1-c) exp(-k/tau_slow)); chosen by AIC",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
