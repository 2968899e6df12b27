"""Exact properties of the Newton solves: causality, one-step affine solves, guards,
warm starts, `"auto"`, batching and jit.

Most tests share one network shape (a tanh `VanillaRNN`, 8 units, T = 200, float64);
the gain is an array leaf, so they share one compiled program per method.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.models import LeakyRateRNN, VanillaRNN
from neurodyn.parallel import evaluate
from neurodyn.parallel._jacobian import dense_linearisation
from neurodyn.parallel._scan import linear_recurrence

N_TIME = 200


def _network(gain: float, n_time: int = N_TIME):
    """A vanilla tanh network; gain 3 (a leaky network with α = 1) is chaotic."""
    model = VanillaRNN(2, 8, 1, init="gain", gain=gain, key=jr.key(0))
    return model, jr.normal(jr.key(1), (n_time, 2))


def _max_error(a, b):
    return float(jnp.max(jnp.abs(a - b)))


@pytest.mark.parametrize("method", ["deer", "quasi_deer"])
def test_k_iterations_fix_the_first_k_states(scan, method):
    with jax.enable_x64(True):
        model, inputs = _network(3.0)
        reference = scan(model, inputs).state
        for k in (1, 3, 10):
            traj, info = evaluate(model, inputs, method=method, max_iter=k)
            assert int(info.iterations) == k and not bool(info.converged)
            error = np.max(np.abs(np.asarray(traj.state - reference)), axis=1)
            assert error[:k].max() <= 1e-13
            if method == "quasi_deer":  # and not yet the next one
                assert error[k] > 1e-3


def test_chaotic_network_reports_not_converged_and_auto_scans(scan):
    with jax.enable_x64(True):
        model, inputs = _network(3.0)
        reference = scan(model, inputs)
        for method in ("deer", "quasi_deer"):
            traj, info = evaluate(model, inputs, method=method, max_iter=5)
            assert not bool(info.converged) and not bool(info.scanned)
            assert int(info.iterations) == 5 and float(info.max_residual) > 1e-3
            assert bool(jnp.all(jnp.isfinite(traj.state))) and bool(jnp.isfinite(info.max_residual))
        traj, info = evaluate(model, inputs, method="auto", parallel=True, max_iter=5)
        assert bool(info.scanned) and bool(info.converged) and int(info.iterations) == 5
        np.testing.assert_array_equal(traj.state, reference.state)
        np.testing.assert_array_equal(traj.output, reference.output)


@eqx.filter_jit
def _first_newton_step(model, inputs):
    """DEER's first step from s̄ = 0, unguarded: δ_t = A_t δ_{t−1} + f_t(0)."""
    zeros = jnp.zeros((inputs.shape[0], model.state_size))
    f, A = jax.vmap(dense_linearisation(model))(zeros, (inputs, None))
    return linear_recurrence(A, f, diagonal=False)


def test_overflow_guard_keeps_a_chaotic_solve_finite(scan):
    # float32: the products of the chaotic Jacobians pass √(largest float) by t ≈ 50,
    # so an unguarded Newton step overflows at the next product.
    model, inputs = _network(3.0)
    raw = _first_newton_step(model, inputs)
    assert not bool(jnp.all(jnp.abs(raw) <= jnp.sqrt(jnp.finfo(jnp.float32).max)))
    traj, info = evaluate(model, inputs, method="deer", max_iter=30)
    assert bool(jnp.all(jnp.isfinite(traj.state))) and bool(jnp.isfinite(info.max_residual))
    assert not bool(info.converged) and int(info.iterations) == 30
    # Rows after the first overflow take the Picard update: still one more state per step.
    error = jnp.max(jnp.abs(traj.state - scan(model, inputs).state), axis=1)
    assert float(jnp.max(error[:30])) <= 1e-5


def test_nan_or_inf_residual_never_counts_as_converged(scan):
    with jax.enable_x64(True):
        model, inputs = _network(0.8)
        guess = jnp.full((N_TIME, 8), jnp.nan).at[0].set(0.0)
        traj, info = evaluate(model, inputs, method="deer", guess=guess)
        assert not bool(info.converged) and int(info.iterations) == 0
        assert bool(jnp.isnan(info.max_residual))
        _, info = evaluate(model, inputs, method="deer", guess=jnp.zeros((N_TIME, 8)).at[7, 2].set(jnp.inf))
        assert not bool(info.converged) and int(info.iterations) == 0
        traj, info = evaluate(model, inputs, method="auto", parallel=True, guess=guess)
        assert bool(info.scanned) and bool(info.converged)
        np.testing.assert_array_equal(traj.state, scan(model, inputs).state)


def test_warm_start(scan):
    with jax.enable_x64(True):
        model, inputs = _network(1.2)
        exact = scan(model, inputs).state
        _, info = evaluate(model, inputs, method="quasi_deer", guess=exact)
        assert int(info.iterations) == 0 and bool(info.converged)
        _, cold = evaluate(model, inputs, method="quasi_deer")
        near = scan(model, inputs + 1e-3 * jr.normal(jr.key(2), inputs.shape)).state
        traj, warm = evaluate(model, inputs, method="quasi_deer", guess=near)
        assert bool(cold.converged) and bool(warm.converged)
        assert int(warm.iterations) < int(cold.iterations)
        assert _max_error(traj.state, exact) <= 1e-10


def test_auto_scans_on_cpu_by_default(scan):
    model, inputs = _network(3.0)
    assert jax.default_backend() == "cpu"
    traj, info = evaluate(model, inputs)
    assert bool(info.scanned) and int(info.iterations) == 0 and float(info.max_residual) == 0.0
    np.testing.assert_array_equal(traj.state, scan(model, inputs).state)
    _, info = evaluate(model, inputs, method="auto", parallel=False)
    assert bool(info.scanned)


def test_auto_parallel_keeps_a_converged_solve(scan):
    with jax.enable_x64(True):
        model, inputs = _network(0.8)
        traj, info = evaluate(model, inputs, method="auto", parallel=True)
        assert not bool(info.scanned) and bool(info.converged) and int(info.iterations) <= 8
        assert _max_error(traj.state, scan(model, inputs).state) <= 1e-10


def test_batched_by_vmap_under_jit_with_noise():
    with jax.enable_x64(True):
        model = VanillaRNN(2, 8, 1, init="gain", gain=0.9, noise_std=0.2, key=jr.key(0))
        inputs = jr.normal(jr.key(1), (3, 64, 2))
        keys = jr.split(jr.key(2), 3)

        @jax.jit
        def run(inputs, keys):
            return jax.vmap(lambda u, k: evaluate(model, u, method="deer", key=k))(inputs, keys)

        traj, info = run(inputs, keys)
        reference = jax.vmap(lambda u, k: model(u, key=k))(inputs, keys)
        assert info.iterations.shape == (3,) and bool(jnp.all(info.converged))
        assert _max_error(traj.state, reference.state) <= 1e-10
        assert _max_error(traj.output, reference.output) <= 1e-10


def test_state0_is_the_scans_state0(scan):
    with jax.enable_x64(True):
        model, inputs = _network(0.9)
        state0 = jnp.linspace(-1.0, 1.0, 8)
        traj, _ = evaluate(model, inputs, method="quasi_deer", state0=state0)
        assert _max_error(traj.state, scan(model, inputs, state0=state0).state) <= 1e-10


def test_affine_map_converges_in_one_deer_step(scan):
    with jax.enable_x64(True):
        model = VanillaRNN(2, 8, 1, activation="linear", init="gain", gain=0.9, key=jr.key(0))
        inputs = jr.normal(jr.key(1), (N_TIME, 2))
        traj, info = evaluate(model, inputs, method="deer")
        assert int(info.iterations) == 1 and bool(info.converged)
        assert _max_error(traj.state, scan(model, inputs).state) <= 1e-12
        # A dense linear map is not diagonal: quasi-DEER needs more than one step.
        _, info = evaluate(model, inputs, method="quasi_deer")
        assert int(info.iterations) > 1


def test_diagonal_affine_map_converges_in_one_quasi_deer_step(scan):
    with jax.enable_x64(True):
        model = LeakyRateRNN(2, 6, 1, activation="linear", self_connections=True, key=jr.key(0))
        diagonal = jnp.diag(jnp.linspace(-0.5, 0.5, 6))
        model = eqx.tree_at(lambda m: m.W_rec, model, diagonal)
        inputs = jr.normal(jr.key(1), (300, 2))
        traj, info = evaluate(model, inputs, method="quasi_deer")
        assert int(info.iterations) == 1 and bool(info.converged)
        assert _max_error(traj.state, scan(model, inputs).state) <= 1e-12


@pytest.mark.slow
def test_elk_without_damping_is_deer(scan):
    with jax.enable_x64(True):
        model = VanillaRNN(2, 8, 1, activation="linear", init="gain", gain=0.9, key=jr.key(0))
        inputs = jr.normal(jr.key(1), (20, 2))
        traj, info = evaluate(model, inputs, method="elk", damping=0.0)
        assert int(info.iterations) == 1 and bool(info.converged)
        assert _max_error(traj.state, scan(model, inputs).state) <= 1e-12


@pytest.mark.slow
def test_chaotic_network_elk_reports_not_converged():
    with jax.enable_x64(True):
        model, inputs = _network(3.0, 1000)
        for method in ("elk", "quasi_elk"):
            traj, info = evaluate(model, inputs, method=method, max_iter=5)
            assert not bool(info.converged) and int(info.iterations) == 5
            assert bool(jnp.all(jnp.isfinite(traj.state))) and bool(jnp.isfinite(info.max_residual))


@pytest.mark.slow
def test_chaotic_network_full_solve_is_honest(scan):
    # T iterations always suffice in exact arithmetic; in float64 a chaotic trajectory
    # either converges to the scan's (to the amplified rounding) or reports failure.
    with jax.enable_x64(True):
        model, inputs = _network(3.0, 1000)
        for method in ("deer", "quasi_deer"):
            traj, info = evaluate(model, inputs, method=method)
            assert bool(jnp.all(jnp.isfinite(traj.state)))
            if bool(info.converged):
                assert float(info.max_residual) <= 1e-11
            else:
                assert float(info.max_residual) > 1e-12


def test_one_compiled_program_serves_gains_iterations_tolerances_and_starts():
    from neurodyn.parallel._evaluate import _evaluate

    cache = _evaluate._cached  # the jitted program behind `evaluate`
    before = cache._cache_size()
    inputs = jr.normal(jr.key(1), (37, 2))
    for gain in (0.5, 0.9):
        model = VanillaRNN(2, 8, 1, init="gain", gain=gain, key=jr.key(0))
        for max_iter, tol in ((3, 1e-4), (7, 1e-6)):
            evaluate(model, inputs, method="deer", max_iter=max_iter, tol=tol, state0=gain * jnp.ones(8))
        evaluate(model, inputs, method="deer", guess=jnp.zeros((37, 8)))
    assert cache._cache_size() == before + 1
