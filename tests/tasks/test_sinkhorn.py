"""The debiased Sinkhorn divergence, straight-through Gumbel sampling, and the HMM loss."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from neurodyn.tasks import (
    HMM,
    HMMEmulation,
    emulation_distance,
    linear_chain_hmm,
    sample_hmm_onehot,
    sinkhorn_divergence,
    straight_through_gumbel,
)

Z = 5.0
divergence = jax.jit(sinkhorn_divergence)


def _clouds(seed, n=48, m=40, dim=3):
    kx, ky = jr.split(jr.key(seed))
    return jr.normal(kx, (n, dim)), jr.normal(ky, (m, dim)) + 0.5


def test_zero_on_identical_sets_and_symmetric():
    x, y = _clouds(0)
    assert float(divergence(x, x)) == 0.0
    sxy, syx = float(divergence(x, y)), float(divergence(y, x))
    assert sxy > 0.05
    assert sxy == pytest.approx(syx, rel=1e-3)


def test_translation_costs_exactly_half_the_squared_shift():
    # ½‖x − y − δ‖² adds ½‖δ‖² − δ·(x − y), whose plan average vanishes when y is a copy of x;
    # the entropic terms are translation invariant, so S(α, α + δ) = ½‖δ‖² exactly.
    x, _ = _clouds(1)
    values = []
    for shift in (0.0, 0.1, 0.5, 1.0, 2.0):
        delta = shift * jnp.array([1.0, -1.0, 0.5]) / 1.5
        s = float(divergence(x, x + delta))
        values.append(s)
        assert s == pytest.approx(0.5 * float(delta @ delta), abs=2e-3 + 1e-2 * float(delta @ delta))
    assert values == sorted(values) and values[0] >= -1e-6


def test_nonnegative_on_random_sets():
    for seed in range(5):
        x, y = _clouds(10 + seed, n=30, m=30)
        assert float(divergence(x, y * 0.8)) >= -1e-4


def test_gradient_matches_finite_differences():
    x, y = _clouds(2, n=12, m=10, dim=2)
    value_and_grad = jax.jit(jax.value_and_grad(lambda x: sinkhorn_divergence(x, y, n_iter=300)))
    grad = value_and_grad(x)[1]
    i, d, h = 3, 1, 1e-2
    fd = (value_and_grad(x.at[i, d].add(h))[0] - value_and_grad(x.at[i, d].add(-h))[0]) / (2 * h)
    assert float(grad[i, d]) == pytest.approx(float(fd), rel=0.05, abs=1e-3)


def test_straight_through_gumbel():
    logits = jnp.log(jnp.array([0.2, 0.5, 0.3]))
    samples = jax.jit(lambda k: straight_through_gumbel(jnp.broadcast_to(logits, (20_000, 3)), key=k, temperature=0.5))(jr.key(3))
    s = np.asarray(samples)
    assert set(np.unique(s)) == {0.0, 1.0} and np.all(s.sum(1) == 1.0)  # hard one-hot forward
    freq = s.mean(0)
    z = (freq - [0.2, 0.5, 0.3]) / np.sqrt(np.array([0.16, 0.25, 0.21]) / 20_000)
    assert np.all(np.abs(z) < Z)
    weights = jnp.array([1.0, -2.0, 3.0])
    grad = jax.grad(lambda l: jnp.sum(straight_through_gumbel(l, key=jr.key(4)) @ weights))(logits)
    assert np.all(np.asarray(grad) != 0.0)


def test_hmm_batch_loss_and_its_gradient():
    task = HMMEmulation(n_time=20, input_size=4, n_iter=50)
    trials = task.sample_batch(32, key=jr.key(5))
    assert trials.inputs.shape == (32, 20, 4) and trials.targets.shape == (32, 20, 3)
    logits = jr.normal(jr.key(6), trials.targets.shape)
    loss_and_grad = jax.jit(jax.value_and_grad(lambda o: task.batch_loss(o, trials, key=jr.key(7))))
    loss, grad = loss_and_grad(logits)
    assert float(loss) > 0 and np.isfinite(float(loss))
    assert float(jnp.abs(grad).max()) > 0.0
    # logits that reproduce the targets exactly (large) give S = 0
    exact, _ = loss_and_grad(50.0 * (2 * trials.targets - 1))
    assert float(exact) == pytest.approx(0.0, abs=1e-6)


def test_emulation_distance_against_the_baseline():
    hmm = linear_chain_hmm(2)
    good = sample_hmm_onehot(hmm, 64, 20, key=jr.key(9))
    bad = jax.nn.one_hot(jnp.zeros((64, 20), int), 3)  # always symbol 0
    d_good, baseline = emulation_distance(good, hmm, key=jr.key(10))
    d_bad, _ = emulation_distance(bad, hmm, key=jr.key(10))
    assert float(d_good) == pytest.approx(float(baseline), rel=0.3)
    assert float(d_bad) > 3 * float(baseline)


@pytest.mark.slow  # compiles the HMM task per matrix
def test_hmm_task_vmaps_over_hmm_matrices_and_noise():
    other = HMM([[0.8, 0.2], [0.3, 0.7]], [[0.1, 0.8, 0.1], [0.5, 0.0, 0.5]])
    tasks = [
        HMMEmulation(linear_chain_hmm(2), n_time=10, noise_std=0.5),
        HMMEmulation(other, n_time=10, noise_std=2.0),
    ]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *tasks)
    keys = jr.split(jr.key(11), 2)
    out = eqx.filter_jit(eqx.filter_vmap(lambda t, k: t.sample_batch(4, key=k)))(stacked, keys)
    for i, t in enumerate(tasks):
        alone = t.sample_batch(4, key=keys[i])
        np.testing.assert_allclose(out.inputs[i], alone.inputs, rtol=1e-6)
        np.testing.assert_array_equal(out.targets[i], alone.targets)


def test_hmm_metric_is_a_total_variation_distance():
    task = HMMEmulation(linear_chain_hmm(2), n_time=10)
    trials = task.sample_batch(8, key=jr.key(12))
    metric = eqx.filter_jit(lambda t, y, tr: jax.vmap(t.metric)(y, tr))
    # outputs that always emit symbol 1 (marginals 0.495, 0.01, 0.495): TV = 0.99
    always_1 = jnp.broadcast_to(jnp.array([-50.0, 50.0, -50.0]), trials.targets.shape)
    np.testing.assert_allclose(metric(task, always_1, trials), 0.99, atol=1e-5)
    # uniform logits: expected frequencies 1/3 each
    uniform = jnp.zeros(trials.targets.shape)
    np.testing.assert_allclose(metric(task, uniform, trials), 0.5 * (2 * (0.495 - 1 / 3) + (1 / 3 - 0.01)), atol=1e-5)
