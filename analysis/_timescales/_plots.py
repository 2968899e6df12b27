"""Figures of the timescale analyses; each function returns a matplotlib Figure.

Figures are built with `matplotlib.figure.Figure` (no pyplot state, no GUI backend), so
they can be made in scripts, tests and worker processes alike; save with `fig.savefig`.
"""

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ._expfit import ExpFit


def _kept(values, threshold):
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    return v if threshold is None else v[v > threshold]


def plot_tau_distributions(
    conditions: Mapping[str, np.ndarray],
    *,
    kind: str = "hist",
    threshold: float | None = 1.0,
    log: bool = True,
    bins: int | np.ndarray = 30,
    label: str = "τ_net (steps)",
) -> Figure:
    """Distributions of τ per condition, as overlaid histograms or violins.

    **Arguments:**

    - `conditions`: condition name → τ values (any shape, e.g. `[member, hidden]`);
      NaN and values ≤ `threshold` are left out (the τ_net ≤ 1 exclusion; None keeps all).
    - `kind`: "hist" (one step histogram per condition, shared bins) or "violin".
    - `log`: logarithmic τ axis (and log-spaced bins).
    """
    if kind not in ("hist", "violin"):
        raise ValueError(f"plot_tau_distributions: kind={kind!r} is not one of ['hist', 'violin'].")
    data = {name: _kept(v, threshold) for name, v in conditions.items()}
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    nonempty = [v for v in data.values() if v.size]
    if kind == "hist":
        if np.ndim(bins) == 0 and nonempty:
            lo = min(v.min() for v in nonempty)
            hi = max(v.max() for v in nonempty)
            hi = hi if hi > lo else lo + 1.0
            bins = np.geomspace(lo, hi, int(bins) + 1) if log and lo > 0 else np.linspace(lo, hi, int(bins) + 1)
        for name, v in data.items():
            ax.hist(v, bins=bins, histtype="step", label=f"{name} (n={v.size})")
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("units")
    else:
        names = list(data)
        positions = np.arange(1, len(names) + 1)
        shown = [np.log10(v) if log else v for v in data.values()]
        keep = [i for i, v in enumerate(shown) if v.size]
        if keep:
            ax.violinplot([shown[i] for i in keep], positions=positions[keep], showmedians=True)
        ax.set_xticks(positions, names)
        ax.set_ylabel(f"log10 {label}" if log else label)
    if kind == "hist" and data:
        ax.legend(fontsize="small")
    return fig


def plot_autocorrelation(
    rho: np.ndarray,
    fit: ExpFit | None = None,
    *,
    units: Sequence[int] | None = None,
    fit_lag: int | None = None,
    log: bool = True,
    max_units: int = 8,
) -> Figure:
    """Autocorrelations (markers) with their chosen exponential fits (lines).

    **Arguments:**

    - `rho`: `[lag]` (e.g. the population autocorrelation) or `[lag, hidden]`.
    - `fit`: the matching `ExpFit` (scalar fields for `[lag]`, `[hidden]` otherwise).
    - `units`: which units to show (default: the first `max_units`).
    - `fit_lag`: draw the fits up to this lag (default: all lags).
    - `log`: logarithmic ρ axis (non-positive values are not drawn there).
    """
    rho = np.asarray(rho, dtype=float)
    single = rho.ndim == 1
    rho2 = rho[:, None] if single else rho
    lags = np.arange(rho2.shape[0])
    if units is None:
        units = list(range(min(max_units, rho2.shape[1])))
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    k_fit = lags if fit_lag is None else lags[: fit_lag + 1]
    curves = None
    if fit is not None:
        curves = np.asarray(fit.curve(k_fit), dtype=float)
        curves = curves[:, None] if single else curves
    for i, unit in enumerate(units):
        color = f"C{i % 10}"
        y = rho2[:, unit]
        shown = np.where(y > 0, y, np.nan) if log else y
        name = "population" if single else f"unit {unit}"
        if fit is not None:
            tau = np.asarray(fit.tau_net, dtype=float)
            choice = np.asarray(fit.choice)
            tau_u, choice_u = (tau, choice) if single else (tau[unit], choice[unit])
            kind = {0: "single", 1: "double"}.get(int(choice_u), "no fit")
            name = f"{name}: τ_net={tau_u:.3g} ({kind})"
        ax.plot(lags, shown, "o", ms=3, color=color, label=name)
        if curves is not None:
            ax.plot(k_fit, curves[:, unit], "-", color=color, lw=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("autocorrelation ρ(k)")
    ax.legend(fontsize="small")
    return fig


def plot_network_timescales(
    eigenvalues: np.ndarray,
    *,
    continuous: bool,
    dt: float | None = None,
    max_points: int = 8,
) -> Figure:
    """Eigenvalue spectra at fixed points and the timescales they imply.

    Left: eigenvalues in the complex plane with the stability boundary (Re λ = 0 for
    continuous models, the unit circle for discrete ones). Right: the decaying modes'
    τ_k (`network_timescales`) sorted from slowest, one line per fixed point, log scale.

    **Arguments:** `eigenvalues` `[eig]` or `[fp, eig]` (NaN rows, invalid fixed points,
    are skipped); `continuous`; `dt` as in `network_timescales`; at most `max_points`
    fixed points drawn.
    """
    from ._core import network_timescales

    lam = np.asarray(eigenvalues)
    lam = lam[None] if lam.ndim == 1 else lam.reshape(-1, lam.shape[-1])
    rows = [i for i in range(lam.shape[0]) if np.isfinite(lam[i]).any()][:max_points]
    tau = np.asarray(network_timescales(lam, continuous=continuous, dt=dt), dtype=float)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_eig, ax_tau = fig.subplots(1, 2)
    if continuous:
        ax_eig.axvline(0.0, color="k", lw=0.8)
    else:
        t = np.linspace(0, 2 * np.pi, 256)
        ax_eig.plot(np.cos(t), np.sin(t), "k-", lw=0.8)
        ax_eig.set_aspect("equal")
    for j, i in enumerate(rows):
        color = f"C{j % 10}"
        ax_eig.plot(lam[i].real, lam[i].imag, ".", color=color, label=f"fp {i}")
        decaying = np.sort(tau[i][np.isfinite(tau[i]) & (tau[i] > 0)])[::-1]
        ax_tau.plot(np.arange(1, decaying.size + 1), decaying, ".-", color=color)
    ax_eig.set_xlabel("Re λ")
    ax_eig.set_ylabel("Im λ")
    if rows:
        ax_eig.legend(fontsize="small")
    ax_tau.set_yscale("log")
    ax_tau.set_xlabel("mode (slowest first)")
    unit = "time" if continuous or dt is not None else "steps"
    ax_tau.set_ylabel(f"τ_k ({unit})")
    return fig
