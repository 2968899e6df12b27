"""Driving runs, autocorrelation estimators and exponential fits against exact answers.

Processes with known timescales: an AR(1) x_t = a x_{t−1} + ξ_t has ρ(k) = a^k, so
τ = −1/ln a steps; an Ornstein–Uhlenbeck process integrated by Euler–Maruyama with step
dt is the AR(1) with a = 1 − dt/τ, whose τ in time units is −dt/ln(1 − dt/τ) ≈ τ.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxtyping import Array, Float

from neurodyn.analysis import (
    AutocorrelationAccumulator,
    BinaryInput,
    GaussianInput,
    ZeroInput,
    autocorrelation,
    autocorrelation_timescales,
    autocovariance,
    drive,
    fit_autocorrelation,
    normalise_autocovariance,
    population_autocorrelation,
    select_model,
    summarise_timescales,
)
from neurodyn.models import AbstractContinuousRNN, AbstractDiscreteRNN


class DiagonalAR(AbstractDiscreteRNN):
    """h ← a ⊙ h + s ⊙ u: independent AR(1) units, one input channel per unit."""

    a: Float[Array, " hidden"]
    s: Float[Array, " hidden"]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)

    def __init__(self, a, s=None):
        self.a = jnp.asarray(a, dtype=float)
        self.s = jnp.ones_like(self.a) if s is None else jnp.asarray(s, dtype=float)
        self.input_size = self.hidden_size = self.a.shape[0]
        self.output_size = 1

    def step(self, state, u, *, key=None):
        return self.a * state + self.s * u

    def readout(self, state):
        return jnp.sum(state, keepdims=True)


class DiagonalOU(AbstractContinuousRNN):
    """dh = −h/τ dt + σ dW per unit (no input): an Ornstein–Uhlenbeck process."""

    tau: Float[Array, " hidden"]
    sigma: Float[Array, ""]
    input_size: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    output_size: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    solver: str = eqx.field(static=True)

    def __init__(self, tau, dt, sigma=1.0):
        self.tau = jnp.asarray(tau, dtype=float)
        self.sigma = jnp.asarray(sigma, dtype=float)
        self.input_size, self.hidden_size, self.output_size = 1, self.tau.shape[0], 1
        self.dt, self.solver = dt, "euler"

    def vector_field(self, t, state, u):
        return -state / self.tau

    def diffusion(self):
        return self.sigma * jnp.ones(self.hidden_size)

    def readout(self, state):
        return state[:1]


def _ar_taus(taus, copies):
    return np.repeat(np.asarray(taus, dtype=float), copies)


# --- drive -----------------------------------------------------------------------------


def test_drive_records_the_model_run():
    """A recorded run equals the model's own trajectory under the same inputs."""
    model = DiagonalAR(jnp.array([0.5, 0.9]))
    run = drive(model, GaussianInput(1.0), 250, burn_in=0, key=jr.key(0), chunk_size=64)
    assert run.shape == (1, 250, 2)
    # Rebuild the inputs from the increments: u_t = h_t − a h_{t−1}.
    h = np.asarray(run[0])
    u = h - np.asarray(model.a) * np.concatenate([np.zeros((1, 2)), h[:-1]])
    traj = model(jnp.asarray(u))
    np.testing.assert_allclose(traj.state, h, rtol=1e-5, atol=1e-5)


def test_drive_chunking_and_burn_in_do_not_change_statistics_shape():
    model = DiagonalAR(jnp.full(3, 0.8))
    run = drive(model, ZeroInput(), 37, burn_in=5, key=jr.key(1), chunk_size=10, n_trials=2)
    assert run.shape == (2, 37, 3)
    assert np.all(np.asarray(run) == 0.0)


def test_binary_input_draws_p_per_trial():
    """With p=None each trial has its own input rate."""
    model = DiagonalAR(jnp.zeros(1))  # h_t = u_t: the recorded run is the input itself
    run = np.asarray(drive(model, BinaryInput(), 4000, key=jr.key(2), n_trials=6))
    assert set(np.unique(run)) <= {0.0, 1.0}
    rates = run.mean(axis=(1, 2))
    assert rates.std() > 0.1  # p ~ U(0, 1) differs across trials
    fixed = np.asarray(drive(model, BinaryInput(0.3), 4000, key=jr.key(2), n_trials=3))
    np.testing.assert_allclose(fixed.mean(axis=(1, 2)), 0.3, atol=5 * np.sqrt(0.21 / 4000))


def test_drive_validates_arguments():
    model = DiagonalAR(jnp.zeros(1))
    with pytest.raises(ValueError, match="record='rate' is not one of"):
        drive(model, ZeroInput(), 10, key=jr.key(0), record="rate")
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        drive(model, ZeroInput(), 0, key=jr.key(0))
    with pytest.raises(TypeError, match="input_process must be an AbstractInputProcess"):
        drive(model, "binary", 10, key=jr.key(0))


# --- autocorrelation -------------------------------------------------------------------


def _brute_force(x, max_lag):
    """The estimator written out: per trial mean-subtracted sums / (n − k), averaged over
    trials, then / C̄(0)."""
    x = np.asarray(x, dtype=np.float64)
    out = []
    for trial in x:
        xm = trial - trial.mean(0)
        n = len(xm)
        out.append(np.stack([(xm[: n - k] * xm[k:]).sum(0) / (n - k) for k in range(max_lag + 1)]))
    c = np.mean(out, axis=0)
    return c / c[0]


def test_autocorrelation_matches_brute_force():
    x = jr.normal(jr.key(3), (3, 500, 4)) + jnp.array([0.0, 5.0, -2.0, 100.0])
    np.testing.assert_allclose(autocorrelation(x, 40), _brute_force(x, 40), atol=2e-5)
    pop = population_autocorrelation(x, 40)
    np.testing.assert_allclose(pop, _brute_force(x.sum(-1, keepdims=True), 40)[:, 0], atol=2e-5)


@pytest.mark.parametrize("chunk", [7, 50, 64, 1000])
def test_streaming_equals_full_series(chunk):
    """Chunks shorter than max_lag, chunks not dividing n, one chunk: all equal the full
    estimator; shifted means (cancellation) included. Exact in float64."""
    with jax.enable_x64(True):
        x = jr.normal(jr.key(4), (1003, 5), dtype=jnp.float64)
        x = x.at[:, 1].add(1e3).at[:, 2].set(jnp.cumsum(x[:, 2]) * 0.05 + 7.0)
        acc = AutocorrelationAccumulator(30)
        state = acc.init(5, x.dtype)
        update = jax.jit(acc.update)  # one compilation per chunk shape
        for start in range(0, x.shape[0], chunk):
            state = update(state, x[start : start + chunk])
        cov, pop = acc.finalize(state)
        np.testing.assert_allclose(cov, autocovariance(x, 30), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(
            pop, autocovariance(x.sum(-1, keepdims=True), 30)[:, 0], rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(normalise_autocovariance(cov), autocorrelation(x, 30), atol=1e-12)


def test_streaming_through_drive_equals_full_series_float32():
    """drive(accumulator=…) streams the very run drive() would return."""
    model = DiagonalAR(jnp.array([0.3, 0.9, 0.99]), jnp.array([1.0, 0.1, 1.0]))
    kwargs = dict(burn_in=100, key=jr.key(5), chunk_size=300, n_trials=2)
    run = drive(model, BinaryInput(), 2000, **kwargs)
    cov, pop = drive(model, BinaryInput(), 2000, accumulator=AutocorrelationAccumulator(50), **kwargs)
    assert cov.shape == (2, 51, 3) and pop.shape == (2, 51)
    np.testing.assert_allclose(normalise_autocovariance(cov), autocorrelation(run, 50), atol=2e-5)
    np.testing.assert_allclose(
        normalise_autocovariance(pop[..., None])[:, 0], population_autocorrelation(run, 50), atol=2e-5
    )


def test_constant_units_have_no_autocorrelation():
    x = jnp.stack([jnp.zeros(200), jnp.full(200, 0.1), jr.normal(jr.key(6), (200,))], axis=1)
    rho = autocorrelation(x, 10)
    assert np.all(np.isnan(rho[:, :2])) and np.all(np.isfinite(rho[:, 2]))
    acc = AutocorrelationAccumulator(10, population=False)
    update = jax.jit(acc.update)
    state = update(update(acc.init(3), x[:77]), x[77:])
    cov, none = acc.finalize(state)
    assert none is None
    np.testing.assert_array_equal(cov[:, :2], 0.0)
    np.testing.assert_array_equal(np.isnan(normalise_autocovariance(cov)), np.isnan(rho))
    # A trial in which a unit is constant adds C = 0 instead of spoiling the average.
    trials = jnp.stack([x, x.at[:, 2].set(3.0)])
    np.testing.assert_allclose(autocorrelation(trials, 10)[:, 2], rho[:, 2], rtol=1e-5)


def test_autocorrelation_validates_max_lag():
    with pytest.raises(ValueError, match="max_lag=20 must be smaller than the number of time steps"):
        autocorrelation(jnp.zeros((20, 2)), 20)


# --- fits ------------------------------------------------------------------------------

K = jnp.arange(31.0)


def test_exact_single_exponentials_choose_single():
    taus = jnp.array([0.5, 2.0, 7.0, 25.0, 200.0])
    fit = fit_autocorrelation(jnp.exp(-K[:, None] / taus))
    np.testing.assert_array_equal(fit.choice, 0)
    np.testing.assert_allclose(fit.tau_net, taus, rtol=1e-4)
    np.testing.assert_allclose(fit.amplitude_single, 1.0, rtol=1e-4)


def test_noisy_single_exponential_mostly_chooses_single():
    """With i.i.d. noise the double model's two extra parameters lower the RSS by about
    two points' worth; AIC's +4 penalty rejects it unless χ²₂ > 4 (probability 0.135)."""
    noise = 0.01 * jr.normal(jr.key(7), (31, 32))
    rho = (jnp.exp(-K / 4.0)[:, None] + noise).at[0].set(1.0)
    fit = fit_autocorrelation(rho)
    single = np.asarray(fit.choice == 0)
    assert single.mean() > 0.75  # expected about 0.86 (χ²₂ > 4 has probability 0.135)
    np.testing.assert_allclose(np.median(np.asarray(fit.tau_single)), 4.0, rtol=0.02)


def test_mixture_chooses_double_and_the_slower_tau():
    weights, fast, slow = jnp.array([0.7, 0.5, 0.3]), jnp.array([1.0, 2.0, 0.5]), jnp.array([10.0, 20.0, 6.0])
    rho = weights * jnp.exp(-K[:, None] / fast) + (1 - weights) * jnp.exp(-K[:, None] / slow)
    noisy = rho + 1e-3 * jr.normal(jr.key(8), rho.shape).at[0].set(0.0)
    for data, tol in [(rho, 1e-3), (noisy, 0.05)]:
        fit = fit_autocorrelation(data)
        np.testing.assert_array_equal(fit.choice, 1)
        np.testing.assert_allclose(fit.tau_net, slow, rtol=tol)
        np.testing.assert_allclose(fit.tau_slow, slow, rtol=tol)
        np.testing.assert_allclose(fit.tau_fast, fast, rtol=5 * tol)
        np.testing.assert_allclose(fit.fraction_fast, weights, atol=tol)
        np.testing.assert_allclose(fit.amplitude_double, 1.0, atol=tol)


def test_bic_penalty_follows_from_the_aics():
    """BIC − AIC = p (ln n − 2) per model, so the double model's BIC margin is its AIC
    margin plus 2 (ln n − 2): pinned on the fields of a fit, by hand."""
    noise = 0.01 * jr.normal(jr.key(7), (31, 32))
    rho = (jnp.exp(-K / 4.0)[:, None] + noise).at[0].set(1.0)
    fit = fit_autocorrelation(rho, min_fraction=0.0)
    bic = fit_autocorrelation(rho, min_fraction=0.0, criterion="bic")
    np.testing.assert_array_equal(fit.n_lags, 31)
    margin = np.asarray(fit.aic_double - fit.aic_single) + 2 * (np.log(31) - 2)
    np.testing.assert_array_equal(bic.choice, np.where(margin < 0, 1, 0))
    np.testing.assert_array_equal(fit.choice, np.where(np.asarray(fit.aic_double < fit.aic_single), 1, 0))
    assert int(bic.choice.sum()) < int(fit.choice.sum())  # a larger penalty, fewer doubles


def test_separation_guard_keeps_resolved_mixtures_and_drops_close_splits():
    """τ_slow ≥ r·τ_fast: mixtures a factor 10 apart stay double at r = 3 and become
    single at r = 11; a mixture of τ 4 and 6 (ratio 1.5) is double by AIC on exact data
    and single at r = 2, with τ_net then the single fit's τ."""
    w, fast, slow = jnp.array([0.7, 0.5, 0.5]), jnp.array([1.0, 2.0, 4.0]), jnp.array([10.0, 20.0, 6.0])
    rho = w * jnp.exp(-K[:, None] / fast) + (1 - w) * jnp.exp(-K[:, None] / slow)
    plain = fit_autocorrelation(rho)
    np.testing.assert_array_equal(plain.choice, 1)
    np.testing.assert_allclose(plain.tau_net, slow, rtol=1e-3)
    guarded = fit_autocorrelation(rho, min_separation=2.0)
    np.testing.assert_array_equal(guarded.choice, [1, 1, 0])
    np.testing.assert_allclose(guarded.tau_net, [10.0, 20.0, float(plain.tau_single[2])], rtol=1e-5)
    np.testing.assert_array_equal(fit_autocorrelation(rho, min_separation=11.0).choice, 0)
    # Choosing again without refitting gives the same as fitting with the rule.
    for rule in ({"min_separation": 2.0}, {"min_separation": 11.0}, {"criterion": "bic"}, {"min_fraction": 0.0}):
        again, direct = select_model(plain, **rule), fit_autocorrelation(rho, **rule)
        np.testing.assert_array_equal(again.choice, direct.choice)
        np.testing.assert_array_equal(again.tau_net, direct.tau_net)
    np.testing.assert_array_equal(select_model(plain).choice, plain.choice)


def test_select_model_keeps_unfitted_units_and_works_under_vmap():
    rho = jnp.stack([jnp.full(31, jnp.nan), jnp.exp(-K / 3.0)], axis=1)
    fit = select_model(fit_autocorrelation(rho), min_separation=3.0)
    np.testing.assert_array_equal(fit.choice, [-1, 0])
    assert np.isnan(fit.tau_net[0])
    stacked = jax.tree.map(lambda x: jnp.stack([x, x]), fit_autocorrelation(rho))
    batched = jax.vmap(lambda f: select_model(f, criterion="bic"))(stacked)
    np.testing.assert_array_equal(batched.choice, [[-1, 0], [-1, 0]])


def test_selection_rules_validate_arguments():
    rho = jnp.exp(-K / 3.0)[:, None]
    with pytest.raises(ValueError, match='criterion must be "aic" or "bic"'):
        fit_autocorrelation(rho, criterion="AICc")
    with pytest.raises(ValueError, match="min_separation must be >= 1"):
        fit_autocorrelation(rho, min_separation=0.5)
    with pytest.raises(ValueError, match=r"min_fraction must be in \[0, 0.5\)"):
        select_model(fit_autocorrelation(rho), min_fraction=0.7)
    with pytest.raises(TypeError, match="fit must be an ExpFit"):
        select_model({"choice": 1})


def test_unfittable_units_are_flagged():
    rho = jnp.stack([jnp.full(31, jnp.nan), jnp.exp(-K / 3.0)], axis=1)
    fit = fit_autocorrelation(rho)
    np.testing.assert_array_equal(fit.choice, [-1, 0])
    assert np.isnan(fit.tau_net[0]) and np.isnan(fit.curve(K)[:, 0]).all()
    np.testing.assert_allclose(fit.curve(K)[:, 1], jnp.exp(-K / 3.0), atol=1e-5)


def test_fit_validates_arguments():
    with pytest.raises(ValueError, match="rho must have lags 0 … fit_lag=30"):
        fit_autocorrelation(jnp.ones((20, 3)))
    with pytest.raises(ValueError, match="tau_bounds must satisfy"):
        fit_autocorrelation(jnp.ones((31, 3)), tau_bounds=(5.0, 1.0))


def test_summary_excludes_tau_at_most_one():
    tau = jnp.array([0.5, 1.0, 2.0, 4.0, jnp.nan, 9.0])
    s = summarise_timescales(tau)
    assert int(s.n_valid) == 3 and int(s.n_excluded) == 3
    np.testing.assert_allclose([s.mean, s.median], [5.0, 4.0])
    batched = jax.vmap(summarise_timescales)(jnp.stack([tau, tau * 2]))
    np.testing.assert_allclose(batched.mean, [5.0, 8.0])  # 2τ: 2, 4, 8, 18 kept


# --- known processes, end to end --------------------------------------------------------


def test_ar1_timescales_recovered_within_5_percent():
    """Per unit, the single-exponential τ is within 5 %; τ_net (after AIC selection) is
    within 5 % for the median unit and for most units: on a finite run the double model
    sometimes fits the estimation noise of ρ (see `fit_autocorrelation`)."""
    taus = _ar_taus([3.0, 10.0], 8)
    model = DiagonalAR(jnp.exp(-1.0 / taus))
    result = autocorrelation_timescales(
        model, GaussianInput(1.0), n_steps=100_000, burn_in=500, key=jr.key(9),
        max_lag=40, n_trials=2, chunk_size=10_000,
    )
    fit = result.fit
    np.testing.assert_allclose(fit.tau_single, taus, rtol=0.05)
    err = np.abs(np.asarray(fit.tau_net) / taus - 1).reshape(2, 8)
    assert np.all(np.median(err, axis=1) < 0.05)
    assert np.mean(err < 0.05) >= 0.75
    # The summed activity is a mixture of both (weights 0.27 and 0.73 by variance), one
    # series only, so its slow τ is estimated less precisely.
    assert int(result.population_fit.choice) == 1
    np.testing.assert_allclose(result.population_fit.tau_net, 10.0, rtol=0.15)


def test_separation_guard_removes_false_double_fits_on_ar1_units():
    """The measured weakness of AIC on finite runs, at the study's estimator settings
    (2·10⁴ steps, 10 trials, lags 0–30): on AR(1) units (τ = 5 and 20, 64 each) the
    default rule takes the double model for some units and inflates their τ_net; with
    τ_slow ≥ 3 τ_fast no unit is double and every τ_net is within 6 %."""
    taus = _ar_taus([5.0, 20.0], 64)
    model = DiagonalAR(jnp.exp(-1.0 / taus))
    result = autocorrelation_timescales(
        model, GaussianInput(1.0), n_steps=20_000, burn_in=500, key=jr.key(3),
        max_lag=40, n_trials=10, chunk_size=10_000,
    )
    default = result.fit
    assert int((default.choice == 1).sum()) >= 3
    assert float(np.max(np.asarray(default.tau_net) / taus)) > 1.2
    guarded = select_model(default, min_separation=3.0)
    np.testing.assert_array_equal(guarded.choice, 0)
    np.testing.assert_allclose(guarded.tau_net, taus, rtol=0.06)
    np.testing.assert_array_equal(guarded.tau_net, default.tau_single)


def test_ou_timescale_recovered_within_5_percent():
    """Euler–Maruyama OU (process noise, no input), τ = 0.5 time units, dt = 0.02: the
    discrete τ is −dt/ln(1 − dt/τ) = 0.49 time units."""
    tau, dt = 0.5, 0.02
    model = DiagonalOU(jnp.full(8, tau), dt)
    result = autocorrelation_timescales(
        model, ZeroInput(), n_steps=100_000, burn_in=1000, key=jr.key(10), max_lag=40,
        n_trials=2, chunk_size=10_000, noise=True,
    )
    np.testing.assert_allclose(np.asarray(result.fit.tau_single) * dt, tau, rtol=0.05)
    tau_net = np.asarray(result.fit.tau_net) * dt
    assert abs(np.median(tau_net) / tau - 1) < 0.05
    assert np.mean(np.abs(tau_net / tau - 1) < 0.05) >= 0.75
    np.testing.assert_allclose(result.learned_tau, tau / dt)  # in steps


def test_mixture_process_selects_double():
    """x = y₁ + y₂ with independent AR(1) y of equal variance: ρ(k) = ½ a₁^k + ½ a₂^k."""
    a = jnp.exp(-1.0 / jnp.array([1.5, 12.0]))
    units = 4
    model = DiagonalAR(jnp.repeat(a, units), jnp.repeat(jnp.sqrt(1 - a**2), units))
    record = lambda m, h: h[:units] + h[units:]
    result = autocorrelation_timescales(
        model, GaussianInput(1.0), n_steps=100_000, burn_in=500, key=jr.key(11),
        max_lag=40, n_trials=4, chunk_size=10_000, record=record,
    )
    np.testing.assert_array_equal(result.fit.choice, 1)
    assert abs(np.median(result.fit.tau_net) / 12.0 - 1) < 0.05
    np.testing.assert_allclose(result.fit.tau_net, 12.0, rtol=0.1)
    np.testing.assert_allclose(result.fit.tau_fast, 1.5, rtol=0.1)


def test_vmapped_equals_per_member():
    taus = jnp.array([[2.0, 5.0, 8.0], [3.0, 6.0, 9.0], [1.5, 4.0, 12.0]])
    models = eqx.filter_vmap(lambda t: DiagonalAR(jnp.exp(-1.0 / t)))(taus)
    keys = jr.split(jr.key(12), 3)
    run = lambda m, k: autocorrelation_timescales(
        m, BinaryInput(), n_steps=3000, burn_in=100, key=k, max_lag=30, chunk_size=500
    )
    batched = eqx.filter_vmap(run)(models, keys)
    for i in range(3):
        one = run(DiagonalAR(jnp.exp(-1.0 / taus[i])), keys[i])
        np.testing.assert_allclose(batched.autocorrelation[i], one.autocorrelation, atol=1e-6)
        np.testing.assert_array_equal(batched.fit.choice[i], one.fit.choice)
        np.testing.assert_allclose(batched.fit.tau_single[i], one.fit.tau_single, rtol=1e-4)
        np.testing.assert_allclose(batched.fit.aic_double[i], one.fit.aic_double, atol=1e-3)
        # A double fit to 3000 noisy steps lies in a flat valley: rounding moves τ a little.
        np.testing.assert_allclose(batched.fit.tau_net[i], one.fit.tau_net, rtol=2e-3)


def test_autocorrelation_timescales_validates_arguments():
    model = DiagonalAR(jnp.full(2, 0.5))
    kwargs = dict(burn_in=0, key=jr.key(0))
    with pytest.raises(ValueError, match="fit_lag=30 must be <= max_lag=20"):
        autocorrelation_timescales(model, ZeroInput(), n_steps=1000, max_lag=20, **kwargs)
    with pytest.raises(ValueError, match="n_steps=50 must exceed max_lag=100"):
        autocorrelation_timescales(model, ZeroInput(), n_steps=50, **kwargs)
    with pytest.raises(ValueError, match=r"activity must be \[time, hidden\]"):
        autocorrelation(jnp.zeros(100), 10)
