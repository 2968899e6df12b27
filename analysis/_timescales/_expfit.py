"""Exponential fits of autocorrelations, chosen by AIC, vectorised over units.

Two models of ρ(k) on lags k = 0 … fit_lag, as in the reference code of Khajehabdollahi
et al. (ICLR 2024):

    single:  A e^{−k/τ}                                        (2 parameters)
    double:  A [c e^{−k/τ_fast} + (1 − c) e^{−k/τ_slow}]       (4 parameters, c ∈ (0, 1))

with A ∈ (0, 2) (ρ(0) = 1, but a free amplitude absorbs a drop faster than one step)
and every τ in `tau_bounds` (steps). Bounds are enforced by reparameterisation (log τ
and the amplitudes through sigmoids), so Levenberg–Marquardt runs unconstrained and
`vmap`s over units (a built-in fixed-iteration solver by default, or any optimistix
least-squares solver). Initial guesses come from weighted log-linear fits (the whole
decay for the single model, its tail for the slow component of the double); the double
model is also started from a second guess and the better solution is kept. The model
with the lower AIC = n ln(RSS/n) + 2p is chosen (RSS below n·(10 ε)² counts as exact,
so the simpler model wins a tie), except that a double fit one of whose terms carries
less than `min_fraction` (default 10 %) of the amplitude counts as single; τ_net is the
single τ, or τ_slow of the double model.

Caveat (inherent to the method): on a finite run the estimated ρ carries noise that is
correlated across lags, which the double model can partly fit; AIC then sometimes picks
it on single-exponential data (on AR(1) runs of 10⁵–10⁶ steps, 40–60 % of units by AIC
alone) and τ_slow may land anywhere in `tau_bounds`, whatever the run length. The
`min_fraction` rule removes most of these (small terms at the bound); splits into two
close timescales remain, and `min_separation` (off by default, the study's rule has no
such guard) removes those. `select_model` applies another rule to fitted results.
Check `choice` and `tau_single`, and plot the fits.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float, Int

from neurodyn import _checks

SINGLE, DOUBLE, NOT_FITTED = 0, 1, -1
_A_MAX = 2.0


class ExpFit(eqx.Module):
    """Fitted exponentials, one entry per unit (leading shape of the input's unit axes).

    **Fields:** `tau_single`, `amplitude_single`, `aic_single`; `tau_fast`, `tau_slow`,
    `amplitude_double` (A), `fraction_fast` (c, the fast term's share), `aic_double`;
    `choice` (0 single, 1 double, −1 not fitted: too few finite lags); `tau_net` (the
    chosen model's slowest τ; NaN when not fitted); `n_lags` (the finite lags fitted).
    Times are in lag steps. `select_model` chooses again under another rule without
    refitting.
    """

    tau_single: Float[Array, "*unit"]
    amplitude_single: Float[Array, "*unit"]
    aic_single: Float[Array, "*unit"]
    tau_fast: Float[Array, "*unit"]
    tau_slow: Float[Array, "*unit"]
    amplitude_double: Float[Array, "*unit"]
    fraction_fast: Float[Array, "*unit"]
    aic_double: Float[Array, "*unit"]
    choice: Int[Array, "*unit"]
    tau_net: Float[Array, "*unit"]
    n_lags: Int[Array, "*unit"]

    def curve(self, lags: Float[Array, " lag"]) -> Float[Array, " lag *unit"]:
        """The chosen model evaluated at `lags` (NaN for units not fitted)."""
        k = jnp.reshape(jnp.asarray(lags, float), (-1,) + (1,) * jnp.ndim(self.tau_net))
        single = self.amplitude_single * jnp.exp(-k / self.tau_single)
        c = self.fraction_fast
        double = self.amplitude_double * (
            c * jnp.exp(-k / self.tau_fast) + (1 - c) * jnp.exp(-k / self.tau_slow)
        )
        out = jnp.where(self.choice == DOUBLE, double, single)
        return jnp.where(self.choice == NOT_FITTED, jnp.nan, out)


def _to_tau(theta, lo, hi):
    return jnp.exp(lo + (hi - lo) * jax.nn.sigmoid(theta))


def _from_tau(tau, lo, hi):
    s = jnp.clip((jnp.log(tau) - lo) / (hi - lo), 1e-3, 1 - 1e-3)
    return jnp.log(s) - jnp.log1p(-s)


def _logit(p):
    p = jnp.clip(p, 1e-3, 1 - 1e-3)
    return jnp.log(p) - jnp.log1p(-p)


def _model(params, k, is_double, lo, hi):
    """Both models in one function, so one compiled solver serves all three fits.

    params = [amplitude, fraction, τ₁, τ₂] (unconstrained); the single model uses
    entries 0 and 2 only.
    """
    amp = _A_MAX * jax.nn.sigmoid(params[0])
    t1, t2 = _to_tau(params[2], lo, hi), _to_tau(params[3], lo, hi)
    single = amp * jnp.exp(-k / t1)
    c = jax.nn.sigmoid(params[1])
    double = amp * (c * jnp.exp(-k / t1) + (1 - c) * jnp.exp(-k / t2))
    return jnp.where(is_double, double, single)


def _loglinear(k, rho, weight):
    """Weighted least squares of log ρ on k: (slope, intercept, number of points)."""
    y = jnp.log(jnp.where(weight > 0, rho, 1.0))
    w = weight * jnp.where(weight > 0, rho, 0.0) ** 2  # var(log ρ) ∝ 1/ρ²
    sw, sk, sy = jnp.sum(w), jnp.sum(w * k), jnp.sum(w * y)
    skk, sky = jnp.sum(w * k * k), jnp.sum(w * k * y)
    det = sw * skk - sk**2
    ok = det > 1e-12 * jnp.maximum(sw * skk, 1e-30)
    slope = jnp.where(ok, (sw * sky - sk * sy) / jnp.where(ok, det, 1.0), -1.0)
    intercept = jnp.where(sw > 0, (sy - slope * sk) / jnp.where(sw > 0, sw, 1.0), 0.0)
    return slope, intercept, jnp.sum(weight > 0)


def _contiguous_above(rho, finite, threshold):
    """Lags from 0 up to the first one where ρ drops to `threshold` or is missing."""
    return jnp.cumprod(finite & (rho > threshold)).astype(rho.dtype)


def _levenberg_marquardt(residuals, y0, n_iter):
    """Levenberg–Marquardt with Marquardt's diagonal scaling, `n_iter` fixed iterations.

    For 2–3 parameters a fixed-length scan is cheap, compiles in about a second and
    `vmap`s without the batched while-loop running every unit as long as the slowest one.
    """

    def cost(p):
        return jnp.sum(residuals(p) ** 2)

    def body(carry, _):
        p, lam, c = carry
        r = residuals(p)
        jac = jax.jacfwd(residuals)(p)
        h = jac.T @ jac
        g = jac.T @ r
        damp = jnp.diag(jnp.diag(h) + 1e-9)
        step = jnp.linalg.solve(h + lam * damp, -g)
        new = p + step
        c_new = cost(new)
        ok = jnp.isfinite(c_new) & (c_new < c)
        p = jnp.where(ok, new, p)
        c = jnp.where(ok, c_new, c)
        lam = jnp.clip(jnp.where(ok, lam / 3, lam * 4), 1e-9, 1e9)
        return (p, lam, c), None

    (p, _, c), _ = jax.lax.scan(body, (y0, jnp.asarray(1e-3, y0.dtype), cost(y0)), None, n_iter)
    return p, c


def _solve(y0, is_double, k, rho, mask, lo, hi, max_steps, solver):
    def residuals(params, args=None):
        return mask * (_model(params, k, is_double, lo, hi) - rho)

    if solver is None:
        return _levenberg_marquardt(residuals, y0, max_steps)
    sol = optx.least_squares(residuals, solver, y0, max_steps=max_steps, throw=False)
    return sol.value, jnp.sum(residuals(sol.value) ** 2)


def _choose(aic_single, aic_double, n, fraction_fast, tau_fast, tau_slow, criterion, min_fraction, min_separation):
    """1 where the double model is taken, 0 where the single one is (fitted units only).

    BIC = n ln(RSS/n) + p ln n differs from AIC = n ln(RSS/n) + 2p by p (ln n − 2), so
    its difference follows from the AICs and the two extra parameters of the double fit.
    """
    delta = aic_double - aic_single
    if criterion == "bic":
        delta = delta + 2 * (jnp.log(jnp.maximum(n, 1.0)) - 2)
    resolved = jnp.minimum(fraction_fast, 1 - fraction_fast) >= min_fraction
    separated = tau_slow >= min_separation * tau_fast
    return (delta < 0) & resolved & separated


def _fit_unit(rho, fit_lag, lo, hi, min_fraction, min_separation, criterion, max_steps, solver):
    k = jnp.arange(fit_lag + 1, dtype=rho.dtype)
    finite = jnp.isfinite(rho)
    mask = finite.astype(rho.dtype)
    rho = jnp.where(finite, rho, 0.0)
    n = jnp.sum(mask)
    tmin, tmax = jnp.exp(lo), jnp.exp(hi)
    clip_tau = lambda t: jnp.clip(t, 1.01 * tmin, 0.99 * tmax)

    # Single: log-linear fit over the initial decay, then LM.
    slope, icpt, npts = _loglinear(k, rho, _contiguous_above(rho, finite, 0.05))
    tau0 = jnp.where((slope < 0) & (npts >= 2), -1.0 / jnp.minimum(slope, -1e-12), 0.5)
    tau0 = clip_tau(tau0)
    amp0 = jnp.clip(jnp.where(npts >= 2, jnp.exp(icpt), 1.0), 0.05, 1.5)
    p_amp, p_tau0 = _logit(amp0 / _A_MAX), _from_tau(tau0, lo, hi)
    start0 = jnp.stack([p_amp, jnp.zeros_like(p_amp), p_tau0, jnp.zeros_like(p_amp)])

    # Double, start 1: slow component from the tail, fast one from the residual at lag 1.
    tail = _contiguous_above(rho, finite, 0.01) * (k >= fit_lag // 3)
    s_slope, s_icpt, s_n = _loglinear(k, rho, tail)
    has_tail = (s_slope < 0) & (s_n >= 2)
    tau_s = clip_tau(jnp.where(has_tail, -1.0 / jnp.minimum(s_slope, -1e-12), 2 * tau0))
    slow_amp = jnp.clip(jnp.where(has_tail, jnp.exp(s_icpt), 0.3), 0.02, 0.98)
    fast_amp = jnp.maximum(1 - slow_amp, 0.02)
    r1 = rho[1] - slow_amp * jnp.exp(-1.0 / tau_s)
    tau_f = -1.0 / jnp.log(jnp.clip(r1 / fast_amp, 1e-3, 0.999))
    tau_f = clip_tau(jnp.minimum(tau_f, tau_s / 2))
    p_one = _logit(jnp.minimum(fast_amp + slow_amp, 1.5) / _A_MAX)
    frac = fast_amp / (fast_amp + slow_amp)
    start1 = jnp.stack([p_one, _logit(frac), _from_tau(tau_f, lo, hi), _from_tau(tau_s, lo, hi)])
    # Start 2: an even split around the single-exponential τ.
    start2 = jnp.stack(
        [p_amp, _logit(0.5), _from_tau(clip_tau(tau0 / 3), lo, hi), _from_tau(clip_tau(3 * tau0), lo, hi)]
    )
    params, rss = jax.vmap(
        lambda y0, d: _solve(y0, d, k, rho, mask, lo, hi, max_steps, solver)
    )(jnp.stack([start0, start1, start2]), jnp.array([False, True, True]))
    p_single, rss_single = params[0], rss[0]
    best = 1 + jnp.argmin(jnp.where(jnp.isfinite(rss[1:]), rss[1:], jnp.inf))
    p_double, rss_double = params[best], rss[best]

    floor = n * (10 * jnp.finfo(rho.dtype).eps) ** 2
    safe_n = jnp.maximum(n, 1.0)
    aic = lambda rss, p: safe_n * jnp.log(jnp.maximum(rss, floor) / safe_n) + 2 * p
    aic_single, aic_double = aic(rss_single, 2), aic(rss_double, 4)

    t1, t2 = _to_tau(p_double[2], lo, hi), _to_tau(p_double[3], lo, hi)
    c = jax.nn.sigmoid(p_double[1])
    tau_fast, tau_slow = jnp.minimum(t1, t2), jnp.maximum(t1, t2)

    fraction_fast = jnp.where(t1 <= t2, c, 1 - c)
    fitted = (n > 4) & jnp.isfinite(aic_single) & jnp.isfinite(aic_double)
    double = _choose(
        aic_single, aic_double, n, fraction_fast, tau_fast, tau_slow, criterion, min_fraction, min_separation
    )
    choice = jnp.where(double, DOUBLE, SINGLE)
    choice = jnp.where(fitted, choice, NOT_FITTED).astype(jnp.int32)
    tau_single = _to_tau(p_single[2], lo, hi)
    tau_net = jnp.where(choice == DOUBLE, tau_slow, tau_single)
    nan = lambda x: jnp.where(fitted, x, jnp.nan)
    return ExpFit(
        tau_single=nan(tau_single),
        amplitude_single=nan(_A_MAX * jax.nn.sigmoid(p_single[0])),
        aic_single=nan(aic_single),
        tau_fast=nan(tau_fast),
        tau_slow=nan(tau_slow),
        amplitude_double=nan(_A_MAX * jax.nn.sigmoid(p_double[0])),
        fraction_fast=nan(fraction_fast),
        aic_double=nan(aic_double),
        choice=choice,
        tau_net=nan(tau_net),
        n_lags=n.astype(jnp.int32),
    )


def fit_autocorrelation(
    rho: Float[Array, " lag *unit"],
    *,
    fit_lag: int = 30,
    tau_bounds: tuple[float, float] = (1e-2, 1e3),
    min_fraction: float = 0.1,
    min_separation: float = 1.0,
    criterion: str = "aic",
    max_steps: int = 100,
    solver: optx.AbstractLeastSquaresSolver | None = None,
) -> ExpFit:
    """Fit single and double exponentials to autocorrelations and choose by AIC.

    **Arguments:**

    - `rho`: autocorrelations with lags on the first axis (`[lag]`, `[lag, hidden]`, …);
      lags 0 … `fit_lag` are used. NaN lags are left out of a unit's fit.
    - `fit_lag`: the last lag fitted (default 30).
    - `tau_bounds`: `(min, max)` for every τ, in steps.
    - `min_fraction`: the double model is chosen only if AIC prefers it *and* each of
      its terms carries at least this share of its amplitude (c and 1 − c ≥
      `min_fraction`). A term of a few per cent mostly fits the noise of the sample
      autocorrelation (its offset and tail), with τ_slow running to the bound; 0 gives
      the reference selection by AIC alone.
    - `min_separation`: the double model is chosen only if τ_slow ≥ `min_separation` ·
      τ_fast as well. The default 1 is no guard (the study's rule). On a finite run the
      double model's false picks on single-exponential data split one τ into two close
      ones: on AR(1) units with τ = 5 and 20 (2·10⁴ steps, 10 trials, lags 0–30), AIC
      with `min_fraction` 0.1 took the double model for 9 % and 6 % of units, with τ_net
      up to 8.2 and 44; with `min_separation=3` for none, every τ_net within 6 % of the
      truth, while mixtures of τ a factor 8 or more apart are still resolved.
    - `criterion`: "aic" (the study's; penalty 2 per parameter) or "bic" (penalty ln n
      for n fitted lags; on 31 lags it barely differs, since the sample autocorrelation's
      errors are correlated across lags, which no count-based penalty models).
    - `max_steps`: Levenberg–Marquardt iterations (a fixed number for the built-in
      solver; the most allowed for an optimistix one).
    - `solver`: None for the built-in fixed-iteration Levenberg–Marquardt, or any
      optimistix least-squares solver, e.g. `optx.LevenbergMarquardt(rtol=1e-6,
      atol=1e-8)` (same results; on a 2-core CPU it took ~30 s to compile).

    **Returns:** an `ExpFit` whose fields have the unit shape `rho.shape[1:]`.
    """
    rho = jnp.asarray(rho)
    owner = "fit_autocorrelation"
    fit_lag = _checks.positive_int(owner, "fit_lag", fit_lag, minimum=5)
    if rho.ndim < 1 or rho.shape[0] <= fit_lag:
        raise ValueError(
            f"{owner}: rho must have lags 0 … fit_lag={fit_lag} on its first axis, got shape "
            f"{rho.shape}. Estimate the autocorrelation with max_lag >= fit_lag, or lower fit_lag."
        )
    criterion = _criterion(owner, criterion)
    min_fraction, min_separation = _guards(owner, min_fraction, min_separation)
    lo_tau, hi_tau = tau_bounds
    if not (0 < lo_tau < hi_tau):
        raise ValueError(f"{owner}: tau_bounds must satisfy 0 < min < max, got {tau_bounds}.")
    unit_shape = rho.shape[1:]
    flat = rho[: fit_lag + 1].reshape(fit_lag + 1, -1).T
    # Pad the unit count to a power of two (≥ 32): networks of different sizes, and a
    # network's units plus its population, then share one compiled program.
    n_units = flat.shape[0]
    padded = max(32, 1 << max(n_units - 1, 0).bit_length())
    flat = jnp.pad(flat, ((0, padded - n_units), (0, 0)), constant_values=jnp.nan)
    lo, hi = jnp.log(lo_tau), jnp.log(hi_tau)
    mf = jnp.asarray(min_fraction, flat.dtype)
    ms = jnp.asarray(min_separation, flat.dtype)
    fits = _fit_jit(flat, fit_lag, lo, hi, mf, ms, criterion, max_steps, solver)
    return jax.tree_util.tree_map(lambda x: x[:n_units].reshape(unit_shape), fits)


@eqx.filter_jit
def _fit_jit(flat, fit_lag, lo, hi, min_fraction, min_separation, criterion, max_steps, solver):
    fit_one = lambda r: _fit_unit(r, fit_lag, lo, hi, min_fraction, min_separation, criterion, max_steps, solver)
    return jax.vmap(fit_one)(flat)


def _criterion(owner, criterion):
    if criterion not in ("aic", "bic"):
        raise ValueError(f'{owner}: criterion must be "aic" or "bic", got {criterion!r}.')
    return criterion


def _guards(owner, min_fraction, min_separation):
    try:
        min_fraction, min_separation = float(min_fraction), float(min_separation)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: min_fraction and min_separation must be numbers, got {min_fraction!r} and "
            f"{min_separation!r}."
        ) from None
    if not 0 <= min_fraction < 0.5:
        raise ValueError(f"{owner}: min_fraction must be in [0, 0.5), got {min_fraction}; 0 turns the guard off.")
    if not min_separation >= 1:
        raise ValueError(f"{owner}: min_separation must be >= 1, got {min_separation}; 1 turns the guard off.")
    return min_fraction, min_separation


def select_model(
    fit: ExpFit, *, criterion: str = "aic", min_fraction: float = 0.1, min_separation: float = 1.0
) -> ExpFit:
    """The same fits with the single/double choice made again under another rule.

    Both models are fitted for every unit, so a rule (see `fit_autocorrelation`:
    `criterion`, `min_fraction`, `min_separation`) can be changed without refitting;
    `choice` and `tau_net` are recomputed, every other field is kept. Works on any unit
    shape, inside `jit` and `vmap`.

    **Example:** how many units a guard changes —
    `(select_model(fit, min_separation=3).choice != fit.choice).sum()`.
    """
    owner = "select_model"
    if not isinstance(fit, ExpFit):
        raise TypeError(f"{owner}: fit must be an ExpFit (from fit_autocorrelation), got {type(fit).__name__}.")
    criterion = _criterion(owner, criterion)
    min_fraction, min_separation = _guards(owner, min_fraction, min_separation)
    n = fit.n_lags.astype(fit.tau_single.dtype)
    double = _choose(
        fit.aic_single, fit.aic_double, n, fit.fraction_fast, fit.tau_fast, fit.tau_slow, criterion,
        min_fraction, min_separation,
    )
    fitted = fit.choice != NOT_FITTED
    choice = jnp.where(fitted, jnp.where(double, DOUBLE, SINGLE), NOT_FITTED).astype(jnp.int32)
    tau_net = jnp.where(fitted, jnp.where(double, fit.tau_slow, fit.tau_single), jnp.nan)
    return eqx.tree_at(lambda f: (f.choice, f.tau_net), fit, (choice, tau_net))
