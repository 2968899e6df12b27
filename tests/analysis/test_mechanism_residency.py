"""Residency segmentation against dwell times known by construction."""

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn.analysis as na
from neurodyn.models import VanillaRNN


def relu_net(w, w_in, w_out, b_out=None):
    n, d = w_in.shape
    model = VanillaRNN(
        d, n, w_out.shape[0], activation="relu", bias=False, readout_bias=b_out is not None, key=jr.key(0)
    )
    model = eqx.tree_at(lambda m: m.W_rec, model, w)
    model = eqx.tree_at(lambda m: m.W_in, model, w_in)
    model = eqx.tree_at(lambda m: m.W_out, model, w_out)
    if b_out is not None:
        model = eqx.tree_at(lambda m: m.b_out, model, b_out)
    return model


def ring(block: int, gain: float = 5.0):
    """2·block units in a ring (unit i drives unit i + 1), no input; output 0 reads the
    first block, output 1 the second. From one-hot state j the argmax changes after
    block - (j mod block) steps, whatever the noise."""
    n = 2 * block
    w = jnp.roll(jnp.eye(n), 1, axis=0)
    w_out = gain * jnp.stack([jnp.arange(n) < block, jnp.arange(n) >= block]).astype(float)
    return relu_net(w, jnp.zeros((n, 1)), w_out)


def test_ring_dwell_times_and_labels_are_exact():
    block = 10
    model = ring(block)
    states = jnp.eye(2 * block)
    res = na.residency(model, states, n_continuations=3, max_dwell=50, key=jr.key(0))
    p = np.arange(2 * block) % block
    np.testing.assert_array_equal(np.asarray(res.dwell), block - p)
    np.testing.assert_array_equal(np.asarray(res.censored), 0.0)
    np.testing.assert_array_equal(np.asarray(res.output_class), np.arange(2 * block) >= block)
    np.testing.assert_allclose(np.asarray(res.confidence), math.exp(5) / (math.exp(5) + 1), rtol=1e-6)
    # dwell 10, 9 -> cluster (> 8, confidence 0.993 > 0.8); 8 ... 2 -> kick-zone; 1 -> transition
    expected = np.where(p <= 1, na.CLUSTER, np.where(p <= 8, na.KICK_ZONE, na.TRANSITION))
    np.testing.assert_array_equal(np.asarray(res.label), expected)
    np.testing.assert_array_equal(np.asarray(res.label_count), [2, 14, 4, 0])
    np.testing.assert_allclose(np.asarray(res.class_dwell), [5.5, 5.5])


def test_thresholds_and_the_dwell_cap_are_settings():
    model = ring(10)
    states = jnp.eye(20)
    res = na.residency(
        model, states, n_continuations=2, max_dwell=5, transition_below=3, kick_max=4, key=jr.key(1)
    )
    true = 10 - np.arange(20) % 10
    np.testing.assert_array_equal(np.asarray(res.dwell), np.minimum(true, 5))
    np.testing.assert_array_equal(np.asarray(res.censored), true > 5)  # a change at step 5 counts
    expected = np.where(true < 3, na.TRANSITION, np.where(true <= 4, na.KICK_ZONE, na.CLUSTER))
    np.testing.assert_array_equal(np.asarray(res.label), expected)
    # a cluster needs confidence above cluster_confidence: 0.993 < 0.999 makes them "other"
    res = na.residency(model, states, n_continuations=2, max_dwell=50, cluster_confidence=0.999, key=jr.key(1))
    assert int(res.label_count[na.CLUSTER]) == 0 and int(res.label_count[na.OTHER]) == 4


@pytest.mark.parametrize("bias, label", [(5.0, na.CLUSTER), (0.5, na.OTHER)])
def test_an_output_that_never_changes_dwells_the_full_length(bias, label):
    # random recurrent weights, noisy input, but a readout of zeros plus a bias: argmax is
    # always 0, so every continuation runs the full L steps (confidence e^b / (e^b + 1))
    k1, k2 = jr.split(jr.key(2))
    n = 6
    model = relu_net(
        0.5 * jr.normal(k1, (n, n)), jr.normal(k2, (n, 3)), jnp.zeros((2, n)), jnp.array([bias, 0.0])
    )
    states = na.noisy_trajectory(model, 40, key=jr.key(3), burn_in=5)
    assert float(jnp.std(states)) > 0.1  # the trajectory does move
    res = na.residency(model, states, n_continuations=4, max_dwell=30, key=jr.key(4))
    np.testing.assert_array_equal(np.asarray(res.dwell), 30.0)
    np.testing.assert_array_equal(np.asarray(res.censored), 1.0)
    np.testing.assert_array_equal(np.asarray(res.label), label)
    np.testing.assert_allclose(np.asarray(res.class_dwell), [30.0, np.nan])


def test_a_fair_coin_output_dwells_two_steps_on_average():
    # h = (relu(x), relu(-x)), read out as is: the class is a fresh fair coin each step, so
    # a continuation's dwell is geometric(1/2) with mean 2 and variance 2 (L = 50).
    model = relu_net(jnp.zeros((2, 2)), jnp.array([[1.0], [-1.0]]), jnp.eye(2))
    states = na.noisy_trajectory(model, 200, key=jr.key(5))
    k = 20
    res = na.residency(model, states, n_continuations=k, max_dwell=50, key=jr.key(6))
    mean = float(jnp.mean(res.dwell))
    se = math.sqrt(2.0 / (200 * k))
    assert abs(mean - 2.0) < 5 * se, (mean, se)  # |z| < 5
    assert float(jnp.max(res.censored)) == 0.0
