"""Assignment in JAX: the exact linear assignment against scipy's, the FAQ relabelling on
planted problems, and the all-pairs compiled solver against one pair at a time."""

import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.optimize

from neurodyn.analysis import (
    DegeneracySettings,
    faq_permutation,
    linear_assignment,
    pairwise_permutation_distances,
    permutation_distance,
)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 33])
def test_linear_assignment_equals_scipys(n):
    rng = np.random.default_rng(n)
    with jax.enable_x64(True):
        for _ in range(4):
            cost = rng.normal(size=(n, n))
            rows, cols = scipy.optimize.linear_sum_assignment(cost)
            ours = np.asarray(linear_assignment(jnp.asarray(cost)))
            np.testing.assert_array_equal(ours, cols)  # a continuous cost: the minimum is unique


def test_linear_assignment_with_ties_reaches_the_minimum_and_vmaps():
    # integer costs have many optimal assignments: compare the objective, exactly
    rng = np.random.default_rng(0)
    costs = rng.integers(0, 4, size=(16, 12, 12)).astype(np.float32)
    ours = np.asarray(jax.jit(jax.vmap(linear_assignment))(jnp.asarray(costs)))
    for cost, perm in zip(costs, ours):
        assert sorted(perm.tolist()) == list(range(12))  # a permutation
        r, c = scipy.optimize.linear_sum_assignment(cost)
        assert cost[np.arange(12), perm].sum() == cost[r, c].sum()


def test_linear_assignment_maximises_through_the_negative_cost():
    profit = np.array([[1.0, 9.0, 2.0], [8.0, 1.0, 1.0], [2.0, 3.0, 7.0]])
    np.testing.assert_array_equal(np.asarray(linear_assignment(-jnp.asarray(profit))), [1, 0, 2])


def test_linear_assignment_refuses_a_non_square_cost():
    with pytest.raises(ValueError, match=r"square \[n, n\].*\(2, 3\)"):
        linear_assignment(jnp.zeros((2, 3)))


@pytest.mark.parametrize("n", [16, 40])
def test_faq_finds_a_planted_relabelling(n):
    rng = np.random.default_rng(n)
    W1 = rng.normal(size=(n, n))
    sigma = rng.permutation(n)
    W2 = np.empty_like(W1)
    W2[np.ix_(sigma, sigma)] = W1  # W2[σ][:, σ] = W1
    noise = 1e-2 * rng.normal(size=(n, n))
    perm = np.asarray(faq_permutation(jnp.asarray(W1), jnp.asarray(W2 + noise), key=jr.key(0)))
    np.testing.assert_array_equal(perm, sigma)
    d, _ = permutation_distance(W1, W2 + noise, key=jr.key(0), solver="jax")
    # the planted relabelling leaves exactly the noise, relabelled
    assert d == pytest.approx(np.linalg.norm(noise[np.ix_(sigma, sigma)]), rel=1e-12)


def test_small_widths_are_solved_exactly_by_enumeration():
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    best = min(np.linalg.norm(W1 - W2[np.ix_(p, p)]) for p in itertools.permutations(range(6)))
    for solver in ("jax", "scipy"):
        d, perm = permutation_distance(W1, W2, key=jr.key(0), solver=solver)
        assert d == pytest.approx(best, rel=1e-12)


def test_all_pairs_in_one_program_equal_one_pair_at_a_time():
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=(12, 12)) for _ in range(5)] + [rng.normal(size=(4, 4)) for _ in range(2)]
    pairs = np.array(list(itertools.combinations(range(7), 2)))
    key = jr.key(5)
    distance, normalised = pairwise_permutation_distances(weights, pairs, key=key, solver="jax",
                                                          batch_size=4, progress=False)
    keys = jr.split(key, len(pairs))
    for p, (i, j) in enumerate(pairs):
        if weights[i].shape != weights[j].shape:
            assert np.isnan(distance[p]) and np.isnan(normalised[p])
            continue
        d, _ = permutation_distance(weights[i], weights[j], key=keys[p], solver="jax")
        assert distance[p] == d
        assert normalised[p] == pytest.approx(d / weights[i].shape[0], rel=1e-15)
        # never worse than no relabelling
        assert d <= np.linalg.norm(weights[i] - weights[j]) + 1e-12
    # the 4-unit pair is enumerated: equal to the host solver's exact answer
    exact = pairwise_permutation_distances(weights, pairs, key=key, solver="scipy", progress=False)[0]
    small = (pairs[:, 0] >= 5) & (pairs[:, 1] >= 5)
    np.testing.assert_allclose(distance[small], exact[small], rtol=1e-12)


def test_solver_choice_is_checked():
    W = np.eye(3)
    with pytest.raises(ValueError, match="solver.*'gpu'.*auto"):
        permutation_distance(W, W, key=jr.key(0), solver="gpu")
    with pytest.raises(ValueError, match="perm_solver"):
        DegeneracySettings(perm_solver="fast")


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="what 'auto' picks on a CPU")
def test_auto_takes_the_host_solver_on_the_cpu():
    settings = DegeneracySettings()
    assert settings.resolved_perm_solver() == "scipy"
    assert "perm_solver" not in settings.stored(("seed",), 0)  # the host solver: stored as before
    assert DegeneracySettings(perm_solver="jax").stored(("seed",), 0)["perm_solver"] == "jax"
