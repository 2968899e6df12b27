"""The analytic Jacobian diagonals of quasi-DEER equal autodiff's, for every model that
has one, with and without process noise (float64, ≤ 1e-12)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from neurodyn.parallel._diagonal import analytic_diagonal
from neurodyn.parallel._jacobian import dense_linearisation

FAST = ["leaky_pre", "gru", "lstm", "ctrnn_voltage_euler"]
SLOW = ["vanilla", "leaky_post", "lowrank_euler"]


@eqx.filter_jit
def _both(model, s, u, key):
    _, jac = dense_linearisation(model)(s, (u, key))
    return analytic_diagonal(model)(s, u, key), jnp.diagonal(jac)


@pytest.mark.parametrize("name", FAST + [pytest.param(n, marks=pytest.mark.slow) for n in SLOW])
def test_analytic_diagonal_equals_autodiff(name, make_model):
    with jax.enable_x64(True):
        model = make_model(name)
        s = 0.7 * jr.normal(jr.key(2), (model.state_size,))
        u = jr.normal(jr.key(3), (model.input_size,))
        for key in (None, jr.key(4)):
            got, expected = _both(model, s, u, key)
            assert float(jnp.max(jnp.abs(got - expected))) <= 1e-12


def test_heun_steps_use_autodiff(make_model):
    # Heun's second stage mixes every unit into each diagonal entry: no shortcut.
    assert analytic_diagonal(make_model("lowrank_heun")) is None
