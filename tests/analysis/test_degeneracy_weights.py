"""Permutation-invariant weight distance and pair selection, against exact answers.

The reference for n ≤ 7 is an independent enumeration written with explicit permutation
matrices (P[i, σ(i)] = 1, distance ‖W1 − Pᵀ W2 P‖_F), so the solver's index convention
is checked as well as its optimum.
"""

import itertools

import jax.random as jr
import numpy as np
import pytest

from neurodyn.analysis import (
    pairs_to_matrix,
    pairwise_permutation_distances,
    permutation_distance,
    select_pairs,
)


def _enumerate(W1, W2):
    n = len(W1)
    best = np.inf
    for sigma in itertools.permutations(range(n)):
        P = np.zeros((n, n))
        P[np.arange(n), sigma] = 1.0
        best = min(best, np.linalg.norm(W1 - P.T @ W2 @ P))
    return best


def _random(rng, n):
    return rng.normal(size=(n, n)) / np.sqrt(n)


def _relabel(W, rng):
    n = len(W)
    P = np.eye(n)[rng.permutation(n)]
    return P.T @ W @ P


@pytest.mark.parametrize("n", [3, 6])
def test_small_widths_equal_enumeration(n):
    rng = np.random.default_rng(n)
    for _ in range(3):
        W1, W2 = _random(rng, n), _random(rng, n)
        d, perm = permutation_distance(W1, W2, key=jr.key(0))
        assert d == pytest.approx(_enumerate(W1, W2), rel=1e-12)
        assert np.linalg.norm(W1 - W2[np.ix_(perm, perm)]) == pytest.approx(d, rel=1e-12)


@pytest.mark.parametrize("n", [5, 32])
def test_relabelled_copy_is_at_distance_zero(n):
    """n = 32 is the planted-permutation recovery by the FAQ solver."""
    rng = np.random.default_rng(1)
    W = _random(rng, n)
    W_relabelled = _relabel(W, rng)
    assert np.linalg.norm(W - W_relabelled) > 1.0
    d, perm = permutation_distance(W, W_relabelled, key=jr.key(0))
    assert d == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(W_relabelled[np.ix_(perm, perm)], W, atol=1e-12)


@pytest.mark.parametrize("n", [6, 24])
def test_symmetric_and_bounded_by_the_unpermuted_distance(n):
    rng = np.random.default_rng(2)
    for _ in range(2):
        W1 = _random(rng, n)
        # A noisy relabelled copy: the best relabelling is far better than the identity.
        W2 = _relabel(W1, rng) + 0.3 * _random(rng, n)
        d12, _ = permutation_distance(W1, W2, key=jr.key(1))
        d21, _ = permutation_distance(W2, W1, key=jr.key(1))
        assert 0.0 <= d12 <= np.linalg.norm(W1 - W2) + 1e-12
        assert d12 == pytest.approx(d21, rel=1e-9)
        normalised, _ = permutation_distance(W1, W2, key=jr.key(1), normalised=True)
        assert normalised == pytest.approx(d12 / n)


def test_different_widths_are_refused_or_nan():
    rng = np.random.default_rng(3)
    small, large = _random(rng, 4), _random(rng, 5)
    with pytest.raises(ValueError, match=r"must have the same width, got \(4, 4\) and \(5, 5\)"):
        permutation_distance(small, large, key=jr.key(0))
    with pytest.raises(ValueError, match="W1 must be a square"):
        permutation_distance(np.zeros((3, 4)), np.zeros((3, 4)), key=jr.key(0))
    weights = [small, _relabel(small, rng), large]
    pairs = np.array([[0, 1], [0, 2]])
    d, normalised = pairwise_permutation_distances(weights, pairs, key=jr.key(0), progress=False)
    assert d[0] == pytest.approx(0.0, abs=1e-12) and normalised[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(d[1]) and np.isnan(normalised[1])
    matrix = pairs_to_matrix(d, pairs, 3)
    assert matrix[1, 0] == matrix[0, 1] and np.isnan(matrix[1, 2]) and matrix[2, 2] == 0.0


def test_select_pairs_within_condition_with_a_cap():
    conditions = ["a", "a", "b", "a", "b", "c"]
    pairs = select_pairs(conditions)
    np.testing.assert_array_equal(pairs, [[0, 1], [0, 3], [1, 3], [2, 4]])
    everything = select_pairs(conditions, within_condition=False)
    assert len(everything) == 15
    capped = select_pairs(conditions, max_pairs=2, key=jr.key(0))
    assert len(capped) == 3  # two of condition a's three pairs, b's only pair
    assert {tuple(p) for p in capped} <= {tuple(p) for p in pairs}
    np.testing.assert_array_equal(capped, select_pairs(conditions, max_pairs=2, key=jr.key(0)))
    assert len(select_pairs(n_members=4)) == 6
    tuples = select_pairs([(64, 0.1), (64, 0.1), (128, 0.1)])
    np.testing.assert_array_equal(tuples, [[0, 1]])
    with pytest.raises(ValueError, match="max_pairs needs a `key`"):
        select_pairs(conditions, max_pairs=2)
    with pytest.raises(ValueError, match="give `conditions`"):
        select_pairs()
