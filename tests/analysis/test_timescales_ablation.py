"""Silencing, unit selection, normalised perturbations and task evaluation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.analysis import (
    BinaryInput,
    SilencedContinuousRNN,
    SilencedDiscreteRNN,
    drive,
    evaluate,
    fastest_units,
    learned_tau,
    perturb_tau,
    perturb_weights,
    silence,
    slowest_units,
)
from neurodyn.models import CTRNN, LSTM, LeakyRateRNN, VanillaRNN
from neurodyn.tasks import FlipFlop

N = 8
run = eqx.filter_jit(lambda model, x, key=None: model(x, key=key))
MASK = jnp.zeros(N, bool).at[jnp.array([1, 4, 6])].set(True)


def _inputs(key, n_time=60, n_in=2):
    return jr.bernoulli(key, 0.5, (n_time, n_in)).astype(float)


@pytest.mark.parametrize("leak", ["post", "pre"])
def test_silenced_leaky_units_stay_exactly_zero(leak):
    """A leaky unit with a bias is not silenced by zeroing its weights; clamping is."""
    model = LeakyRateRNN(2, N, 2, leak=leak, key=jr.key(0))
    model = eqx.tree_at(lambda m: m.b, model, model.b + 0.5)  # every unit driven by its bias
    silenced = silence(model, MASK)
    assert isinstance(silenced, SilencedDiscreteRNN)
    x = _inputs(jr.key(1))
    states = run(silenced, x).state
    np.testing.assert_array_equal(states[:, MASK], 0.0)
    assert np.all(np.abs(states[:, ~MASK]).max(axis=0) > 0)
    # The others feel the silence: their activity differs from the intact network's.
    assert not np.allclose(states[:, ~MASK], run(model, x).state[:, ~MASK])
    # Zeroing the outgoing weights alone leaves the units active.
    cut = eqx.tree_at(lambda m: m.W_rec, model, jnp.where(MASK[None, :], 0.0, model.W_rec))
    assert np.abs(run(cut, x).state[:, MASK]).max() > 0


def test_silenced_units_stay_zero_with_noise_in_a_long_drive():
    model = LeakyRateRNN(1, N, 2, noise_std=0.3, key=jr.key(2))
    run = drive(silence(model, MASK), BinaryInput(), 3000, burn_in=10, key=jr.key(3), chunk_size=500, noise=True)
    np.testing.assert_array_equal(run[..., MASK], 0.0)
    assert np.all(np.asarray(run[..., ~MASK]).std(axis=1) > 0)


@pytest.mark.parametrize("formulation", ["voltage", "rate"])
def test_silenced_ctrnn_units_stay_exactly_zero(formulation):
    model = CTRNN(2, N, 2, tau=jnp.linspace(1.0, 3.0, N), formulation=formulation,
                  solver="heun", noise_std=0.2, key=jr.key(4))
    model = eqx.tree_at(lambda m: m.b, model, model.b + 0.5)
    silenced = silence(model, MASK)
    assert isinstance(silenced, SilencedContinuousRNN)
    x = _inputs(jr.key(5))
    for traj in [run(silenced, x), run(silenced, x, jr.key(6))]:
        np.testing.assert_array_equal(traj.state[:, MASK], 0.0)
        np.testing.assert_array_equal(jax.vmap(silenced.rates)(traj.state)[:, MASK], 0.0)
        assert np.all(np.abs(traj.state[:, ~MASK]).max(axis=0) > 0)
    np.testing.assert_array_equal(silenced.residual(jnp.ones(N), x[0])[MASK], 0.0)


def test_silence_refuses_a_clamp_that_leaves_units_active():
    model = CTRNN(2, N, 2, activation="softplus", key=jr.key(7))
    with pytest.raises(ValueError, match=r"leaves their activity at 0.693, not 0"):
        silence(model, MASK)
    with pytest.raises(ValueError, match="units must be a boolean mask of shape"):
        silence(VanillaRNN(2, N, 2, key=jr.key(8)), jnp.ones(N))
    with pytest.raises(ValueError, match="applies to continuous models only"):
        silence(VanillaRNN(2, N, 2, key=jr.key(8)), MASK, value=1.0)


def test_silenced_lstm_clamps_its_hidden_output():
    model = LSTM(2, N, 2, key=jr.key(9))
    states = run(silence(model, MASK), _inputs(jr.key(10))).state
    np.testing.assert_array_equal(states[:, :N][:, MASK], 0.0)
    assert np.abs(states[:, N:]).max() > 0  # the cell state is not touched


def test_silence_vmapped_over_members_equals_per_member():
    keys = jr.split(jr.key(11), 3)
    models = eqx.filter_vmap(lambda k: LeakyRateRNN(2, N, 2, key=k))(keys)
    masks = jnp.stack([MASK, ~MASK, jnp.zeros(N, bool)])
    x = _inputs(jr.key(12))
    batched = eqx.filter_vmap(lambda m, mask: run(silence(m, mask), x).state)(models, masks)
    for i in range(3):
        one = run(silence(LeakyRateRNN(2, N, 2, key=keys[i]), masks[i]), x).state
        np.testing.assert_allclose(batched[i], one, rtol=1e-6, atol=1e-6)


def test_fastest_and_slowest_units():
    tau = jnp.array([3.0, 1.0, jnp.nan, 7.0, 2.0, 9.0])
    np.testing.assert_array_equal(fastest_units(tau, 2), [False, True, False, False, True, False])
    np.testing.assert_array_equal(slowest_units(tau, 2), [False, False, False, True, False, True])
    valid = jnp.array([True, False, True, True, True, True])
    np.testing.assert_array_equal(fastest_units(tau, 2, valid=valid), [True, False, False, False, True, False])
    # Never more than the valid units.
    assert int(slowest_units(tau, 6).sum()) == 5
    batched = jax.vmap(lambda t: slowest_units(t, 1))(jnp.stack([tau, -tau]))
    np.testing.assert_array_equal(batched[1], [False, True, False, False, False, False])


def test_perturbation_has_exactly_the_requested_size():
    model = VanillaRNN(2, N, 2, key=jr.key(13))
    for eps in [0.01, 0.3]:
        new = perturb_weights(model, eps, key=jr.key(14), constrain=False)
        size = jnp.linalg.norm(new.W_rec - model.W_rec) / jnp.linalg.norm(model.W_rec)
        np.testing.assert_allclose(size, eps, rtol=1e-5)
        np.testing.assert_array_equal(new.W_in, model.W_in)
    new = perturb_weights(model, 0.1, key=jr.key(14), field="W_in", constrain=False)
    np.testing.assert_allclose(
        jnp.linalg.norm(new.W_in - model.W_in), 0.1 * jnp.linalg.norm(model.W_in), rtol=1e-5
    )


def test_tau_perturbation_keeps_the_constraint():
    model = LeakyRateRNN(2, N, 2, tau=1.2, key=jr.key(15))
    raw = perturb_tau(model, 0.5, key=jr.key(16), constrain=False)
    np.testing.assert_allclose(
        jnp.linalg.norm(raw.tau - model.tau), 0.5 * jnp.linalg.norm(model.tau), rtol=1e-5
    )
    assert float(raw.tau.min()) < 1.0  # large enough to cross the bound …
    clamped = perturb_tau(model, 0.5, key=jr.key(16))
    assert float(clamped.tau.min()) >= 1.0  # … which the model's constraint restores
    np.testing.assert_allclose(learned_tau(clamped), jnp.maximum(raw.tau, 1.0))


def test_perturbation_vmapped_over_members():
    keys = jr.split(jr.key(17), 3)
    models = eqx.filter_vmap(lambda k: VanillaRNN(2, N, 2, key=k))(keys)
    eps = jnp.array([0.0, 0.1, 0.2])
    new = eqx.filter_vmap(lambda m, e, k: perturb_weights(m, e, key=k))(models, eps, keys)
    sizes = jnp.linalg.norm(new.W_rec - models.W_rec, axis=(1, 2)) / jnp.linalg.norm(models.W_rec, axis=(1, 2))
    np.testing.assert_allclose(sizes, eps, atol=1e-6)


def test_perturb_names_the_missing_field():
    with pytest.raises(ValueError, match=r"VanillaRNN.tau is not a floating-point array field"):
        perturb_tau(VanillaRNN(2, N, 2, key=jr.key(0)), 0.1, key=jr.key(1))


def test_evaluate_is_the_mean_metric_and_vmaps():
    task = FlipFlop(n_bits=2, p=0.1, n_time=40)
    model = VanillaRNN(2, N, 2, key=jr.key(18))
    score = evaluate(model, task, 4, key=jr.key(19))
    tkey, _ = jr.split(jr.key(19))
    trials = eqx.filter_jit(task.sample_batch)(4, key=tkey)
    metric = eqx.filter_jit(task.metric)
    per_trial = []
    for i in range(4):
        trial = jax.tree.map(lambda a: a[i], trials)
        per_trial.append(metric(run(model, trial.inputs).output, trial))
    np.testing.assert_allclose(score, np.mean(per_trial), rtol=1e-6)
    # Silencing every unit leaves only the readout bias: the output is constant.
    mute = silence(model, jnp.ones(N, bool))
    np.testing.assert_array_equal(jnp.ptp(run(mute, trials.inputs[0]).output, axis=0), 0.0)
    keys = jr.split(jr.key(20), 2)
    models = eqx.filter_vmap(lambda k: VanillaRNN(2, N, 2, key=k))(keys)
    batched = eqx.filter_vmap(lambda m: evaluate(m, task, 4, key=jr.key(19)))(models)
    for i in range(2):
        one = evaluate(VanillaRNN(2, N, 2, key=keys[i]), task, 4, key=jr.key(19))
        np.testing.assert_allclose(batched[i], one, rtol=1e-6)
