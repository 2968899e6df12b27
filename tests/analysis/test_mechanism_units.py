"""Kick units and noise-integrating populations on toys whose answer is set by hand."""

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn.analysis as na
from neurodyn.models import GRU, VanillaRNN


def relu_net(w, w_in):
    n, d = w_in.shape
    model = VanillaRNN(d, n, 2, activation="relu", bias=False, readout_bias=False, key=jr.key(0))
    model = eqx.tree_at(lambda m: m.W_rec, model, jnp.asarray(w, jnp.float32))
    return eqx.tree_at(lambda m: m.W_in, model, jnp.asarray(w_in, jnp.float32))


def _labelled_states():
    """Four states per label; with W = I the pre-activation at zero input is the state.

    unit 0: rises -1 -> 0 -> 1 with +-0.5 jitter; unit 1: rises cluster -> kick-zone only;
    unit 2: -5 -> 0 -> 5 (the kick unit); unit 3: constant; unit 4: falls 5 -> 0 -> -5.
    Two "other" states hold 100 everywhere: they must not enter any score.
    """
    jitter = np.array([-0.5, 0.5, -0.5, 0.5])
    rows, labels = [], []
    for label, level in ((na.CLUSTER, -1), (na.KICK_ZONE, 0), (na.TRANSITION, 1)):
        for j in jitter:
            rows.append([level + j, min(level, 0) * 5.0, 5.0 * level, 7.0, -5.0 * level])
            labels.append(label)
    rows += [[100.0] * 5] * 2
    labels += [na.OTHER] * 2
    return jnp.asarray(rows, jnp.float32), jnp.asarray(labels)


def test_kick_units_rank_the_unit_rising_from_clusters_to_transitions():
    states, labels = _labelled_states()
    model = relu_net(np.eye(5), np.zeros((5, 1)))
    kick = na.kick_units(model, states, labels, n_units=2)
    np.testing.assert_array_equal(np.asarray(kick.index), [2, 0])
    # score = min(m_K - m_C, m_T - m_K) / sd over the three labels' states
    sd0 = math.sqrt(0.25 + 2 / 3)  # within-label 0.5^2 plus between-label (1 + 0 + 1) / 3
    expected = [0.0, 0.0, 5 / math.sqrt(50 / 3), 0.0, -5 / math.sqrt(50 / 3)]
    expected[0] = 1 / sd0
    np.testing.assert_allclose(np.asarray(kick.unit_score), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(kick.score), [expected[2], expected[0]], rtol=1e-5)
    # mean pre-activation per label (transition, kick-zone, cluster, other)
    np.testing.assert_allclose(
        np.asarray(kick.label_mean),
        [[1, 0, 5, 7, -5], [0, 0, 0, 7, 0], [-1, -5, -5, 7, 5], [100] * 5],
        atol=1e-6,
    )


def test_kick_units_use_the_pre_activation_not_the_state():
    # W permutes the units: the pre-activation of unit i is the state of unit perm[i]
    states, labels = _labelled_states()
    perm = np.array([3, 4, 0, 1, 2])
    model = relu_net(np.eye(5)[perm], np.zeros((5, 1)))
    kick = na.kick_units(model, states, labels, n_units=1)
    assert int(kick.index[0]) == int(np.flatnonzero(perm == 2)[0])  # unit 4 sees state unit 2


A, B, KICK = [0, 1, 2], [5, 6, 7], [3]


def _population_net():
    w = np.zeros((8, 8))
    for g in (A, B):
        w[np.ix_(g, g)] = 1.0  # self-excitation within a group
    w[np.ix_(A, B)] = w[np.ix_(B, A)] = -1.0  # inhibition between them
    w[np.ix_(KICK, A)] = 0.5
    w[np.ix_(KICK, B)] = -0.25
    norms = np.array([3.0, 3.1, 2.9, 10.0, 0.1, 3.2, 4.0, 3.0])  # the kick unit is left out
    return relu_net(w, norms[:, None])


def test_noise_populations_split_the_pool_into_the_two_groups():
    model = _population_net()
    pops = na.noise_populations(model, kick=jnp.asarray(KICK))
    # size None: (8 hidden - 1 kick) // 2 = 3; population 0 holds the best input (unit 6)
    assert set(np.asarray(pops.index[0]).tolist()) == set(B)
    assert set(np.asarray(pops.index[1]).tolist()) == set(A)
    np.testing.assert_allclose(np.asarray(pops.weights), [[1.0, -1.0], [-1.0, 1.0]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(pops.to_kick), [-0.25, 0.5], atol=1e-6)
    np.testing.assert_allclose(np.sort(np.asarray(pops.score[0])), [3.0, 3.2, 4.0], rtol=1e-6)


def test_noise_populations_by_weight_onto_the_kick_units():
    pops = na.noise_populations(_population_net(), size=3, by="kick", kick=KICK)
    # scores |W[kick, i]|: 0.5 on A, 0.25 on B, 0 on unit 4; population 0 holds A
    assert set(np.asarray(pops.index[0]).tolist()) == set(A)
    assert set(np.asarray(pops.index[1]).tolist()) == set(B)
    np.testing.assert_allclose(np.asarray(pops.score), [[0.5] * 3, [0.25] * 3], atol=1e-6)
    np.testing.assert_allclose(np.asarray(pops.to_kick), [0.5, -0.25], atol=1e-6)
    assert np.all(np.isnan(np.asarray(na.noise_populations(_population_net(), size=2).to_kick)))


def test_noise_population_errors_name_the_fix():
    model = _population_net()
    with pytest.raises(ValueError, match=r"size=4 needs 2·size ≤ 7 units .* pass size ≤ 3"):
        na.noise_populations(model, size=4, kick=KICK)
    with pytest.raises(ValueError, match=r"by='kick' needs the kick units; pass kick="):
        na.noise_populations(model, by="kick")
    with pytest.raises(ValueError, match=r"by='weights' is not one of \['input', 'kick'\]"):
        na.noise_populations(model, by="weights")
    with pytest.raises(TypeError, match="GRU has no single recurrent matrix W"):
        na.noise_populations(GRU(2, 4, 2, key=jr.key(0)))
    with pytest.raises(TypeError, match="no pre-activation is defined for GRU; pass pre_activation_fn"):
        na.pre_activation(GRU(2, 4, 2, key=jr.key(0)), jnp.zeros(4))
    with pytest.raises(TypeError, match=r"analyse_mechanism: kick units .* GRU has neither .* Pass parts=\('global_dynamics', 'residency', 'linearisation'\)"):
        na.analyse_mechanism(GRU(2, 4, 2, key=jr.key(0)), key=jr.key(0))
