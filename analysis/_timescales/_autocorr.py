"""Autocorrelation of unit activity: a full-series FFT estimator and a streaming one.

Both compute, per unit and per trial, the mean-subtracted, unbiased estimate

    C(k) = 1/(n − k) Σ_{t=0}^{n−1−k} (x_t − m)(x_{t+k} − m),   m = (1/n) Σ_t x_t,
    ρ(k) = C(k) / C(0),   k = 0 … max_lag,

Over trials, C is averaged first and then normalised, ρ(k) = C̄(k) / C̄(0) (as in the
reference code of Khajehabdollahi et al. 2024); each trial subtracts its own mean, since
trials of `BinaryInput` with p = None have different input rates. A unit whose activity
does not vary in any trial (a silenced unit) has ρ = NaN; a trial in which it does not
vary contributes C = 0.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from neurodyn import _checks

from .._long_runs import AbstractAccumulator


def _fft_size(n: int) -> int:
    """A power of two ≥ n (XLA's FFT is fastest there)."""
    return 1 << max(int(n) - 1, 0).bit_length()


def _degenerate(c0, scale, dtype):
    """Variance indistinguishable from rounding of values of size `scale`: no autocorrelation."""
    eps = jnp.finfo(dtype).eps
    return c0 <= (100 * eps * scale) ** 2


def _autocovariance_one(x: Float[Array, "time hidden"], max_lag: int):
    n = x.shape[0]
    xm = x - jnp.mean(x, axis=0)
    nfft = _fft_size(n + max_lag)
    f = jnp.fft.rfft(xm, nfft, axis=0)
    sums = jnp.fft.irfft(f * jnp.conj(f), nfft, axis=0)[: max_lag + 1]
    cov = sums / (n - jnp.arange(max_lag + 1))[:, None]
    bad = _degenerate(cov[0], jnp.max(jnp.abs(x), axis=0), x.dtype)
    return jnp.where(bad, 0.0, cov)


def normalise_autocovariance(
    cov: Float[Array, "*trial lag hidden"],
) -> Float[Array, "lag hidden"]:
    """ρ(k) = C̄(k) / C̄(0) from per-trial autocovariances `[*trial, lag, hidden]`.

    Leading axes are trials and are averaged over first; NaN where C̄(0) = 0 (units that
    never vary). Use on the per-trial output of `drive(..., accumulator=…)`.
    """
    cov = jnp.asarray(cov)
    mean = jnp.mean(cov.reshape(-1, *cov.shape[-2:]), axis=0)
    flat = mean[0] <= 0
    return jnp.where(flat, jnp.nan, mean / jnp.where(flat, 1.0, mean[0]))


def autocovariance(
    activity: Float[Array, "*trial time hidden"], max_lag: int
) -> Float[Array, "*trial lag hidden"]:
    """Per-trial, mean-subtracted, unbiased autocovariance C(k), k = 0 … `max_lag` (FFT).

    Units that do not vary within a trial get C = 0 there.
    """
    activity = jnp.asarray(activity)
    if activity.ndim < 2:
        raise ValueError(
            f"autocorrelation: activity must be [time, hidden] or [trial, time, hidden], "
            f"got shape {activity.shape}. For one series use activity[:, None]."
        )
    n = activity.shape[-2]
    max_lag = _checks.positive_int("autocorrelation", "max_lag", max_lag, minimum=0)
    if max_lag >= n:
        raise ValueError(
            f"autocorrelation: max_lag={max_lag} must be smaller than the number of time "
            f"steps ({n}); use a longer run or a smaller max_lag."
        )
    flat = activity.reshape(-1, n, activity.shape[-1])
    cov = _autocovariance_jit(flat, max_lag)
    return cov.reshape(*activity.shape[:-2], max_lag + 1, activity.shape[-1])


@eqx.filter_jit
def _autocovariance_jit(flat, max_lag):
    return jax.vmap(lambda x: _autocovariance_one(x, max_lag))(flat)


def autocorrelation(
    activity: Float[Array, "*trial time hidden"], max_lag: int
) -> Float[Array, "lag hidden"]:
    """Per-unit autocorrelation ρ(k), k = 0 … `max_lag`, over all trials.

    FFT-based, mean-subtracted per trial, unbiased (lag-k sums divided by n − k);
    autocovariances are averaged over the leading trial axes and normalised by C̄(0).

    **Arguments:**

    - `activity`: `[time, hidden]` or `[trial, time, hidden]` (any number of leading
      trial axes).
    - `max_lag`: the largest lag, `< time`.

    **Returns:** `[lag, hidden]` with `lag = max_lag + 1`; NaN for constant units.
    """
    return normalise_autocovariance(autocovariance(activity, max_lag))


def population_autocorrelation(
    activity: Float[Array, "*trial time hidden"], max_lag: int
) -> Float[Array, " lag"]:
    """Autocorrelation of the summed activity Σ_i x_i(t), estimated as `autocorrelation`."""
    activity = jnp.asarray(activity)
    return autocorrelation(jnp.sum(activity, axis=-1, keepdims=True), max_lag)[:, 0]


class AutocorrelationState(eqx.Module):
    """What the streaming estimator carries between chunks (per recorded unit).

    Values are stored shifted, y = x − `shift`, with `shift` the mean of the first chunk,
    so that raw cross-products stay of the size of the fluctuations (no cancellation
    when a unit's mean is large compared with its variability).
    """

    count: Int[Array, ""]
    shift: Float[Array, " unit"]
    total: Float[Array, " unit"]
    products: Float[Array, "lag unit"]
    head: Float[Array, "max_lag unit"]
    tail: Float[Array, "max_lag unit"]
    scale: Float[Array, " unit"]


class AutocorrelationAccumulator(AbstractAccumulator):
    """Streaming per-unit (and population) autocorrelation over chunks of one long run.

    Equal, up to rounding, to `autocorrelation` on the whole series. Per chunk c it adds
    the lagged cross-products whose later element lies in c,
    S_k += Σ_j c_j z_{L+j−k} with z = [last L values seen, c] (L = `max_lag`; an FFT
    cross-correlation), keeps the running sum Σ y, the first L values (head) and the last
    L values (tail). At the end the global mean μ = Σ y / n is subtracted exactly:

        Σ_{t<n−k} (y_t − μ)(y_{t+k} − μ) = S_k − μ (A_k + B_k) + (n − k) μ²,
        A_k = Σ y − (sum of the last k values),   B_k = Σ y − (sum of the first k values).

    Chunks may have any length (also shorter than `max_lag`); the run needs more than
    `max_lag` steps. With `population=True` the summed activity is estimated too.

    `finalize` returns the trial's autocovariances `(C [lag, hidden], C_population [lag]
    or None)`, equal to `autocovariance` of the whole run; combine trials with
    `normalise_autocovariance`.
    """

    max_lag: int = eqx.field(static=True)
    population: bool = eqx.field(static=True)

    def __init__(self, max_lag: int, *, population: bool = True):
        self.max_lag = _checks.positive_int(
            "AutocorrelationAccumulator", "max_lag", max_lag, minimum=0
        )
        self.population = bool(population)

    def init(self, n_units: int, dtype=float) -> AutocorrelationState:
        u = n_units + 1 if self.population else n_units
        lag = self.max_lag
        z = lambda *shape: jnp.zeros(shape, dtype)
        return AutocorrelationState(
            count=jnp.zeros((), jnp.int32),
            shift=z(u),
            total=z(u),
            products=z(lag + 1, u),
            head=z(lag, u),
            tail=z(lag, u),
            scale=z(u),
        )

    def update(self, state: AutocorrelationState, chunk) -> AutocorrelationState:
        if self.population:
            chunk = jnp.concatenate([chunk, jnp.sum(chunk, axis=-1, keepdims=True)], axis=-1)
        n_time = chunk.shape[0]
        lag = self.max_lag
        shift = jnp.where(state.count == 0, jnp.mean(chunk, axis=0), state.shift)
        c = chunk - shift
        # The zeros the tail starts with are zeros of y: they add nothing to the sums.
        z = jnp.concatenate([state.tail, c], axis=0)
        nfft = _fft_size(lag + n_time)
        zf = jnp.fft.rfft(z, nfft, axis=0)
        cf = jnp.fft.rfft(c, nfft, axis=0)
        # r[m] = Σ_j c_j z_{j+m}; lag k is m = L − k.
        r = jnp.fft.irfft(zf * jnp.conj(cf), nfft, axis=0)[: lag + 1][::-1]
        where = state.count + jnp.arange(n_time)
        head = state.head.at[jnp.where(where < lag, where, lag)].set(c, mode="drop")
        return AutocorrelationState(
            count=state.count + n_time,
            shift=shift,
            total=state.total + jnp.sum(c, axis=0),
            products=state.products + r,
            head=head,
            tail=z[n_time:],
            scale=jnp.maximum(state.scale, jnp.max(jnp.abs(chunk), axis=0)),
        )

    def finalize(self, state: AutocorrelationState):
        lag = self.max_lag
        n = state.count.astype(state.total.dtype)
        mu = state.total / n
        zero = jnp.zeros_like(state.total)[None]
        first = jnp.concatenate([zero, jnp.cumsum(state.head, axis=0)], axis=0)
        last = jnp.concatenate([zero, jnp.cumsum(state.tail[::-1], axis=0)], axis=0)
        a = state.total - last
        b = state.total - first
        ks = jnp.arange(lag + 1, dtype=n.dtype)[:, None]
        sums = state.products - mu * (a + b) + (n - ks) * mu**2
        cov = sums / (n - ks)
        cov = jnp.where(_degenerate(cov[0], state.scale, cov.dtype), 0.0, cov)
        if self.population:
            return cov[:, :-1], cov[:, -1]
        return cov, None

