"""Implicit gradients of `evaluate` equal autodiff through the scan (float64, ≤ 1e-8)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from neurodyn.models import VanillaRNN
from neurodyn.parallel import evaluate

GRAD_TOL = 1e-8


def _loss(traj):
    # Both the readout and the states carry gradient into the solve.
    return jnp.sum(traj.output**2) + jnp.sum(jnp.sin(traj.state))


def _max_difference(a, b):
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b) > 0
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(leaves_a, leaves_b))


def _gradients(run, model, inputs, state0):
    return eqx.filter_grad(lambda args: _loss(run(*args)))((model, inputs, state0))


FAST = [("lstm", "quasi_deer"), ("ctrnn_rate_heun", "deer")]
SLOW = [
    (name, method)
    for name in ("vanilla", "lstm", "ctrnn_voltage_euler", "ctrnn_rate_heun", "gru")
    for method in ("deer", "quasi_deer")
    if (name, method) not in FAST
]


@pytest.mark.parametrize(
    "name, method", FAST + [pytest.param(*case, marks=pytest.mark.slow) for case in SLOW]
)
def test_gradients_equal_autodiff_through_the_scan(name, method, make_model, make_inputs):
    with jax.enable_x64(True):
        model = make_model(name)
        inputs = make_inputs(60)
        state0 = 0.3 * jnp.cos(jnp.arange(model.state_size, dtype=float))
        key = jr.key(5)

        def scanned(m, u, s0):
            return m(u, key=key, state0=s0)

        def parallel(m, u, s0):
            return evaluate(m, u, method=method, state0=s0, key=key)[0]

        expected = _gradients(scanned, model, inputs, state0)
        got = _gradients(parallel, model, inputs, state0)
        assert _max_difference(got, expected) <= GRAD_TOL


def test_gradient_of_a_learned_initial_state(make_model, make_inputs):
    with jax.enable_x64(True):
        model = make_model("vanilla")  # train_h0=True: the gradient reaches h0
        inputs = make_inputs(40)
        expected = eqx.filter_grad(lambda m: _loss(m(inputs)))(model)
        got = eqx.filter_grad(lambda m: _loss(evaluate(m, inputs, method="deer")[0]))(model)
        assert float(jnp.max(jnp.abs(expected.h0))) > 1e-3
        assert _max_difference(got, expected) <= GRAD_TOL


@pytest.mark.slow
@pytest.mark.parametrize("method", ["elk", "quasi_elk"])
def test_elk_gradients(method, make_model, make_inputs):
    with jax.enable_x64(True):
        model = make_model("vanilla")
        inputs = make_inputs(17)

        def loss(m):
            traj, info = evaluate(m, inputs, method=method)
            return _loss(traj), info

        expected = eqx.filter_grad(lambda m: _loss(m(inputs)))(model)
        got, info = eqx.filter_grad(loss, has_aux=True)(model)
        assert bool(info.converged)
        assert _max_difference(got, expected) <= GRAD_TOL


@pytest.mark.slow
def test_gradients_batched_and_jitted_through_auto():
    with jax.enable_x64(True):
        # One contractive trial converges; gain 3 makes the other fall back to the scan.
        models = [VanillaRNN(2, 6, 1, init="gain", gain=g, key=jr.key(0)) for g in (0.8, 3.0)]
        inputs = jr.normal(jr.key(1), (2, 120, 2))

        @eqx.filter_jit
        def grads(model, inputs, method):
            def loss(m):
                run = lambda u: evaluate(m, u, method=method, parallel=True, max_iter=8)
                traj, info = jax.vmap(run)(inputs)
                return jnp.mean(traj.output**2), info

            return eqx.filter_grad(loss, has_aux=True)(model)

        for model, scanned in zip(models, (False, True)):
            got, info = grads(model, inputs, "auto")
            assert bool(jnp.all(info.scanned)) is scanned
            expected, _ = grads(model, inputs, "scan")
            scale = max(1.0, max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(expected)))
            assert _max_difference(got, expected) <= GRAD_TOL * scale
