"""Linearisation along a trajectory, against Jacobians and spectra known by hand."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn.analysis as na
from neurodyn.models import CTRNN, VanillaRNN

# Eigenvalues: a rotation block with |lambda| = 1.5 (units 0, 1) and 2 (unit 2).
W = jnp.array([[0.0, -1.5, 0.0], [1.5, 0.0, 0.0], [0.0, 0.0, 2.0]])
# pre-activations W h: (1.5, 1.5, 2) all on; (-1.5, 1.5, 2) unit 0 off; (0, 0, -2) all off
STATES = jnp.array([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, -1.0]])
MASKS = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0]], dtype=bool)
N_UNSTABLE = [3, 1, 0]  # |lambda| > 1: {1.5, 1.5, 2}, {2}, {}


def relu_net(w, *, bias=None):
    n = w.shape[0]
    model = VanillaRNN(1, n, 2, activation="relu", bias=bias is not None, readout_bias=False, key=jr.key(0))
    model = eqx.tree_at(lambda m: m.W_rec, model, w)
    model = eqx.tree_at(lambda m: m.W_in, model, jnp.zeros((n, 1)))
    if bias is not None:
        model = eqx.tree_at(lambda m: m.b, model, bias)
    return model


def test_relu_jacobian_is_the_masked_weight_matrix():
    model = relu_net(W)
    for h, mask in zip(STATES, MASKS):
        jac = na.local_jacobian(model, h)
        np.testing.assert_array_equal(np.asarray(jac), np.where(mask[:, None], np.asarray(W), 0.0))
    # where no pre-activation sits at the kink, the closed form is the autodiff Jacobian
    for h in STATES[:2]:
        auto = jax.jacfwd(lambda x: model.step(x, jnp.zeros(1)))(h)
        np.testing.assert_allclose(np.asarray(na.local_jacobian(model, h)), np.asarray(auto), atol=0)


def test_the_bias_and_the_input_move_the_activation_pattern():
    # b = (-2, 0, 0) switches unit 0 off at the first state: pre = (-0.5, 1.5, 2)
    model = relu_net(W, bias=jnp.array([-2.0, 0.0, 0.0]))
    jac = np.asarray(na.local_jacobian(model, STATES[0]))
    np.testing.assert_array_equal(jac, np.where(MASKS[1][:, None], np.asarray(W), 0.0))
    # an input through W_in = (5, 0, 0) switches it back on
    model = eqx.tree_at(lambda m: m.W_in, model, jnp.array([[5.0], [0.0], [0.0]]))
    jac = np.asarray(na.local_jacobian(model, STATES[0], jnp.ones(1)))
    np.testing.assert_array_equal(jac, np.asarray(W))


def test_unstable_counts_and_their_means_per_label():
    model = relu_net(W)
    states = jnp.concatenate([STATES, STATES[:1]])
    labels = jnp.array([na.CLUSTER, na.KICK_ZONE, na.TRANSITION, na.KICK_ZONE])
    lin = na.linearise_trajectory(model, states, labels, n_eig=3)
    np.testing.assert_array_equal(np.asarray(lin.n_unstable), N_UNSTABLE + [3])
    # most unstable first: 2, then the pair +-1.5i
    eig = np.asarray(lin.eigenvalues[0])
    assert eig[0] == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(sorted(eig[1:].imag), [-1.5, 1.5], atol=1e-6)
    np.testing.assert_allclose(eig[1:].real, 0.0, atol=1e-6)
    # per label (transition, kick-zone, cluster, other): means of [0], [1, 3], [3], none
    np.testing.assert_allclose(np.asarray(lin.mean_unstable), [0.0, 2.0, 3.0, np.nan])
    np.testing.assert_allclose(np.asarray(lin.fraction_unstable), [0.0, 1.0, 1.0, np.nan])
    # without labels the per-label fields are NaN and the counts are unchanged
    bare = na.linearise_trajectory(model, states, n_eig=3)
    np.testing.assert_array_equal(np.asarray(bare.n_unstable), np.asarray(lin.n_unstable))
    assert np.all(np.isnan(np.asarray(bare.mean_unstable)))


def test_a_continuous_model_uses_its_vector_field_and_re_lambda():
    # linear voltage CTRNN: F(h) = (W h - h) / tau, so J = (W - I) / tau, unstable when Re > 0
    model = CTRNN(1, 3, 1, tau=2.0, activation="linear", key=jr.key(1))
    w = jnp.diag(jnp.array([2.0, 0.5, 0.9]))
    model = eqx.tree_at(lambda m: m.W_rec, model, w)
    h = jnp.array([0.3, -0.2, 0.1])
    expected = (np.asarray(model.recurrent_weights()) - np.eye(3)) / 2.0
    np.testing.assert_allclose(np.asarray(na.local_jacobian(model, h)), expected, atol=1e-6)
    lin = na.linearise_trajectory(model, h[None], n_eig=2)
    assert int(lin.n_unstable[0]) == 1  # only (2 - 1) / 2 = 0.5 > 0
    np.testing.assert_allclose(np.asarray(lin.eigenvalues[0]).real, [0.5, -0.05], atol=1e-6)
