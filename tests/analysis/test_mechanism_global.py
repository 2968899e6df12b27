"""Global dynamics and training dynamics against dense runs, exact scalings and spectra."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import neurodyn.analysis as na
from neurodyn.models import VanillaRNN


def relu_net(w, w_in, *, key=jr.key(0)):
    n, d = w_in.shape
    model = VanillaRNN(d, n, 3, activation="relu", bias=False, readout_bias=False, key=key)
    model = eqx.tree_at(lambda m: m.W_rec, model, jnp.asarray(w, jnp.float32))
    return eqx.tree_at(lambda m: m.W_in, model, jnp.asarray(w_in, jnp.float32))


def random_net(n=6, d=3, gain=0.9, seed=0):
    k1, k2, k3 = jr.split(jr.key(seed), 3)
    return relu_net(gain * jr.normal(k1, (n, n)) / math.sqrt(n), jr.normal(k2, (n, d)), key=k3)


def test_the_streamed_run_summary_equals_the_dense_run():
    model = random_net()
    # 300 steps in chunks of 70: four full chunks and a remainder, merged pairwise
    summary = na.noise_run(model, 0.7, 300, key=jr.key(1), burn_in=7, n_samples=10, n_trace=5, chunk_size=70)
    states = np.asarray(
        na.drive(model, na.GaussianInput(std=0.7), 300, burn_in=7, key=jr.key(1), chunk_size=70, record="state")[0]
    )
    assert int(summary.count) == 300
    np.testing.assert_allclose(np.asarray(summary.mean), states.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(summary.covariance), np.cov(states.T, bias=True), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(summary.samples), states[29::30])  # every 30th
    np.testing.assert_array_equal(np.asarray(summary.trace), states[:5])
    cls = np.argmax(np.asarray(jax.vmap(model.readout)(jnp.asarray(states))), axis=-1)
    assert int(summary.changes) == int(np.sum(cls[1:] != cls[:-1])) > 0


def test_noise_scales_by_powers_of_two_scale_the_orbit_exactly():
    model = random_net(gain=1.2)
    g = na.global_dynamics(
        model, scales=(0.5, 1.0, 2.0, 4.0), n_steps=400, burn_in=10, n_samples=8, n_relax=30,
        n_trace=20, chunk_size=200, key=jr.key(2),
    )
    scales = np.array([0.5, 1.0, 2.0, 4.0])
    radius, trace = np.asarray(g.radius), np.asarray(g.trace)
    # every summary is homogeneous in the states, and powers of two round exactly: bit for bit
    np.testing.assert_array_equal(radius, scales.astype(np.float32) * radius[1])
    np.testing.assert_array_equal(np.asarray(g.area), (scales**2).astype(np.float32) * np.asarray(g.area)[1])
    np.testing.assert_array_equal(trace, scales[:, None, None].astype(np.float32) * trace[1])
    np.testing.assert_array_equal(np.asarray(g.mean), scales[:, None].astype(np.float32) * np.asarray(g.mean)[1])
    np.testing.assert_allclose(np.asarray(g.sample_spread), scales * float(g.sample_spread[1]), rtol=1e-6)
    # the argmax output and the activation pattern do not see the scale
    np.testing.assert_array_equal(np.asarray(g.changes), float(g.changes[1]))
    np.testing.assert_array_equal(np.asarray(g.n_unstable), int(g.n_unstable[1]))
    lam = np.asarray(g.pc_variance)
    np.testing.assert_allclose(np.asarray(g.radius), np.sqrt(lam.sum(1)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g.area), 2 * np.pi * np.sqrt(lam.prod(1)), rtol=1e-6)


def test_an_input_only_network_has_the_analytic_orbit_radius():
    # W = 0, W_in = I: h_t = relu(s xi_t) i.i.d., each unit with variance s^2 (1/2 - 1/(2 pi)),
    # so radius^2 = lambda1 + lambda2 = s^2 (1 - 1/pi). n = 20 000 draws: the standard error
    # of radius^2 at s = 1 is sqrt(2 * 0.512 / n) = 0.0072 (0.512 = Var[(h - E h)^2]).
    model = relu_net(np.zeros((2, 2)), np.eye(2))
    g = na.global_dynamics(
        model, scales=(1.0,), n_steps=20_000, burn_in=0, n_samples=4, n_relax=2, chunk_size=5000,
        key=jr.key(3),
    )
    assert float(g.radius[0]) ** 2 == pytest.approx(1 - 1 / math.pi, abs=5 * 0.0072)  # |z| < 5
    assert float(g.explained[0]) == pytest.approx(1.0, abs=1e-6)  # two units: all variance in PC1-2


def test_a_contracting_network_collapses_to_the_origin():
    q = np.linalg.qr(np.asarray(jr.normal(jr.key(4), (6, 6))))[0]
    model = relu_net(0.5 * q, np.asarray(jr.normal(jr.key(5), (6, 3))))
    g = na.global_dynamics(
        model, scales=(1.0, 2.0), n_steps=300, burn_in=10, n_samples=16, n_relax=200, chunk_size=300,
        key=jr.key(6),
    )
    assert bool(g.collapsed.all())
    assert float(jnp.max(g.relaxed_spread)) < 1e-12 and float(jnp.min(g.sample_spread)) > 0.1
    assert float(jnp.max(jnp.abs(g.fixed_point))) < 1e-12
    assert float(jnp.max(g.fixed_point_residual)) < 1e-12
    # the Jacobian on the approach is diag(mask) 0.5 Q: every |lambda| <= 0.5
    assert int(jnp.max(g.n_unstable)) == 0 and float(jnp.max(jnp.abs(g.eigenvalues))) <= 0.5 + 1e-6


def test_a_line_of_fixed_points_does_not_collapse():
    # W = I: every nonnegative state is fixed, so relaxation leaves the samples where they are
    model = relu_net(np.eye(4), np.asarray(jr.normal(jr.key(7), (4, 2))))
    g = na.global_dynamics(
        model, scales=(1.0,), n_steps=200, burn_in=0, n_samples=10, n_relax=20, chunk_size=200,
        key=jr.key(8),
    )
    assert not bool(g.collapsed[0])
    assert float(g.relaxed_spread[0]) > 0.5 * float(g.sample_spread[0]) > 0
    assert int(g.n_unstable[0]) == 0  # |lambda| = 1 is not unstable
    np.testing.assert_allclose(np.abs(np.asarray(g.eigenvalues[0])), 1.0, atol=1e-6)


def test_training_dynamics_follow_the_fixed_point_spectrum_per_snapshot():
    # W = a I with equal input weights: every unit carries the same positive activity, the
    # Jacobian on the approach to the origin is a I, and a > 1 makes every mode unstable.
    a = [0.5, 0.9, 1.1]
    snaps = [relu_net(x * np.eye(3), np.ones((3, 2))) for x in a]
    settings = na.TrainingDynamics(noise_std=1.0, n_steps=200, burn_in=5, n_samples=8, n_relax=200, n_eig=2, chunk_size=200)
    out = na.training_dynamics(snaps, settings=settings, key=jr.key(9))
    np.testing.assert_allclose(np.asarray(out.eigenvalues), np.array(a)[:, None] * np.ones((1, 2)), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out.n_unstable), [0, 0, 3])
    np.testing.assert_array_equal(np.asarray(out.collapsed), [True, True, False])
    stacked = na.training_dynamics(na.stack_models(snaps), settings=settings, key=jr.key(9))
    np.testing.assert_array_equal(np.asarray(stacked.radius), np.asarray(out.radius))
    with pytest.raises(ValueError, match="snapshots is empty; pass at least one model"):
        na.training_dynamics([], key=jr.key(0))
