"""Causal drive scaling: exact consequences of scaling the recurrent drive into a set."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn.analysis as na
from neurodyn.analysis._mechanism._scaling import control_units
from neurodyn.models import GRU, LowRankRNN, VanillaRNN


def relay_net():
    """Units 0, 1 integrate the input only (h = relu(x)); units 2, 3 relay them one step
    later through W and alone drive the readout. Scaling the drive into {2, 3} by 0
    silences the output; scaling it into {0, 1} (rows of zeros) changes nothing."""
    w = np.zeros((4, 4))
    w[2, 0] = w[3, 1] = 1.0
    w_in = np.zeros((4, 2))
    w_in[0, 0] = w_in[1, 1] = 1.0
    w_out = np.zeros((2, 4))
    w_out[0, 2] = w_out[1, 3] = 1.0
    model = VanillaRNN(2, 4, 2, activation="relu", bias=False, readout_bias=False, key=jr.key(0))
    for name, value in (("W_rec", w), ("W_in", w_in), ("W_out", w_out)):
        model = eqx.tree_at(lambda m, name=name: getattr(m, name), model, jnp.asarray(value, jnp.float32))
    return model


SETTINGS = dict(mu=(0.0, 1.0, 2.0), n_sequences=16, sequence_length=20, n_steps=400, burn_in=10, chunk_size=200)


def test_mu_zero_stops_switching_and_the_control_changes_nothing():
    model = relay_net()
    out = na.drive_scaling(model, jnp.array([2, 3]), key=jr.key(0), **SETTINGS)
    np.testing.assert_array_equal(np.asarray(out.units), [[0, 0, 1, 1], [1, 1, 0, 0]])
    base = float(out.baseline_changes)
    assert base > 5  # the relayed noise flips the argmax often
    changes = np.asarray(out.changes)
    # target: mu = 0 -> logits (0, 0) forever; mu = 2 doubles both logits: same argmax
    np.testing.assert_array_equal(changes[0], [0.0, base, base])
    assert float(out.dwell[0, 0]) == 400.0  # no change in the long run: one run of 400
    # control {0, 1}: their recurrent rows are zero, so every mu is the unperturbed network
    np.testing.assert_array_equal(changes[1], [base] * 3)
    np.testing.assert_array_equal(np.asarray(out.dwell[1]), float(out.baseline_dwell))
    np.testing.assert_array_equal(np.asarray(out.radius_ratio[1]), 1.0)
    # mu = 1 is the unperturbed network for either set, bit for bit
    np.testing.assert_array_equal(np.asarray(out.radius[:, 1]), float(out.baseline_radius))
    assert bool(out.persists[1].all()) and bool(out.persists[0, 1])
    # the counts are those of the perturbed model run by hand on the same inputs
    _, ks, _ = jr.split(jr.key(0), 3)
    kx, _ = jr.split(ks)
    inputs = jr.normal(kx, (16, 20, 2))
    silenced = na.scale_recurrent_drive(model, jnp.array([2, 3]), 0.0)
    cls = jnp.argmax(jax.vmap(lambda x: model(x).output)(inputs), -1)
    assert float(jnp.mean(jnp.sum(cls[:, 1:] != cls[:, :-1], -1))) == pytest.approx(base)
    cls = jnp.argmax(jax.vmap(lambda x: silenced(x).output)(inputs), -1)
    assert int(jnp.sum(cls != 0)) == 0


def test_scaling_multiplies_rows_of_the_recurrent_weights():
    k1, k2 = jr.split(jr.key(1))
    model = VanillaRNN(2, 5, 2, activation="relu", bias=False, key=k1)
    mask = np.array([True, False, True, False, False])
    scaled = na.scale_recurrent_drive(model, jnp.asarray(mask), 0.5)
    w = np.asarray(model.W_rec)
    np.testing.assert_array_equal(np.asarray(scaled.W_rec), np.where(mask[:, None], 0.5 * w, w))
    same = na.scale_recurrent_drive(model, jnp.array([0, 2]), 0.5)
    np.testing.assert_array_equal(np.asarray(same.W_rec), np.asarray(scaled.W_rec))
    np.testing.assert_array_equal(np.asarray(scaled.W_in), np.asarray(model.W_in))
    np.testing.assert_array_equal(np.asarray(scaled.W_out), np.asarray(model.W_out))
    # mu = 0 on units without input: they stay exactly silent (bias-free ReLU)
    silent = eqx.tree_at(lambda m: m.W_in, model, model.W_in.at[jnp.array([0, 2])].set(0.0))
    h = na.scale_recurrent_drive(silent, jnp.asarray(mask), 0.0)(jr.normal(k2, (30, 2))).state
    assert float(jnp.max(jnp.abs(h[:, mask]))) == 0.0 and float(jnp.max(h[:, ~mask])) > 0
    # a gated cell scales the rows of every gate; a low-rank network the rows of m
    gru = GRU(2, 3, 2, key=k1)
    g = na.scale_recurrent_drive(gru, jnp.array([1]), 3.0)
    rows = np.tile([1.0, 3.0, 1.0], 3)[:, None]
    np.testing.assert_allclose(np.asarray(g.W_rec), rows * np.asarray(gru.W_rec), rtol=1e-7)
    low = LowRankRNN(2, 4, 2, rank=1, key=k1)
    lr = na.scale_recurrent_drive(low, jnp.array([3]), 0.0)
    np.testing.assert_array_equal(np.asarray(lr.m[3]), 0.0)
    np.testing.assert_array_equal(np.asarray(lr.m[:3]), np.asarray(low.m[:3]))


def test_control_sets_are_disjoint_and_of_equal_size():
    mask = jnp.zeros(10, bool).at[jnp.array([1, 4, 7])].set(True)
    for i in range(5):
        other = np.asarray(control_units(mask, key=jr.key(i)))
        assert other.sum() == 3 and not (other & np.asarray(mask)).any()
    # fewer other units than the set holds: all of them
    big = jnp.ones(10, bool).at[0].set(False)
    np.testing.assert_array_equal(np.asarray(control_units(big, key=jr.key(0))), np.arange(10) == 0)


def test_unit_set_errors_name_the_fix():
    model = relay_net()
    with pytest.raises(ValueError, match=r"a unit mask must have shape \[hidden\] = \(4,\), got \(3,\)"):
        na.drive_scaling(model, jnp.ones(3, bool), key=jr.key(0))
    with pytest.raises(ValueError, match="units must be a boolean mask .* or a 1-D array of unit indices"):
        na.scale_recurrent_drive(model, jnp.array([0.5, 1.5]), 0.0)
    with pytest.raises(ValueError, match=r"DriveScaling: mu=\[-1.0\] is outside the allowed range \[0, inf\)"):
        na.drive_scaling(model, jnp.array([2]), mu=[1.0, -1.0], key=jr.key(0))
    with pytest.raises(TypeError, match=r"unknown setting 'n_step'\. Did you mean 'n_steps'\?"):
        na.drive_scaling(model, jnp.array([2]), n_step=10, key=jr.key(0))
