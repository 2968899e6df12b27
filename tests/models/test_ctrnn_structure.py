"""CTRNN structure: Dale's law, connectivity masks, what the optimiser may touch, noise."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from neurodyn.models import CTRNN


def _adam_steps(model, n_steps=5, lr=0.5):
    """A few Adam steps on a random loss, updating only `model.trainable()` leaves."""
    params, static = eqx.partition(model, model.trainable())
    inputs = jr.normal(jr.key(10), (6, model.input_size))
    target = jr.normal(jr.key(11), (6, model.output_size))
    opt = optax.adam(lr)
    opt_state = opt.init(params)

    @eqx.filter_jit
    def step(params, opt_state):
        def loss(p):
            m = eqx.combine(p, static)
            # The second term pushes every raw weight down, so some flip sign.
            return jnp.mean((m(inputs).output - target) ** 2) + jnp.mean(m.W_rec)

        grads = eqx.filter_grad(loss)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state

    for _ in range(n_steps):
        params, opt_state = step(params, opt_state)
    return eqx.combine(params, static).constrain()


def _assert_structure(model):
    W = np.asarray(model.recurrent_weights())
    sign, mask = np.asarray(model.sign), np.asarray(model.mask)
    assert np.all(W * sign[None, :] >= 0), "a column has the wrong sign"
    assert np.all(W[mask == 0] == 0), "a masked connection is nonzero"
    assert np.all(np.diag(W) == 0), "a self-connection is nonzero"


def test_dale_masks_and_signs_survive_training_and_arbitrary_weights():
    model = CTRNN(
        2, 8, 1, dale=True, excitatory_fraction=0.75, connectivity=0.6,
        self_connections=False, noise_std=0.1, key=jr.key(0),
    )
    np.testing.assert_array_equal(model.sign, [1.0] * 6 + [-1.0] * 2)
    _assert_structure(model)
    trained = _adam_steps(model)
    assert np.any(np.asarray(trained.W_rec) < 0)  # raw weights left the positive orthant
    # Only trainable leaves moved: masks, signs, fixed τ and h0, noise and gains did not.
    for name in ("sign", "mask", "tau", "h0", "noise_std", "gain", "gamma"):
        np.testing.assert_array_equal(getattr(trained, name), getattr(model, name), err_msg=name)
    _assert_structure(trained)
    # Whatever values the raw matrix takes, the effective matrix keeps the structure.
    arbitrary = eqx.tree_at(lambda m: m.W_rec, model, jr.normal(jr.key(1), (8, 8)))
    _assert_structure(arbitrary)
    np.testing.assert_array_equal(arbitrary.penalised_weights()["W_rec"], arbitrary.recurrent_weights())


def test_tau_and_h0_are_trainable_only_when_asked():
    inputs = jnp.ones((5, 2))
    loss = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(inputs).output ** 2)))
    fixed = CTRNN(2, 8, 1, tau=2.0, key=jr.key(2))
    spec = fixed.trainable()
    assert spec.tau is False and spec.h0 is False and spec.W_rec is True
    assert spec.noise_std is False and spec.gain is False and spec.gamma is False
    grads = loss(fixed)  # even differentiating everything, fixed τ and h0 get no gradient
    assert np.all(grads.tau == 0) and np.all(grads.h0 == 0)
    learned = CTRNN(2, 8, 1, tau=2.0, train_tau=True, train_h0=True, key=jr.key(2))
    spec = learned.trainable()
    assert spec.tau is True and spec.h0 is True and spec.noise_std is False
    grads = loss(learned)
    assert np.all(grads.tau != 0) and np.all(grads.h0 != 0)


def test_explicit_connectivity_mask_is_used_as_given():
    mask = np.triu(np.ones((5, 5)))
    model = CTRNN(2, 5, 1, connectivity=mask, key=jr.key(3))
    W = np.asarray(model.recurrent_weights())
    assert np.all(W[mask == 0] == 0) and np.all(W[mask == 1] != 0)
    np.testing.assert_array_equal(model.mask, mask)


def test_dale_initialisation_balances_excitation_and_inhibition():
    n = 200
    model = CTRNN(1, n, 1, dale=True, key=jr.key(4))
    W = np.asarray(model.recurrent_weights())
    # Inhibitory columns are scaled by N_E / N_I = 4, so every row sums to ~0. The mean of
    # all N² entries has standard error ≈ std(W)/N; bound at z = 5.
    assert abs(W.mean()) < 5 * W.std() / n


def test_leak_only_unit_has_stationary_std_noise_std():
    """dh = −h/τ dt + σ√(2/τ) dW is an OU process with stationary std σ for every τ.

    Euler–Maruyama with a = dt/τ has stationary variance σ²/(1 − a/2): compared here
    exactly, at z = 4 for the sample std of n = 3000 independent samples per τ (standard
    error σ/√(2n)). With a ≤ 0.02 the discrete value is within 0.6 % of σ.
    """
    n_units, n_trials, n_steps, dt, sigma = 100, 60, 600, 0.005, 0.3
    tau = jnp.tile(jnp.array([0.25, 0.5]), n_units // 2)
    model = CTRNN(1, n_units, 1, tau=tau, dt=dt, activation="linear", noise_std=sigma, key=jr.key(5))
    model = eqx.tree_at(lambda m: m.W_rec, model, jnp.zeros((n_units, n_units)))
    inputs = jnp.zeros((n_steps, 1))
    run = eqx.filter_jit(eqx.filter_vmap(lambda k: model(inputs, key=k).state[-1]))
    final = np.asarray(run(jr.split(jr.key(6), n_trials)))  # zero start: e^{-2 n_steps a} < 1e-5
    for j, t in enumerate([0.25, 0.5]):
        samples = final[:, j::2].ravel()
        expected = sigma / np.sqrt(1 - dt / t / 2)
        assert abs(expected / sigma - 1) < 0.006
        z = (samples.std() / expected - 1) * np.sqrt(2 * samples.size)
        assert abs(z) < 4, (t, samples.std(), expected, z)


@pytest.mark.slow
def test_sde_through_diffrax_has_the_same_stationary_std():
    """`integrate(key=...)`: Euler–Maruyama driven by a VirtualBrownianTree.

    Same OU check as above with a = dt/τ ∈ {0.2, 0.1} (stationary variance σ²/(1 − a/2),
    burn-in (1 − a)^{2·60} < 1e-5), n = 1000 samples per τ, bound z = 4.
    """
    n_units, n_trials, n_steps, dt, sigma = 100, 20, 60, 0.05, 0.3
    tau = jnp.tile(jnp.array([0.25, 0.5]), n_units // 2)
    model = CTRNN(1, n_units, 1, tau=tau, dt=dt, activation="linear", noise_std=sigma, key=jr.key(5))
    model = eqx.tree_at(lambda m: m.W_rec, model, jnp.zeros((n_units, n_units)))
    inputs = jnp.zeros((n_steps, 1))
    run = eqx.filter_jit(eqx.filter_vmap(lambda k: model.integrate(inputs, key=k).state[-1]))
    final = np.asarray(run(jr.split(jr.key(6), n_trials)))
    for j, t in enumerate([0.25, 0.5]):
        samples = final[:, j::2].ravel()
        expected = sigma / np.sqrt(1 - dt / t / 2)
        z = (samples.std() / expected - 1) * np.sqrt(2 * samples.size)
        assert abs(z) < 4, (t, samples.std(), expected, z)


def test_noise_is_key_deterministic_and_absent_without_key():
    model = CTRNN(2, 8, 1, noise_std=0.5, key=jr.key(7))
    inputs = jr.normal(jr.key(8), (6, 2))
    run = eqx.filter_jit(lambda m, k: m(inputs, key=k).state)
    a, b, c = run(model, jr.key(1)), run(model, jr.key(1)), run(model, jr.key(2))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    deterministic = eqx.filter_jit(lambda m: m(inputs).state)
    assert np.array_equal(deterministic(model), deterministic(model))
    quiet = eqx.tree_at(lambda m: m.noise_std, model, jnp.asarray(0.0))
    np.testing.assert_allclose(run(quiet, jr.key(1)), deterministic(model), atol=1e-6)
    # Same key, same construction.
    again = CTRNN(2, 8, 1, noise_std=0.5, key=jr.key(7))
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(model), jax.tree.leaves(again)))
