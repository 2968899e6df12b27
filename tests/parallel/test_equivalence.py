"""Every parallel method returns the scan's trajectory, for every model and length.

float64: max |parallel − scan| ≤ 1e-10 over states and outputs. float32: ≤ 2e-6 · √T
(the scan's own rounding grows like a random walk over T steps). The default suite runs
a leaky RNN at T = 1000, a float32 network, the shortest trials, ELK on a GRU and on a
CTRNN whose Jacobians expand (T = 600); the slow suite runs every model at T = 17
with noise and the grid T ∈ {1, 2, 17, 1000, 4096} for DEER and quasi-DEER, T ≤ 1000
for ELK and quasi-ELK.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.models import LeakyRateRNN, VanillaRNN
from neurodyn.parallel import evaluate

F64_TOL = 1e-10


def _max_error(a, b):
    return max(float(jnp.max(jnp.abs(a.state - b.state))), float(jnp.max(jnp.abs(a.output - b.output))))


def _check(scan, model, inputs, method, key=None, **kwargs):
    reference = scan(model, inputs, key)
    traj, info = evaluate(model, inputs, method=method, key=key, **kwargs)
    assert traj.state.dtype == reference.state.dtype
    assert bool(info.converged) and not bool(info.scanned)
    assert float(info.max_residual) <= F64_TOL
    assert _max_error(traj, reference) <= F64_TOL
    return int(info.iterations)


def _check_named(scan, make_model, make_inputs, name, n_time, method, key=None, **kwargs):
    with jax.enable_x64(True):
        model = make_model(name)
        iterations = _check(scan, model, make_inputs(n_time), method, key, **kwargs)
        assert 1 <= iterations <= n_time or method.endswith("elk")
        return iterations


def test_deer_and_quasi_deer_equal_the_scan_on_a_leaky_rnn(scan):
    with jax.enable_x64(True):
        model = LeakyRateRNN(3, 16, 2, tau=4.0, key=jr.key(0))
        inputs = jr.normal(jr.key(1), (1000, 3))
        deer = _check(scan, model, inputs, "deer")
        quasi = _check(scan, model, inputs, "quasi_deer")
        # Newton converges quadratically: a handful of steps, far fewer than T; the
        # diagonal approximation converges linearly, so it takes more.
        assert deer <= 10 and deer < quasi <= 200


@pytest.mark.parametrize("n_time", [1, 2])
def test_shortest_trials(scan, n_time, make_model, make_inputs):
    # T = 1: one step of either method is the scan's only step.
    assert _check_named(scan, make_model, make_inputs, "lstm", n_time, "deer") <= n_time


def test_elk_matches_scan(scan, make_model, make_inputs):
    _check_named(scan, make_model, make_inputs, "gru", 17, "elk", key=jr.key(4))


def test_elk_does_not_stall_where_the_jacobians_expand(scan, make_model, make_inputs):
    # This CTRNN's step Jacobians have spectral radius ≈ 1.05: Σ‖r‖² has points that
    # are stationary to float64 precision, where damped steps stop. Restarting the
    # damping there returned to them (at T = 600: 1250 iterations, not converged); going
    # on undamped fixes one more state per step, so at most T more steps converge.
    iterations = _check_named(
        scan, make_model, make_inputs, "ctrnn_voltage_euler", 600, "elk", key=jr.key(600)
    )
    assert iterations <= 600


def test_float32_within_scaled_tolerance(scan):
    n_time = 1000
    model = VanillaRNN(2, 8, 1, init="gain", gain=0.9, key=jr.key(0))
    inputs = jr.normal(jr.key(1), (n_time, 2))
    traj, info = evaluate(model, inputs, method="deer")
    assert traj.state.dtype == jnp.float32
    assert bool(info.converged)
    assert _max_error(traj, scan(model, inputs)) <= 2e-6 * np.sqrt(n_time)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["deer", "quasi_deer"])
def test_every_model_with_noise_t17(scan, model_name, method, make_model, make_inputs):
    _check_named(scan, make_model, make_inputs, model_name, 17, method, key=jr.key(3))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["deer", "quasi_deer"])
@pytest.mark.parametrize("name", ["vanilla", "lstm"])
def test_float32_every_method(scan, name, method, make_model, make_inputs):
    n_time = 1000
    model = make_model(name)
    inputs = make_inputs(n_time)
    traj, info = evaluate(model, inputs, method=method)
    assert bool(info.converged)
    assert _max_error(traj, scan(model, inputs)) <= 2e-6 * np.sqrt(n_time)


@pytest.mark.slow
def test_quasi_elk_matches_scan(scan, make_model, make_inputs):
    # Damped steps do not fix one more state each: the default max_iter is 2T + 50.
    _check_named(scan, make_model, make_inputs, "gru", 17, "quasi_elk", key=jr.key(4))


#: ELK's damped steps need up to 2T + 50 iterations: at T = 4096 one case took 11 min on
#: the 2-core CPU, so the damped methods stop at T = 1000 here; the longest trials
#: (about 30 s a case) run for one discrete, one gated and one continuous model
LONG = ("vanilla", "lstm", "ctrnn_rate_heun")
GRID = [
    (name, method, n_time)
    for name in ("ctrnn_rate_heun", "ctrnn_voltage_euler", "gru", "leaky_post", "leaky_pre",
                 "lowrank_euler", "lowrank_heun", "lstm", "vanilla")  # every model of conftest.FACTORIES
    for method in ("deer", "quasi_deer", "elk", "quasi_elk")
    for n_time in (1, 2, 17, 1000, 4096)
    if not (method.endswith("elk") and n_time > 1000) and not (n_time > 1000 and name not in LONG)
]


@pytest.mark.slow
@pytest.mark.parametrize(("model_name", "method", "n_time"), GRID)
def test_full_grid(scan, model_name, method, n_time, make_model, make_inputs):
    _check_named(scan, make_model, make_inputs, model_name, n_time, method, key=jr.key(n_time))
