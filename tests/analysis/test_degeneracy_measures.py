"""Behaviour, feature-learning and representation measures against exact answers.

Closed form used for the tangent kernel: a linear readout y[t] = W u[t] + b has
∂y[t, k]/∂W[i, j] = δ_ki u[t, j] and ∂y[t, k]/∂b[i] = δ_ki, so with probes flattened
over (trial, time, output) the kernel is K = (U Uᵀ + 1) ⊗ I_output, U the stacked inputs.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxtyping import Array, Float

from neurodyn import Trajectory
from neurodyn.analysis import (
    all_pairs,
    kernel_alignment,
    linear_cka,
    output_distance,
    pairwise,
    procrustes_angle,
    sigma_ood,
    tangent_kernel,
    tangent_kernel_alignment,
    weight_change,
)
from neurodyn.models import VanillaRNN


class LinearReadout(eqx.Module):
    """y[t] = W u[t] + b: a model whose tangent kernel is known in closed form."""

    W: Float[Array, "output input"]
    b: Float[Array, " output"]

    def __call__(self, inputs, *, key=None):
        return Trajectory(state=inputs, output=inputs @ self.W.T + self.b)


def _orthogonal(key, n, det):
    q, r = jnp.linalg.qr(jr.normal(key, (n, n)))
    q = q * jnp.sign(jnp.diag(r))
    return q.at[:, 0].multiply(jnp.sign(jnp.linalg.det(q)) * det)


# Behaviour ---------------------------------------------------------------------------


def test_sigma_ood_per_condition():
    losses = np.array([1.0, 2.0, 3.0, 10.0, 20.0, np.nan, 5.0])
    conditions = ["a", "a", "a", "b", "b", "b", "c"]
    labels, sigma = sigma_ood(losses, conditions)
    assert labels.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(sigma[:2], [1.0, np.sqrt(50.0)])
    assert np.isnan(sigma[2])  # one network: no spread (ddof = 1)
    _, population = sigma_ood(losses, conditions, ddof=0)
    np.testing.assert_allclose(population, [np.std([1, 2, 3]), 5.0, 0.0])
    with pytest.raises(ValueError, match="got 7 losses but 2 condition labels"):
        sigma_ood(losses, ["a", "b"])


def test_output_distance_is_the_masked_rms_difference():
    Y1 = jnp.zeros((2, 3, 1))
    Y2 = jnp.ones((2, 3, 1)).at[0, 0, 0].set(7.0)
    mask = jnp.ones((2, 3, 1)).at[0, 0, 0].set(0.0)
    assert float(output_distance(Y1, Y2, mask)) == pytest.approx(1.0)
    assert float(output_distance(Y1, Y2)) == pytest.approx(np.sqrt((49.0 + 5.0) / 6.0))
    with pytest.raises(ValueError, match="must come from the same trials"):
        output_distance(Y1, Y2[:1])


# Feature learning --------------------------------------------------------------------


def test_weight_change_on_arrays_and_pytrees():
    W0 = jnp.zeros((2, 2))
    WT = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    assert float(weight_change(WT, W0)) == pytest.approx(np.sqrt(30.0))
    tree_T = {"W_rec": WT, "W_in": jnp.full((2, 1), 2.0)}
    tree_0 = {"W_rec": W0, "W_in": jnp.zeros((2, 1))}
    assert float(weight_change(tree_T, tree_0)) == pytest.approx(np.sqrt(38.0))
    with pytest.raises(ValueError, match="same structure and shapes"):
        weight_change(WT, jnp.zeros(3))


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
def test_tangent_kernel_of_a_linear_model(mode):
    n_in, n_out = 3, 2
    model = LinearReadout(W=jr.normal(jr.key(0), (n_out, n_in)), b=jnp.zeros(n_out))
    inputs = jr.normal(jr.key(1), (2, 4, n_in))
    U = inputs.reshape(-1, n_in)
    expected = jnp.kron(U @ U.T + 1.0, jnp.eye(n_out))
    np.testing.assert_allclose(tangent_kernel(model, inputs, mode=mode), expected, rtol=1e-5, atol=1e-5)


def test_kernel_alignment_values():
    K = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    assert float(kernel_alignment(K, 4.0 * K)) == pytest.approx(1.0, abs=1e-6)
    ones = jnp.ones((2, 2))
    assert float(kernel_alignment(jnp.eye(2), ones)) == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    # Centring removes a constant kernel entirely.
    assert float(kernel_alignment(jnp.eye(2), ones, centred=True)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="must be on the same probes"):
        kernel_alignment(K, jnp.eye(3))


def test_tangent_kernel_alignment_of_a_vanilla_rnn_vmapped_over_members():
    make = lambda k: VanillaRNN(2, 6, 1, key=k)
    before = eqx.filter_vmap(make)(jr.split(jr.key(0), 2))
    after = eqx.tree_at(lambda m: m.W_rec, before, before.W_rec * jnp.array([1.0, 3.0])[:, None, None])
    inputs = jr.normal(jr.key(1), (2, 5, 2))
    batched = eqx.filter_vmap(lambda b, a: tangent_kernel_alignment(b, a, inputs))(before, after)
    for m in range(2):
        pick = lambda tree: jax.tree_util.tree_map(lambda x: x[m] if eqx.is_array(x) else x, tree)
        single = tangent_kernel_alignment(pick(before), pick(after), inputs)
        assert float(batched[m]) == pytest.approx(float(single), abs=1e-5)
    assert float(batched[0]) == pytest.approx(1.0, abs=1e-5)  # unchanged weights
    assert float(batched[1]) < 0.999  # tripled recurrent weights change the kernel


# Representations ---------------------------------------------------------------------


def _reference_cka(X, Y):
    """CKA through centred Gram matrices (the HSIC form)."""
    n = X.shape[0]
    H = np.eye(n) - 1.0 / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / (np.linalg.norm(K) * np.linalg.norm(L))


def test_linear_cka_invariances_and_reference():
    X = jr.normal(jr.key(0), (40, 6))
    for det in (1.0, -1.0):
        Q = _orthogonal(jr.key(1), 6, det)
        assert float(linear_cka(X, 3.7 * X @ Q + 2.0)) == pytest.approx(1.0, abs=1e-5)
    assert float(linear_cka(X, X)) == pytest.approx(1.0, abs=1e-6)
    Y = jr.normal(jr.key(2), (40, 4))
    value = float(linear_cka(X, Y))
    assert value == pytest.approx(_reference_cka(np.asarray(X, float), np.asarray(Y, float)), rel=1e-4)
    assert value == pytest.approx(float(linear_cka(Y, X)), rel=1e-6)
    assert float(linear_cka(X, X * jnp.arange(1.0, 7.0))) < 0.99  # anisotropic scaling changes it
    with pytest.raises(ValueError, match="must hold the same samples"):
        linear_cka(X, Y[:10])


def test_procrustes_angle_zero_for_rotated_copies_and_matches_arccos():
    X = jr.normal(jr.key(3), (5, 8, 6))  # [trial, time, hidden]
    for det in (1.0, -1.0):
        Q = _orthogonal(jr.key(4), 6, det)
        assert float(procrustes_angle(X, 0.5 * X @ Q - 1.0)) == pytest.approx(0.0, abs=1e-5)
    wider = jnp.concatenate([X @ _orthogonal(jr.key(5), 6, 1.0), jnp.zeros((5, 8, 2))], axis=-1)
    assert float(procrustes_angle(X, wider)) == pytest.approx(0.0, abs=1e-5)
    Y = jr.normal(jr.key(6), (5, 8, 4))
    Xc = np.asarray(X.reshape(40, 6), float)
    Yc = np.asarray(Y.reshape(40, 4), float)
    Xc, Yc = Xc - Xc.mean(0), Yc - Yc.mean(0)
    Xc, Yc = Xc / np.linalg.norm(Xc), Yc / np.linalg.norm(Yc)
    reference = np.arccos(np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum())
    assert float(procrustes_angle(X, Y)) == pytest.approx(reference, rel=1e-4)
    assert float(procrustes_angle(Y, X)) == pytest.approx(reference, rel=1e-4)
    assert 0.0 < reference < np.pi / 2


def test_representation_measures_vmapped_equal_per_pair():
    reps = jr.normal(jr.key(7), (4, 30, 5))
    pairs = all_pairs(4)
    for measure in (linear_cka, procrustes_angle, output_distance):
        batched = pairwise(measure, reps, pairs, batch_size=4)
        singles = [measure(reps[i], reps[j]) for i, j in pairs]
        np.testing.assert_allclose(batched, singles, rtol=1e-5, atol=1e-6)


def test_pairwise_takes_one_key_per_pair_or_splits_one():
    # fn(x_i, x_j, key) = x_i - x_j + a uniform draw under the pair's key: exact per pair
    xs = jnp.arange(5.0)
    pairs = all_pairs(5)  # 10 pairs; batch 4 pads the last batch
    fn = lambda a, b, *, key: a - b + jr.uniform(key)  # noqa: E731
    keys = jr.split(jr.key(3), len(pairs))
    given = np.asarray(pairwise(fn, xs, pairs, keys=keys, batch_size=4))
    expected = [float(xs[i] - xs[j] + jr.uniform(k)) for (i, j), k in zip(pairs, keys)]
    np.testing.assert_allclose(given, expected, rtol=1e-6)
    # `key` is split into exactly those keys
    np.testing.assert_array_equal(np.asarray(pairwise(fn, xs, pairs, key=jr.key(3), batch_size=4)), given)
    with pytest.raises(ValueError, match="not both"):
        pairwise(fn, xs, pairs, key=jr.key(3), keys=keys)
    with pytest.raises(ValueError, match=r"one key per pair \(10\)"):
        pairwise(fn, xs, pairs, keys=keys[:3])
